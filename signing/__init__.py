"""Letter signing for Absah: render a letter, sign it (PAdES + QR stamp), verify it.

A plain library: bytes and frozen dataclasses in, bytes and reports out; no Flask, no database.
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
from .verify import LetterReport, SignatureReport, verify_letter

__all__ = [
    "CA_COMMON_NAME",
    "DevCA",
    "InvalidConfig",
    "KeyUnavailable",
    "LetterContent",
    "LetterReport",
    "Paraf",
    "Pkcs11Config",
    "RenderedLetter",
    "SignatureBlock",
    "SignatureBox",
    "SignatureReport",
    "SignerIdentity",
    "SigningError",
    "TimestampUnavailable",
    "load_pkcs11_identity",
    "render_letter",
    "sign_letter",
    "stamp_lines",
    "verify_letter",
]
