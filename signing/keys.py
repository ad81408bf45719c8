"""Signing identities: keys kept loaded in memory, and the development CA of the embedded default.

A :class:`SignerIdentity` wraps a pyHanko :class:`~pyhanko.sign.signers.Signer` whose private key
was parsed (and, for RSA, consistency-checked) exactly once. pyHanko's own ``SimpleSigner``
re-parses the key from DER at every signature, which for RSA repeats OpenSSL's key check: build
one identity per signer at start-up (or cache it) and reuse it for every letter.

:class:`DevCA` is the embedded default of ``make run``: a self-signed CA in a directory (usually
under ``instance/``) that issues one certificate per signer. Its letters validate only against
its own ``ca.pem``; it is not a legally recognised CA, and every stamp made with one of its
identities says so (:data:`DEV_STAMP_NOTICE`). It is a small real PKI all the same: its signer
certificates name a CRL distribution point, it signs CRLs (:meth:`DevCA.publish_crl`), and a
certificate the caller reports as revoked is never used again (:class:`CertificateRevoked`)
until :meth:`DevCA.reissue` gives the signer a new key pair.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import re
import secrets
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from asn1crypto import pem, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.keys.internal import translate_pyca_cryptography_cert_to_asn1
from pyhanko.sign.attributes import CMSAttributeProvider
from pyhanko.sign.general import as_signing_certificate_v2
from pyhanko.sign.signers import Signer
from pyhanko.sign.signers.pdf_cms import format_signed_attributes
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash, process_pss_params

from .errors import InvalidConfig, KeyUnavailable, SigningError

__all__ = ["CA_COMMON_NAME", "DEV_STAMP_NOTICE", "REVOCATION_REASONS", "CertificateRevoked",
           "DevCA", "Revocation", "SignerIdentity", "certificate_key"]

CA_COMMON_NAME = "Absah Development CA (not legally recognised)"
DEV_STAMP_NOTICE = "CA pengembangan \u2014 tidak diakui secara hukum"
"""The line every stamp signed by the development CA carries, so a printout cannot pass for a
letter signed with a recognised certificate."""
REVOCATION_REASONS = ("key_compromise", "affiliation_changed", "superseded",
                      "cessation_of_operation")
"""RFC 5280 reason codes (``cryptography``'s ``ReasonFlags`` names) a revocation may give."""
_CRL_VALIDITY = dt.timedelta(days=7)
_RSA_BITS = 2048
_CA_VALIDITY = dt.timedelta(days=3652)
_SIGNER_VALIDITY = dt.timedelta(days=730)
# A signer certificate this close to expiry is re-issued rather than reused.
_RENEW_BEFORE = dt.timedelta(days=30)
# Back-date notBefore so that a verifier whose clock lags a little still accepts fresh certs.
_CLOCK_SKEW = dt.timedelta(hours=1)
_KEY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class CertificateRevoked(KeyUnavailable):
    """The signer's certificate was revoked: nothing more is signed with it."""

    def __init__(self, message: str, serial: int):
        super().__init__(message)
        self.serial = serial
        """Serial number of the revoked certificate."""


@dataclass(frozen=True)
class Revocation:
    """One entry of a CRL: which certificate, since when, why."""

    serial: int
    """Serial number of the revoked certificate."""

    revoked_at: dt.datetime
    """When it was revoked (timezone-aware)."""

    reason: str = "unspecified"
    """One of :data:`REVOCATION_REASONS` (or ``unspecified``)."""


def certificate_key(certificate: x509.Certificate | asn1_x509.Certificate | bytes,
                    ) -> tuple[str, int]:
    """``(issuer hash, serial)``: what names one certificate among every CA's, for revocation
    records (SHA-256 of the issuer's DER name, hex; the serial number)."""
    if isinstance(certificate, asn1_x509.Certificate):
        certificate = certificate.dump()
    if isinstance(certificate, bytes):
        certificate = x509.load_der_x509_certificate(certificate)
    digest = hashes.Hash(hashes.SHA256())
    digest.update(certificate.issuer.public_bytes())
    return digest.finalize().hex(), certificate.serial_number


class _FixedSigningCertificate(CMSAttributeProvider):
    """The signing-certificate-v2 attribute, built once per certificate and replayed."""

    attribute_type = "signing_certificate_v2"

    def __init__(self, der: bytes):
        self._der = der

    async def build_attr_value(self, dry_run=False) -> tsp.SigningCertificateV2:
        # Loading from DER keeps asn1crypto's encoded form: no re-encoding on dump.
        return tsp.SigningCertificateV2.load(self._der)


class _LoadedKeySigner(Signer):
    """A pyHanko signer over an already-parsed private key (RSA or EC): one parse, many signs.

    It also builds the signing-certificate-v2 attribute once: asn1crypto takes about 15 ms to
    build and encode it (twice per signature), and it never changes for a given certificate.
    """

    def __init__(self, private_key, signing_cert: asn1_x509.Certificate, other_certs=()):
        registry = SimpleCertificateStore()
        registry.register_multiple(other_certs)
        super().__init__(signing_cert=signing_cert, cert_registry=registry, embed_roots=True)
        self._private_key = private_key
        self._signing_cert_v2 = as_signing_certificate_v2(signing_cert, "sha256").dump()

    async def signed_attrs(self, data_digest: bytes, digest_algorithm: str, attr_settings=None,
                           content_type="data", use_pades=False, timestamper=None,
                           dry_run=False, is_pdf_sig=True):
        """PAdES signed attributes from the cached pieces; anything else goes to pyHanko."""
        plain_pades = (
            use_pades and is_pdf_sig and content_type == "data"
            and self.signed_attr_prov_spec is None
            and (attr_settings is None or attr_settings.cades_signed_attrs is None)
        )
        if not plain_pades:
            return await super().signed_attrs(
                data_digest, digest_algorithm, attr_settings=attr_settings,
                content_type=content_type, use_pades=use_pades, timestamper=timestamper,
                dry_run=dry_run, is_pdf_sig=is_pdf_sig)
        # What pyHanko's CAdES/PAdES provider spec yields without CAdES extras: content type,
        # message digest and signing-certificate-v2 (PAdES forbids the signing-time attribute).
        return await format_signed_attributes(
            data_digest, attr_provs=[_FixedSigningCertificate(self._signing_cert_v2)],
            content_type=content_type, dry_run=dry_run)

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run=False) -> bytes:
        # A dry run (pyHanko's size estimate) costs one RSA operation, ~0.25 ms: just sign.
        return self.sign_raw(data, digest_algorithm)

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        """Sign ``data`` with the mechanism pyHanko picked for ``digest_algorithm``."""
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
        algorithm = mechanism.signature_algo
        key = self._private_key
        if algorithm == "rsassa_pkcs1v15" and isinstance(key, rsa.RSAPrivateKey):
            return key.sign(data, PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))
        if algorithm == "rsassa_pss" and isinstance(key, rsa.RSAPrivateKey):
            padding, hash_algorithm = process_pss_params(mechanism["parameters"])
            return key.sign(data, padding, hash_algorithm)
        if algorithm == "ecdsa" and isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(data, ec.ECDSA(get_pyca_cryptography_hash(digest_algorithm)))
        raise SigningError(f"signature mechanism {algorithm} is not supported for this key")


