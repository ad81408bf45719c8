"""Signing keys on a PKCS#11 token or HSM (smart card, USB token, network HSM, SoftHSM).

How pyHanko uses a token
------------------------
pyHanko talks PKCS#11 through ``python-pkcs11`` (``pip install 'pyHanko[pkcs11]'``; it is not a
dependency of the portal until an agency needs it). Three steps:

1. Open a session on the token, logged in as the user::

       from pyhanko.config.pkcs11 import TokenCriteria
       from pyhanko.sign.pkcs11 import open_pkcs11_session

       session = open_pkcs11_session(
           "/usr/lib/softhsm/libsofthsm2.so",           # the vendor's PKCS#11 module
           token_criteria=TokenCriteria(label="absah"),  # or slot_no=0
           user_pin="1234",
       )

2. Wrap the session in a signer, naming the objects on the token by label (or by id)::

       from pyhanko.sign.pkcs11 import PKCS11Signer

       signer = PKCS11Signer(session, key_label="kadinkes", cert_label="kadinkes",
                             ca_chain=issuer_certs)  # asn1crypto certificates of the CA chain

   The private key never leaves the token: pyHanko hashes the document and sends the
   ``SignedAttributes`` to the token (mechanism ``CKM_SHA256_RSA_PKCS`` for RSA), which returns
   the raw signature. The signer certificate is read from the token once; the issuers come from
   ``ca_chain`` (or ``other_certs_to_pull=[labels]``; ``None`` would pull, and then embed in
   every letter, every certificate on the token).

3. Use it like any other signer: ``PdfSigner(meta, signer=signer, ...)``. Here that means
   :func:`load_pkcs11_identity` returns a :class:`~signing.keys.SignerIdentity` that
   :func:`signing.sign.sign_letter` accepts unchanged.

The session stays open (and logged in) for the life of the identity, so each letter costs one
token operation, not a login. Close it with ``identity.signer.pkcs11_session.close()``. If the
token is removed, the next signature fails with :class:`~signing.errors.SigningError`; load the
identity again once it is back. PKCS#11 sessions are not safe to share between threads without
the module's own locking: use one identity per process (gunicorn sync workers do).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pyhanko.keys import load_certs_from_pemder

from ._config import build_from_config
from .errors import InvalidConfig, KeyUnavailable
from .keys import SignerIdentity

__all__ = ["Pkcs11Config", "load_pkcs11_identity"]


@dataclass(frozen=True)
class Pkcs11Config:
    """Where a signing key lives on a PKCS#11 token."""

    library: str
    """Path of the vendor's PKCS#11 module (``.so``), e.g. ``/usr/lib/softhsm/libsofthsm2.so``."""

    token_label: str
    """Label of the token holding the key (``softhsm2-util --show-slots``)."""

    key_label: str
    """Label (``CKA_LABEL``) of the private key."""

    pin: str = field(repr=False)
    """User PIN of the token; never printed."""

    cert_label: str | None = None
    """Label of the signer's certificate; defaults to ``key_label``."""

    chain_file: str | None = None
    """PEM file with the issuer certificates (intermediate and root): those on the signer's
    path are embedded in signatures (a bundle of several CAs may be given)."""

    def __post_init__(self):
        for name in ("library", "token_label", "key_label"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name).strip():
                raise InvalidConfig(f"PKCS#11 {name} must be a non-empty string")
        if not isinstance(self.pin, str) or not self.pin:
            raise InvalidConfig("PKCS#11 pin must be a non-empty string")

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Pkcs11Config:
        """Build from a mapping (``library``, ``token_label``, ``key_label``, ``pin``,
        optional ``cert_label`` and ``chain_file``); unknown keys are rejected."""
        return build_from_config(cls, config, "PKCS#11 configuration")


def load_pkcs11_identity(config: Pkcs11Config) -> SignerIdentity:
    """Open the token named by ``config`` and return an identity whose key stays on it.

    Raises :class:`~signing.errors.KeyUnavailable` when python-pkcs11 is not installed, the
    module cannot be loaded, the token is absent, the PIN is wrong or the key/cert is missing.
    """
    try:
        from pyhanko.config.pkcs11 import TokenCriteria
        from pyhanko.sign.pkcs11 import PKCS11Signer, open_pkcs11_session
    except ImportError:
        raise KeyUnavailable(
            "PKCS#11 signing needs python-pkcs11: pip install 'pyHanko[pkcs11]'") from None
    if not os.path.exists(config.library):
        raise KeyUnavailable(f"PKCS#11 module {config.library} not found")
    chain = ()
    if config.chain_file:
        try:
            chain = tuple(load_certs_from_pemder([config.chain_file]))
        except (OSError, ValueError) as e:
            raise KeyUnavailable(f"cannot read chain file {config.chain_file}: {e}") from None
    try:
        session = open_pkcs11_session(
            config.library, token_criteria=TokenCriteria(label=config.token_label),
            user_pin=config.pin)
    except Exception as e:  # pkcs11 raises its own zoo (NoSuchToken, PinIncorrect, ...)
        raise KeyUnavailable(
            f"cannot open PKCS#11 token {config.token_label!r}: {type(e).__name__} {e}".strip()
        ) from None
    try:
        signer = PKCS11Signer(session, key_label=config.key_label,
                              cert_label=config.cert_label or config.key_label)
        certificate = signer.signing_cert  # loads key and certificate handles now, not later
    except Exception as e:
        session.close()
        raise KeyUnavailable(
            f"key {config.key_label!r} or its certificate not usable on token "
            f"{config.token_label!r}: {type(e).__name__} {e}".strip()) from None
    if certificate is None:
        session.close()
        raise KeyUnavailable(f"no certificate for key {config.key_label!r} on the token")
    path = _issuing_path(certificate, chain)
    signer.cert_registry.register_multiple(path)
    return SignerIdentity(signer=signer, certificate=certificate, chain=path)


def _issuing_path(certificate, candidates) -> tuple:
    """The certificates of ``candidates`` from ``certificate``'s issuer up to a root, in that
    order (a trust bundle may hold many CAs: only the signer's own path goes in a letter)."""
    by_subject = {c.subject.hashable: c for c in candidates}
    path, current = [], certificate
    while current.issuer.hashable != current.subject.hashable:
        issuer = by_subject.get(current.issuer.hashable)
        if issuer is None or issuer in path:
            break
        path.append(issuer)
        current = issuer
    return tuple(path)
