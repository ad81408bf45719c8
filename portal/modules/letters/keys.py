"""Where signing keys and trust come from: the development CA, PKCS#12 files (one per signer)
or a PKCS#11 token; and the trust anchors that the verification page and `letters verify`
accept. Issuance asks for a signer's identity here; verification asks for the roots."""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

import signing
from portal.config import current_config
from portal.modules.accounts.models import User

_lock = threading.Lock()


@lru_cache(maxsize=4)
def _dev_ca(directory: str) -> signing.DevCA:
    return signing.DevCA.ensure(directory)


@lru_cache(maxsize=256)
def _pkcs12(path: str, mtime: float, passphrase: str) -> signing.SignerIdentity:
    return signing.SignerIdentity.from_pkcs12(path, passphrase or None)


def ca_certificate_pem() -> bytes | None:
    """The development CA's certificate (None when signing keys come from PKCS#12 files)."""
    if current_config().signing_p12_dir:
        return None
    return _dev_ca(current_config().signing_ca_dir).certificate_pem


def trust_roots() -> list[bytes]:
    """The PEM certificates a letter's signer must chain to, for the page and the CLI alike."""
    pem = ca_certificate_pem()
    return [pem] if pem else []


def signer_identity(user: User, position_title: str, organisation: str) -> signing.SignerIdentity:
    """The signer's key, kept loaded between letters (loading and re-checking an RSA key at
    every signature is most of pyHanko's default cost)."""
    if current_config().signing_p12_dir:
        path = Path(current_config().signing_p12_dir) / f"{user.email}.p12"
        if not path.is_file():
            raise signing.KeyUnavailable(f"tidak ada berkas kunci (PKCS#12) untuk {user.email}")
        return _pkcs12(str(path), path.stat().st_mtime, current_config().signing_p12_passphrase)
    with _lock:
        return _dev_ca(current_config().signing_ca_dir).signer_identity(
            key=f"user-{user.id}", name=user.name, nip=user.nip, position=position_title,
            organisation=organisation)
