"""Fixtures: an app per test on a fresh database (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid

import pytest
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

PG_URL = os.environ.get("PORTAL_TEST_DATABASE_URL")

BACKENDS = [
    "sqlite",
    pytest.param("postgresql", marks=[
        pytest.mark.postgres,
        pytest.mark.skipif(not PG_URL, reason="PostgreSQL part skipped: "
                           "PORTAL_TEST_DATABASE_URL is not set"),
    ]),
]


def _pg_admin(statement: str) -> None:
    from portal.core.db import make_database, release

    database = make_database(PG_URL)
    database.connect()
    database.execute_sql(statement)
    release(database)


def _shared_ca_dir(tmp_path):
    # One development CA for the whole run: generating RSA keys for every test is slow,
    # and the CA is not what most tests are about.
    return tmp_path.parent.parent / "absah-dev-ca"


BASE_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "test-secret",
    # One audit key for the run: the SQLite templates' events are written under it.
    "AUDIT_KEY": "test-audit-key",
    "BASE_URL": "http://portal.test",
    "DEMO_PASSWORD": "demo-test-password",
    "MAIL_SERVER": "",
    # scrypt costs ~0.3 s a login here; tests log in hundreds of times.
    "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
}
_SQLITE_TEMPLATES: dict[str, tuple] = {}


def _sqlite_template(kind: str, tmp_path_factory) -> tuple:
    """A migrated SQLite file (with the demo data when kind == "demo"), made once per test
    process through the same migrations and operations, then copied for each test: a copy
    costs a millisecond, migrating and loading the demo over a second."""
    if kind in _SQLITE_TEMPLATES:
        return _SQLITE_TEMPLATES[kind]
    from portal import create_app
    from portal.core.db import migrate
    from portal.modules.demo.data import load_demo

    folder = tmp_path_factory.mktemp(f"template-{kind}")
    path = folder / "test.db"
    template = create_app({**BASE_CONFIG, "DATABASE_URL": f"sqlite:///{path}",
                           "STORAGE_DIR": str(folder / "files"),
                           "SIGNING_CA_DIR": str(folder / "ca")})
    database = template.extensions["database"]
    migrate(database)
    accounts = None
    if kind == "demo":
        with template.app_context():
            accounts = load_demo(BASE_CONFIG["DEMO_PASSWORD"])
    database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    database.close()
    _SQLITE_TEMPLATES[kind] = (path, accounts)
    return _SQLITE_TEMPLATES[kind]


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path, tmp_path_factory):
    """A URL to a migrated database: a copy of a template SQLite file (with the demo data
    already in it when the test asks for `demo`), or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        kind = "demo" if "demo" in request.fixturenames else "empty"
        template, _accounts = _sqlite_template(kind, tmp_path_factory)
        shutil.copyfile(template, tmp_path / "test.db")
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    schema = f"t_{uuid.uuid4().hex[:16]}"
    _pg_admin(f'CREATE SCHEMA "{schema}"')
    joiner = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{joiner}options=-c%20search_path%3D{schema}"
    _pg_admin(f'DROP SCHEMA "{schema}" CASCADE')


class FreshContextClient(FlaskClient):
    """Runs each request in its own app context, as a real server does.

    The app fixture keeps an app context open for the test; Flask would reuse it for every
    request, sharing ``g`` (flask-login's user, flask-wtf's token) between requests and
    between the people a test plays.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def app_config():
    """Extra settings for the app fixture; test modules override this fixture."""
    return {}


@pytest.fixture
def app(database_url, tmp_path, monkeypatch, app_config):
    """The portal on a migrated, empty database, inside an app context."""
    from portal import create_app
    from portal.core.db import migrate

    monkeypatch.setenv("PORTAL_INSTANCE_DIR", str(tmp_path / "instance"))
    app = create_app({
        **BASE_CONFIG,
        "DATABASE_URL": database_url,
        "STORAGE_DIR": str(tmp_path / "files"),
        "SIGNING_CA_DIR": str(_shared_ca_dir(tmp_path)),
        **app_config,
    })
    app.test_client_class = FreshContextClient
    database = app.extensions["database"]
    migrate(database)  # a no-op on a template copy; the whole schema on PostgreSQL
    with app.app_context():
        yield app
    from portal.core.db import release

    release(database)  # pooled PostgreSQL connections too, or the server runs out


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def storage(app):
    from portal.storage import current_storage

    return current_storage()


@pytest.fixture
def demo(app, database_url):
    """The demo agencies, positions, accounts and the five seed SOPs."""
    from portal.modules.demo.data import load_demo

    if database_url.startswith("sqlite"):
        return _SQLITE_TEMPLATES["demo"][1]  # the copied template holds them already
    return load_demo(app.config["DEMO_PASSWORD"])


@pytest.fixture
def make_applicant(app):
    """A factory of applicant accounts: verified and approved unless told otherwise."""
    from portal.modules.accounts.models import AccountApproval, User
    from portal.modules.agencies.models import Agency

    counter = iter(range(1, 10_000))

    def make(verified=True, approved=True, name="Pemohon Uji"):
        n = next(counter)
        now = dt.datetime.now(dt.UTC)
        user = User.create(email=f"pemohon{n}@uji.test", name=f"{name} {n}",
                           password_hash=generate_password_hash("x" * 12, method="pbkdf2:sha256:1"),
                           email_verified_at=now if verified else None)
        if approved:
            for agency in Agency.select():
                AccountApproval.create(user=user, agency=agency, status="approved",
                                       decided_at=now)
        return user

    return make


class SMTPServer:
    """A real SMTP server on loopback (aiosmtpd) that keeps what it receives."""

    def __init__(self):
        import email
        import socket

        from aiosmtpd.controller import Controller

        self._email = email
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.messages = []
        server = self

        class Handler:
            async def handle_DATA(self, _server, _session, envelope):
                message = server._email.message_from_bytes(envelope.content)
                server.messages.append((envelope.rcpt_tos, message))
                return "250 OK"

        # A stopped controller cannot start again (its loop is closed): make one per start.
        self._new_controller = lambda: Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.running = False

    def start(self):
        self.controller = self._new_controller()
        self.controller.start()
        self.running = True

    def stop(self):
        if self.running:
            self.controller.stop()
            self.running = False

    def received(self):
        """(event, recipient address) of each message, in order of arrival."""
        return [(m["X-Absah-Event"], rcpts[0]) for rcpts, m in self.messages]

    def text_of(self, message):
        parts = [message] if not message.is_multipart() else message.walk()
        return "\n".join(p.get_payload(decode=True).decode("utf-8") for p in parts
                         if p.get_content_maintype() == "text")


@pytest.fixture
def smtp():
    """An SMTP server on loopback, running for the test."""
    server = SMTPServer()
    server.start()
    yield server
    server.stop()