@dataclass(frozen=True, eq=False)
class SignerIdentity:
    """Who signs and with what: a loaded pyHanko signer plus its certificate chain.

    Build it once and reuse it; every field is immutable and the key stays in memory.
    """

    signer: Signer
    """pyHanko signer used by :func:`signing.sign.sign_letter` (key already loaded)."""

    certificate: asn1_x509.Certificate
    """The signer's end-entity certificate."""

    chain: tuple[asn1_x509.Certificate, ...] = ()
    """Issuer certificates (up to and including the root) embedded in every signature."""

    stamp_notice: str = ""
    """A line every stamp made with this identity carries (the development CA's warning);
    empty for production identities."""

    @property
    def serial(self) -> int:
        """Serial number of the signer's certificate."""
        return int(self.certificate.serial_number)

    @property
    def common_name(self) -> str:
        """The signer's name as the certificate states it (subject CN)."""
        return str(self.certificate.subject.native.get("common_name", ""))

    @property
    def certificate_pem(self) -> bytes:
        """The end-entity certificate, PEM-encoded."""
        return pem.armor("CERTIFICATE", self.certificate.dump())

    @property
    def signature_size(self) -> int:
        """Upper bound, in bytes, of one raw signature value made with this key."""
        public_key = self.certificate.public_key
        if public_key.algorithm == "rsa":
            return (public_key.bit_size + 7) // 8
        # ECDSA DER signatures: two integers of at most the curve size plus a little framing.
        return 2 * ((public_key.bit_size + 7) // 8) + 16

    @classmethod
    def from_private_key(
        cls,
        private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
        certificate: x509.Certificate,
        chain: Sequence[x509.Certificate] = (),
    ) -> SignerIdentity:
        """An identity over an already-loaded ``cryptography`` key and its certificates."""
        if not isinstance(private_key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise KeyUnavailable(
                f"unsupported key type {type(private_key).__name__}: use an RSA or EC key"
            )
        if private_key.public_key().public_numbers() != certificate.public_key().public_numbers():
            raise KeyUnavailable("the private key does not belong to the signer certificate")
        cert = translate_pyca_cryptography_cert_to_asn1(certificate)
        issuers = tuple(translate_pyca_cryptography_cert_to_asn1(c) for c in chain)
        return cls(signer=_LoadedKeySigner(private_key, cert, issuers), certificate=cert,
                   chain=issuers)

    @classmethod
    def from_pkcs12(cls, path: str | os.PathLike, passphrase: str | bytes | None) -> SignerIdentity:
        """Load a production key from a PKCS#12 (.p12/.pfx) file; raises :class:`KeyUnavailable`."""
        try:
            data = Path(path).read_bytes()
        except OSError as e:
            raise KeyUnavailable(f"cannot read PKCS#12 file {path}: {e.strerror}") from None
        if isinstance(passphrase, str):
            passphrase = passphrase.encode()
        try:
            key, cert, extra = pkcs12.load_key_and_certificates(data, passphrase or None)
        except (ValueError, TypeError):
            raise KeyUnavailable(
                f"cannot open PKCS#12 file {path}: wrong passphrase, or not a PKCS#12 file"
            ) from None
        if key is None or cert is None:
            raise KeyUnavailable(f"PKCS#12 file {path} holds no private key with its certificate")
        return cls.from_private_key(key, cert, extra)

    @classmethod
    def from_pem_files(
        cls,
        certificate: str | os.PathLike,
        key: str | os.PathLike,
        chain: Sequence[str | os.PathLike] = (),
        passphrase: str | bytes | None = None,
    ) -> SignerIdentity:
        """Load a key and certificates from PEM files; raises :class:`KeyUnavailable`."""
        if isinstance(passphrase, str):
            passphrase = passphrase.encode()
        try:
            cert = x509.load_pem_x509_certificate(Path(certificate).read_bytes())
            issuers = [c for path in chain
                       for c in x509.load_pem_x509_certificates(Path(path).read_bytes())]
            private_key = serialization.load_pem_private_key(Path(key).read_bytes(), passphrase)
        except OSError as e:
            raise KeyUnavailable(f"cannot read {e.filename}: {e.strerror}") from None
        except (ValueError, TypeError) as e:
            raise KeyUnavailable(f"cannot load signing key or certificate: {e}") from None
        return cls.from_private_key(private_key, cert, issuers)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=_RSA_BITS)


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, readable by the owner only (mode 0600)."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _write_public(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Serialise key creation between processes (several workers may start at once)."""
    with open(directory / ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _load_key(path: Path) -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as e:
        raise KeyUnavailable(f"cannot read {path}: {e.strerror}") from None
    except (ValueError, TypeError) as e:
        raise KeyUnavailable(f"cannot load key {path}: {e}") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise KeyUnavailable(f"{path} is not an RSA key")
    return key


def _load_cert(path: Path) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except OSError as e:
        raise KeyUnavailable(f"cannot read {path}: {e.strerror}") from None
    except ValueError as e:
        raise KeyUnavailable(f"cannot load certificate {path}: {e}") from None


def _signer_subject(name: str, nip: str | None, position: str, organisation: str) -> x509.Name:
    for label, value in (("name", name), ("position", position), ("organisation", organisation)):
        if not value or not value.strip():
            raise InvalidConfig(f"signer {label} must not be empty")
    attributes = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "ID"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation.strip()),
        x509.NameAttribute(NameOID.TITLE, position.strip()),
        x509.NameAttribute(NameOID.COMMON_NAME, name.strip()),
    ]
    if nip and nip.strip():
        attributes.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, nip.strip()))
    return x509.Name(attributes)


