"""The transactional outbox: e-mails are rows written in the caller's transaction, and a
sender delivers them later with retries. Templates: one file per event in templates/email/
(Bahasa Indonesia) and templates/email/en/ (English), with ``subject``, ``text`` and ``html``
blocks. No Flask here: the transport is passed in.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from peewee import JOIN, IntegrityError

from portal.config import current_config
from portal.core.db import db
from portal.core.errors import NotFound, OperationError
from portal.core.i18n import lazy_gettext as _l
from portal.core.model import utcnow
from portal.core.paths import TEMPLATES_DIR
from portal.mail import outbox
from portal.mail.models import OutboxMessage
from portal.modules.accounts.models import User
from portal.modules.accounts.staff import admin_agency
from portal.modules.agencies.models import Agency
from portal.modules.applications.models import Application
from portal.modules.audit import trail as audit

__all__ = ["DeliveryReport", "LANGUAGES", "MAX_ATTEMPTS", "ServerUnavailable", "deliver_pending",
           "queue", "render", "retry_delay"]

log = logging.getLogger(__name__)

TEMPLATES = TEMPLATES_DIR / "email"
# Languages with their own e-mail templates; Indonesian ("id") is the default, at the top of
# TEMPLATES, and any other language falls back to it.
from portal.core.i18n import LANGUAGES  # noqa: E402

MAX_ATTEMPTS = 8
SUBJECT_MAX = 200
BASE_DELAY = dt.timedelta(seconds=30)
MAX_DELAY = dt.timedelta(hours=2)

# Subject and plain text must not be HTML-escaped; the HTML part must be.
_TEXT = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=False,
                    undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
_HTML = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True,
                    undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def _block(env: Environment, name: str, block: str, context: dict) -> str:
    template = env.get_template(name)
    return "".join(template.blocks[block](template.new_context(context))).strip()


def _template_name(event: str, language: str = "id") -> str:
    """An event's template file in a language, relative to TEMPLATES."""
    if language != "id" and language in LANGUAGES:
        return f"{language}/{event}.txt"
    return f"{event}.txt"


def render(event: str, context: dict, language: str = "id") -> tuple[str, str, str]:
    """(subject, text, html) of an event's template in a language (Indonesian by default)."""
    name = _template_name(event, language)
    subject = " ".join(_block(_TEXT, name, "subject", context).split())
    if len(subject) > SUBJECT_MAX:  # long SOP step titles; the column and mail clients agree
        subject = subject[: SUBJECT_MAX - 1].rstrip() + "…"
    return subject, _block(_TEXT, name, "text", context), _block(_HTML, name, "html", context)


def queue(event: str, recipients: Iterable[User], context: dict, application=None,
          dedupe_key: str | None = None) -> list[OutboxMessage]:
    """Write one message per recipient in the current transaction, each in the language
    the recipient chose.

    With a ``dedupe_key`` the event is queued at most once ever (per recipient): a second
    call is a no-op, which makes reminders idempotent.
    """
    messages = []
    seen = set()
    for user in recipients:
        if user.id in seen or not user.active:
            continue
        seen.add(user.id)
        subject, text, html = render(event, {"base_url": current_config().base_url, **context,
                                             "recipient": user}, user.language)
        key = f"{dedupe_key}:{user.id}" if dedupe_key else None
        try:
            with db.atomic():  # a savepoint, so a duplicate reminder does not spoil the caller
                messages.append(OutboxMessage.create(
                    event=event, recipient=user, to_address=user.email, subject=subject,
                    body_text=text, body_html=html, application=application, dedupe_key=key))
        except IntegrityError:
            if key is None:
                raise
    return messages


def retry_delay(attempts: int) -> dt.timedelta:
    """Exponential backoff with full jitter: the n-th failure waits up to 30 s * 2^(n-1)."""
    ceiling = min(BASE_DELAY * (2 ** max(attempts - 1, 0)), MAX_DELAY)
    return ceiling * (0.5 + random.random() / 2)  # noqa: S311 (jitter, not security)


