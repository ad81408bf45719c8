"""A small browser over Flask's test client: forms with their CSRF token, htmx headers."""

from __future__ import annotations

import re
from html import unescape

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """One person's session. ``htmx=True`` sends requests the way htmx does."""

    def __init__(self, app, htmx: bool = False):
        self.client = app.test_client()
        self.htmx = htmx
        self.token = None

    def get(self, url, hx=False, **kw):
        """A page visit (links are plain navigation); ``hx=True`` for htmx's own GETs."""
        headers = {**(self._headers() if hx else {}), **kw.pop("headers", {})}
        response = self.client.get(url, headers=headers, **kw)
        self._remember(response)
        return response

    def post(self, url, data=None, csrf=True, **kw):
        data = dict(data or {})
        if csrf:
            if self.token is None:
                self.get("/login")
            if self.htmx:
                kw.setdefault("headers", {})["X-CSRFToken"] = self.token
            else:
                data.setdefault("csrf_token", self.token)
        headers = {**self._headers(), **kw.pop("headers", {})}
        response = self.client.post(url, data=data, headers=headers, **kw)
        self._remember(response)
        return response

    def post_files(self, url, data, files=None):
        """POST a form with files (field name -> (bytes, file name)) as a browser sends it,
        encoded here, in memory: the test client spools a large body to a temporary file it
        never closes."""
        import io

        from werkzeug.datastructures import FileStorage
        from werkzeug.test import encode_multipart

        if self.token is None:
            self.get("/login")
        payload = {**data, "csrf_token": self.token}
        for field, (content, name) in (files or {}).items():
            payload[field] = FileStorage(io.BytesIO(content), filename=name)
        boundary, body = encode_multipart(payload)
        response = self.client.post(url, data=body, headers=self._headers(),
                                    content_type=f"multipart/form-data; boundary={boundary}")
        self._remember(response)
        return response

    def login(self, email, password):
        self.get("/login")
        response = self.post("/login", {"email": email, "password": password})
        assert response.status_code == 303, response.get_data(as_text=True)[:500]
        self.get("/home", follow_redirects=True)
        return response

    def _headers(self):
        return {"HX-Request": "true"} if self.htmx else {}

    def _remember(self, response):
        response.get_data()  # buffer the body, then release what the app opened (files)
        response.close()
        if response.mimetype == "text/html" and "Content-Encoding" not in response.headers:
            match = CSRF.search(response.get_data(as_text=True))
            if match:
                self.token = unescape(match.group(1))


def text(response) -> str:
    return response.get_data(as_text=True)


def verdicts(task) -> dict:
    """Every document the task's step checks judged complete, as operations.decide takes
    them (checks start unmarked: a forward without them is refused)."""
    from portal.modules.applications.documents import all_complete

    application = task.application
    spec = application.sop.spec
    return all_complete(spec, spec.step(task.step_key), application.form_data)


def verdict_form(task) -> dict:
    """The same verdicts as the task page's form posts them."""
    keys = list(verdicts(task))
    return {"judged": keys, **{f"verdict_{key}": "complete" for key in keys}}
