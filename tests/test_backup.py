"""Backups that restore: a running instance with letters (gunicorn serving, a walk issuing
letters at the same time) is backed up by `flask backup create`, restored by `flask backup
restore` into a new instance directory, and there every letter re-verifies (`letters
verify`), every file hash matches (`storage check`) and the audit chain is intact (`audit
verify`). On SQLite with local files, and on PostgreSQL with files in an S3 store."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest
from services import PG_URL, Gunicorn, MotoS3, PgDatabase, flask, portal_env

SECRET = "backup-test-secret"


def _letters_sqlite(instance: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(instance / "absah.db") as connection:
        return connection.execute("SELECT storage_key, sha256, number FROM letter "
                                  "ORDER BY id").fetchall()


def _letters_pg(url: str) -> list[tuple[str, str, str]]:
    import psycopg

    with psycopg.connect(url) as connection:
        return connection.execute("SELECT storage_key, sha256, number FROM letter "
                                  "ORDER BY id").fetchall()


def _count_sqlite(instance: Path, table: str) -> int:
    with sqlite3.connect(instance / "absah.db") as connection:
        return connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]


class _Traffic:
    """Requests against the served instance while the backup runs (it must keep serving)."""

    def __init__(self, base_url: str):
        self.base_url, self.answers, self.stop = base_url, [], threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self.stop.is_set():
            with urllib.request.urlopen(self.base_url + "/healthz", timeout=30) as response:
                self.answers.append(response.status)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=30)


def _restore_and_check(backup: Path, env_b: dict, read_letter_file, restored_letters) -> None:
    restored = flask(env_b, "backup", "restore", str(backup))
    letters = restored_letters()
    assert "restored from" in restored.stdout
    assert "intact" in flask(env_b, "audit", "verify").stdout
    check = flask(env_b, "storage", "check")
    assert " 0 staging files" in check.stdout and "intact" in check.stdout, check.stdout
    assert letters, "the instance had letters"
    for key, sha256, number in letters:
        data = read_letter_file(key)
        assert hashlib.sha256(data).hexdigest() == sha256
        path = Path(env_b["PORTAL_INSTANCE_DIR"]) / "check.pdf"
        path.write_bytes(data)
        verdict = flask(env_b, "letters", "verify", str(path), check=False)
        assert verdict.returncode == 0 and "genuine, unaltered and valid" in verdict.stdout, \
            (number, verdict.stdout[-2000:], verdict.stderr[-2000:])
    again = flask(env_b, "backup", "restore", str(backup), check=False)
    assert again.returncode == 1 and "not empty" in again.stderr


def test_a_running_sqlite_instance_restores_into_a_new_directory(tmp_path):
    env_a = portal_env(tmp_path / "a", PORTAL_SECRET_KEY=SECRET)
    flask(env_a, "db", "upgrade")
    flask(env_a, "demo")
    with Gunicorn(env_a) as server, _Traffic(server.base_url) as traffic:
        flask(env_a, "demo", "walk", "rekom-nakes")
        # The server keeps the database open, so these commits sit in the WAL (a plain
        # copy of absah.db would miss them).
        assert (tmp_path / "a" / "absah.db-wal").stat().st_size > 0
        before = _count_sqlite(tmp_path / "a", "letter")
        events_before = _count_sqlite(tmp_path / "a", "audit_event")
        writer = subprocess.Popen(  # a letter issued while the backup runs
            [str(Path(sys.executable).parent / "flask"), "--app", "wsgi", "demo", "walk",
             "sik-perekam-medis"], cwd=Path(__file__).resolve().parents[1], env=env_a,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        made = flask(env_a, "backup", "create", str(tmp_path / "backup"))
        writer.wait(timeout=300)
        assert traffic.answers and set(traffic.answers) == {200}
    assert "backup written" in made.stdout
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert manifest["letters"] >= before and manifest["database"]["engine"] == "sqlite"
    assert any(name.startswith("ca/") for name in manifest["files"])
    assert "instance/secret_key" not in manifest["files"]  # it came from the environment
    assert (tmp_path / "backup" / "env" / "PORTAL_SECRET_KEY").read_text() == SECRET
    assert "instance/audit_key" in manifest["files"]
    assert "backup intact" in flask(env_a, "backup", "verify", str(tmp_path / "backup")).stdout

    env_b = portal_env(tmp_path / "b", PORTAL_SECRET_KEY=SECRET)
    _restore_and_check(tmp_path / "backup", env_b,
                       lambda key: (tmp_path / "b" / "files" / key).read_bytes(),
                       lambda: _letters_sqlite(tmp_path / "b"))
    assert _count_sqlite(tmp_path / "b", "letter") >= before
    # every event the source had when the backup began, plus the restore's own
    assert _count_sqlite(tmp_path / "b", "audit_event") > events_before


def test_a_damaged_or_partial_backup_is_refused(tmp_path):
    env_a = portal_env(tmp_path / "a")
    flask(env_a, "db", "upgrade")
    flask(env_a, "demo")
    flask(env_a, "demo", "walk", "rekom-nakes")
    flask(env_a, "backup", "create", str(tmp_path / "backup"))
    refused = flask(env_a, "backup", "create", str(tmp_path / "backup"), check=False)
    assert refused.returncode == 1 and "not empty" in refused.stderr
    letter = next((tmp_path / "backup" / "files").rglob("*"))
    while letter.is_dir():
        letter = next(letter.iterdir())
    data = bytearray(letter.read_bytes())
    data[len(data) // 2] ^= 1
    letter.write_bytes(bytes(data))
    env_b = portal_env(tmp_path / "b")
    damaged = flask(env_b, "backup", "restore", str(tmp_path / "backup"), check=False)
    assert damaged.returncode == 1 and "does not match its SHA-256" in damaged.stderr
    (tmp_path / "backup" / "manifest.json").unlink()
    partial = flask(env_b, "backup", "restore", str(tmp_path / "backup"), check=False)
    assert partial.returncode == 1 and "no manifest.json" in partial.stderr
    assert not (tmp_path / "b" / "files").exists()  # nothing was restored


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="PostgreSQL part skipped: PORTAL_TEST_DATABASE_URL "
                    "is not set")
def test_a_postgresql_instance_with_files_in_s3_restores(tmp_path):
    with MotoS3(tmp_path / "moto") as moto, PgDatabase("backup_a") as url_a, \
            PgDatabase("backup_b") as url_b:
        bucket_a, bucket_b = moto.new_bucket(), moto.new_bucket()
        env_a = portal_env(tmp_path / "a", PORTAL_DATABASE_URL=url_a,
                           PORTAL_STORAGE_URL=bucket_a)
        flask(env_a, "db", "upgrade")
        flask(env_a, "demo")
        flask(env_a, "demo", "walk", "rekom-nakes")
        with Gunicorn(env_a) as server, _Traffic(server.base_url) as traffic:
            flask(env_a, "demo", "walk", "kso-lms")
            made = flask(env_a, "backup", "create", str(tmp_path / "backup"))
        assert traffic.answers and set(traffic.answers) == {200}
        assert "postgresql database" in made.stdout
        env_b = portal_env(tmp_path / "b", PORTAL_DATABASE_URL=url_b,
                           PORTAL_STORAGE_URL=bucket_b)
        objects_a = moto.objects(bucket_a)
        letters = _letters_pg(url_a)

        def read(key):
            return moto.objects(bucket_b)[key]

        _restore_and_check(tmp_path / "backup", env_b, read, lambda: _letters_pg(url_b))
        assert _letters_pg(url_b) == letters
        objects_b = moto.objects(bucket_b)
        assert {k: v for k, v in objects_a.items() if not k.startswith("staging/")} \
            == objects_b


@pytest.mark.parametrize("damage", ["no database", "database null", "engine unknown",
                                    "files a list", "database file left out"])
def test_a_tampered_manifest_is_refused_with_a_reason_and_the_backup_left_as_it_was(
        tmp_path, damage):
    env_a = portal_env(tmp_path / "a")
    flask(env_a, "db", "upgrade")
    backup = tmp_path / "backup"
    flask(env_a, "backup", "create", str(backup))
    manifest = json.loads((backup / "manifest.json").read_text())
    if damage == "no database":
        del manifest["database"]
    elif damage == "database null":
        manifest["database"] = None
    elif damage == "engine unknown":
        manifest["database"] = {"engine": "oracle", "file": "database.sqlite3"}
    elif damage == "files a list":
        manifest["files"] = sorted(manifest["files"])
    else:  # a backup without its database, the manifest edited to match
        del manifest["files"]["database.sqlite3"]
        (backup / "database.sqlite3").unlink()
    (backup / "manifest.json").write_text(json.dumps(manifest))
    before = sorted(p.relative_to(backup).as_posix() for p in backup.rglob("*"))
    env_b = portal_env(tmp_path / "b")
    refused = flask(env_b, "backup", "restore", str(backup), check=False)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr, refused.stderr
    assert "restore refused" in refused.stderr and "manifest" in refused.stderr
    assert sorted(p.relative_to(backup).as_posix() for p in backup.rglob("*")) == before
    assert not (tmp_path / "b" / "files").exists() and not (tmp_path / "b" / "ca").exists()