@dataclass(frozen=True)
class DeliveryReport:
    """What one drain of the outbox did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0


class ServerUnavailable(Exception):
    """The transport could not talk to the mail server at all (refused, silent, gone): the
    other messages would fare no better, so the round stops and they wait untouched."""


def deliver_pending(transport: Callable[[OutboxMessage], None], now: dt.datetime | None = None,
                    limit: int = 100) -> DeliveryReport:
    """Send due messages one by one: claim (short transaction), send, record the outcome.

    Claiming marks the row 'sending' with a lease; on PostgreSQL SKIP LOCKED hands each row
    to exactly one of several concurrent senders. No database lock is held while the SMTP
    server is talked to, so a slow mail server never stalls the portal's writes. A sender
    that dies mid-send leaves a lease that expires, and the message is tried again. When
    the server cannot be reached (ServerUnavailable), the round ends after that message:
    one timeout, not one per message, and the others keep their attempts.
    """
    sent = retried = failed = 0
    for _ in range(limit):
        message = _claim(now or utcnow())
        if message is None:
            break
        try:
            transport(message)
        except Exception as exc:  # noqa: BLE001 (any transport failure is retried)
            error = f"{type(exc).__name__}: {exc}"[:2000]
            if message.attempts >= MAX_ATTEMPTS:
                _finish(message, status="failed", last_error=error)
                failed += 1
                log.error("outbox: message %s failed for good: %s", message.id, error)
            else:
                _finish(message, status="pending", last_error=error,
                        next_attempt_at=(now or utcnow()) + retry_delay(message.attempts))
                retried += 1
                log.warning("outbox: message %s attempt %s failed: %s", message.id,
                            message.attempts, error)
            if isinstance(exc, ServerUnavailable):
                break
        else:
            _finish(message, status="sent", last_error="", sent_at=utcnow())
            sent += 1
    return DeliveryReport(sent, retried, failed)


LEASE = dt.timedelta(minutes=5)


def _claim(now: dt.datetime) -> OutboxMessage | None:
    with db.atomic():
        query = OutboxMessage.due(now).limit(1)
        if db.obj.for_update:
            query = query.for_update(skip_locked=True)
        message = query.first()
        if message is None:
            return None
        message.status = "sending"
        message.attempts += 1
        message.next_attempt_at = now + LEASE
        message.save()
    return message


def _finish(message: OutboxMessage, **changes) -> None:
    with db.atomic():
        OutboxMessage.update(**changes).where(
            (OutboxMessage.id == message.id) & (OutboxMessage.status == "sending")).execute()


def resend(message: OutboxMessage, actor: User | None = None) -> OutboxMessage:
    """Put a failed (or kept) message back in the queue for another round of attempts."""

    with db.atomic():
        message.status = "pending"
        message.attempts = 0
        message.next_attempt_at = utcnow()
        message.save()
        audit.record(actor, "outbox.resend", message)
    return message






def agency_messages(agency: Agency, status: str | None = None):
    """E-mails about the agency's files or to its staff, the newest first (a query)."""
    recipient = User.alias()
    query = (OutboxMessage.select(OutboxMessage)
             .join(Application, JOIN.LEFT_OUTER, on=(OutboxMessage.application == Application.id))
             .switch(OutboxMessage)
             .join(recipient, JOIN.LEFT_OUTER, on=(OutboxMessage.recipient == recipient.id))
             .where((Application.agency == agency) | (recipient.agency == agency)))
    if status:
        query = query.where(OutboxMessage.status == status)
    return query.order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())


def resend_message(actor: User, message_id: int) -> OutboxMessage:
    """Queue a failed or waiting e-mail of the agency again for a fresh round of attempts."""
    agency = admin_agency(actor)
    with db.atomic():
        message = agency_messages(agency).where(OutboxMessage.id == message_id).first()
        if message is None:
            raise NotFound(_l("Pesan tidak ditemukan."))
        if message.status not in ("failed", "pending"):
            raise OperationError(_l("Pesan ini sudah terkirim atau sedang dikirim. Muat ulang "
                                    "halaman."))
        return outbox.resend(message, actor)  # records its own audit event

