"""Backups that restore: ``create`` takes a consistent copy of a running instance (database,
the stored files its records name, the signing CA and keys, the instance's secrets) with a
manifest of SHA-256s; ``restore`` checks the manifest and puts it into an empty instance.

Consistency: the database is copied first, as one snapshot (SQLite's online backup API,
which includes what is still in the WAL; on PostgreSQL ``pg_dump`` inside an exported
REPEATABLE READ snapshot), then exactly the files that snapshot names are copied. Stored
objects are content-addressed and never change, so a file copied a moment later is still
the one the record names. Staging objects (letters whose transaction may not have
committed) are never copied.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import current_app

from portal.config import Config, current_config
from portal.core.db import db, release
from portal.modules.audit import trail as audit
from portal.modules.backup.files import read_references
from portal.storage import current_storage, key_for

__all__ = ["BackupError", "BackupSummary", "create_backup", "restore_backup", "verify_backup"]

FORMAT = "absah-backup/1"
MANIFEST = "manifest.json"
SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.pgdump"
# The instance's own secrets: kept as files in the instance folder unless set in the
# environment (then the backup keeps the variable's value, and restore names it).
INSTANCE_SECRETS = (("secret_key", "PORTAL_SECRET_KEY"), ("audit_key", "PORTAL_AUDIT_KEY"))
ENV_SECRETS = ("PORTAL_SIGNING_P12_PASSPHRASE",)


class BackupError(Exception):
    """A backup cannot be made, checked or restored; the message says why."""


@dataclass(frozen=True)
class BackupSummary:
    directory: Path
    engine: str
    letters: int
    documents: int
    files: int
    bytes: int
    notes: tuple[str, ...] = ()


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _engine(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


def _sqlite_path(url: str) -> Path:
    path = url.split(":///", 1)[1] if ":///" in url else ""
    if not path or path == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(path)


def libpq_url(url: str) -> str:
    """The portal's PostgreSQL URL as pg_dump/psycopg read it (without psycopg-pool-only
    parameters)."""
    parts = urlsplit(url.replace("postgres://", "postgresql://", 1))
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("prepare_threshold",)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _run(command: list[str]) -> None:
    tool = shutil.which(command[0])
    if tool is None:
        raise BackupError(f"{command[0]} is not installed (Debian: apt-get install "
                          "postgresql-client)")
    result = subprocess.run([tool, *command[1:]], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed: {result.stderr.strip()[-2000:]}")


def _references(cursor) -> tuple[dict[str, str | None], int, int]:
    """{key: expected sha256 or None} named by the snapshot, and its letter and document
    counts."""

    def execute(sql):
        cursor.execute(sql)
        return cursor.fetchall()

    wanted, counts = read_references(execute)
    return wanted, counts["letter"], counts["document"]


@contextmanager
def _pg_snapshot(url: str) -> Iterator[tuple[str, object]]:
    """A REPEATABLE READ transaction whose snapshot pg_dump shares (--snapshot)."""
    import psycopg

    with psycopg.connect(libpq_url(url), autocommit=True) as connection:
        connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            try:
                yield snapshot, cursor
            finally:
                connection.execute("ROLLBACK")


def _write_secret(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _copy_tree(source: Path, target: Path) -> None:
    for path in sorted(source.rglob("*")):
        if path.is_file() and not path.name.endswith(".lock"):
            _write_secret(target / path.relative_to(source), path.read_bytes())


def create_backup(directory: str | os.PathLike) -> BackupSummary:
    """Copy the running instance into ``directory`` (new or empty), manifest written last."""
    target = Path(directory)
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{target} is not empty: give a new directory for each backup")
    target.mkdir(parents=True, exist_ok=True, mode=0o700)
    config = current_config()
    engine = _engine(config.database_url)
    notes: list[str] = []

    if engine == "sqlite":
        database_file = SQLITE_FILE
        source = sqlite3.connect(_sqlite_path(config.database_url), timeout=30)
        copy = sqlite3.connect(target / SQLITE_FILE)
        try:
            source.backup(copy)  # one step: a consistent snapshot, WAL included
        finally:
            source.close()
        try:
            copy.execute("PRAGMA journal_mode=DELETE")
            wanted, letters, documents = _references(copy.cursor())
        finally:
            copy.close()
    else:
        database_file = PG_FILE
        with _pg_snapshot(config.database_url) as (snapshot, cursor):
            _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
                  f"--snapshot={snapshot}", f"--file={target / PG_FILE}",
                  f"--dbname={libpq_url(config.database_url)}"])
            wanted, letters, documents = _references(cursor)

    storage = current_storage()
    total = 0
    for key, expected in sorted(wanted.items()):
        data = storage.read(key)  # promotes a committed letter's staging copy if need be
        digest = hashlib.sha256(data).hexdigest()
        if key_for(digest) != key or (expected and expected != digest):
            raise BackupError(f"stored file {key} does not match its hash: the storage is "
                              "damaged; not backing it up as if it were sound")
        path = target / "files" / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        total += len(data)

    if config.signing_ca_dir and Path(config.signing_ca_dir).is_dir():
        _copy_tree(Path(config.signing_ca_dir), target / "ca")
    if config.signing_p12_dir:
        _copy_tree(Path(config.signing_p12_dir), target / "p12")
    instance = Path(current_app.instance_path)
    for name, variable in INSTANCE_SECRETS:
        if os.environ.get(variable):
            _write_secret(target / "env" / variable, os.environ[variable].encode())
            notes.append(f"{name} comes from {variable}: kept in env/{variable}")
        elif (instance / name).is_file():
            _write_secret(target / "instance" / name, (instance / name).read_bytes())
    for variable in ENV_SECRETS:
        if os.environ.get(variable):
            _write_secret(target / "env" / variable, os.environ[variable].encode())

    files = {path.relative_to(target).as_posix(): _sha256_file(path)
             for path in sorted(target.rglob("*")) if path.is_file()}
    manifest = {
        "format": FORMAT, "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "database": {"engine": engine, "file": database_file},
        "storage": storage.describe(), "letters": letters, "documents": documents,
        "stored_files": len(wanted), "files": files,
    }
    _write_secret(target / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True).encode())
    with db.atomic():
        audit.record(None, "backup.created", None, directory=str(target.resolve()),
                     engine=engine, letters=letters, documents=documents,
                     stored_files=len(wanted))
    return BackupSummary(target, engine, letters, documents, len(wanted), total, tuple(notes))


def verify_backup(directory: str | os.PathLike) -> dict:
    """The backup's manifest once every file it lists is there with its SHA-256 and nothing
    else is; BackupError naming the first problem otherwise."""
    source = Path(directory)
    try:
        manifest = json.loads((source / MANIFEST).read_text())
    except FileNotFoundError:
        raise BackupError(f"{source}: no {MANIFEST} (not a backup, or an unfinished one)") \
            from None
    except (OSError, ValueError) as exc:
        raise BackupError(f"{source / MANIFEST}: unreadable ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{source}: not a backup of this format ({FORMAT})")
    listed = manifest.get("files")
    if not isinstance(listed, dict) or not all(
            isinstance(name, str) and isinstance(digest, str) for name, digest in listed.items()):
        raise BackupError(f"{source / MANIFEST}: its list of files is damaged")
    database = manifest.get("database")
    engine = database.get("engine") if isinstance(database, dict) else None
    database_file = {"sqlite": SQLITE_FILE, "postgresql": PG_FILE}.get(engine)
    if database_file is None or database.get("file") != database_file:
        raise BackupError(f"{source / MANIFEST}: the database it names is damaged "
                          f"({database!r})")
    if database_file not in listed:
        raise BackupError(f"{source}: the manifest lists no {database_file}: not a whole "
                          "backup")
    present = {p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file()}
    present.discard(MANIFEST)
    for name in sorted(set(listed) - present):
        raise BackupError(f"{source}: {name} is missing")
    for name in sorted(present - set(listed)):
        raise BackupError(f"{source}: {name} is not in the manifest")
    for name, digest in sorted(listed.items()):
        if _sha256_file(source / name) != digest:
            raise BackupError(f"{source}: {name} does not match its SHA-256 in the manifest")
    return manifest


def _target_problems(config: Config, manifest: dict, source: Path) -> list[str]:
    """Why the current instance is not an empty one to restore into."""
    problems = []
    engine = _engine(config.database_url)
    if engine != manifest["database"]["engine"]:
        problems.append(f"the backup holds a {manifest['database']['engine']} database, this "
                        f"instance uses {engine}")
    elif engine == "sqlite":
        path = _sqlite_path(config.database_url)
        if path.exists() and path.stat().st_size:
            with sqlite3.connect(path) as connection:
                tables = connection.execute(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
            if tables:
                problems.append(f"the database {path} has {tables} tables")
    else:
        import psycopg

        with psycopg.connect(libpq_url(config.database_url)) as connection:
            tables = connection.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema NOT IN "
                "('pg_catalog', 'information_schema')").fetchone()[0]
        if tables:
            problems.append(f"the PostgreSQL database has {tables} tables")
    storage = current_storage()
    if next(storage.keys(), None) is not None:
        problems.append(f"the storage ({storage.describe()}) holds files")
    for folder, setting in (("ca", config.signing_ca_dir), ("p12", config.signing_p12_dir)):
        if not setting or not (source / folder).is_dir():
            continue
        for path in (source / folder).rglob("*"):
            there = Path(setting) / path.relative_to(source / folder)
            if path.is_file() and there.is_file() and there.read_bytes() != path.read_bytes():
                problems.append(f"{there} exists with other content")
                break
    return problems


def restore_backup(directory: str | os.PathLike) -> BackupSummary:
    """Check the backup's manifest, then restore it into this instance, which must be empty
    (no tables, no stored files, no other signing keys)."""
    source = Path(directory)
    manifest = verify_backup(source)
    config = current_config()
    problems = _target_problems(config, manifest, source)
    if problems:
        raise BackupError("refusing to restore into an instance that is not empty: "
                          + "; ".join(problems) + ". Restore into a new instance directory "
                          "with an empty database.")
    notes: list[str] = []
    database = current_app.extensions["database"]
    release(database)
    if manifest["database"]["engine"] == "sqlite":
        path = _sqlite_path(config.database_url)
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        # Read only: opening the backup must never change (or create) a file in it.
        copy = sqlite3.connect(f"{(source / SQLITE_FILE).resolve().as_uri()}?mode=ro", uri=True)
        target = sqlite3.connect(path)
        try:
            copy.backup(target)
            target.execute("PRAGMA journal_mode=WAL")
        finally:
            copy.close()
            target.close()
    else:
        _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
              f"--dbname={libpq_url(config.database_url)}", str(source / PG_FILE)])

    storage = current_storage()
    total = 0
    files_dir = source / "files"
    for path in sorted(files_dir.rglob("*")) if files_dir.is_dir() else ():
        if not path.is_file():
            continue
        data = path.read_bytes()
        key, _digest = storage.put(data)
        if key != path.relative_to(files_dir).as_posix():
            raise BackupError(f"{path}: its content does not match its name")
        total += len(data)

    for folder, setting, variable in (("ca", config.signing_ca_dir, "PORTAL_SIGNING_CA_DIR"),
                                      ("p12", config.signing_p12_dir, "PORTAL_SIGNING_P12_DIR")):
        if not (source / folder).is_dir():
            continue
        if not setting:
            setting = str(Path(current_app.instance_path) / folder)
            notes.append(f"signing keys restored into {setting}: set {variable} to it")
        _copy_tree(source / folder, Path(setting))
    instance = Path(current_app.instance_path)
    for name, variable in INSTANCE_SECRETS:
        if (source / "instance" / name).is_file():
            _write_secret(instance / name, (source / "instance" / name).read_bytes())
            if os.environ.get(variable):
                notes.append(f"{variable} is set here and overrides the restored "
                             f"{instance / name}: unset it or give it the old value")
    for variable in (*(v for _n, v in INSTANCE_SECRETS), *ENV_SECRETS):
        if (source / "env" / variable).is_file():
            value = (source / "env" / variable).read_text()
            if os.environ.get(variable) != value:
                notes.append(f"set {variable} to the value in {source / 'env' / variable}")

    _reload_config()
    database.connect(reuse_if_open=True)
    with db.atomic():
        audit.record(None, "backup.restored", None, directory=str(source.resolve()),
                     created_at=manifest.get("created_at"), letters=manifest.get("letters"))
    database.close()
    return BackupSummary(source, manifest["database"]["engine"], manifest.get("letters", 0),
                         manifest.get("documents", 0), manifest.get("stored_files", 0), total,
                         tuple(notes))


def _reload_config() -> None:
    """Read the instance's secrets again (restored just now) into the app's configuration;
    every other setting stays as it is."""
    current = current_config()
    from_files = {name for name, _variable in INSTANCE_SECRETS}
    keep = {f.name.upper(): getattr(current, f.name) for f in dataclasses.fields(current)
            if f.name not in from_files}
    keep.update(getattr(current, "_flask_extra", {}))
    fresh = Config.from_environ(os.environ, Path(current_app.instance_path), keep)
    current_app.extensions["portal.config"] = fresh
    current_app.config.update(fresh.flask_settings())
