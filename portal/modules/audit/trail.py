"""The audit trail: events appended without waiting on anything but their own insert, then
sealed into a hash chain whose head is keyed with a key the database does not hold.

Why in two steps: chaining an event inside the request that writes it means locking the
chain's one head row until that request commits, so every audited action on every host
(QR scans and document views included) queued behind the slowest transaction holding it.
Now:

1. ``record`` inserts the event with an HMAC-SHA256 of its content under the audit key
   (``Config.audit_key``: ``PORTAL_AUDIT_KEY`` or ``instance/audit_key``, never in the
   database) and a random nonce. No lock, no read: an insert.
2. ``seal`` (run after each request that recorded, and by ``flask audit seal`` /
   ``audit verify``) takes the head row, skipping it when another sealer holds it, checks
   the head's own MAC, and links the committed unsealed events in id order: each gets its
   place ``seq``, the previous hash and its hash (SHA-256, as before). It keys the new head
   (HMAC over its seq and hash) and keeps a keyed checkpoint every CHECKPOINT_EVERY events.
   Events are chained in the order they are sealed, so one committed late (a long upload)
   simply joins the chain later; nothing waits for it.

``verify_chain`` checks every sealed event's link and hash (and its MAC when it has one),
every checkpoint and the head against the key, and every unsealed event's MAC (reported as
pending, not as broken). A database administrator who rewrites event 500 and recomputes
every later hash and the head cannot recompute the head's MAC: "tampered". An event
deleted from the chain leaves a gap; one added needs a place and a MAC. What the key cannot
show: an unsealed event deleted before it was sealed, and the newest events cut off back to
an earlier keyed head (roll-back); keep `audit verify` reports or checkpoints outside the
database (e.g. the log) against that.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from dataclasses import dataclass

from portal.core.db import db
from portal.core.model import utcnow
from portal.modules.accounts.models import User
from portal.modules.audit.models import AuditCheckpoint, AuditEvent, AuditHead

__all__ = ["CHECKPOINT_EVERY", "GENESIS", "ChainReport", "SealResult", "content_mac",
           "event_hash", "head_mac", "record", "seal", "seal_after_request", "verify_chain"]

log = logging.getLogger(__name__)

GENESIS = "0" * 64  # the "previous hash" of the first event
CHECKPOINT_EVERY = 1000  # a kept, keyed checkpoint each time seq reaches a multiple of this
SEAL_BATCH = 500  # events linked per sealing transaction


def _canonical(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      default=str).encode("utf-8")


def event_hash(seq: int, at, actor_id, action: str, object_type: str, object_id: str,
               data: dict, prev_hash: str) -> str:
    """SHA-256 over a canonical JSON of the event and the previous hash (no key: anyone
    holding the rows can recompute it, which is why the head is keyed)."""
    return hashlib.sha256(_canonical(
        [seq, at.isoformat(timespec="microseconds"), actor_id, action, object_type, object_id,
         data, prev_hash])).hexdigest()


def content_mac(key: bytes, at, actor_id, action: str, object_type: str, object_id: str,
                data: dict, nonce: str) -> str:
    """HMAC-SHA256 of one event's content under the audit key (made when it is written)."""
    return hmac.new(key, b"absah-audit-event\x00" + _canonical(
        [at.isoformat(timespec="microseconds"), actor_id, action, object_type, object_id, data,
         nonce]), hashlib.sha256).hexdigest()


def head_mac(key: bytes, seq: int, digest: str) -> str:
    """HMAC-SHA256 of the chain's head (its last seq and hash) under the audit key."""
    return hmac.new(key, f"absah-audit-head\x00{seq}\x00{digest}".encode(),
                    hashlib.sha256).hexdigest()


def _key() -> bytes:
    from portal.config import current_config

    key = current_config().audit_key
    if not key:
        raise RuntimeError("no audit key: set PORTAL_AUDIT_KEY or let the portal make "
                           "instance/audit_key")
    return key.encode("utf-8")


def record(actor: User | None, action: str, obj=None, **data) -> AuditEvent:
    """Append an event in the caller's transaction: one insert, no lock on the chain (the
    event is sealed into it after the request, see the module's docstring)."""
    at = utcnow()
    object_type = type(obj).__name__.lower() if obj is not None else ""
    object_id = str(obj.id) if obj is not None else ""
    actor_id = actor.id if actor is not None else None
    data = json.loads(_canonical(data))  # exactly what reading the row back gives
    nonce = secrets.token_hex(16)
    mac = content_mac(_key(), at, actor_id, action, object_type, object_id, data, nonce)
    event = AuditEvent.create(at=at, actor=actor_id, action=action, object_type=object_type,
                              object_id=object_id, data=data, mac=mac, nonce=nonce)
    _note_unsealed()
    return event


