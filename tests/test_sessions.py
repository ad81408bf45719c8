"""Sessions end on the server: logout, password change or reset, deactivation and "log out
everywhere" end them, and a copy of the cookie taken before is refused afterwards, on
SQLite and PostgreSQL, and on a second portal instance sharing the database."""

from __future__ import annotations

import datetime as dt

import pytest
from webclient import Browser, text

from portal.modules.accounts import sessions
from portal.modules.accounts.models import User, UserSession
from portal.modules.audit.models import AuditEvent
from portal.modules.audit.trail import verify_chain
from portal.modules.demo.data import DEMO_APPLICANT

PASSWORD = "demo-test-password"
BANGKA_ADMIN = "admin@dinkes-bangka.absah.test"
MALANG_ADMIN = "admin@dinkes-malang.absah.test"
KASI_SDMK = "kasi.sdmk@dinkes-bangka.absah.test"


def _session_cookie(browser: Browser) -> str:
    cookie = browser.client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def _replay(app, cookie: str) -> Browser:
    """A new browser that presents a copied session cookie."""
    thief = Browser(app)
    thief.client.set_cookie("session", cookie, domain="localhost")
    return thief


def _actions(user: User) -> list[str]:
    return [e.action for e in AuditEvent.select().where(
        (AuditEvent.object_type == "user") & (AuditEvent.object_id == str(user.id)))
        .order_by(AuditEvent.seq)]


def _refused(browser: Browser, url: str = "/account") -> bool:
    response = browser.get(url)
    return response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_cookie_copied_before_logout_opens_nothing_afterwards(app, demo):
    user = User.by_email(DEMO_APPLICANT)
    browser = Browser(app)
    browser.login(DEMO_APPLICANT, PASSWORD)
    cookie = _session_cookie(browser)
    assert _replay(app, cookie).get("/account").status_code == 200  # the copy works while open
    assert browser.post("/logout").status_code == 303

    thief = _replay(app, cookie)
    assert _refused(thief) and _refused(thief, "/applications")
    # Nor does it change what the account keeps (the language switch only stores a logged-in
    # person's choice): the form token of the old session is still in the cookie.
    thief.token = browser.token
    assert thief.post("/lang/en", {"next": "/"}).status_code == 303
    assert User.get_by_id(user.id).language == user.language
    row = UserSession.get(UserSession.user == user)
    assert row.ended_at is not None and row.ended_reason == "logout"
    assert _actions(user)[-2:] == ["account.login", "account.logout"]
    assert verify_chain().ok


def test_changing_the_password_ends_every_other_session_but_this_one(app, demo):
    user = User.by_email(DEMO_APPLICANT)
    here, there = Browser(app), Browser(app)
    here.login(DEMO_APPLICANT, PASSWORD)
    there.login(DEMO_APPLICANT, PASSWORD)
    page = text(here.get("/account"))
    assert "Ganti kata sandi" in page and page.count("<tr><td>") == 2  # two sessions listed

    wrong = here.post("/account/password", {"current": "bukan-ini-123", "password": "x" * 12})
    assert wrong.status_code == 422 and "Kata sandi saat ini salah." in text(wrong)
    assert there.get("/account").status_code == 200  # a refused change ends nothing

    done = here.post("/account/password", {"current": PASSWORD, "password": "sandi-baru-2026"})
    assert done.status_code == 303
    assert here.get("/account").status_code == 200
    assert _refused(there)
    assert "account.password_changed" in _actions(user)
    Browser(app).login(DEMO_APPLICANT, "sandi-baru-2026")


def test_a_password_reset_ends_every_session(app, demo):
    from portal.modules.accounts import operations

    user = User.by_email(DEMO_APPLICANT)
    browser = Browser(app)
    browser.login(DEMO_APPLICANT, PASSWORD)
    operations.reset_password(user, "sandi-reset-2026")
    assert _refused(browser)
    assert not UserSession.select().where((UserSession.user == user)
                                          & UserSession.ended_at.is_null()).exists()


def test_the_user_logs_out_everywhere_else_and_keeps_this_session(app, demo):
    user = User.by_email(DEMO_APPLICANT)
    browsers = [Browser(app) for _ in range(3)]
    for browser in browsers:
        browser.login(DEMO_APPLICANT, PASSWORD)
    answer = browsers[0].post("/account/sessions/end", follow_redirects=True)
    assert answer.status_code == 200 and "2 sesi lain diakhiri." in text(answer)
    assert browsers[0].get("/account").status_code == 200
    assert _refused(browsers[1]) and _refused(browsers[2])
    event = AuditEvent.select().where(AuditEvent.action == "account.sessions_ended").get()
    assert event.data == {"sessions": 2, "by": "self"} and event.actor_id == user.id


