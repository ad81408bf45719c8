"""Web plumbing shared by the blueprints: extensions, rendering of pages and fragments,
fingerprinted assets, security headers, error pages. Views stay thin on top of this."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import logging
import os
import threading
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path

from flask import Flask, current_app, request, session, url_for
from flask_babel import Babel
from flask_compress import Compress
from flask_login import LoginManager
from flask_wtf.csrf import CSRFError, CSRFProtect
from htmx_flask import Htmx
from jinja2_fragments.flask import render_block
from markupsafe import Markup

from portal.models import User, capacity_prefix

__all__ = ["PageMemo", "asset_url", "current_locale", "init_app", "is_approver", "is_htmx",
           "login_manager", "page_response", "render", "render_body", "uploads_from_request"]

log = logging.getLogger(__name__)
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
compress = Compress()
htmx = Htmx()

LANGUAGES = ("id", "en")


def render(template: str, block: str | None = None, status: int = 200, **context):
    """The whole page, or for an htmx request the named block of the same template.

    One URL serves both, so the response varies on HX-Request.
    """
    return page_response(render_body(template, block, **context), status)


def render_body(template: str, block: str | None = None, **context) -> str:
    """The HTML ``render`` sends: the page, or the block an htmx request asks for."""
    from flask import render_template

    if block is not None and is_htmx():
        return render_block(template, block, **context)
    return render_template(template, **context)


def page_response(body: str, status: int = 200):
    """A rendered page (or htmx block) as a response that varies on HX-Request."""
    from flask import make_response

    response = make_response(body, status)
    response.vary.add("HX-Request")
    return response


class MemoPage:
    """A page kept by PageMemo: its HTML, and once asked for, the same gzipped."""

    __slots__ = ("_gzipped", "body", "expires")

    def __init__(self, body: str, expires: dt.datetime):
        self.body, self.expires, self._gzipped = body, expires, None

    def response(self):
        """The page as a response, gzipped once for every client that accepts gzip."""
        if not request.accept_encodings["gzip"]:  # its q value (0: refused), or "*"'s
            return page_response(self.body)
        if self._gzipped is None:
            self._gzipped = gzip.compress(self.body.encode(), mtime=0, compresslevel=int(
                current_app.config.get("COMPRESS_LEVEL", 6)))
        response = page_response(self._gzipped)
        response.headers["Content-Encoding"] = "gzip"  # flask-compress leaves it alone
        response.vary.add("Accept-Encoding")
        return response


class PageMemo:
    """Rendered pages kept per process, keyed by everything they show.

    For a page people reload often (the inbox) whose rows are read anyway: when the rows and
    everything else in the key are the same as last time, so is the HTML, and rendering and
    compressing it again would be most of the request's work. The key must name every
    input of the page (rows, user, language, form token...). An entry ends at the moment
    its page would change by itself (a task falling due), and after ``ttl`` seconds at
    most, so that the form token it carries stays fresh. Off while templates reload.
    """

    def __init__(self, size: int = 256, ttl: float = 60.0):
        self.size, self.ttl = size, dt.timedelta(seconds=ttl)
        self._pages: OrderedDict[tuple, MemoPage] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple, now: dt.datetime) -> MemoPage | None:
        if current_app.jinja_env.auto_reload:
            return None
        with self._lock:
            page = self._pages.get(key)
            if page is None:
                return None
            if page.expires <= now:
                del self._pages[key]
                return None
            self._pages.move_to_end(key)
            return page

    def put(self, key: tuple, body: str, now: dt.datetime,
            until: dt.datetime | None = None) -> MemoPage:
        """Keep a page until ``until`` or for ``ttl``, whichever ends first."""
        page = MemoPage(body, now + self.ttl if until is None else min(now + self.ttl, until))
        with self._lock:
            self._pages[key] = page
            self._pages.move_to_end(key)
            while len(self._pages) > self.size:
                self._pages.popitem(last=False)
        return page


@lru_cache(maxsize=64)
def _fingerprint(path: str, mtime: float) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:10]


_ASSET_URLS: dict[tuple[str, str], tuple[float, str]] = {}
_LINKS: dict[tuple[str, str], str] = {}


def asset_url(filename: str) -> str | None:
    """URL of a static file with a content hash (cached for a year); None if it is absent.

    Every page asks for two: the URL is kept per process until the file changes.
    """
    path = os.path.join(current_app.static_folder, filename)
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        return None
    key = (path, request.script_root)
    kept = _ASSET_URLS.get(key)
    if kept is None or kept[0] != mtime:
        url = url_for("static", filename=filename, v=_fingerprint(path, mtime))
        kept = _ASSET_URLS[key] = (mtime, url)
    return kept[1]


def link(endpoint: str) -> str:
    """``url_for(endpoint)`` for a route without arguments, kept per process: the menu
    of every page has a dozen."""
    if endpoint.startswith("."):  # relative to the current blueprint: not the same everywhere
        return url_for(endpoint)
    key = (endpoint, request.script_root)
    url = _LINKS.get(key)
    if url is None:
        url = _LINKS[key] = url_for(endpoint)
    return url


class _Macros:
    """Attribute access to the macros of templates/_macros.html."""

    def __init__(self, app: Flask):
        self._app = app

    def __getattr__(self, name):
        return getattr(self._app.jinja_env.get_template("_macros.html").module, name)


@lru_cache(maxsize=64)
def _gzipped(path: str, mtime: float) -> bytes:
    return gzip.compress(Path(path).read_bytes(), compresslevel=9, mtime=0)


def _static_view(app: Flask):
    """Static files, gzipped once per file version when the client accepts it.

    flask-compress leaves file responses alone; htmx is 52 KB raw but 17 KB gzipped, which
    on a 2G line is the difference between eight seconds and three.
    """
    plain = app.view_functions["static"]

    def static(filename):
        path = Path(app.static_folder) / filename
        if (not request.accept_encodings["gzip"]
                or path.suffix not in (".js", ".css", ".svg") or not path.is_file()
                or not path.resolve().is_relative_to(Path(app.static_folder).resolve())):
            return plain(filename=filename)
        response = plain(filename=filename)  # status, type, conditional GET and caching as usual
        if response.status_code == 200:
            response.direct_passthrough = False
            if hasattr(response.response, "close"):
                response.response.close()  # the file send_file opened
            response.set_data(_gzipped(str(path), path.stat().st_mtime))
            response.headers["Content-Encoding"] = "gzip"
            response.vary.add("Accept-Encoding")
        return response

    return static


def is_approver() -> bool:
    """Whether the logged-in official may approve applicant accounts for their agency."""
    from flask import g
    from flask_login import current_user

    from portal.operations import may_approve

    if not current_user.is_authenticated:
        return False
    if "is_approver" not in g:
        g.is_approver = may_approve(current_user._get_current_object())
    return g.is_approver


def _translations():
    """This request's translations, asked of flask-babel once: a page asks twenty times."""
    from flask import g
    from flask_babel import get_translations

    found = g.get("_translations")
    if found is None:
        found = g._translations = get_translations()
    return found


