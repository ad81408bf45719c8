"""The platform without SQL: `agency create|staff|list` and `admin create` on the command
line, the platform administrator's page, invitations that set a password, and every
command's answer on a database that lacks migrations."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from webclient import Browser, text

from portal.core.db import migrate, release
from portal.mail.models import OutboxMessage
from portal.modules.accounts.models import Assignment, Position, User
from portal.modules.agencies.models import Agency
from portal.modules.audit.models import AuditEvent
from portal.modules.audit.trail import verify_chain

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"http://portal\.test(/invite/[A-Za-z0-9_.\-]+)")
HEADER = "email,name,nip,position_key,position_title\n"
NIP = "199001012020012001"


def _invitation_path(email: str) -> str:
    message = (OutboxMessage.select().where((OutboxMessage.to_address == email)
                                            & (OutboxMessage.event == "account_invited"))
               .order_by(OutboxMessage.id.desc()).get())
    return LINK.search(message.body_text).group(1)


def _accept(app, email: str, password: str = "kata-sandi-baru-1") -> Browser:
    """Open the invitation link, choose the password, log in: the browser, logged in."""
    browser = Browser(app)
    path = _invitation_path(email)
    page = browser.get(path)
    assert page.status_code == 200 and "Buat kata sandi" in text(page)
    assert browser.post(path, {"password": "pendek"}).status_code == 422
    done = browser.post(path, {"password": password})
    assert done.status_code == 303 and "/login" in done.headers["Location"]
    assert browser.get(path).status_code == 400  # spent
    browser.login(email, password)
    return browser


def _create(runner, code="dinkes-contoh", zone="WITA", admin="admin@contoh.test"):
    return runner.invoke(args=["agency", "create", code, "--name", "Dinas Kesehatan Contoh",
                               "--zone", zone, "--admin", admin])


# -- agency create, list, staff ----------------------------------------------------------

def test_agency_create_makes_the_agency_and_invites_its_administrator(app, runner):
    result = _create(runner)
    assert result.exit_code == 0, result.output
    assert "created agency dinkes-contoh" in result.output
    agency = Agency.get(Agency.code == "dinkes-contoh")
    assert agency.timezone == "Asia/Makassar" and agency.name == "Dinas Kesehatan Contoh"
    admin = User.by_email("admin@contoh.test")
    assert admin.is_agency_admin and admin.agency_id == agency.id
    assert admin.password_hash == "!invited" and admin.email_verified_at is None
    message = OutboxMessage.get(OutboxMessage.to_address == "admin@contoh.test")
    assert message.event == "account_invited" and "Dinas Kesehatan Contoh" in message.subject
    assert {e.action for e in AuditEvent.select()} >= {"agency.created", "account.created"}

    browser = _accept(app, "admin@contoh.test")
    assert "Dinas Kesehatan Contoh" in text(browser.get("/admin/"))
    assert User.by_email("admin@contoh.test").email_verified_at is not None
    assert verify_chain().ok


@pytest.mark.parametrize(("zone", "stored"), [("wib", "Asia/Jakarta"), ("WIT", "Asia/Jayapura"),
                                              ("Asia/Pontianak", "Asia/Pontianak")])
def test_agency_create_takes_the_three_zones_and_iana_names(app, runner, zone, stored):
    assert _create(runner, zone=zone).exit_code == 0
    assert Agency.get(Agency.code == "dinkes-contoh").timezone == stored


def test_agency_create_refuses_bad_input_and_a_taken_code(app, runner):
    bad = runner.invoke(args=["agency", "create", "9 bad", "--name", " ", "--zone", "CET-ish",
                              "--admin", "not-an-address"])
    assert bad.exit_code == 1
    for field in ("code:", "name:", "zone:", "admin_email:"):
        assert field in bad.output
    assert _create(runner).exit_code == 0
    again = _create(runner, admin="other@contoh.test")
    assert again.exit_code == 1 and "code:" in again.output
    taken = _create(runner, code="dinkes-lain")
    assert taken.exit_code == 1 and "admin_email:" in taken.output
    assert Agency.select().count() == 1 and User.select().count() == 1


def test_agency_list_shows_counts(app, runner, tmp_path):
    assert runner.invoke(args=["agency", "list"]).output.startswith("no agencies")
    _create(runner)
    staff = tmp_path / "staff.csv"
    staff.write_text(HEADER + "a@contoh.test,Budi,,kasi,Kepala Seksi\n"
                     "b@contoh.test,Ani,,kabid,Kepala Bidang\n")
    assert runner.invoke(args=["agency", "staff", "dinkes-contoh", str(staff)]).exit_code == 0
    result = runner.invoke(args=["agency", "list"])
    assert result.exit_code == 0
    header, row = result.output.splitlines()
    assert header.split() == ["code", "name", "zone", "admins", "officials", "SOPs"]
    assert row.split()[0] == "dinkes-contoh" and row.split()[-4:] == ["Asia/Makassar", "1", "2",
                                                                      "0"]


def _staff(runner, tmp_path, body: str, name="staff.csv"):
    path = tmp_path / name
    path.write_text(HEADER + body, encoding="utf-8")
    return runner.invoke(args=["agency", "staff", "dinkes-contoh", str(path)])


def test_staff_import_creates_updates_and_a_second_run_changes_nothing(app, runner, tmp_path):
    _create(runner)
    rows = ("kasi@contoh.test,Budi Santoso,,kasi_sdmk,Kepala Seksi SDMK\n"
            f"kabid@contoh.test,Ani Lestari,{NIP},kabid_sdk,Kepala Bidang SDK\n"
            "staf@contoh.test,Citra,,kasi_sdmk,\n")  # an existing position: title optional
    first = _staff(runner, tmp_path, rows)
    assert first.exit_code == 0, first.output
    assert "staff.csv:2: kasi@contoh.test: created" in first.output
    assert "3 created, 0 updated, 0 unchanged" in first.output
    agency = Agency.get(Agency.code == "dinkes-contoh")
    kasi = Position.get((Position.agency == agency) & (Position.key == "kasi_sdmk"))
    assert kasi.title == "Kepala Seksi SDMK"
    assert {a.user.email for a in Assignment.select().where(Assignment.position == kasi)} == {
        "kasi@contoh.test", "staf@contoh.test"}
    assert User.by_email("kabid@contoh.test").nip == NIP
    invited = {m.to_address for m in OutboxMessage.select().where(
        OutboxMessage.event == "account_invited")}
    assert invited == {"admin@contoh.test", "kasi@contoh.test", "kabid@contoh.test",
                       "staf@contoh.test"}

    second = _staff(runner, tmp_path, rows)
    assert second.exit_code == 0
    assert "0 created, 0 updated, 3 unchanged" in second.output
    assert "nothing changed" in second.output
    events, messages = AuditEvent.select().count(), OutboxMessage.select().count()

    changed = _staff(runner, tmp_path, rows.replace("Budi Santoso", '"Budi Santoso, S.K.M."')
                     .replace("Kepala Bidang SDK", "Kepala Bidang Sumber Daya Kesehatan"))
    assert changed.exit_code == 0, changed.output
    assert "staff.csv:2: kasi@contoh.test: updated (name)" in changed.output
    assert "staff.csv:3: kabid@contoh.test: updated (position kabid_sdk renamed)" in changed.output
    assert "0 created, 2 updated, 1 unchanged" in changed.output
    assert User.by_email("kasi@contoh.test").name == "Budi Santoso, S.K.M."
    assert OutboxMessage.select().count() == messages  # no invitation for existing people
    assert AuditEvent.select().count() > events and verify_chain().ok

    # An invited official chooses a password from the link and finds their inbox.
    browser = _accept(app, "kasi@contoh.test")
    assert browser.get("/inbox").status_code == 200


def test_a_bad_row_is_reported_with_its_line_and_nothing_is_applied(app, runner, tmp_path):
    _create(runner)
    state = (User.select().count(), Position.select().count(), AuditEvent.select().count(),
             OutboxMessage.select().count())
    result = _staff(runner, tmp_path, "ok@contoh.test,Budi,,kasi,Kepala Seksi\n"
                                      "bukan-email,Ani,,kabid,Kepala Bidang\n"
                                      "c@contoh.test,Citra,12345,kasi,Kepala Seksi\n"
                                      "d@contoh.test,Dedi,,baru,\n")
    assert result.exit_code == 1
    assert "staff.csv:3: email:" in result.output
    assert "staff.csv:4: nip:" in result.output
    assert "staff.csv:5: position_title:" in result.output
    assert "staff.csv:2" not in result.output and "nothing applied" in result.output
    assert (User.select().count(), Position.select().count(), AuditEvent.select().count(),
            OutboxMessage.select().count()) == state

    header = tmp_path / "wrong.csv"
    header.write_text("email,name\nx@contoh.test,X\n")
    wrong = runner.invoke(args=["agency", "staff", "dinkes-contoh", str(header)])
    assert wrong.exit_code == 1 and "wrong.csv:1: header:" in wrong.output
    missing = runner.invoke(args=["agency", "staff", "nope", str(header)])
    assert missing.exit_code == 1 and "no agency 'nope'" in missing.output


def test_staff_import_refuses_someone_of_another_agency(app, runner, tmp_path):
    _create(runner)
    _create(runner, code="dinkes-lain", admin="admin@lain.test")
    result = _staff(runner, tmp_path, "admin@lain.test,Admin Lain,,kasi,Kepala Seksi\n")
    assert result.exit_code == 1 and "staff.csv:2: email:" in result.output
    assert User.by_email("admin@lain.test").agency.code == "dinkes-lain"


# -- the platform administrator -----------------------------------------------------------

def test_admin_create_makes_or_promotes_a_platform_administrator(app, runner):
    result = runner.invoke(args=["admin", "create", "Root@Platform.test"])
    assert result.exit_code == 0 and "created platform administrator" in result.output
    root = User.by_email("root@platform.test")
    assert root.is_platform_admin and root.agency_id is None
    assert runner.invoke(args=["admin", "create", "root@platform.test"]).output.endswith(
        "nothing changed\n")
    _create(runner)
    promoted = runner.invoke(args=["admin", "create", "admin@contoh.test"])
    assert "now a platform administrator" in promoted.output
    assert User.by_email("admin@contoh.test").is_platform_admin
    assert runner.invoke(args=["admin", "create", "nope"]).exit_code == 1


def test_platform_page_creates_an_agency_and_imports_staff(app, runner):
    runner.invoke(args=["admin", "create", "root@platform.test", "--name", "Root"])
    browser = _accept(app, "root@platform.test")
    page = text(browser.get("/platform"))
    assert "Belum ada instansi" in page and 'enctype="multipart/form-data"' in page

    bad = browser.post("/platform/agencies", {"code": "", "name": "X", "zone": "Mars/Base",
                                              "admin_email": "x"})
    assert bad.status_code == 422
    assert 'id="e-code"' in text(bad) and 'id="e-zone"' in text(bad)
    assert 'id="e-admin_email"' in text(bad) and Agency.select().count() == 0

    done = browser.post("/platform/agencies", {
        "code": "bpsdm-contoh", "name": "BPSDM Provinsi Contoh", "zone": "Asia/Pontianak",
        "admin_email": "admin@bpsdm.test", "admin_name": "Sari"})
    assert done.status_code == 303
    page = text(browser.get("/platform"))
    assert "bpsdm-contoh" in page and "Undangan dikirim ke admin@bpsdm.test".lower() in \
        page.lower()
    assert User.by_email("admin@bpsdm.test").name == "Sari"

    import io

    csv = (HEADER + "jft@bpsdm.test,Joko,,jft_pkt,JFT Pengembang Kompetensi\n").encode()
    imported = browser.post("/platform/staff", {"agency": "bpsdm-contoh",
                                                "file": (io.BytesIO(csv), "staf.csv")},
                            content_type="multipart/form-data")
    assert imported.status_code == 303
    assert "1 dibuat" in text(browser.get("/platform"))
    again = browser.post("/platform/staff", {"agency": "bpsdm-contoh", "csv": csv.decode()})
    assert again.status_code == 303 and "tidak ada yang berubah" in text(browser.get("/platform"))
    broken = browser.post("/platform/staff", {"agency": "bpsdm-contoh",
                                              "csv": HEADER + "x,Joko,,jft_pkt,JFT\n"})
    assert broken.status_code == 422 and "Baris 2" in text(broken)
    assert browser.post("/platform/staff", {"agency": "", "csv": ""}).status_code == 422

    # The agency's own administrator may not open the platform page.
    agency_admin = _accept(app, "admin@bpsdm.test")
    assert agency_admin.get("/platform").status_code == 403
    assert agency_admin.post("/platform/agencies", {"code": "x"}).status_code == 403
    assert Browser(app).get("/platform").status_code in (302, 303)  # log in first


# -- a real run: the invitation through SMTP --------------------------------------------

def test_agency_create_in_a_real_process_e_mails_a_working_invitation(tmp_path, smtp):
    from portal import create_app

    database = tmp_path / "fresh.db"
    env = {**os.environ, "PORTAL_DATABASE_URL": f"sqlite:///{database}",
           "PORTAL_INSTANCE_DIR": str(tmp_path / "instance"),
           "PORTAL_SECRET_KEY": "subprocess-secret", "PORTAL_BASE_URL": "http://portal.test",
           "PORTAL_MAIL_SERVER": "127.0.0.1", "PORTAL_MAIL_PORT": str(smtp.port),
           "PORTAL_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"}
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]

    def run(*args):
        return subprocess.run([*flask, *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=120)

    from portal.core.db import make_database

    fresh = make_database(f"sqlite:///{database}")
    migrate(fresh)  # what `flask db upgrade` does (a process start is seconds on a busy machine)
    release(fresh)
    created = run("agency", "create", "dinkes-baru", "--name", "Dinas Kesehatan Baru",
                  "--zone", "WIT", "--admin", "kepala@baru.test")
    assert created.returncode == 0, created.stderr
    assert "invitation sent" in created.stdout

    assert [rcpt for rcpt, _m in smtp.messages] == [["kepala@baru.test"]]
    message = smtp.messages[0][1]
    assert message["X-Absah-Event"] == "account_invited"
    path = LINK.search(smtp.text_of(message)).group(1)

    app = create_app({"TESTING": True, "SECRET_KEY": "subprocess-secret",
                      "BASE_URL": "http://portal.test", "DATABASE_URL": f"sqlite:///{database}",
                      "STORAGE_DIR": str(tmp_path / "files"), "MAIL_SERVER": "",
                      "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    try:
        with app.app_context():
            browser = Browser(app)
            assert browser.post(path, {"password": "rahasia-kepala-1"}).status_code == 303
            browser.login("kepala@baru.test", "rahasia-kepala-1")
            assert "Dinas Kesehatan Baru" in text(browser.get("/admin/"))
    finally:
        release(app.extensions["database"])


# -- a database without the schema -----------------------------------------------------

@pytest.fixture
def bare_app(tmp_path):
    """The portal on an SQLite file no migration has touched."""
    from portal import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "x", "MAIL_SERVER": "",
                      "DATABASE_URL": f"sqlite:///{tmp_path / 'never.db'}",
                      "STORAGE_DIR": str(tmp_path / "files")})
    yield app
    release(app.extensions["database"])


@pytest.mark.parametrize("command", [["demo"], ["sop", "list"], ["agency", "list"],
                                     ["demo", "walk", "rekom-nakes"], ["audit", "verify"],
                                     ["admin", "create", "a@b.test"]])
def test_commands_on_an_unmigrated_database_say_what_to_run(bare_app, command):
    result = bare_app.test_cli_runner().invoke(args=command)
    assert result.exit_code == 1
    assert "the database is not migrated: run `flask --app wsgi db upgrade`" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_db_commands_and_sop_validate_still_work_on_an_empty_database(bare_app):
    from portal.modules.sops.registry import SEEDS_DIR

    runner = bare_app.test_cli_runner()
    assert "pending: 0001_initial" in runner.invoke(args=["db", "status"]).output
    seed = str(SEEDS_DIR / "rekom-nakes.yaml")
    assert runner.invoke(args=["sop", "validate", seed]).exit_code == 0
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    listed = runner.invoke(args=["agency", "list"])
    assert listed.exit_code == 0 and listed.output.startswith("no agencies")


def test_pending_migrations_are_named(bare_app):
    database = bare_app.extensions["database"]
    migrate(database)
    database.execute_sql("DELETE FROM schema_migration WHERE name = '0009_user_platform_admin'")
    result = bare_app.test_cli_runner().invoke(args=["sop", "list"])
    assert result.exit_code == 1
    assert "pending migrations (0009_user_platform_admin): run `flask --app wsgi db upgrade`" \
        in result.output
