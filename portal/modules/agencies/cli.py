"""`flask agency create|staff|list`: agencies, their first administrator and their staff,
from the command line (the platform's pages do the same)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from portal.core.errors import OperationError, ValidationError
from portal.mail.cli import deliver_queued
from portal.modules.accounts.staff_import import StaffImportError, import_staff
from portal.modules.agencies import operations
from portal.modules.agencies.models import Agency

agency_cli = AppGroup("agency", help="Agencies: create one, import its staff, list them.")


def _fail(errors: dict) -> None:
    for field, message in errors.items():
        click.echo(f"{field}: {message}", err=True)
    sys.exit(1)


@agency_cli.command("create")
@click.argument("code")
@click.option("--name", required=True,
              help="The agency's name, e.g. \"Dinas Kesehatan Kab. Bangka\".")
@click.option("--zone", required=True, help="WIB, WITA, WIT, or an IANA zone (Asia/Pontianak).")
@click.option("--admin", "admin_email", required=True, metavar="EMAIL",
              help="The first administrator's e-mail: invited to choose a password.")
@click.option("--admin-name", default="", help="The administrator's name (default: Admin NAME).")
def agency_create(code, name, zone, admin_email, admin_name):
    """Create agency CODE and its first administrator, who gets an invitation e-mail."""
    try:
        agency = operations.create_agency(None, code, name, zone, admin_email, admin_name)
    except ValidationError as exc:
        _fail(exc.errors)
    click.echo(f"created agency {agency.code} ({agency.name}, {agency.timezone})")
    click.echo(f"administrator {admin_email.strip().lower()}: invitation {deliver_queued()}")


@agency_cli.command("staff")
@click.argument("code")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def agency_staff(code, file):
    """Create or update agency CODE's positions and officials from FILE.csv (header:
    email,name,nip,position_key,position_title). New officials get an invitation."""
    agency = Agency.get_or_none(Agency.code == code)
    if agency is None:
        click.echo(f"no agency {code!r} (see: flask --app wsgi agency list)", err=True)
        sys.exit(1)
    try:
        text = Path(file).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        click.echo(f"{file}: not UTF-8 text (save the sheet as CSV UTF-8)", err=True)
        sys.exit(1)
    try:
        report = import_staff(None, agency, text)
    except StaffImportError as exc:
        for line, column, message in exc.problems:
            click.echo(f"{file}:{line}: {column}: {message}", err=True)
        click.echo("nothing applied", err=True)
        sys.exit(1)
    except OperationError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    for row in report.rows:
        detail = f" ({', '.join(row.changes)})" if row.changes else ""
        click.echo(f"{file}:{row.line}: {row.email}: {row.outcome}{detail}")
    click.echo(f"{report.count('created')} created, {report.count('updated')} updated, "
               f"{report.count('unchanged')} unchanged")
    if not report.changed:
        click.echo("nothing changed")
    elif report.count("created"):
        click.echo(f"invitations {deliver_queued()}")


@agency_cli.command("list")
def agency_list():
    """Every agency: code, name, zone, administrators, officials, active SOPs."""
    rows = operations.agency_rows()
    if not rows:
        click.echo("no agencies (create one: flask --app wsgi agency create CODE --name NAME "
                   "--zone WIB --admin EMAIL)")
        return
    click.echo(f"{'code':24} {'name':40} {'zone':16} {'admins':>6} {'officials':>9} "
               f"{'SOPs':>4}")
    for row in rows:
        click.echo(f"{row.agency.code:24} {row.agency.name[:40]:40} {row.agency.timezone:16} "
                   f"{row.admins:>6} {row.officials:>9} {row.sops:>4}")
