"""Rate limits (flask-limiter) on login, password reset, registration, the verification
page and uploads: 429 with Retry-After and a readable page (an alert for htmx); counted in
Redis across processes, where a parallel burst cannot exceed them. Also: ProxyFix, HSTS,
and tokens in URLs that are spent before the access log writes them."""

from __future__ import annotations

import http.cookiejar
import io
import os
import re
import shutil
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from html import unescape
from pathlib import Path

import pytest
from services import Gunicorn, free_port
from webclient import Browser, text

from portal.mail.models import OutboxMessage
from portal.modules.accounts.models import User
from portal.modules.audit.models import AuditEvent
from portal.modules.demo.data import DEMO_APPLICANT

PASSWORD = "demo-test-password"
REDIS_URL = "redis://127.0.0.1:6379/3"  # this suite's database on the shared server


def _from(app, address: str) -> Browser:
    """A browser on another client address."""
    browser = Browser(app)
    browser.client.environ_base["REMOTE_ADDR"] = address
    return browser


def _login(browser: Browser, email: str, password: str):
    browser.get("/login")
    return browser.post("/login", {"email": email, "password": password})


@pytest.fixture
def app_config():
    return {"RATELIMITS": "login_client=8 per minute;verify_view=3 per minute;"
                          "upload=2 per minute;register_client=2 per hour;"
                          "reset_client=4 per hour"}


def test_five_attempts_per_account_then_429_with_retry_after_even_for_the_password(app, demo):
    browser = Browser(app)
    for _ in range(5):
        assert _login(browser, DEMO_APPLICANT, "salah-salah-salah").status_code == 422
    refused = _login(browser, DEMO_APPLICANT, PASSWORD)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 15 * 60
    assert "Terlalu banyak percobaan" in text(refused) and "<html" in text(refused)
    # Another account from the same client is still let in; a success clears its count.
    other = "kasi.sdmk@dinkes-bangka.absah.test"
    for _ in range(4):
        assert _login(_from(app, "10.0.0.2"), other, "salah-salah-salah").status_code == 422
    assert _login(_from(app, "10.0.0.2"), other, PASSWORD).status_code == 303
    assert _login(_from(app, "10.0.0.3"), other, "salah-salah-salah").status_code == 422


def test_the_login_limit_per_client_counts_every_account(app, demo):
    browser = Browser(app)
    codes = [_login(browser, f"orang{n}@uji.test", "salah-salah-salah").status_code
             for n in range(9)]
    assert codes == [422] * 8 + [429]
    htmx = Browser(app, htmx=True)
    htmx.get("/login")
    refused = htmx.post("/login", {"email": "x@uji.test", "password": "y"})
    assert refused.status_code == 429 and refused.headers["HX-Retarget"] == "#alerts"
    assert "Retry-After" in refused.headers and "<html" not in text(refused)
    # Another client (its own address) is not affected.
    elsewhere = _from(app, "10.1.2.3")
    assert _login(elsewhere, "x@uji.test", "salah-salah-salah").status_code == 422


def test_reset_links_per_address_and_per_client(app, demo):
    browser = Browser(app)
    browser.get("/reset")
    codes = [browser.post("/reset", {"email": DEMO_APPLICANT}).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert OutboxMessage.select().where(OutboxMessage.event == "password_reset").count() == 3
    # The fifth request from this client is refused whatever the address.
    assert browser.post("/reset", {"email": "lain@uji.test"}).status_code == 429
    assert browser.get("/reset").status_code == 200  # only sending counts


def test_registration_is_limited_per_client(app):
    browser = Browser(app)
    browser.get("/register")
    codes = [browser.post("/register", {"email": f"baru{n}@uji.test", "name": "Baru",
                                        "password": "kata-sandi-baru"}).status_code
             for n in range(3)]
    assert codes == [303, 303, 429]
    assert User.select().where(User.email.startswith("baru")).count() == 2


def test_the_verification_page_is_limited_per_client_and_says_when_to_retry(app, demo):
    client = app.test_client()
    codes = [client.get("/v/bukan-token").status_code for _ in range(4)]
    assert codes == [404, 404, 404, 429]
    refused = client.get("/v/bukan-token")
    assert refused.headers["Cache-Control"] == "no-store"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "10.9.9.9"
    assert other.get("/v/bukan-token").status_code == 404


def test_requests_carrying_files_are_limited(app, demo):
    browser = Browser(app)
    browser.login(DEMO_APPLICANT, PASSWORD)
    codes = []
    for _ in range(3):
        response = browser.post("/v/bukan-token", {"file": (io.BytesIO(b"%PDF-1.7"), "a.pdf")},
                                content_type="multipart/form-data")
        codes.append(response.status_code)
    assert codes == [404, 404, 429]
    # A form without a file is not an upload.
    assert browser.post("/v/bukan-token", {"x": "1"}).status_code == 404


def test_a_limit_in_the_configuration_is_checked_at_start(tmp_path):
    from portal import create_app

    with pytest.raises(ValueError, match="unknown limit 'logn'"):
        create_app({"TESTING": True, "SECRET_KEY": "x", "RATELIMITS": "logn=1 per minute",
                    "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"})


def test_a_confirmation_link_asked_again_too_soon_is_a_429_with_retry_after(app, make_applicant):
    user = make_applicant(verified=False)
    browser = Browser(app)
    browser.login(user.email, "x" * 12)
    assert browser.post("/account/confirm/resend", {"back": "/home"}).status_code == 303
    refused = browser.post("/account/confirm/resend", {"back": "/home"})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) == 60


