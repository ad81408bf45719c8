"""Where signing keys and trust come from: the development CA, PKCS#12 files (one per signer)
or a PKCS#11 token; and the trust anchors that the verification page and `letters verify`
accept. Issuance asks for a signer's identity here; verification asks for the roots.

One source signs, chosen by the configuration: a PKCS#11 token when
``PORTAL_SIGNING_PKCS11_LIBRARY`` is set (each signer's key and certificate labelled with the
signer's e-mail), else PKCS#12 files when ``PORTAL_SIGNING_P12_DIR`` is set (``<e-mail>.p12``),
else the development CA. Whatever the source, a certificate listed as revoked
(``revocations.CertificateRevocation``) signs nothing: the official is told why.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

import signing
from portal.config import current_config
from portal.core.i18n import lazy_gettext as _l
from portal.modules.accounts.models import User
from portal.modules.letters.revocations import REASON_LABELS, CertificateRevocation
from signing.keys import CertificateRevoked, certificate_key

__all__ = ["ca_certificate_pem", "crl_url", "current_certificate", "dev_ca", "reissue",
           "signer_identity", "source", "trust_roots", "uses_dev_ca"]

_lock = threading.Lock()


@lru_cache(maxsize=4)
def _dev_ca(directory: str) -> signing.DevCA:
    return signing.DevCA.ensure(directory)


@lru_cache(maxsize=256)
def _pkcs12(path: str, mtime: float, passphrase: str) -> signing.SignerIdentity:
    return signing.SignerIdentity.from_pkcs12(path, passphrase or None)


@lru_cache(maxsize=64)
def _pkcs11(library: str, token: str, label: str, pin: str, chain: str | None,
            chain_mtime: float) -> signing.SignerIdentity:
    # One logged-in session per signer and process, kept open: a letter costs one token
    # operation, not a login (signing/pkcs11.py).
    return signing.load_pkcs11_identity(signing.Pkcs11Config(
        library=library, token_label=token, key_label=label, pin=pin, chain_file=chain))


@lru_cache(maxsize=8)
def _bundle(path: str, mtime: float) -> tuple[bytes, ...]:
    try:
        certificates = x509.load_pem_x509_certificates(Path(path).read_bytes())
    except OSError as e:
        raise signing.InvalidConfig(
            f"PORTAL_SIGNING_TRUST_ROOTS: cannot read {path}: {e.strerror}") from None
    except ValueError as e:
        raise signing.InvalidConfig(
            f"PORTAL_SIGNING_TRUST_ROOTS: {path} is not a PEM certificate bundle: {e}") from None
    return tuple(c.public_bytes(serialization.Encoding.PEM) for c in certificates)


def source() -> str:
    """Where signing keys come from: ``pkcs11``, ``pkcs12`` or ``dev`` (the development CA)."""
    config = current_config()
    if config.signing_pkcs11_library:
        return "pkcs11"
    if config.signing_p12_dir:
        return "pkcs12"
    return "dev"


def uses_dev_ca() -> bool:
    """Whether letters are signed by the development CA (not legally recognised)."""
    return source() == "dev"


def dev_ca() -> signing.DevCA:
    """The development CA (created on first use)."""
    return _dev_ca(current_config().signing_ca_dir)


def crl_url() -> str:
    """Where the development CA's CRL is published: named in every certificate it issues."""
    return current_config().url("/ca.crl")


def ca_certificate_pem() -> bytes | None:
    """The development CA's certificate (None when production keys sign)."""
    return dev_ca().certificate_pem if uses_dev_ca() else None


def _configured_roots() -> list[bytes]:
    path = current_config().signing_trust_roots
    if not path:
        return []
    try:
        mtime = os.stat(path).st_mtime
    except OSError as e:
        raise signing.InvalidConfig(
            f"PORTAL_SIGNING_TRUST_ROOTS: cannot read {path}: {e.strerror}") from None
    return list(_bundle(path, mtime))