def _template_gettext(string: str, /, **variables) -> Markup:
    """``_()`` in templates: what Jinja's newstyle gettext does for autoescaped HTML (the
    translation is markup, the variables are escaped into it), in one call instead of three:
    a page says ``_()`` a dozen times."""
    return Markup(_translations().ugettext(string)) % variables


def current_locale() -> str:
    """The interface language of this request: the one chosen in the session, else Indonesian."""
    chosen = session.get("lang")
    return chosen if chosen in LANGUAGES else "id"


def init_app(app: Flask) -> None:
    """Bind the extensions and the cross-cutting request handling."""
    app.config.setdefault("COMPRESS_MIMETYPES", ["text/html", "text/css", "application/javascript",
                                                 "text/javascript", "application/json"])
    app.config.setdefault("COMPRESS_ALGORITHM", ["gzip"])
    app.config.setdefault("COMPRESS_MIN_SIZE", 300)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES",
                          str(Path(__file__).resolve().parent / "translations"))
    app.config["BABEL_DEFAULT_LOCALE"] = "id"
    app.view_functions["static"] = _static_view(app)
    htmx.init_app(app)
    csrf.init_app(app)
    compress.init_app(app)
    babel.init_app(app, locale_selector=current_locale)
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
        newstyle=True)
    app.jinja_env.globals["_"] = _template_gettext
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    # The form macros as a global `m`: a fragment rendered alone (an htmx block) does not
    # run its template's top-level imports, so an `{% import %}` would be missing there.
    app.jinja_env.globals.update(asset_url=asset_url, link=link, LANGUAGES=LANGUAGES,
                                 locale=current_locale, m=_Macros(app), is_approver=is_approver,
                                 capacity_prefix=capacity_prefix)

    @app.after_request
    def _headers(response):
        if request.path.startswith("/static/") and request.args.get("v"):
            # Fingerprinted: the content never changes under this URL. send_file's no-cache
            # would make every page revalidate htmx, which on 2G sometimes re-downloads it.
            response.cache_control.no_cache = None
            response.cache_control.public = True
            response.cache_control.max_age = 31536000
            response.cache_control.immutable = True
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; "
            "script-src 'self'; frame-ancestors 'none'; form-action 'self'")
        return response

    @app.errorhandler(CSRFError)
    def _csrf_error(error):
        log.warning("CSRF refused: %s", error.description)
        return render("error.html", status=400, code=400,
                      message="Sesi formulir kedaluwarsa atau tidak sah. Muat ulang halaman "
                              "lalu coba lagi.")


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    ident, _, fragment = user_id.partition(":")
    if not ident.isdigit():
        return None
    user = User.by_id(int(ident))
    if user is None or not user.active or user.password_hash[-12:] != fragment:
        return None
    return user


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def uploads_from_request(prefix: str = "doc_"):
    """Files of the request keyed by document key (inputs are named doc_<key>)."""
    from portal.operations import Upload

    uploads = {}
    for name, storage in request.files.items():
        if name.startswith(prefix) and storage and storage.filename:
            uploads[name[len(prefix):]] = Upload(storage.filename, storage.read(),
                                                 storage.mimetype or "")
    return uploads
