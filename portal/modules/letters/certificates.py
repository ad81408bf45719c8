"""Signing certificates of an agency's officials: what each signs with, revoking one (left
office, lost key) with a reason, a new one from the development CA, and the CRL the portal
publishes at /ca.crl.

A revoked certificate signs nothing more: the official who tries is told why
(``keys.signer_identity``). With the development CA the administrator then issues a new key
pair and certificate on the same page ("Terbitkan sertifikat baru"): a deliberate step, so an
official who left office stays unable to sign. Production certificates are replaced by their
PSrE (a new PKCS#12 file or token object); revoking one here stops the portal using it, the
PSrE's own CRL is the PSrE's business. Letters signed before the revocation stay valid: the
CRL dates each revocation, and a letter is judged at the time it was signed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509

import signing
from portal.core.db import db
from portal.core.errors import NotFound, PermissionDenied, ValidationError
from portal.core.i18n import lazy_gettext as _l
from portal.core.model import utcnow
from portal.modules.accounts.models import User
from portal.modules.agencies.models import Agency
from portal.modules.audit import trail as audit
from portal.modules.letters import keys
from portal.modules.letters.revocations import REASON_LABELS, CertificateRevocation, serial_text
from signing.keys import Revocation, certificate_key

__all__ = ["REASON_LABELS", "CertificateRow", "certificate_rows", "current_crl", "reissue",
           "revoke"]

_NOTE_MAX = 500


@dataclass(frozen=True)
class CertificateRow:
    """One official of the agency and the certificate they sign with."""

    official: User
    certificate: x509.Certificate | None
    """None: none yet (the development CA issues it at the first signature), or unusable."""
    problem: str
    """Why the official's key cannot be used (missing file, token object), else empty."""
    revocation: CertificateRevocation | None
    """The revocation of that certificate, if it is revoked."""

    @property
    def serial(self) -> str:
        return serial_text(self.certificate.serial_number) if self.certificate else ""

    @property
    def subject(self) -> str:
        return _common_name(self.certificate.subject) if self.certificate else ""

    @property
    def issuer(self) -> str:
        return _common_name(self.certificate.issuer) if self.certificate else ""

    @property
    def not_after(self) -> dt.datetime | None:
        return self.certificate.not_valid_after_utc if self.certificate else None


def _common_name(name: x509.Name) -> str:
    names = name.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(names[0].value) if names else name.rfc4514_string()


def _officials(agency: Agency) -> list[User]:
    return list(User.select().where((User.agency == agency) & User.active)
                .order_by(User.name, User.id))


def _row(official: User) -> CertificateRow:
    try:
        certificate = keys.current_certificate(official)
    except signing.SigningError as exc:
        return CertificateRow(official, None, str(exc), None)
    revocation = None
    if certificate is not None:
        revocation = CertificateRevocation.of(*certificate_key(certificate))
    return CertificateRow(official, certificate, "", revocation)


def certificate_rows(agency: Agency) -> list[CertificateRow]:
    """Every active official of the agency with the certificate they sign with."""
    return [_row(official) for official in _officials(agency)]


def _official_of(actor: User, official_id) -> User:
    if not (actor.is_agency_admin and actor.agency_id):
        raise PermissionDenied(_l("Hanya admin instansi yang dapat mengelola sertifikat "
                                  "penandatanganan."))
    try:
        official = User.get_or_none(User.id == int(official_id))
    except (TypeError, ValueError):
        official = None
    if official is None or official.agency_id != actor.agency_id:
        raise NotFound(_l("Pejabat tidak ditemukan di instansi ini."))
    return official


def revoke(actor: User, official_id, reason: str, note: str = "") -> CertificateRevocation:
    """Revoke the certificate the official signs with: audited; from now on it signs nothing,
    and the development CA's CRL lists it (republished at once)."""
    official = _official_of(actor, official_id)
    reason, note = (reason or "").strip(), (note or "").strip()
    errors = {}
    if reason not in REASON_LABELS:
        errors["reason"] = _l("Pilih alasan pencabutan.")
    if len(note) > _NOTE_MAX:
        errors["note"] = _l("Keterangan paling banyak %(n)s karakter.", n=_NOTE_MAX)
    row = _row(official)
    if row.certificate is None:
        errors["form"] = row.problem or _l("%(name)s belum memiliki sertifikat "
                                           "penandatanganan.", name=official.name)
    elif row.revocation is not None:
        errors["form"] = _l("Sertifikat ini sudah dicabut.")
    if errors:
        raise ValidationError(errors)
    issuer_hash, serial = certificate_key(row.certificate)
    with db.atomic():
        revocation = CertificateRevocation.create(
            agency=official.agency_id, official=official, issuer_hash=issuer_hash,
            serial=serial_text(serial), issuer=row.issuer, subject=row.subject,
            not_after=row.not_after, reason=reason, note=note, revoked_at=utcnow(),
            revoked_by=actor)
        audit.record(actor, "signing_certificate.revoked", revocation, official=official.id,
                     serial=revocation.serial, issuer=row.issuer, reason=reason, note=note)
    if keys.uses_dev_ca() and issuer_hash == keys.dev_ca().issuer_hash:
        _publish_crl()
    return revocation


def reissue(actor: User, official_id) -> x509.Certificate:
    """A new key pair and certificate from the development CA for an official whose
    certificate is revoked; audited (``signing_certificate.issued``)."""
    official = _official_of(actor, official_id)
    if not keys.uses_dev_ca():
        raise ValidationError({"form": _l(
            "Sertifikat produksi diterbitkan oleh PSrE: pasang berkas atau token yang baru.")})
    row = _row(official)
    if row.certificate is None or row.revocation is None:
        raise ValidationError({"form": _l(
            "Sertifikat baru hanya diterbitkan setelah sertifikat yang berlaku dicabut.")})
    with db.atomic():
        certificate = keys.reissue(official)
        audit.record(actor, "signing_certificate.issued", official,
                     serial=serial_text(certificate.serial_number), replaces=row.serial)
    return certificate


def _publish_crl() -> bytes:
    ca = keys.dev_ca()
    return ca.publish_crl(Revocation(r.serial_number, r.revoked_at, r.reason)
                          for r in CertificateRevocation.of_issuer(ca.issuer_hash))


def current_crl() -> bytes:
    """The development CA's CRL (DER): the one published at the last revocation, signed
    afresh when it is missing, past half its validity, or misses a revocation (a restore)."""
    ca = keys.dev_ca()
    der = ca.published_crl()
    if der is not None:
        try:
            crl = x509.load_der_x509_crl(der)
        except ValueError:
            crl = None
        if crl is not None and crl.next_update_utc is not None:
            half = (crl.next_update_utc - crl.last_update_utc) / 2
            listed = {entry.serial_number for entry in crl}
            wanted = {r.serial_number for r in CertificateRevocation.of_issuer(ca.issuer_hash)}
            if utcnow() < crl.last_update_utc + half and listed == wanted:
                return der
    return _publish_crl()
