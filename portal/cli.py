"""Command-line interface under ``flask --app wsgi``: db, sop, demo, audit."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from portal import operations
from portal.audit import verify_chain
from portal.db import migrate, pending_migrations
from portal.models import Letter, SopVersion
from portal.sop.spec import SopError, load_sop_file
from portal.storage import Storage

__all__ = ["init_app"]

db_cli = AppGroup("db", help="Database schema.")
sop_cli = AppGroup("sop", help="SOP definitions: validate, import, list.")
audit_cli = AppGroup("audit", help="The hash-chained audit trail.")
outbox_cli = AppGroup("outbox", help="The e-mail outbox.")
letters_cli = AppGroup("letters", help="Issued letters.")


@letters_cli.command("verify")
@click.argument("pdf", type=click.Path(exists=True, dir_okay=False))
def letters_verify(pdf):
    """The verdict the verification page gives on a file: exit 0 only for a genuine,
    unaltered letter that is still valid."""
    from portal.letters import verify_presented

    data = Path(pdf).read_bytes()
    verdict = verify_presented(None, data)
    letter = verdict.other  # the issued letter this file is, by content or by its QR code
    report = verdict.report
    click.echo(f"file: {pdf}")
    click.echo(f"signatures: {len(report.signatures)}; intact and covering the whole file: "
               f"{'yes' if report.intact else 'no'}; added after signing: "
               f"{'yes' if report.modified_after_signing else 'no'}; trusted: "
               f"{'yes' if report.trusted else 'no'}")
    for signature in report.signatures:
        click.echo(f"  {signature.field_name}: {signature.signer} ({signature.signer_position})"
                   f" intact={signature.intact} whole_file={signature.whole_file}")
    if letter is None:
        click.echo("issued letter: none matches (not issued by this portal, or altered)")
    else:
        exact = letter.sha256 == __import__("hashlib").sha256(data).hexdigest()
        click.echo(f"issued letter: {letter.title} {letter.number} ({letter.agency.name}), "
                   f"status {letter.status}; this file is "
                   f"{'exactly the issued file' if exact else 'NOT the issued file'}")
    click.echo(report.verdict_en)
    ok = report.ok and letter is not None and letter.status == "valid" and \
        letter.sha256 == __import__("hashlib").sha256(data).hexdigest()
    click.echo("VERDICT: genuine, unaltered and valid" if ok else "VERDICT: NOT valid")
    sys.exit(0 if ok else 1)
sla_cli = AppGroup("sla", help="Standard times (SLA).")


@outbox_cli.command("send")
@click.option("--loop", is_flag=True, help="Keep running as a worker.")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between drains.")
def outbox_send(loop, interval):
    """Deliver pending e-mails (once, or as a worker with --loop)."""
    from portal.mailer import deliver
    from portal.models import OutboxMessage

    while True:
        report = deliver()
        if report is None:
            kept = OutboxMessage.select().where(OutboxMessage.status == "pending").count()
            click.echo(f"no SMTP server configured (PORTAL_MAIL_SERVER): {kept} message(s) "
                       "kept in the outbox", err=True)
            sys.exit(1)
        if report.sent or report.retried or report.failed or not loop:
            click.echo(f"sent {report.sent}, to retry {report.retried}, failed {report.failed}")
        if not loop:
            return
        time.sleep(interval)


@sla_cli.command("remind")
def sla_remind():
    """Queue near-due and overdue reminders (each at most once), then deliver them."""
    from portal.mailer import deliver
    from portal.reminders import send_reminders

    report = send_reminders()
    click.echo(f"reminders: {report.near_due} near due, {report.overdue} overdue")
    deliver()


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


@sop_cli.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def sop_validate(files):
    """Check SOP files; print every problem (file:line: key: reason); exit 1 if any."""
    failed = False
    for name in files:
        try:
            spec = load_sop_file(name)
        except SopError as exc:
            failed = True
            for issue in exc.issues:
                click.echo(issue.format(name), err=True)
        except OSError as exc:
            failed = True
            click.echo(f"{name}: cannot read: {exc.strerror}", err=True)
        else:
            click.echo(f"{name}: OK: {spec.code} v{spec.version}, {len(spec.steps)} steps, "
                       f"total {spec.total_label()}")
    sys.exit(1 if failed else 0)


@sop_cli.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
def sop_import(files):
    """Validate and store SOP files as new versions."""
    failed = False
    for name in files:
        try:
            version = operations.import_sop(Path(name).read_text(encoding="utf-8"), name)
        except SopError as exc:
            failed = True
            for issue in exc.issues:
                click.echo(issue.format(name), err=True)
        except operations.OperationError as exc:
            failed = True
            click.echo(str(exc), err=True)
        else:
            click.echo(f"{name}: imported {version.code} v{version.version}")
    sys.exit(1 if failed else 0)


@sop_cli.command("list")
def sop_list():
    """The active SOPs: code, version, agency, steps, total standard time."""
    rows = SopVersion.catalogue()
    if not rows:
        click.echo("no SOPs imported (run: flask --app wsgi demo)")
        return
    click.echo(f"{'code':28} {'ver':>3} {'agency':22} {'steps':>5}  total standard time")
    for version in rows:
        spec = version.spec
        click.echo(f"{spec.code:28} {spec.version:>3} {version.agency.code:22} "
                   f"{len(spec.steps):>5}  {spec.total_label()} ({spec.total_minutes} min)")


@click.group("demo", invoke_without_command=True, help="Load demo data, or walk an SOP.")
@click.pass_context
def demo_cli(ctx):
    """Without a subcommand: create the demo agencies, accounts and SOPs, print the accounts."""
    if ctx.invoked_subcommand is not None:
        return
    from portal.demo import load_demo

    password = current_app.config["DEMO_PASSWORD"]
    accounts = load_demo(password)
    click.echo(f"Demo accounts (password for all: {password}):")
    for account in accounts:
        click.echo(f"  {account.email:48} {account.role}")


@demo_cli.command("walk")
@click.argument("sop_code")
def demo_walk(sop_code):
    """Run one file of SOP_CODE through every step as the demo officials; print its path."""
    from portal.demo import walk

    storage = Storage(current_app.config["STORAGE_DIR"])
    try:
        application, path = walk(sop_code, storage)
    except operations.OperationError as exc:
        click.echo(f"demo walk: {exc}", err=True)
        sys.exit(1)
    click.echo(f"{application.sop.spec.title}")
    click.echo(f"file {application.registration_number}")
    for step in path:
        click.echo(f"  {step.ref:>4} {step.step:26} {step.by:46} {step.outcome:12} due {step.due}")
    click.echo(f"final state: {application.status}")
    for letter in application.letters.order_by(Letter.id):
        click.echo(f"letter {letter.title} {letter.number}: {storage.path(letter.storage_key)}")
        click.echo(f"  verify at {current_app.config['BASE_URL']}/v/{letter.token}")
    sys.exit(0 if application.status == "completed" else 1)


@audit_cli.command("verify")
def audit_verify():
    """Walk the audit chain; report the first broken link (exit 1)."""
    report = verify_chain()
    if report.ok:
        click.echo(f"audit chain intact: {report.events} events")
        return
    click.echo(f"audit chain BROKEN at event {report.broken_at}: {report.reason} "
               f"({report.events} events verified before it)", err=True)
    sys.exit(1)


def init_app(app: Flask) -> None:
    """Attach the command groups to the app."""
    for group in (db_cli, sop_cli, audit_cli, outbox_cli, sla_cli, letters_cli, demo_cli):
        app.cli.add_command(group)