class TestRedisDown:
    """The shared counter (Redis) stops answering: limits count in each process meanwhile,
    and no page that has a limit (the QR verification page among them) answers 500."""

    @pytest.fixture
    def app_config(self):
        return {"RATELIMIT_STORAGE_URL": "redis://127.0.0.1:9/0",  # the discard port: closed
                "RATELIMITS": "verify_view=3 per minute"}

    @pytest.fixture(autouse=True)
    def _storage_back_afterwards(self):
        from portal.core.limits import limiter

        yield
        limiter._storage_dead = False  # the extension object outlives this test's app

    def test_limits_count_in_the_process_and_nothing_answers_500(self, app, demo):
        client = app.test_client()
        assert [client.get("/v/bukan-token").status_code for _ in range(4)] \
            == [404, 404, 404, 429]
        browser = Browser(app)
        codes = [_login(browser, DEMO_APPLICANT, "salah-salah-salah").status_code
                 for _ in range(6)]
        assert codes == [422] * 5 + [429]
        assert int(_login(browser, DEMO_APPLICANT, PASSWORD).headers["Retry-After"]) > 0


class TestProxyAndHeaders:
    @pytest.fixture
    def app_config(self):
        return {"PROXY_HOPS": 1, "BASE_URL": "https://portal.test",
                "RATELIMITS": "verify_view=2 per minute"}

    def test_behind_one_proxy_each_forwarded_client_counts_apart(self, app, demo):
        client = app.test_client()

        def scan(ip):
            return client.get("/v/bukan-token", headers={"X-Forwarded-For": ip}).status_code

        assert [scan("203.0.113.5") for _ in range(3)] == [404, 404, 429]
        assert scan("203.0.113.6") == 404

    def test_hsts_when_the_portal_is_served_over_https(self, app):
        response = app.test_client().get("/healthz")
        assert response.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_no_hsts_and_no_forwarded_clients_without_configuration(app, demo):
    client = app.test_client()
    assert "Strict-Transport-Security" not in client.get("/healthz").headers
    codes = [client.get("/v/bukan-token", headers={"X-Forwarded-For": f"203.0.113.{n}"})
             .status_code for n in range(4)]
    assert codes == [404, 404, 404, 429]  # a forged header is no new client


# -- served by gunicorn, counted in Redis ----------------------------------------------------

def _redis():
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("Redis is not running on 127.0.0.1:6379 (.ci/run starts it)")
    return client


