"""`flask letters verify FILE.pdf`: the verification page's verdict on a file."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

letters_cli = AppGroup("letters", help="Issued letters.")


@letters_cli.command("verify")
@click.argument("pdf", type=click.Path(exists=True, dir_okay=False))
def letters_verify(pdf):
    """The verdict the verification page gives on a file: exit 0 only for a genuine,
    unaltered letter that is still valid."""
    from portal.modules.letters.verification import verify_presented

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

