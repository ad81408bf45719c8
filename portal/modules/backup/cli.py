"""`flask backup create|restore|verify DIR` and `flask storage sweep|check`."""

from __future__ import annotations

import datetime as dt
import sys

import click
from flask.cli import AppGroup

from portal.core.cli import without_database

backup_cli = AppGroup("backup", help="Backups that restore: database, files, keys, secrets.")
storage_cli = AppGroup("storage", help="Stored files: sweep what a crash left, check hashes.")


def _summary(verb: str, summary) -> None:
    click.echo(f"{verb} {summary.directory}: {summary.engine} database, {summary.letters} "
               f"letters, {summary.documents} documents, {summary.files} stored files "
               f"({summary.bytes:,} bytes)")
    for note in summary.notes:
        click.echo(f"  note: {note}")


@backup_cli.command("create")
@click.argument("directory", type=click.Path(file_okay=False))
def backup_create(directory):
    """Copy this running instance into DIRECTORY (new or empty), with a manifest."""
    from portal.modules.backup.operations import BackupError, create_backup

    try:
        summary = create_backup(directory)
    except BackupError as exc:
        click.echo(f"backup failed: {exc}", err=True)
        sys.exit(1)
    _summary("backup written to", summary)


@without_database
@backup_cli.command("restore")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
def backup_restore(directory):
    """Check DIRECTORY's manifest and restore it into this (empty) instance."""
    from portal.modules.backup.operations import BackupError, restore_backup

    try:
        summary = restore_backup(directory)
    except BackupError as exc:
        click.echo(f"restore refused: {exc}", err=True)
        sys.exit(1)
    _summary("restored from", summary)
    click.echo("next: `flask --app wsgi db upgrade` (if this portal is newer), "
               "`flask --app wsgi audit verify`, `flask --app wsgi storage check`")


@without_database
@backup_cli.command("verify")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
def backup_verify(directory):
    """Check that every file DIRECTORY's manifest lists is there, with its SHA-256."""
    from portal.modules.backup.operations import BackupError, verify_backup

    try:
        manifest = verify_backup(directory)
    except BackupError as exc:
        click.echo(f"backup damaged: {exc}", err=True)
        sys.exit(1)
    click.echo(f"backup intact: {len(manifest['files'])} files match the manifest "
               f"(made {manifest['created_at']}, {manifest['letters']} letters)")


@storage_cli.command("sweep")
@click.option("--stale-minutes", type=click.IntRange(min=5), default=15, show_default=True,
              help="Delete staging files without a record once this old (at least 5: a "
                   "letter being issued right now is staged too, until its decision commits).")
def storage_sweep(stale_minutes):
    """Promote staged letters whose record committed; delete stale ones without a record."""
    from portal.core.db import db
    from portal.modules.audit import trail as audit
    from portal.modules.backup.files import sweep
    from portal.storage import current_storage

    report = sweep(current_storage(), stale_after=dt.timedelta(minutes=stale_minutes))
    if report.promoted or report.deleted or report.temporaries:
        with db.atomic():
            audit.record(None, "storage.swept", None, promoted=report.promoted,
                         deleted=report.deleted, temporaries=report.temporaries)
    click.echo(f"promoted {len(report.promoted)}, deleted {len(report.deleted)} staging "
               f"files and {report.temporaries} unfinished writes; {len(report.kept)} recent "
               "staging files kept")


@storage_cli.command("check")
def storage_check():
    """Every file a record names is stored with its SHA-256 (exit 1 otherwise); counts
    the stored files no record names."""
    import hashlib

    from portal.modules.backup.files import referenced_keys
    from portal.storage import current_storage, key_for

    storage = current_storage()
    wanted = referenced_keys()
    bad = []
    for key in sorted(wanted):
        try:
            data = storage.read(key)
        except FileNotFoundError:
            bad.append(f"{key}: missing")
            continue
        if key_for(hashlib.sha256(data).hexdigest()) != key:
            bad.append(f"{key}: content does not match its hash")
    unreferenced = sum(1 for key in storage.keys() if key not in wanted)
    staged = sum(1 for _ in storage.staged())
    for problem in bad:
        click.echo(problem, err=True)
    click.echo(f"{len(wanted) - len(bad)} of {len(wanted)} files intact; {unreferenced} stored "
               f"files no record names; {staged} staging files")
    sys.exit(1 if bad else 0)
