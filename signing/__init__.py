"""Letter signing for Absah: render a letter, sign it (PAdES + QR stamp), judge a file.

A plain library: bytes and frozen dataclasses in, bytes and reports out; no Flask, no database.
Whether a presented file is a genuine letter has one answer, :func:`judge`
(:mod:`signing.verdict`); :class:`SignatureReport` is what it found about each signature.
"""

from .errors import InvalidConfig, KeyUnavailable, SigningError, TimestampUnavailable
from .keys import CA_COMMON_NAME, DevCA, SignerIdentity
from .pkcs11 import Pkcs11Config, load_pkcs11_identity
from .render import (
    LetterContent,
    Paraf,
    RenderedLetter,
    SignatureBlock,
    SignatureBox,
    render_letter,
)
from .sign import sign_letter, stamp_lines
from .verdict import Accepted, FileVerdict, Finding, Outcome, candidate_digests, judge
from .verify import SignatureReport

__all__ = [
    "CA_COMMON_NAME",
    "Accepted",
    "DevCA",
    "FileVerdict",
    "Finding",
    "InvalidConfig",
    "KeyUnavailable",
    "LetterContent",
    "Outcome",
    "Paraf",
    "Pkcs11Config",
    "RenderedLetter",
    "SignatureBlock",
    "SignatureBox",
    "SignatureReport",
    "SignerIdentity",
    "SigningError",
    "TimestampUnavailable",
    "candidate_digests",
    "judge",
    "load_pkcs11_identity",
    "render_letter",
    "sign_letter",
    "stamp_lines",
]
