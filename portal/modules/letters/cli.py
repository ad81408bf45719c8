"""`flask letters verify FILE.pdf [--at DATE]`: the verification page's verdict on a file."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

letters_cli = AppGroup("letters", help="Issued letters.")


@letters_cli.command("verify")
@click.argument("pdf", type=click.Path(exists=True, dir_okay=False))
@click.option("--at", "at", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Check certificates as of this date (end of the day, UTC) instead of the "
                   "time the file proves or the portal recorded.")
def letters_verify(pdf, at):
    """The verdict the verification page gives on a file: exit 0 only for a genuine,
    unaltered letter that is still valid."""
    import datetime as dt

    from portal.modules.letters.verification import summary_en, verify_presented

    if at is not None and at.year >= 9999:  # the end of its day would leave the calendar
        raise click.BadParameter("use a date before 9999-01-01", param_hint="--at")
    moment = None if at is None else (at.replace(tzinfo=dt.UTC)
                                      + dt.timedelta(days=1, seconds=-1))
    verdict = verify_presented(Path(pdf).read_bytes(), at=moment)
    file, letter = verdict.file, verdict.matched
    click.echo(f"file: {pdf}")
    click.echo(f"outcome: {verdict.kind}")
    for signature in file.signatures:
        if not signature.checked:  # the validator failed: no claim either way
            click.echo(f"  {signature.field_name}: {signature.problem}")
            continue
        click.echo(f"  {signature.field_name}: {signature.signer} ({signature.signer_position})"
                   f" intact={signature.intact} trusted={signature.trusted}"
                   f"{' timestamped' if signature.timestamped else ''}")
    for finding in file.findings:
        click.echo(f"  found: {finding.en}")
    when = file.validated_at.isoformat() if file.validated_at else "now"
    click.echo(f"certificates checked at: {when} ({file.time_source})")
    if letter is None:
        click.echo("issued letter: none (this file does not begin with a letter this portal "
                   "issued)")
    else:
        how = ("exactly the issued file" if file.exact else
               "the issued file followed by whitespace" if file.trailing_whitespace else
               "the issued file with validation data added" if file.ok else
               "the issued file with other changes appended")
        click.echo(f"issued letter: {letter.title} {letter.number} ({letter.agency.name}), "
                   f"status {letter.status}; this file is {how}")
    click.echo(summary_en(verdict))
    click.echo("VERDICT: genuine, unaltered and valid" if verdict.ok else "VERDICT: NOT valid")
    sys.exit(0 if verdict.ok else 1)



@letters_cli.command("extend")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Extend at most this many letters in this run.")
def letters_extend(limit):
    """Add document timestamps (PAdES B-LTA) to letters that need them: those signed while
    the timestamp authority was down, and those whose newest timestamp is old or whose TSA
    certificate nears its end. Run it daily from cron; exit 1 when something was left."""
    from portal.modules.letters.extend import extend_due

    run = extend_due(limit=limit)
    for letter, before, after in run.extended:
        click.echo(f"extended: {letter.number} ({letter.agency.name}) {before} -> {after}")
    for letter, why in run.failed:
        click.echo(f"not extended: {letter.number} ({letter.agency.name}): {why}", err=True)
    if run.stopped:
        click.echo(f"stopped: {run.stopped}", err=True)
    left = run.due - len(run.extended)
    click.echo(f"{len(run.extended)} letter(s) extended, {left} left of {run.due} due")
    sys.exit(0 if run.ok else 1)
