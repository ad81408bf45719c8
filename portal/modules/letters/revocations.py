"""Revoked signing certificates (migration 0012): the table that keeps a revoked certificate
from signing again and that the development CA's CRL is made from. Operations on it are in
``letters.certificates``; this module only names the rows and the questions asked of them."""

from __future__ import annotations

from peewee import CharField, ForeignKeyField, TextField

from portal.core.i18n import lazy_gettext as _l
from portal.core.model import BaseModel, UTCDateTimeField, utcnow
from portal.modules.accounts.models import User
from portal.modules.agencies.models import Agency

REASON_LABELS = {
    "key_compromise": _l("kunci hilang, dicuri atau bocor"),
    "affiliation_changed": _l("pindah tugas atau data pejabat berubah"),
    "cessation_of_operation": _l("berhenti dari jabatan"),
    "superseded": _l("diganti sertifikat baru"),
}
"""Why a certificate may be revoked (RFC 5280 reason codes, signing.keys.REVOCATION_REASONS),
as the page and the refusal to sign say it."""


def serial_text(serial: int) -> str:
    """A certificate serial as stored and shown: upper-case hexadecimal."""
    return format(int(serial), "X")


class CertificateRevocation(BaseModel):
    """One revoked signing certificate of an official; never deleted."""

    agency = ForeignKeyField(Agency)
    official = ForeignKeyField(User, backref="certificate_revocations")
    issuer_hash = CharField(max_length=64)  # signing.keys.certificate_key
    serial = CharField(max_length=64)  # hexadecimal, serial_text()
    issuer = CharField()  # the issuer's name, for people
    subject = CharField()  # the holder's name as the certificate states it
    not_after = UTCDateTimeField(null=True)
    reason = CharField(max_length=32)  # signing.keys.REVOCATION_REASONS
    note = TextField(default="")
    revoked_at = UTCDateTimeField(default=utcnow)
    revoked_by = ForeignKeyField(User)

    class Meta:
        table_name = "signing_certificate_revocation"
        indexes = ((("issuer_hash", "serial"), True),)

    @property
    def serial_number(self) -> int:
        """The serial as a number."""
        return int(self.serial, 16)

    @classmethod
    def of(cls, issuer_hash: str, serial: int) -> CertificateRevocation | None:
        """The revocation of this certificate, if it was revoked."""
        return cls.get_or_none((cls.issuer_hash == issuer_hash)
                               & (cls.serial == serial_text(serial)))

    @classmethod
    def serials_of(cls, issuer_hash: str, official: User) -> set[int]:
        """Serials of the official's revoked certificates from one issuer."""
        return {r.serial_number for r in cls.select(cls.serial).where(
            (cls.issuer_hash == issuer_hash) & (cls.official == official))}

    @classmethod
    def of_issuer(cls, issuer_hash: str) -> list[CertificateRevocation]:
        """Every revocation of one issuer's certificates, oldest first (a CRL's entries)."""
        return list(cls.select().where(cls.issuer_hash == issuer_hash)
                    .order_by(cls.revoked_at, cls.id))

    @classmethod
    def of_agency(cls, agency: Agency) -> list[CertificateRevocation]:
        """The agency's revocations, newest first, with who revoked and whose."""
        official, by = User.alias(), User.alias()
        return list(cls.select(cls, official, by)
                    .join(official, on=(cls.official == official.id)).switch(cls)
                    .join(by, on=(cls.revoked_by == by.id))
                    .where(cls.agency == agency).order_by(cls.revoked_at.desc(), cls.id.desc()))
