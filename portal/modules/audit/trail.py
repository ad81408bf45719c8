"""The audit trail: append-only events, each carrying the hash of the one before it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from portal.core.db import db
from portal.core.model import utcnow
from portal.modules.accounts.models import User
from portal.modules.audit.models import AuditEvent, AuditHead

__all__ = ["GENESIS", "ChainReport", "event_hash", "record", "verify_chain"]

GENESIS = "0" * 64  # the "previous hash" of the first event


def event_hash(seq: int, at, actor_id, action: str, object_type: str, object_id: str,
               data: dict, prev_hash: str) -> str:
    """SHA-256 over a canonical JSON of the event and the previous hash."""
    body = json.dumps(
        [seq, at.isoformat(timespec="microseconds"), actor_id, action, object_type, object_id,
         data, prev_hash],
        ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def record(actor: User | None, action: str, obj=None, **data) -> AuditEvent:
    """Append an event inside the caller's transaction (the head row lock orders writers)."""
    query = AuditHead.select().where(AuditHead.id == 1)
    if db.obj.for_update:
        query = query.for_update()
    head = query.get()
    at = utcnow()
    object_type = type(obj).__name__.lower() if obj is not None else ""
    object_id = str(obj.id) if obj is not None else ""
    seq = head.seq + 1
    actor_id = actor.id if actor is not None else None
    digest = event_hash(seq, at, actor_id, action, object_type, object_id, data, head.hash)
    event = AuditEvent.create(seq=seq, at=at, actor=actor_id, action=action,
                              object_type=object_type, object_id=object_id, data=data,
                              prev_hash=head.hash, hash=digest)
    AuditHead.update(seq=seq, hash=digest).where(AuditHead.id == 1).execute()
    return event


@dataclass(frozen=True)
class ChainReport:
    """The outcome of walking the chain."""

    events: int
    broken_at: int | None = None  # seq of the first event that does not fit
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def verify_chain(batch: int = 2000) -> ChainReport:
    """Recompute every hash in order; report the first broken link."""
    prev, expected_seq, count = GENESIS, 1, 0
    while True:
        rows = list(AuditEvent.select().where(AuditEvent.seq >= expected_seq)
                    .order_by(AuditEvent.seq).limit(batch))
        if not rows:
            break
        for event in rows:
            if event.seq != expected_seq:
                return ChainReport(count, expected_seq, f"event {expected_seq} is missing")
            if event.prev_hash != prev:
                return ChainReport(count, event.seq, "does not point at the event before it")
            digest = event_hash(event.seq, event.at, event.actor_id, event.action,
                                event.object_type, event.object_id, event.data, event.prev_hash)
            if digest != event.hash:
                return ChainReport(count, event.seq, "its content was changed after it was written")
            prev, expected_seq, count = event.hash, expected_seq + 1, count + 1
    head = AuditHead.get_by_id(1)
    if head.seq != count or head.hash != prev:
        return ChainReport(count, count + 1 if head.seq > count else head.seq,
                           f"the chain ends at event {count} but its head says {head.seq}")
    return ChainReport(count)