def _note_unsealed() -> None:
    from flask import g, has_request_context

    if has_request_context():
        g.audit_unsealed = True


def _content_ok(key: bytes, event: AuditEvent) -> bool:
    if event.mac is None or event.nonce is None:
        return False
    expected = content_mac(key, event.at, event.actor_id, event.action, event.object_type,
                           event.object_id, event.data, event.nonce)
    return hmac.compare_digest(expected, event.mac)


def _head_keyed(key: bytes, seq: int, digest: str, mac: str | None) -> bool:
    if seq == 0 and digest == GENESIS:
        return True  # the empty chain needs no key
    return mac is not None and hmac.compare_digest(head_mac(key, seq, digest), mac)


@dataclass(frozen=True)
class SealResult:
    """What one call of ``seal`` did."""

    sealed: int
    head: int | None = None  # the chain's last seq afterwards (None: not looked at)
    busy: bool = False  # another sealer held the head; it (or the next one) seals these
    refused: str = ""  # why sealing stopped: the head or a pending event does not verify


def seal(batch: int = SEAL_BATCH, wait: bool = False, adopt: bool = False) -> SealResult:
    """Link the committed unsealed events into the chain, oldest first, in transactions of
    ``batch`` events. ``wait``: wait for another sealer instead of leaving the work to it.
    ``adopt``: key a head written before keyed sealing existed (once, after upgrading).

    Refuses to extend a head whose MAC does not verify (a rewritten chain is not blessed by
    the next seal), and stops before a pending event whose MAC does not verify."""
    key = _key()
    total = 0
    while True:
        with db.atomic():
            query = AuditHead.select().where(AuditHead.id == 1)
            if db.obj.for_update:
                query = query.for_update(nowait=None, skip_locked=not wait)
            head = query.first()
            if head is None:
                return SealResult(total, None, busy=True)
            if not _head_keyed(key, head.seq, head.hash, head.mac):
                legacy = head.mac is None and not AuditCheckpoint.select().exists()
                if not (adopt and legacy):
                    why = (f"the chain's head (event {head.seq}) is not keyed yet: run "
                           "`flask audit seal --adopt` once after upgrading" if legacy else
                           f"the chain's head (event {head.seq}) does not carry the audit "
                           "key: the chain was rewritten or the key changed")
                    log.error("audit: not sealing: %s", why)
                    return SealResult(total, head.seq, refused=why)
                log.warning("audit: adopting the unkeyed chain of %s events as it is",
                            head.seq)
            rows = list(AuditEvent.unsealed(batch))
            seq, prev, refused = head.seq, head.hash, ""
            for event in rows:
                if not _content_ok(key, event):
                    refused = f"pending event id {event.id} does not carry the audit key"
                    log.error("audit: sealing stops: %s", refused)
                    break
                seq += 1
                digest = event_hash(seq, event.at, event.actor_id, event.action,
                                    event.object_type, event.object_id, event.data, prev)
                AuditEvent.update(seq=seq, prev_hash=prev, hash=digest).where(
                    (AuditEvent.id == event.id) & AuditEvent.seq.is_null()).execute()
                prev = digest
                if seq % CHECKPOINT_EVERY == 0:
                    AuditCheckpoint.create(seq=seq, hash=digest, mac=head_mac(key, seq, digest))
            if seq != head.seq or head.mac is None:
                AuditHead.update(seq=seq, hash=prev, mac=head_mac(key, seq, prev)).where(
                    AuditHead.id == 1).execute()
            total += seq - head.seq
        if refused or len(rows) < batch:
            return SealResult(total, seq, refused=refused)


def seal_after_request() -> None:
    """After a request that recorded events: seal them, never failing the request (a
    sealer busy elsewhere, or the next request, seals them instead)."""
    try:
        seal()
    except Exception:  # noqa: BLE001 (the events are safe; sealing is retried next time)
        log.exception("audit: sealing after the request failed; the next one retries")


@dataclass(frozen=True)
class ChainReport:
    """The outcome of walking the chain."""

    events: int  # sealed events verified
    broken_at: int | None = None  # seq of the first event that does not fit
    reason: str = ""
    pending: int = 0  # events not sealed yet, each with a good MAC
    pending_broken: int | None = None  # id of an unsealed event whose MAC fails
    keyed: bool = True  # False: the head was written before keyed sealing (adopt it)

    @property
    def ok(self) -> bool:
        return self.broken_at is None and self.pending_broken is None

    @property
    def tampered(self) -> bool:
        return not self.ok


