"""The audit trail's tables: events chained by hash, and the head row that orders writers."""

from __future__ import annotations

from peewee import (
    CharField,
    ForeignKeyField,
    IntegerField,
)

from portal.core.model import BaseModel, JSONField, UTCDateTimeField, utcnow
from portal.modules.accounts.models import User


class AuditEvent(BaseModel):
    """One action, hash-chained to the one before it: a missing or edited row breaks the chain."""

    seq = IntegerField(unique=True)
    at = UTCDateTimeField(default=utcnow)
    actor = ForeignKeyField(User, null=True)
    action = CharField()
    object_type = CharField(default="")
    object_id = CharField(default="")
    data = JSONField(default=dict)
    prev_hash = CharField()
    hash = CharField()

    class Meta:
        indexes = ((("object_type", "object_id"), False),)


class AuditHead(BaseModel):
    """The single row that holds the end of the chain; locking it orders concurrent writers."""

    seq = IntegerField(default=0)
    hash = CharField()

