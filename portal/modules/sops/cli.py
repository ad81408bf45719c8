"""`flask sop validate|import|list`."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from portal.core.cli import without_database
from portal.core.errors import OperationError
from portal.modules.sops import operations
from portal.modules.sops.models import SopVersion
from portal.modules.sops.spec import SopError, load_sop_file

sop_cli = AppGroup("sop", help="SOP definitions: validate, import, list.")


@without_database
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
        except OperationError as exc:
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

