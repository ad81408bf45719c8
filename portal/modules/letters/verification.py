"""The verdict on a presented PDF: is it exactly an issued letter, intact and valid?"""

from __future__ import annotations

from dataclasses import dataclass

import signing
from portal.modules.letters.keys import trust_roots
from portal.modules.letters.models import Letter


@dataclass(frozen=True)
class Verdict:
    """What a third party learns about a file they present against a letter's token."""

    exact: bool  # byte for byte the file the portal issued under this token
    report: signing.LetterReport
    other: Letter | None  # the file is a genuine letter, but another one


def verify_presented(letter: Letter | None, pdf: bytes) -> Verdict:
    """Check a presented PDF: its signatures (independently of our records), and whether it
    is exactly the issued file of this letter, or of another."""
    import hashlib

    roots = trust_roots()
    report = signing.verify_letter(pdf, roots)
    digest = hashlib.sha256(pdf).hexdigest()
    exact = letter is not None and digest == letter.sha256
    other = None
    if not exact:
        other = Letter.get_or_none(Letter.sha256 == digest)
        if other is None:
            tokens = [u.rsplit("/v/", 1)[-1] for u in report.qr_urls if "/v/" in u]
            other = next((lt for t in tokens if (lt := Letter.by_token(t)) is not None), None)
        if letter is not None and other is not None and other.id == letter.id:
            other = None
    return Verdict(exact, report, other)