def trust_roots() -> list[bytes]:
    """The PEM certificates a letter's signer must chain to, for the page and the CLI alike:
    the bundle of ``PORTAL_SIGNING_TRUST_ROOTS``, and the development CA while it signs."""
    roots = _configured_roots()
    pem = ca_certificate_pem()
    return roots + [pem] if pem else roots


def _chain_file() -> tuple[str | None, float]:
    path = current_config().signing_trust_roots or None
    return path, (os.stat(path).st_mtime if path and os.path.exists(path) else 0.0)


def _production_identity(user: User) -> signing.SignerIdentity:
    config = current_config()
    if source() == "pkcs11":
        if not config.signing_pkcs11_token or not config.signing_pkcs11_pin:
            raise signing.KeyUnavailable(
                "PORTAL_SIGNING_PKCS11_TOKEN and PORTAL_SIGNING_PKCS11_PIN must be set")
        return _pkcs11(config.signing_pkcs11_library, config.signing_pkcs11_token, user.email,
                       config.signing_pkcs11_pin, *_chain_file())
    path = Path(config.signing_p12_dir) / f"{user.email}.p12"
    if not path.is_file():
        raise signing.KeyUnavailable(f"tidak ada berkas kunci (PKCS#12) untuk {user.email}")
    return _pkcs12(str(path), path.stat().st_mtime, config.signing_p12_passphrase)


def _revoked(revocation: CertificateRevocation, serial: int) -> CertificateRevoked:
    when = revocation.agency.calendar().format(revocation.revoked_at)
    reason = REASON_LABELS.get(revocation.reason, revocation.reason)
    if uses_dev_ca():
        then = _l("Admin instansi dapat menerbitkan sertifikat baru di halaman Sertifikat "
                  "penandatanganan.")
    else:
        then = _l("Mintalah sertifikat baru kepada penyelenggara sertifikat elektronik (PSrE) "
                  "dan pasang di portal.")
    message = _l("sertifikat penandatanganan %(name)s (nomor seri %(serial)s) dicabut pada "
                 "%(when)s (%(reason)s); surat tidak ditandatangani. %(then)s",
                 name=revocation.subject, serial=revocation.serial, when=when,
                 reason=str(reason), then=str(then))
    return CertificateRevoked(str(message), serial)


def signer_identity(user: User, position_title: str, organisation: str) -> signing.SignerIdentity:
    """The signer's key, kept loaded between letters (loading and re-checking an RSA key at
    every signature is most of pyHanko's default cost). Raises ``signing.KeyUnavailable``
    (``CertificateRevoked`` for a revoked certificate) with the reason."""
    if uses_dev_ca():
        ca = dev_ca()
        revoked = CertificateRevocation.serials_of(ca.issuer_hash, user)
        try:
            with _lock:
                return ca.signer_identity(
                    key=f"user-{user.id}", name=user.name, nip=user.nip,
                    position=position_title, organisation=organisation, crl_url=crl_url(),
                    revoked=revoked)
        except CertificateRevoked as exc:
            raise _revoked(CertificateRevocation.of(ca.issuer_hash, exc.serial),
                           exc.serial) from None
    identity = _production_identity(user)
    issuer_hash, serial = certificate_key(identity.certificate)
    revocation = CertificateRevocation.of(issuer_hash, serial)
    if revocation is not None:
        raise _revoked(revocation, serial)
    return identity


def current_certificate(user: User) -> x509.Certificate | None:
    """The certificate the official signs with now (None: the development CA has not issued
    one yet, it will at the first signature). Raises ``signing.KeyUnavailable`` when the
    official's key file or token object cannot be used."""
    if uses_dev_ca():
        return dev_ca().stored_certificate(f"user-{user.id}")
    identity = _production_identity(user)
    return x509.load_der_x509_certificate(identity.certificate.dump())


def reissue(user: User) -> x509.Certificate:
    """A new key pair and certificate from the development CA, for an official whose
    certificate was revoked (production certificates come from their PSrE)."""
    if not uses_dev_ca():
        raise signing.KeyUnavailable("production certificates are issued by their PSrE")
    with _lock:
        return dev_ca().reissue(f"user-{user.id}", crl_url=crl_url())
