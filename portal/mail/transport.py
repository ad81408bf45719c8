"""Delivering the outbox through flask-mail (SMTP), from the CLI, a worker loop, or right
after the request that queued messages (embedded default: no worker needed)."""

from __future__ import annotations

import logging
import smtplib
import threading

from flask import Flask, current_app
from flask_mail import Connection, Mail, Message

from portal.config import current_config
from portal.mail.models import OutboxMessage
from portal.mail.outbox import DeliveryReport, ServerUnavailable, deliver_pending

__all__ = ["deliver", "init_app", "mail"]

log = logging.getLogger(__name__)


class _TimedConnection(Connection):
    """flask-mail's connection with a socket timeout: flask-mail opens SMTP without one, so
    a server that accepts the connection and then says nothing would hold the sender (and,
    on the embedded default, a web worker's after-request delivery) for ever."""

    def configure_host(self) -> smtplib.SMTP:
        timeout = current_config().mail_timeout
        if self.mail.use_ssl:
            host = smtplib.SMTP_SSL(self.mail.server, self.mail.port, timeout=timeout)
        else:
            host = smtplib.SMTP(self.mail.server, self.mail.port, timeout=timeout)
        host.set_debuglevel(int(self.mail.debug))
        if self.mail.use_tls:
            host.starttls()
        if self.mail.username and self.mail.password:
            host.login(self.mail.username, self.mail.password)
        return host


class _Mail(Mail):
    def connect(self) -> Connection:
        return _TimedConnection(current_app.extensions["mail"])


mail = _Mail()
_drain_lock = threading.Lock()


# Refusals of one message; any other socket or SMTP error means the server itself failed.
_MESSAGE_ERRORS = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused,
                   smtplib.SMTPDataError, smtplib.SMTPNotSupportedError)


def _transport(message: OutboxMessage) -> None:
    try:
        _send(message)
    except _MESSAGE_ERRORS:
        raise
    except OSError as exc:  # smtplib's errors are OSErrors too: refused, timed out, dropped
        raise ServerUnavailable(f"{type(exc).__name__}: {exc}") from exc


def _send(message: OutboxMessage) -> None:
    msg = Message(subject=message.subject, recipients=[message.to_address],
                  body=message.body_text, html=message.body_html,
                  sender=current_app.config["MAIL_DEFAULT_SENDER"],
                  extra_headers={"X-Absah-Event": message.event,
                                 "X-Absah-Message": str(message.id)})
    mail.send(msg)


def deliver(limit: int = 100) -> DeliveryReport | None:
    """Drain due messages once; None when no SMTP server is configured (messages are kept)."""
    if not current_config().mail_server:
        return None
    return deliver_pending(_transport, limit=limit)


def init_app(app: Flask) -> None:
    """Bind flask-mail; on the embedded default, deliver after each state-changing request."""
    mail.init_app(app)
    if not app.extensions["portal.config"].outbox_deliver_after_request:
        return

    @app.after_request
    def _deliver_soon(response):
        from flask import request

        if (request.method in ("POST", "PUT", "PATCH", "DELETE")
                and app.extensions["portal.config"].mail_server):
            response.call_on_close(lambda: _drain(app))
        return response


def _drain(app: Flask) -> None:
    # One drain at a time per process; a busy drain will pick up the new messages anyway.
    if not _drain_lock.acquire(blocking=False):
        return
    try:
        with app.app_context():
            deliver(limit=50)
    except Exception:  # noqa: BLE001 (never let mail break a finished request)
        log.exception("outbox: delivery after request failed; the worker or next request retries")
    finally:
        _drain_lock.release()
