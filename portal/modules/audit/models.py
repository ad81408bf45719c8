"""The audit trail's tables: events (appended unchained, then sealed into a hash chain in
the order they are sealed), the chain's head, and its keyed checkpoints."""

from __future__ import annotations

from peewee import (
    CharField,
    ForeignKeyField,
    IntegerField,
)

from portal.core.model import BaseModel, JSONField, UTCDateTimeField, utcnow
from portal.modules.accounts.models import User


class AuditEvent(BaseModel):
    """One action. Written with a keyed MAC of its content (``mac``, ``nonce``); sealing
    later gives it its place in the chain (``seq``) and the hash of the one before it, so a
    missing, added or edited row breaks the chain. Unsealed rows have ``seq`` None."""

    seq = IntegerField(unique=True, null=True)
    at = UTCDateTimeField(default=utcnow)
    actor = ForeignKeyField(User, null=True)
    action = CharField()
    object_type = CharField(default="")
    object_id = CharField(default="")
    data = JSONField(default=dict)
    prev_hash = CharField(null=True)
    hash = CharField(null=True)
    mac = CharField(null=True)  # None only on events written before keyed sealing existed
    nonce = CharField(null=True, unique=True)

    class Meta:
        indexes = ((("object_type", "object_id"), False),)

    @classmethod
    def unsealed(cls, limit: int):
        """The oldest events not yet in the chain (a partial index finds them)."""
        return cls.select().where(cls.seq.is_null()).order_by(cls.id).limit(limit)


class AuditHead(BaseModel):
    """The single row that holds the end of the chain, keyed (``mac``); only sealers lock
    it, never the requests that append events."""

    seq = IntegerField(default=0)
    hash = CharField()
    mac = CharField(null=True)


class AuditCheckpoint(BaseModel):
    """The chain's head as it was at a sealed position, keyed with the audit key (which
    the database does not hold): kept every CHECKPOINT_EVERY events."""

    seq = IntegerField(unique=True)
    hash = CharField()
    mac = CharField()
    at = UTCDateTimeField(default=utcnow)
