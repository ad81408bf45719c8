"""Issued letters and agencies' own letter wording. The schema is created only by migrations."""

from __future__ import annotations

import datetime as dt

from peewee import (
    CharField,
    ForeignKeyField,
    IntegerField,
    TextField,
    fn,
)

from portal.core.i18n import lazy_gettext as _l
from portal.core.model import BaseModel, UTCDateTimeField, utcnow
from portal.modules.accounts.models import Position, User, capacity_prefix
from portal.modules.agencies.models import Agency
from portal.modules.applications.models import Application

LEVEL_WORDS = {
    "B-B": _l("Tanpa cap waktu (PAdES B-B): keasliannya hanya dapat dibuktikan selama "
              "sertifikat penanda tangan masih berlaku."),
    "B-T": _l("Bercap waktu (PAdES B-T): saat penandatanganan dibuktikan oleh layanan cap "
              "waktu (TSA); bukti status sertifikat belum tersimpan di dalam berkas."),
    "B-LT": _l("Jangka panjang (PAdES B-LT): bercap waktu, dan bukti bahwa sertifikat penanda "
               "tangan sah saat itu (CRL/OCSP) tersimpan di dalam berkas, sehingga surat tetap "
               "dapat diperiksa setelah sertifikat itu berakhir."),
    "B-LTA": _l("Arsip jangka panjang (PAdES B-LTA): seperti B-LT, ditambah cap waktu dokumen "
                "yang diperbarui berkala, sehingga bukti keasliannya bertahan puluhan tahun."),
}
"""What each PAdES level means for a reader of the letter's page."""


class Letter(BaseModel):
    """An issued letter: numbered, signed, stored, and verifiable at /v/<token>."""

    application = ForeignKeyField(Application, backref="letters", on_delete="CASCADE")
    agency = ForeignKeyField(Agency, backref="letters")
    letter_key = CharField()  # LetterSpec.key
    title = CharField()
    number = CharField()
    series = CharField()
    seq = IntegerField()
    year = IntegerField()
    token = CharField(unique=True)  # random, 128+ bits: the QR code's /v/<token>
    storage_key = CharField()
    sha256 = CharField(index=True)
    size = IntegerField()
    signer = ForeignKeyField(User)
    signer_position = ForeignKeyField(Position, null=True)
    capacity = CharField(default="definitive")  # definitive | plh | plt | an
    signer_name = CharField()
    signer_nip = CharField(default="")
    signer_title = CharField(default="")
    holder_name = CharField(default="")  # the person the letter names (pages.about_name)
    subject = CharField(default="")  # the subject it prints (migration 0013)
    issued_at = UTCDateTimeField(default=utcnow)
    status = CharField(default="valid")  # valid | revoked | replaced
    revoked_at = UTCDateTimeField(null=True)
    revoked_by = ForeignKeyField(User, null=True)
    revoke_reason = TextField(default="")
    replaced_by = ForeignKeyField("self", null=True)
    # PAdES level of the newest stored revision (B-B, B-T, B-LT, B-LTA; migration 0011)
    level = CharField(default="B-B")

    class Meta:
        indexes = ((("agency", "number"), True), (("application", "letter_key"), False))

    @property
    def signed_as(self) -> str:
        """The signer's title as the letter prints it: "Plt. Kepala Dinas", or for a.n. the
        position signed for and the signer's own title ("a.n. Kepala Dinas · Sekretaris")."""
        if self.capacity == "an" and self.signer_position_id:
            return f"a.n. {self.signer_position.title} · {self.signer_title}"
        return f"{capacity_prefix(self.capacity)} {self.signer_title}".strip()

    @property
    def level_explained(self):
        """The letter's PAdES level in words a reader understands (translated when shown)."""
        return LEVEL_WORDS.get(self.level, LEVEL_WORDS["B-B"])

    @classmethod
    def by_token(cls, token: str) -> Letter | None:
        return cls.get_or_none(cls.token == token)


class LetterRevision(BaseModel):
    """One stored file of a letter: the issued file (seq 1), then each one `letters extend`
    wrote (validation data and a document timestamp appended; for a letter signed during a
    TSA outage, first the same file with its signature timestamp written in). Never changed
    or deleted; downloads serve the newest (portal/modules/letters/extend.py)."""

    letter = ForeignKeyField(Letter, backref="revisions", on_delete="CASCADE")
    seq = IntegerField()
    storage_key = CharField()
    sha256 = CharField(index=True)
    size = IntegerField()
    level = CharField()  # B-B | B-T | B-LT | B-LTA
    timestamped_at = UTCDateTimeField(null=True)  # the newest timestamp in the file
    timestamp_expires_at = UTCDateTimeField(null=True)  # its TSA certificate's end
    created_at = UTCDateTimeField(default=utcnow)

    class Meta:
        indexes = ((("letter", "seq"), True),)

    @classmethod
    def newest(cls, letter: Letter) -> LetterRevision | None:
        """The revision downloads serve (None only for a letter stored before revisions)."""
        return cls.select().where(cls.letter == letter).order_by(cls.seq.desc()).first()

    @classmethod
    def current_key(cls, letter: Letter) -> str:
        """The storage key of the file to hand out for ``letter``: its newest revision."""
        newest = cls.newest(letter)
        return newest.storage_key if newest is not None else letter.storage_key

    @classmethod
    def accepted_digests(cls, letter: Letter) -> set[str]:
        """SHA-256 (hex) of every file the portal stored as this letter: the issued file and
        each extension of it. A presented file is "this letter" only as one of these, plus
        nothing but validation data and document timestamps appended."""
        digests = {r.sha256 for r in cls.select(cls.sha256).where(cls.letter == letter)}
        digests.add(letter.sha256)
        return digests

    @classmethod
    def letters_for_digests(cls, digests) -> list[Letter]:
        """The letters one of whose stored files has one of these SHA-256s (hex)."""
        digests = list(digests)
        if not digests:
            return []
        ids = cls.select(cls.letter).where(cls.sha256.in_(digests))
        return list(Letter.select().where(Letter.id.in_(ids)))

    @classmethod
    def due_for_extension(cls, renew_before: dt.datetime, expiring_before: dt.datetime,
                          limit: int | None = None):
        """Newest revisions that `letters extend` should extend: B-B/B-T (no timestamp or no
        validation data yet, e.g. queued during a TSA outage), and those whose newest
        timestamp is older than ``renew_before`` or whose TSA certificate ends before
        ``expiring_before``. Oldest first."""
        newest = (cls.select(fn.MAX(cls.id)).group_by(cls.letter))
        query = (cls.select(cls, Letter).join(Letter)
                 .where(cls.id.in_(newest)
                        & (cls.level.in_(("B-B", "B-T"))
                           | (cls.timestamped_at < renew_before)
                           | (cls.timestamp_expires_at < expiring_before)))
                 .order_by(cls.id))
        return query.limit(limit) if limit else query


class LetterTemplate(BaseModel):
    """An agency's own wording of one letter, replacing the shipped default."""

    agency = ForeignKeyField(Agency, on_delete="CASCADE")
    sop_code = CharField()
    letter_key = CharField()
    source = TextField()
    updated_at = UTCDateTimeField(default=utcnow)
    updated_by = ForeignKeyField(User, null=True)

    class Meta:
        indexes = ((("agency", "sop_code", "letter_key"), True),)

