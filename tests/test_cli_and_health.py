"""The contracts of DESIGN.md section 4: CLI commands, /healthz, migrations."""

from __future__ import annotations

from portal.core.db import pending_migrations
from portal.modules.accounts.models import User
from portal.modules.applications.models import Application
from portal.modules.sops.models import SopVersion


def test_healthz_answers_ok_with_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok" and body["pending_migrations"] == 0


def test_healthz_reports_503_when_the_database_is_gone(app, client, monkeypatch):
    from peewee import OperationalError

    from portal.core.db import db

    def broken(*_args, **_kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(db.obj, "execute_sql", broken)
    response = client.get("/healthz")
    assert response.status_code == 503 and response.get_json()["status"] == "error"


def test_migrations_are_all_applied(app):
    assert pending_migrations(app.extensions["database"]) == []


def test_unknown_page_is_a_friendly_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Halaman tidak ditemukan" in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)


def test_demo_prints_accounts_and_is_idempotent(runner):
    first = runner.invoke(args=["demo", "--password", "demo-test-password"])
    assert first.exit_code == 0, first.output
    assert "password for all: demo-test-password" in first.output
    assert "kadin@dinkes-bangka.absah.test" in first.output
    assert "pemohon@absah.test" in first.output
    users = User.select().count()
    assert runner.invoke(args=["demo", "--password", "demo-test-password"]).exit_code == 0
    assert User.select().count() == users
    assert SopVersion.select().count() == 5


def test_sop_list_shows_the_five_seeds_with_steps_and_totals(demo, runner):
    result = runner.invoke(args=["sop", "list"])
    assert result.exit_code == 0
    lines = {line.split()[0]: line for line in result.output.splitlines()[1:]}
    assert set(lines) == {"kso-lms", "rekom-nakes", "sik-perekam-medis",
                          "info-kompetensi-teknis", "registrasi-praktek-mandiri"}
    assert "13  7 hari kerja" in lines["sik-perekam-medis"]
    assert "6  49 jam 45 menit" in lines["info-kompetensi-teknis"]


def test_sop_import_cli_stores_a_new_version(demo, runner, tmp_path):
    from portal.modules.sops.registry import SEEDS_DIR

    source = (SEEDS_DIR / "rekom-nakes.yaml").read_text().replace("version: 1", "version: 2", 1)
    path = tmp_path / "rekom-nakes-v2.yaml"
    path.write_text(source)
    result = runner.invoke(args=["sop", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert SopVersion.current("rekom-nakes").version == 2


def test_sop_import_cli_rejects_a_broken_file(app, runner):
    from pathlib import Path

    broken = Path(__file__).parent / "fixtures" / "sop" / "broken" / "unknown_key.yaml"
    result = runner.invoke(args=["sop", "import", str(broken)])
    assert result.exit_code == 1 and "header.costs" in result.output
    assert SopVersion.select().count() == 0


def test_demo_walk_prints_the_path_and_the_final_state(demo, runner):
    result = runner.invoke(args=["demo", "walk", "sik-perekam-medis"])
    assert result.exit_code == 0, result.output
    assert "final state: completed" in result.output
    for step in ("technical_verification", "paraf_analis_muda", "collect"):
        assert step in result.output
    assert Application.select().count() == 1


def test_demo_walk_of_an_unknown_sop_fails_clearly(demo, runner):
    result = runner.invoke(args=["demo", "walk", "nope"])
    assert result.exit_code == 1 and "no SOP 'nope'" in result.output


def test_catalogue_lists_the_services(demo, client):
    page = client.get("/").get_data(as_text=True)
    assert "Surat Izin Kerja Perekam Medis" in page and "7 hari kerja" in page
    assert '<html lang="id">' in page
