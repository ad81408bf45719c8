"""Bad input is refused, never a 500, on SQLite and PostgreSQL: control characters, values
longer than their column, digits of other scripts, impossible date ranges, huge texts,
Unicode e-mail addresses. A property-based test (hypothesis) posts generated values into
every form the portal shows its users and checks that nothing answers 5xx and that a refused
request changes nothing already stored."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from webclient import Browser, text

from portal.core.forms import FORM_VALUE_MAX, ascii_digits, length_problems
from portal.modules.accounts.models import Assignment, Position, User
from portal.modules.demo.data import DEMO_APPLICANT

PASSWORD = "demo-test-password"
BANGKA_ADMIN = "admin@dinkes-bangka.absah.test"
ARABIC_INDIC = "٠١٢٣٤٥٦٧٨٩"


@pytest.fixture
def app_config():
    return {"RATELIMIT_ENABLED": False}  # this is about input, not about limits


def _register(browser: Browser, **fields):
    browser.get("/register")
    data = {"email": "baru@uji.test", "name": "Budi", "password": "kata-sandi-baru", **fields}
    return browser.post("/register", data)


# -- one case each ---------------------------------------------------------------------------

@pytest.mark.parametrize("field", ["email", "name", "phone", "password"])
def test_a_nul_byte_in_any_registration_field_is_refused_with_422(app, field):
    response = _register(Browser(app), **{field: "Bu\x00di"})
    assert response.status_code == 422 and "karakter kontrol" in text(response)
    assert User.select().count() == 0


@pytest.mark.parametrize("url, data", [
    ("/login", {"email": "a\x00@uji.test", "password": "x"}),
    ("/reset", {"email": "pemohon@absah.test\x00"}),
    ("/reset/new", {"password": "kata\x00sandi-baru"}),
])
def test_a_nul_byte_in_login_and_reset_forms_is_refused(app, demo, url, data):
    browser = Browser(app)
    assert browser.post(url, data).status_code == 422


def test_a_nul_byte_in_a_decision_note_is_refused_and_the_task_stays_open(app, demo, storage):
    from test_web_access import _submit

    from portal.modules.applications.models import Task

    application = _submit("rekom-nakes", User.by_email(DEMO_APPLICANT), storage)
    task = Task.open_for(application)
    holder = Assignment.holders(Position.get_by_id(task.position_id), dt.date.today())[0][0]
    browser = Browser(app)
    browser.login(holder.email, PASSWORD)
    answer = browser.post(f"/tasks/{task.id}/decide", {"outcome": "returned", "note": "a\x00b"})
    assert answer.status_code == 422
    assert Task.get_by_id(task.id).status == "open"


def test_a_nul_byte_in_a_url_is_refused(app, demo):
    assert app.test_client().get("/v/abc%00def").status_code == 422


def test_over_long_registration_values_are_refused_next_to_their_field(app):
    long_email = "a" * 300 + "@uji.test"  # 307 characters: longer than the column
    response = _register(Browser(app), email=long_email, phone="1" * 300)
    page = text(response)
    assert response.status_code == 422
    assert 'id="e-email"' in page and 'id="e-phone"' in page
    assert User.select().count() == 0


def test_a_phone_in_arabic_indic_digits_is_stored_in_ascii_digits(app):
    assert _register(Browser(app), phone="٠٨١٢ ٣٤٥٦ ٧٨٩٠").status_code == 303
    assert User.by_email("baru@uji.test").phone == "0812 3456 7890"


def test_a_nip_in_arabic_indic_digits_is_normalised_and_superscripts_refused(app, demo):
    admin = Browser(app)
    admin.login(BANGKA_ADMIN, PASSWORD)
    nip = "".join(ARABIC_INDIC[int(c)] for c in "198001012005011999")
    created = admin.post("/admin/users", {"email": "nip@uji.test", "name": "Nip Uji",
                                          "nip": nip, "password": "kata-sandi-awal"})
    assert created.status_code == 303
    assert User.by_email("nip@uji.test").nip == "198001012005011999"
    refused = admin.post("/admin/users", {"email": "nip2@uji.test", "name": "Nip Dua",
                                          "nip": "¹" * 18, "password": "kata-sandi-awal"})
    assert refused.status_code == 422 and "NIP terdiri atas 18 angka." in text(refused)


def test_an_acting_assignment_ending_before_it_starts_is_refused(app, demo):
    admin = Browser(app)
    admin.login(BANGKA_ADMIN, PASSWORD)
    official = User.by_email("kasi.sdmk@dinkes-bangka.absah.test")
    position = Position.get(Position.key == "kabid_sdk")
    today = dt.date.today()
    answer = admin.post("/admin/acting", {
        "user": official.id, "position": position.id, "capacity": "plh",
        "starts_on": (today + dt.timedelta(days=5)).isoformat(),
        "ends_on": (today + dt.timedelta(days=2)).isoformat()})
    assert answer.status_code == 422
    assert "Tanggal selesai tidak boleh sebelum tanggal mulai." in text(answer)


def test_a_huge_text_is_refused_before_any_view_reads_it(app, demo):
    admin = Browser(app)
    admin.login(BANGKA_ADMIN, PASSWORD)
    answer = admin.post("/admin/settings", {"address": "Jl. " + "x" * 200_000})
    assert answer.status_code == 422 and "terlalu panjang" in text(answer)


def test_an_id_no_column_holds_is_refused_never_a_500(app, demo):
    """2**70 as an id in a URL or a form: SQLite's driver cannot even put it in a query
    (OverflowError); the answer is 404 or 422 on both databases, with the page."""
    admin = Browser(app)
    admin.login(BANGKA_ADMIN, PASSWORD)
    huge = str(2**70)
    for url in (f"/admin/users/{huge}/active", f"/admin/users/{huge}/sessions/end",
                f"/admin/approvals/{huge}"):
        answer = admin.post(url, {"active": "1", "decision": "approved"})
        assert answer.status_code == 404 and "<html" in text(answer), url
    assert admin.get(f"/tasks/{huge}").status_code == 404
    position = Position.get(Position.key == "kabid_sdk")
    answer = admin.post("/admin/assignments", {"user": huge, "position": position.id,
                                               "starts_on": dt.date.today().isoformat()})
    assert answer.status_code == 422
    applicant = Browser(app)
    applicant.login(DEMO_APPLICANT, PASSWORD)
    assert applicant.get(f"/services/rekom-nakes/apply?draft={huge}").status_code in (404, 422)


def test_a_unicode_e_mail_address_is_refused_at_registration_with_a_reason(app):
    for address in ("büdi@contoh.id", "будь@пример.рф", "budi@contoh.ид"):
        response = _register(Browser(app), email=address)
        assert response.status_code == 422 and "huruf Latin dasar" in text(response)
    assert User.select().count() == 0


def test_values_are_checked_against_their_column():
    assert length_problems({"email": "a" * 256, "name": "ok", "other": "x" * 999}, User) \
        .keys() == {"email"}
    assert not length_problems({"email": "a" * 255}, User)
    assert ascii_digits("NIK ١٢٣ ۴۵۶ ７８９") == "NIK 123 456 789"


def test_a_value_a_postgresql_column_refuses_is_a_422_not_a_500(app, demo):
    """The last line of defence: a too-long value that reached a column (PostgreSQL
    refuses it; SQLite keeps it) answers 422 with the error page, never a stack trace."""
    from flask import Blueprint
    from peewee import DataError

    blueprint = Blueprint("probe", __name__)

    @blueprint.get("/probe")
    def probe():
        raise DataError("value too long for type character varying(255)")

    app.register_blueprint(blueprint)
    answer = app.test_client().get("/probe")
    assert answer.status_code == 422 and "terlalu panjang" in text(answer)


# -- every form, generated values ------------------------------------------------------------

class _Forms(HTMLParser):
    """The POST forms of a page: (action, [(name, type, default, options)]), and its links."""

    def __init__(self, base: str):
        super().__init__(convert_charrefs=True)
        self.base, self.forms, self.links = base, [], set()
        self._form = None
        self._select = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.links.add(urljoin(self.base, attrs["href"]).split("#")[0])
        elif tag == "form" and (attrs.get("method") or "").lower() == "post":
            self._form = (urljoin(self.base, attrs.get("action") or self.base), [])
            self.forms.append(self._form)
        elif self._form is not None and tag in ("input", "textarea") and attrs.get("name"):
            kind = attrs.get("type", "text") if tag == "input" else "textarea"
            if kind not in ("submit", "button", "reset", "image"):
                self._form[1].append((attrs["name"], kind, attrs.get("value") or "", []))
        elif self._form is not None and tag == "select" and attrs.get("name"):
            self._select = (attrs["name"], "select", "", [])
            self._form[1].append(self._select)
        elif self._select is not None and tag == "option":
            self._select[3].append(attrs.get("value") or "")

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


_SKIP = (".pdf", ".jpg", ".png", ".csv", ".pem", ".crl", "/static/", "/dev/", "/lang/")


def _crawl(browser: Browser, starts: list[str], limit: int = 40) -> list[tuple]:
    """The forms of the pages reachable from ``starts`` (links on this site, breadth first)."""
    seen, queue, forms = set(), list(starts), []
    while queue and len(seen) < limit:
        url = queue.pop(0)
        path = urlsplit(url).path + (f"?{urlsplit(url).query}" if urlsplit(url).query else "")
        if path in seen or any(s in path for s in _SKIP) or not path.startswith("/"):
            continue
        seen.add(path)
        response = browser.get(path)
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        parser = _Forms("http://localhost" + path)
        parser.feed(text(response))
        forms += [(urlsplit(action).path, fields) for action, fields in parser.forms]
        queue += [link for link in sorted(parser.links)
                  if urlsplit(link).netloc in ("localhost", "")]
    return forms


NASTY = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=12),
    st.sampled_from([
        "\x00", "a\x00b", "x" * 256, "x" * 301, "a" * 300 + "@uji.test", "1" * 300,
        ARABIC_INDIC * 2, "١٢٣٤٥٦٧٨٩٠١٢٣٤٥٦", "2026-02-30", "2030-12-31", "1900-01-01",
        "-1", "0", "99999999999999999999999", "büdi@contoh.id", "𝟙𝟚𝟛", " ", "",
        "<script>alert(1)</script>", "' OR 1=1 --", "x" * (FORM_VALUE_MAX + 1),
        "Jl. " + "panjang " * 700,
    ]),
)


def _value(draw, name, kind, default, options):
    if name == "csrf_token":
        return default
    keep = draw(st.booleans())
    if kind in ("select", "radio") and options and keep:
        return draw(st.sampled_from(options))
    if kind == "file":
        return (io.BytesIO(draw(st.binary(max_size=64))), draw(NASTY) or "x.pdf")
    if keep and default:
        return default
    return draw(NASTY)


# Tables whose rows a refused request must leave as they were (the audit trail, outbox and
# sessions may grow with refused attempts that are themselves recorded). New rows may
# appear: a refused submission keeps what was typed and uploaded as a draft, on purpose.
_KEPT = {"user": "", "agency": "", "position": "", "assignment": "", "account_approval": "",
         "application": "WHERE status <> 'draft'", "task": "", "decision": "", "letter": "",
         "sop_version": "", "day_off": "", "letter_template": ""}


def _snapshot(database) -> set:
    rows = set()
    tables = set(database.get_tables())
    for table, where in _KEPT.items():
        if table in tables:
            for row in database.execute_sql(f'SELECT * FROM "{table}" {where}').fetchall():
                rows.add((table, hashlib.sha256(repr(row).encode()).hexdigest()))
    return rows


# What every run must reach, at least (the forms among them).
MUST_REACH = {"accounts.register", "accounts.login", "accounts.reset_request",
              "accounts.change_password", "accounts.create_official", "accounts.create_acting",
              "accounts.create_position", "applications.decide", "applications.apply",
              "agencies.save_settings", "letters.verify"}


def test_generated_values_in_every_form_never_give_5xx_and_lose_nothing(app, demo, storage):
    from test_web_access import _submit

    from portal.modules.accounts import operations as accounts_operations
    from portal.modules.applications.models import Application, Task
    from portal.modules.demo.data import walk
    from portal.modules.letters.models import Letter

    application = _submit("rekom-nakes", User.by_email(DEMO_APPLICANT), storage)
    task = Task.open_for(application)
    official = Assignment.holders(Position.get_by_id(task.position_id), dt.date.today())[0][0]
    platform_admin, _ = accounts_operations.make_platform_admin("platform@uji.test")
    User.update(password_hash=User.by_email(DEMO_APPLICANT).password_hash).where(
        User.id == platform_admin.id).execute()
    people = {"anonymous": None, "applicant": DEMO_APPLICANT, "admin": BANGKA_ADMIN,
              "official": official.email, "platform": "platform@uji.test"}
    browsers = {}
    forms = []
    adapter = app.url_map.bind("localhost")
    starts = ["/", "/home", "/account", "/applications", f"/applications/{application.id}",
              f"/tasks/{task.id}", "/inbox", "/register", "/login", "/reset", "/admin/",
              "/platform", "/services/rekom-nakes/apply"]
    walk("rekom-nakes", storage)  # a letter, for the verification page's form
    starts.append(f"/v/{Letter.select(Letter.token).scalar()}")
    for who, email in people.items():
        browser = browsers[who] = Browser(app)
        if email:
            browser.login(email, PASSWORD)
        for action, fields in _crawl(browser, starts):
            try:
                endpoint, _args = adapter.match(action, method="POST")
            except Exception:  # noqa: BLE001 - a form posting elsewhere is not ours to test
                continue
            if endpoint == "accounts.logout":
                continue  # ends the persona's session; tested in test_sessions.py
            if (who, action) not in {(w, a) for w, _e, a, _f in forms}:
                forms.append((who, endpoint, action, fields))
    reached = {endpoint for _who, endpoint, _action, _fields in forms}
    assert MUST_REACH <= reached, sorted(MUST_REACH - reached)
    database = app.extensions["database"]
    outcomes: dict[str, set[int]] = {}
    calls = [0]

    def check(who, endpoint, action, values):
        browser = browsers[who]
        before = _snapshot(database)
        response = browser.post(action, values)
        calls[0] += 1
        assert response.status_code < 500, (endpoint, values, text(response)[:300])
        outcomes.setdefault(endpoint, set()).add(response.status_code // 100)
        if response.status_code >= 400:
            lost = before - _snapshot(database)  # rows changed or gone
            assert not lost, (endpoint, response.status_code, sorted(lost)[:5])
        if (response.status_code == 302 and "/login" in response.headers.get("Location", "")
                and people[who]):
            User.update(active=True).where(User.email == people[who]).execute()
            browser.login(people[who], PASSWORD)

    # Every form once with each of a few values, in every text field at once: longer than a
    # column, other scripts' digits, a reversed date range.
    for filler in ("x" * 300, "١٢٣٤٥٦٧٨٩٠١٢٣٤٥٦", "2031-01-01"):
        for who, endpoint, action, fields in forms:
            values = {name: (default if name == "csrf_token" or kind in ("hidden", "select")
                             else (io.BytesIO(b"%PDF-1.4"), filler) if kind == "file"
                             else "1999-01-01" if name.startswith(("ends", "end_", "until"))
                             and kind == "date" else filler)
                      for name, kind, default, _options in fields}
            check(who, endpoint, action, values)

    @settings(max_examples=400, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def post_generated_values(data):
        who, endpoint, action, fields = data.draw(st.sampled_from(forms), label="form")
        values = {}
        for name, kind, default, options in fields:
            values[name] = _value(data.draw, name, kind, default, options)
        check(who, endpoint, action, values)

    post_generated_values()
    print(f"{len(reached)} endpoints reached: {sorted(reached)}; {calls[0]} posts")
    print("outcomes (status classes) by endpoint:", sorted(outcomes.items()))
    # Both kinds of answer happened: values were accepted, and refused.
    assert {2, 3} & set().union(*outcomes.values()) and 4 in set().union(*outcomes.values())
    assert outcomes.keys() == reached  # every form was posted
    # The file submitted at the start is still there, whole, and its page opens.
    number = application.registration_number
    assert Application.get_by_id(application.id).registration_number == number
    page = browsers["applicant"].get(f"/applications/{application.id}")
    assert page.status_code == 200 and number in text(page)
