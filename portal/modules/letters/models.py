"""Issued letters and agencies' own letter wording. The schema is created only by migrations."""

from __future__ import annotations

from peewee import (
    CharField,
    ForeignKeyField,
    IntegerField,
    TextField,
)

from portal.core.model import BaseModel, UTCDateTimeField, utcnow
from portal.modules.accounts.models import Position, User, capacity_prefix
from portal.modules.agencies.models import Agency
from portal.modules.applications.models import Application


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
    holder_name = CharField(default="")
    issued_at = UTCDateTimeField(default=utcnow)
    status = CharField(default="valid")  # valid | revoked | replaced
    revoked_at = UTCDateTimeField(null=True)
    revoked_by = ForeignKeyField(User, null=True)
    revoke_reason = TextField(default="")
    replaced_by = ForeignKeyField("self", null=True)

    class Meta:
        indexes = ((("agency", "number"), True), (("application", "letter_key"), False))

    @property
    def signed_as(self) -> str:
        """The signer's title as the letter prints it: "Plt. Kepala Dinas", or for a.n. the
        position signed for and the signer's own title ("a.n. Kepala Dinas · Sekretaris")."""
        if self.capacity == "an" and self.signer_position_id:
            return f"a.n. {self.signer_position.title} · {self.signer_title}"
        return f"{capacity_prefix(self.capacity)} {self.signer_title}".strip()

    @classmethod
    def by_token(cls, token: str) -> Letter | None:
        return cls.get_or_none(cls.token == token)


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