@dataclass(frozen=True, eq=False)
class DevCA:
    """The development CA: ``ca.pem`` / ``ca-key.pem`` plus ``<key>.pem`` / ``<key>-key.pem``."""

    directory: Path
    """Directory holding the CA and signer key files (created if missing)."""

    certificate: x509.Certificate
    """The self-signed CA certificate."""

    _key: rsa.RSAPrivateKey = field(repr=False)
    _identities: dict[str, tuple[x509.Name, SignerIdentity]] = field(
        default_factory=dict, repr=False)

    @property
    def certificate_pem(self) -> bytes:
        """The CA certificate, PEM-encoded: what verifiers import as their trust root."""
        return _cert_pem(self.certificate)

    @property
    def issuer_hash(self) -> str:
        """The issuer hash (:func:`certificate_key`) of every certificate this CA issues."""
        return certificate_key(self.certificate)[0]  # self-signed: its issuer is its subject

    @classmethod
    def ensure(cls, directory: str | os.PathLike) -> DevCA:
        """Load the CA from ``directory``, creating it there on first use."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        cert_path, key_path = directory / "ca.pem", directory / "ca-key.pem"
        with _locked(directory):
            if cert_path.exists() and key_path.exists():
                cert, key = _load_cert(cert_path), _load_key(key_path)
                if key.public_key().public_numbers() != cert.public_key().public_numbers():
                    raise KeyUnavailable(f"{key_path} does not belong to {cert_path}")
            elif cert_path.exists() or key_path.exists():
                missing = key_path if cert_path.exists() else cert_path
                raise KeyUnavailable(f"development CA incomplete: {missing} is missing")
            else:
                key = _new_rsa_key()
                cert = cls._self_signed(key)
                _write_private(key_path, _key_pem(key))
                _write_public(cert_path, _cert_pem(cert))
        return cls(directory=directory, certificate=cert, _key=key)

    @staticmethod
    def _self_signed(key: rsa.RSAPrivateKey) -> x509.Certificate:
        subject = x509.Name([
            x509.NameAttribute(NameOID.COUNTRY_NAME, "ID"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Absah (development)"),
            x509.NameAttribute(NameOID.COMMON_NAME, CA_COMMON_NAME),
        ])
        now = _now()
        public_key = key.public_key()
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _CLOCK_SKEW)
            .not_valid_after(now + _CA_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .sign(key, hashes.SHA256())
        )

    def signer_identity(self, key: str, name: str, nip: str | None, position: str,
                        organisation: str, crl_url: str | None = None,
                        revoked: Collection[int] = ()) -> SignerIdentity:
        """The identity stored under ``key``, issued on first use and reused afterwards.

        A stored certificate is re-issued (new key pair) when the requested subject or CRL
        distribution point (``crl_url``) differs (the official's name or position changed),
        when it was issued by another CA, or when it expires within 30 days. A stored
        certificate whose serial is in ``revoked`` is never used nor silently replaced: this
        raises :class:`CertificateRevoked` until :meth:`reissue` gives ``key`` a new one.
        """
        if not _KEY_NAME.match(key or ""):
            raise InvalidConfig(
                f"signer key {key!r}: use 1-64 letters, digits, '.', '_' or '-' (no leading dot)")
        subject = _signer_subject(name, nip, position, organisation)
        cached = self._identities.get(key)
        if (cached is not None and cached[0] == (subject, crl_url)
                and cached[1].serial not in revoked):
            return cached[1]
        cert_path, key_path = self.directory / f"{key}.pem", self.directory / f"{key}-key.pem"
        with _locked(self.directory):
            cert = private_key = None
            if cert_path.exists() and key_path.exists():
                cert = _load_cert(cert_path)
                if cert.serial_number in revoked:
                    self._identities.pop(key, None)
                    raise CertificateRevoked(
                        f"the certificate of {key} (serial {cert.serial_number:X}) is revoked",
                        cert.serial_number)
                if self._reusable(cert, subject, crl_url):
                    private_key = _load_key(key_path)
                    if (private_key.public_key().public_numbers()
                            != cert.public_key().public_numbers()):
                        private_key = None
            if private_key is None:
                private_key = _new_rsa_key()
                cert = self._issue(private_key.public_key(), subject, crl_url)
                _write_private(key_path, _key_pem(private_key))
                _write_public(cert_path, _cert_pem(cert))
        identity = self._identity(private_key, cert)
        self._identities[key] = ((subject, crl_url), identity)
        return identity

    def _identity(self, private_key: rsa.RSAPrivateKey, cert: x509.Certificate,
                  ) -> SignerIdentity:
        identity = SignerIdentity.from_private_key(private_key, cert, (self.certificate,))
        return replace(identity, stamp_notice=DEV_STAMP_NOTICE)

    def stored_certificate(self, key: str) -> x509.Certificate | None:
        """The certificate stored under ``key`` (None before its first signature)."""
        if not _KEY_NAME.match(key or ""):
            raise InvalidConfig(f"signer key {key!r} is not a valid key name")
        path = self.directory / f"{key}.pem"
        return _load_cert(path) if path.exists() else None

    def reissue(self, key: str, crl_url: str | None = None) -> x509.Certificate:
        """Give ``key`` a new key pair and certificate with the same subject as its stored one
        (after a revocation); raises :class:`KeyUnavailable` when ``key`` has none."""
        if not _KEY_NAME.match(key or ""):
            raise InvalidConfig(f"signer key {key!r} is not a valid key name")
        cert_path, key_path = self.directory / f"{key}.pem", self.directory / f"{key}-key.pem"
        with _locked(self.directory):
            if not cert_path.exists():
                raise KeyUnavailable(f"no certificate is stored under {key}")
            old = _load_cert(cert_path)
            private_key = _new_rsa_key()
            cert = self._issue(private_key.public_key(), old.subject, crl_url)
            _write_private(key_path, _key_pem(private_key))
            _write_public(cert_path, _cert_pem(cert))
        self._identities.pop(key, None)
        return cert

    def crl(self, revoked: Iterable[Revocation], number: int,
            this_update: dt.datetime | None = None,
            validity: dt.timedelta = _CRL_VALIDITY) -> bytes:
        """A CRL (DER) listing ``revoked``, signed by this CA, valid ``validity`` from
        ``this_update`` (now by default); ``number`` is its CRL number (monotonic)."""
        this_update = this_update or _now()
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.certificate.subject)
            .last_update(this_update)
            .next_update(this_update + validity)
            .add_extension(x509.CRLNumber(number), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                self.certificate.public_key()), critical=False)
        )
        for entry in revoked:
            if entry.reason not in (*REVOCATION_REASONS, "unspecified"):
                raise InvalidConfig(f"revocation reason {entry.reason!r}: use one of "
                                    f"{', '.join(REVOCATION_REASONS)}")
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(entry.serial)
                .revocation_date(entry.revoked_at)
                .add_extension(x509.CRLReason(x509.ReasonFlags[entry.reason]), critical=False)
                .build())
        return builder.sign(self._key, hashes.SHA256()).public_bytes(
            serialization.Encoding.DER)

    def publish_crl(self, revoked: Iterable[Revocation],
                    validity: dt.timedelta = _CRL_VALIDITY) -> bytes:
        """Sign a new CRL (its number one above the last published) and keep it as
        ``ca.crl`` beside the CA; returns its DER bytes."""
        path = self.directory / "ca.crl"
        revoked = list(revoked)
        with _locked(self.directory):
            number = 1
            previous = self.published_crl()
            if previous is not None:
                try:
                    number = x509.load_der_x509_crl(previous).extensions.get_extension_for_class(
                        x509.CRLNumber).value.crl_number + 1
                except (ValueError, x509.ExtensionNotFound):
                    number = 1
            der = self.crl(revoked, number, validity=validity)
            _write_public(path, der)
        return der

    def published_crl(self) -> bytes | None:
        """The CRL last published by :meth:`publish_crl` (DER), or None."""
        try:
            return (self.directory / "ca.crl").read_bytes()
        except FileNotFoundError:
            return None

    def _reusable(self, cert: x509.Certificate, subject: x509.Name,
                  crl_url: str | None = None) -> bool:
        if cert.subject != subject or cert.issuer != self.certificate.subject:
            return False
        if _crl_urls(cert) != ([crl_url] if crl_url else []):
            return False
        if cert.not_valid_after_utc - _RENEW_BEFORE < _now():
            return False
        try:
            cert.verify_directly_issued_by(self.certificate)
        except (ValueError, TypeError, InvalidSignature):
            return False
        return True

    def _issue(self, public_key: rsa.RSAPublicKey, subject: x509.Name,
               crl_url: str | None = None) -> x509.Certificate:
        now = _now()
        ca_public = self.certificate.public_key()
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.certificate.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _CLOCK_SKEW)
            .not_valid_after(now + _SIGNER_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=True, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            # emailProtection: what NSS (poppler's pdfsig) requires of a document signer when an
            # extended key usage is present; Adobe Reader accepts it as well.
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]),
                           critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_public),
                           critical=False)
        )
        if crl_url:
            builder = builder.add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
                full_name=[x509.UniformResourceIdentifier(crl_url)], relative_name=None,
                reasons=None, crl_issuer=None)]), critical=False)
        return builder.sign(self._key, hashes.SHA256())


def _crl_urls(cert: x509.Certificate) -> list[str]:
    """The URLs of a certificate's CRL distribution points."""
    try:
        points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    except x509.ExtensionNotFound:
        return []
    return [name.value for point in points for name in (point.full_name or ())
            if isinstance(name, x509.UniformResourceIdentifier)]