class Served(Gunicorn):
    """The portal under gunicorn (own process) on a copy of the demo database, started."""

    def __init__(self, folder: Path, database: Path, access_log: Path | None = None,
                 workers: int = 1, env: dict | None = None):
        port = free_port()
        folder.mkdir(parents=True, exist_ok=True)
        environ = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
        environ.update({"PORTAL_INSTANCE_DIR": str(folder),
                        "PORTAL_DATABASE_URL": f"sqlite:///{database}",
                        "PORTAL_AUDIT_KEY": "test-audit-key",
                        "PORTAL_SECRET_KEY": "served-secret",
                        "PORTAL_OUTBOX_AFTER_REQUEST": "0", **(env or {})})
        super().__init__(environ, workers, port=port, log=folder / f"gunicorn-{port}.log",
                         access_log=access_log)
        self.start()

    @property
    def base(self) -> str:
        return self.base_url


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class HttpBrowser:
    """Cookies and the CSRF token over real HTTP (urllib)."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect())
        self.token = None

    def request(self, path: str, data: dict | None = None) -> tuple[int, dict, str]:
        body = None
        if data is not None:
            body = urllib.parse.urlencode({**data, "csrf_token": self.token}).encode()
        try:
            with self.opener.open(self.base + path, data=body, timeout=30) as response:
                status, headers, page = response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            status, headers, page = error.code, dict(error.headers), error.read()
        page = page.decode("utf-8", "replace")
        if match := re.search(r'name="csrf_token" value="([^"]+)"', page):
            self.token = unescape(match.group(1))
        return status, headers, page


@pytest.fixture
def served_database(tmp_path, tmp_path_factory):
    from conftest import _sqlite_template

    template, _accounts = _sqlite_template("demo", tmp_path_factory)
    database = tmp_path / "served.db"
    shutil.copyfile(template, database)
    return database


def test_the_login_limit_holds_across_two_instances_sharing_redis_in_a_parallel_burst(
        tmp_path, served_database):
    redis = _redis()
    redis.flushdb()
    env = {"PORTAL_RATELIMIT_STORAGE_URL": REDIS_URL}
    hosts = [Served(tmp_path / "a", served_database, env=env),
             Served(tmp_path / "b", served_database, env=env)]
    try:
        browsers = [HttpBrowser(hosts[n % 2].base) for n in range(16)]
        for browser in browsers:
            assert browser.request("/login")[0] == 200
        start = threading.Barrier(len(browsers))
        codes: list[int] = []

        def attempt(browser):
            start.wait()
            status, headers, _page = browser.request(
                "/login", {"email": DEMO_APPLICANT, "password": "tebakan-salah-1"})
            if status == 429:
                assert int(headers["Retry-After"]) > 0
            codes.append(status)

        threads = [threading.Thread(target=attempt, args=(b,)) for b in browsers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert sorted(codes) == [422] * 5 + [429] * 11
        # The right password, now, through either instance: still refused.
        for host in hosts:
            late = HttpBrowser(host.base)
            late.request("/login")
            assert late.request("/login", {"email": DEMO_APPLICANT,
                                           "password": PASSWORD})[0] == 429
        assert redis.dbsize() > 0  # counted in Redis, not in the processes
    finally:
        for host in hosts:
            host.stop()
        redis.flushdb()


def _logged_token(access: Path, prefix: str) -> str:
    """The one token the access log holds after ``prefix`` (e.g. "/reset/")."""
    time.sleep(0.3)  # the access line is written after the answer
    found = {m.group(1) for m in re.finditer(re.escape(prefix) + r"([^ \"?/]{20,})",
                                             access.read_text())}
    assert len(found) == 1, found
    return found.pop()


def test_reset_and_confirmation_tokens_in_the_access_log_are_spent(tmp_path, served_database,
                                                                   app):
    """gunicorn writes each request line after answering it; by then the token it carries
    opens nothing any more, while the browser that opened the link carries on."""
    from portal.core.db import bind, make_database, release
    from portal.modules.accounts.tokens import TokenError, read_token

    access = tmp_path / "access.log"
    # The test app's secret key, so that read_token here reads the served portal's tokens.
    host = Served(tmp_path / "served", served_database, access_log=access,
                  env={"PORTAL_SECRET_KEY": app.config["SECRET_KEY"]})
    database = make_database(f"sqlite:///{served_database}")
    bind(database)
    try:
        browser = HttpBrowser(host.base)
        browser.request("/reset")
        assert browser.request("/reset", {"email": DEMO_APPLICANT})[0] == 200
        body = (OutboxMessage.select().where(OutboxMessage.event == "password_reset")
                .order_by(OutboxMessage.id.desc()).get().body_text)
        link = re.search(r"/reset/\S+", body).group(0)
        status, _headers, page = browser.request(link)
        assert status == 200 and 'action="/reset/new"' in page
        token = _logged_token(access, "/reset/")
        assert link == f"/reset/{token}"
        with pytest.raises(TokenError):
            read_token(token, "reset")
        # The browser that opened it sets the password without a token in any URL.
        done = browser.request("/reset/new", {"password": "sandi-dari-tautan-1"})
        assert done[0] == 303 and "/login" in done[1]["Location"]
        user = User.by_email(DEMO_APPLICANT)
        assert {"account.reset_link_opened", "account.password_reset"} <= {
            e.action for e in AuditEvent.select().where(AuditEvent.object_id == str(user.id))}

        # A confirmation link: opening it confirms the address, so the logged token is spent.
        newcomer = HttpBrowser(host.base)
        newcomer.request("/register")
        assert newcomer.request("/register", {"email": "baru@uji.test", "name": "Baru",
                                              "password": "kata-sandi-baru"})[0] == 303
        body = (OutboxMessage.select().where(OutboxMessage.event == "account_verify")
                .order_by(OutboxMessage.id.desc()).get().body_text)
        assert newcomer.request(re.search(r"/verify/\S+", body).group(0))[0] == 303
        token = _logged_token(access, "/verify/")
        with pytest.raises(TokenError):
            read_token(token, "verify")
        assert User.by_email("baru@uji.test").email_verified_at is not None
    finally:
        host.stop()
        release(database)
        bind(app.extensions["database"])