WRONG_KEY = ("no keyed record carries this audit key: either it is not the key the chain was "
             "sealed with (restore instance/audit_key or PORTAL_AUDIT_KEY from the backup, the "
             "same on every host) or every keyed record was rewritten")


def _no_record_carries(key: bytes, head, checkpoints) -> bool:
    """Whether the head, every checkpoint and the first keyed event all fail under ``key``:
    what a lost or mistyped key looks like (one rewritten record would not fail them all)."""
    if head.mac is None or _head_keyed(key, head.seq, head.hash, head.mac):
        return False
    if any(_head_keyed(key, c.seq, c.hash, c.mac) for c in checkpoints.values()):
        return False
    first = (AuditEvent.select().where(AuditEvent.mac.is_null(False))
             .order_by(AuditEvent.id).first())
    return first is None or not _content_ok(key, first)


def verify_chain(batch: int = 2000) -> ChainReport:
    """Check every sealed event's link, hash and MAC, the keyed checkpoints and head, and
    every unsealed event's MAC; report the first problem (read only)."""
    key = _key()
    head = AuditHead.get_by_id(1)  # read first: every event up to it is committed with it
    checkpoints = {c.seq: c for c in AuditCheckpoint.select().where(
        AuditCheckpoint.seq <= head.seq)}
    prev, expected_seq, good_until = GENESIS, 1, 0

    def broken(seq: int, reason: str) -> ChainReport:
        return ChainReport(expected_seq - 1, seq, reason)

    if _no_record_carries(key, head, checkpoints):
        return broken(1, WRONG_KEY)

    while expected_seq <= head.seq:
        rows = list(AuditEvent.select().where((AuditEvent.seq >= expected_seq)
                                              & (AuditEvent.seq <= head.seq))
                    .order_by(AuditEvent.seq).limit(batch))
        if not rows:
            return broken(expected_seq, f"events {expected_seq} to {head.seq} are missing")
        for event in rows:
            if event.seq != expected_seq:
                return broken(expected_seq, f"event {expected_seq} is missing")
            if event.prev_hash != prev:
                return broken(event.seq, "does not point at the event before it")
            digest = event_hash(event.seq, event.at, event.actor_id, event.action,
                                event.object_type, event.object_id, event.data,
                                event.prev_hash)
            if digest != event.hash:
                return broken(event.seq, "its content was changed after it was written")
            if event.mac is not None and not _content_ok(key, event):
                return broken(event.seq, "its content does not carry the audit key")
            checkpoint = checkpoints.get(event.seq)
            if checkpoint is not None:
                if checkpoint.hash != digest or not _head_keyed(key, checkpoint.seq,
                                                                 checkpoint.hash,
                                                                 checkpoint.mac):
                    return broken(good_until + 1,
                                  f"events {good_until + 1} to {event.seq} were rewritten: "
                                  f"the keyed checkpoint at {event.seq} does not match")
                good_until = event.seq
            prev, expected_seq = event.hash, expected_seq + 1
    count = expected_seq - 1
    if head.hash != prev:
        return broken(count, f"the chain ends at event {count} but its head says otherwise")
    keyed = _head_keyed(key, head.seq, head.hash, head.mac)
    legacy = head.mac is None and not checkpoints
    if not keyed and not legacy:
        return broken(good_until + 1,
                      f"events {good_until + 1} to {count} were rewritten: the chain's head "
                      "does not carry the audit key (or the key changed)")
    beyond = (AuditEvent.select().where(AuditEvent.seq > head.seq)
              .order_by(AuditEvent.seq.desc()).first())
    if beyond is not None and AuditHead.get_by_id(1).seq < beyond.seq:
        return broken(beyond.seq, "it lies beyond the chain's head")
    pending = 0
    last_id = 0
    while True:
        rows = list(AuditEvent.select().where(AuditEvent.seq.is_null()
                                              & (AuditEvent.id > last_id))
                    .order_by(AuditEvent.id).limit(batch))
        if not rows:
            break
        for event in rows:
            if not _content_ok(key, event):
                return ChainReport(count, None, f"unsealed event id {event.id} does not carry "
                                   "the audit key: it was added or changed outside the portal",
                                   pending, event.id, keyed)
            pending += 1
        last_id = rows[-1].id
    return ChainReport(count, pending=pending, keyed=keyed)
