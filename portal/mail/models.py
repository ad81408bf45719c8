"""The outbox table: e-mails waiting, sent or failed for good."""

from __future__ import annotations

from peewee import (
    CharField,
    ForeignKeyField,
    IntegerField,
    TextField,
)

from portal.core.model import BaseModel, UTCDateTimeField, utcnow
from portal.modules.accounts.models import User
from portal.modules.applications.models import Application


class OutboxMessage(BaseModel):
    """An e-mail waiting to be sent, sent, or failed for good (visible to the agency admin)."""

    event = CharField()  # the template name: task_assigned, application_returned, ...
    recipient = ForeignKeyField(User, null=True)
    to_address = CharField()
    subject = CharField()
    body_text = TextField()
    body_html = TextField()
    application = ForeignKeyField(Application, null=True, on_delete="SET NULL")
    dedupe_key = CharField(unique=True, null=True)  # "at most once" events such as reminders
    status = CharField(default="pending")  # pending | sending (leased) | sent | failed
    attempts = IntegerField(default=0)
    next_attempt_at = UTCDateTimeField(default=utcnow)
    last_error = TextField(default="")
    created_at = UTCDateTimeField(default=utcnow)
    sent_at = UTCDateTimeField(null=True)

    class Meta:
        indexes = ((("status", "next_attempt_at"), False),)

    @classmethod
    def due(cls, now):
        """Messages to try now: pending ones whose time has come, and expired leases."""
        return (cls.select().where(cls.status.in_(("pending", "sending"))
                                   & (cls.next_attempt_at <= now))
                .order_by(cls.next_attempt_at, cls.id))

    @classmethod
    def newest_first(cls):
        """Every message, the newest first (the demo mailbox)."""
        return cls.select().order_by(cls.created_at.desc(), cls.id.desc())
