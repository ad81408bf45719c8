"""The demo mailbox: every e-mail the portal queued, readable in the browser at
/dev/mailbox, so that a newcomer who ran ``make run`` (no SMTP server) can open the
confirmation link and follow everything the portal writes. Only with
``Config.demo_mailbox`` (PORTAL_DEMO_MAILBOX, which ``make run`` sets); 404 otherwise.
It shows every recipient's mail to anyone: never turn it on for real people."""

from __future__ import annotations

import re

from flask import Blueprint, abort
from markupsafe import Markup, escape

from portal.config import current_config
from portal.core.web import render
from portal.mail.models import OutboxMessage

bp = Blueprint("mailbox", __name__, url_prefix="/dev/mailbox")

MAILBOX_LIMIT = 200
_URL = re.compile(r"https?://[^\s<>\"']+")


@bp.before_request
def _demo_only():
    if not current_config().demo_mailbox:
        abort(404)


@bp.get("")
def index():
    """The newest messages first, whatever their delivery state."""
    messages = list(OutboxMessage.newest_first().limit(MAILBOX_LIMIT))
    return render("dev/mailbox.html", messages=messages, limit=MAILBOX_LIMIT)


@bp.get("/<int:message_id>")
def message(message_id):
    """One message: its subject, recipient and text, the links in it clickable."""
    found = OutboxMessage.get_or_none(OutboxMessage.id == message_id) or abort(404)
    return render("dev/mailbox_message.html", message=found, body=linkify(found.body_text))


def linkify(text: str) -> Markup:
    """Plain text as HTML: escaped, lines kept, every http(s) address a link."""
    lines = []
    for line in text.splitlines():
        parts, last = [], 0
        for match in _URL.finditer(line):
            url = match.group(0).rstrip(".,);:")
            end = match.start() + len(url)
            parts.append(escape(line[last:match.start()]))
            parts.append(Markup('<a class="hash" href="{0}">{0}</a>').format(url))
            last = end
        parts.append(escape(line[last:]))
        lines.append(Markup("").join(parts))
    return Markup("<br>\n").join(lines)
