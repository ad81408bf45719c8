"""`flask db`: apply and list the numbered migrations; and the check that stops every
other command on a database that lacks them, saying what to run."""

from __future__ import annotations

import functools
import sys

import click
from flask import current_app
from flask.cli import AppGroup, ScriptInfo

from portal.core.db import MIGRATIONS_DIR, migrate, pending_migrations

db_cli = AppGroup("db", help="Database schema.")


@db_cli.command("upgrade")
def db_upgrade():
    """Apply pending migrations."""
    applied = migrate(current_app.extensions["database"])
    click.echo(f"applied: {', '.join(applied)}" if applied else "schema is up to date")


@db_cli.command("status")
def db_status():
    """List migrations not yet applied."""
    pending = pending_migrations(current_app.extensions["database"])
    click.echo("pending: " + ", ".join(pending) if pending else "schema is up to date")


# -- every other command needs the schema -------------------------------------------------

NOT_MIGRATED = "the database is not migrated: run `flask --app wsgi db upgrade`"


def without_database(command: click.Command) -> click.Command:
    """Mark a command (or group) that runs without the database's schema (``db`` itself,
    ``sop validate``): the check below leaves it alone."""
    command.portal_needs_schema = False
    return command


without_database(db_cli)


def _schema_problem() -> str | None:
    """Why the commands cannot run on this database, in words with the command to run;
    None when every migration is applied."""
    from peewee import DatabaseError

    ctx = click.get_current_context()
    app = current_app._get_current_object() if current_app else (
        ctx.ensure_object(ScriptInfo).load_app())
    database = app.extensions["database"]
    was_closed = database.is_closed()
    try:
        pending = pending_migrations(database)
    except DatabaseError as exc:
        return f"cannot read the database ({type(exc).__name__}: {exc})"
    finally:
        if was_closed and not database.is_closed():
            database.close()
    if not pending:
        return None
    if len(pending) == len(_all_migrations()):
        return NOT_MIGRATED
    return (f"the database has pending migrations ({', '.join(pending)}): run "
            "`flask --app wsgi db upgrade`")


def _all_migrations() -> list[str]:
    """Every migration's name (an empty database lacks them all)."""
    from playhouse.migrations import Migration

    return [m.name for m in Migration.load_directory(str(MIGRATIONS_DIR))]


def _refuse_unless_migrated() -> None:
    if problem := _schema_problem():
        click.echo(problem, err=True)
        sys.exit(1)


def require_schema(group: click.Group) -> None:
    """Make every command under ``group`` (the app's) stop with the command to run, exit
    code 1, when the database lacks migrations, instead of failing on a missing table:
    the one place that check lives. Commands marked ``without_database`` are left alone.
    Commands are module-level objects shared by every app a process makes (the tests
    make many), so each is wrapped once and the check reads the current app."""
    for command in group.commands.values():
        _guard(command)


def _guard(command: click.Command) -> None:
    if not getattr(command, "portal_needs_schema", True) or getattr(
            command, "_portal_schema_guard", False):
        return
    command._portal_schema_guard = True
    if isinstance(command, click.Group):
        # A group's own callback runs before its subcommand; it does work only when
        # invoked alone (``flask demo``), so it checks only then. Subcommands check.
        if command.callback is not None:
            callback = command.callback

            @functools.wraps(callback)
            def checked_callback(*args, **kwargs):
                if click.get_current_context().invoked_subcommand is None:
                    _refuse_unless_migrated()
                return callback(*args, **kwargs)

            command.callback = checked_callback
        for sub in command.commands.values():
            _guard(sub)
        return
    invoke = command.invoke

    def checked_invoke(ctx: click.Context):
        _refuse_unless_migrated()
        return invoke(ctx)

    command.invoke = checked_invoke