def test_an_administrator_logs_an_official_out_everywhere(app, demo):
    official = User.by_email(KASI_SDMK)
    phone, desk = Browser(app), Browser(app)
    phone.login(KASI_SDMK, PASSWORD)
    desk.login(KASI_SDMK, PASSWORD)
    admin = Browser(app)
    admin.login(BANGKA_ADMIN, PASSWORD)
    page = text(admin.get("/admin/users"))
    assert f'action="/admin/users/{official.id}/sessions/end"' in page

    stranger = Browser(app)  # an administrator of another agency may not
    stranger.login(MALANG_ADMIN, PASSWORD)
    assert stranger.post(f"/admin/users/{official.id}/sessions/end").status_code == 403
    assert phone.get("/inbox").status_code == 200

    assert admin.post(f"/admin/users/{official.id}/sessions/end").status_code == 303
    assert _refused(phone, "/inbox") and _refused(desk, "/inbox")
    assert admin.get("/admin/users").status_code == 200  # the administrator's own goes on
    event = AuditEvent.select().where(AuditEvent.action == "account.sessions_ended").get()
    assert event.data == {"sessions": 2, "by": "admin"}
    assert event.actor_id == User.by_email(BANGKA_ADMIN).id
    phone.login(KASI_SDMK, PASSWORD)  # logging in again works


def test_deactivation_ends_the_sessions_and_refuses_logins_until_reactivated(app, demo):
    official = User.by_email(KASI_SDMK)
    browser = Browser(app)
    browser.login(KASI_SDMK, PASSWORD)
    cookie = _session_cookie(browser)
    admin = Browser(app)
    admin.login(BANGKA_ADMIN, PASSWORD)
    assert admin.post(f"/admin/users/{official.id}/active", {"active": "0"}).status_code == 303
    assert _refused(browser, "/inbox") and _refused(_replay(app, cookie), "/inbox")
    again = Browser(app)
    again.get("/login")
    refused = again.post("/login", {"email": KASI_SDMK, "password": PASSWORD})
    assert refused.status_code == 422
    assert "nonaktif" in text(admin.get("/admin/users"))
    # An administrator cannot lock themself out.
    me = User.by_email(BANGKA_ADMIN)
    assert admin.post(f"/admin/users/{me.id}/active", {"active": "0"}).status_code == 409
    assert admin.post(f"/admin/users/{official.id}/active", {"active": "1"}).status_code == 303
    Browser(app).login(KASI_SDMK, PASSWORD)
    actions = _actions(official)
    assert "account.deactivated" in actions and "account.activated" in actions


def test_a_session_left_idle_too_long_ends(app, demo):
    browser = Browser(app)
    browser.login(DEMO_APPLICANT, PASSWORD)
    long_ago = dt.datetime.now(dt.UTC) - sessions.IDLE_LIMIT - dt.timedelta(minutes=1)
    UserSession.update(last_seen_at=long_ago).execute()
    assert _refused(browser)
    assert UserSession.get().ended_reason == "idle"


def test_a_forged_or_old_style_session_id_is_refused(app, demo):
    user = User.by_email(DEMO_APPLICANT)
    browser = Browser(app)
    with browser.client.session_transaction() as session:
        session["_user_id"] = f"{user.id}:{user.session_nonce}"  # the format before 0014
        session["_fresh"] = True
    assert _refused(browser)
    with browser.client.session_transaction() as session:
        session["_user_id"] = "x" * 500
    assert _refused(browser)


def test_logging_out_on_one_instance_ends_the_session_on_another(app, demo, database_url,
                                                                tmp_path):
    """A second portal instance (as on another host) with the same database and secret key:
    a session opened on A works on B until it is ended on A. (One process here, so both
    share the models' database binding; the multi-host test runs them apart.)"""
    from conftest import BASE_CONFIG, FreshContextClient

    from portal import create_app
    from portal.core.db import bind, release

    other = create_app({**BASE_CONFIG, "DATABASE_URL": database_url,
                        "STORAGE_DIR": str(tmp_path / "files-b")})
    other.test_client_class = FreshContextClient
    bind(app.extensions["database"])
    try:
        on_a = Browser(app)
        on_a.login(DEMO_APPLICANT, PASSWORD)
        cookie = _session_cookie(on_a)
        assert _replay(other, cookie).get("/account").status_code == 200
        assert on_a.post("/logout").status_code == 303
        assert _refused(_replay(other, cookie))
    finally:
        release(other.extensions["database"])


@pytest.mark.parametrize("agent, summary", [
    ("Mozilla/5.0 (Linux; Android 13) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36",
     "Chrome · Android"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
     "Firefox · Windows"),
    ("curl/8.5.0\x00\u202e", "curl/8.5.0"),
])
def test_the_browser_of_a_session_is_summarised(agent, summary):
    assert sessions.summarise_agent(agent) == summary
