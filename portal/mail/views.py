"""The administrator's view of the e-mail outbox: last errors, resend."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _

from portal.config import current_config
from portal.core.web import current_account, render
from portal.mail import outbox as mail_outbox
from portal.modules.accounts.guards import admin_required, administered_agency

bp = Blueprint("mail", __name__)


OUTBOX_LIMIT = 200


OUTBOX_FILTERS = ("failed", "pending", "sent")


@bp.get("/admin/outbox")
@admin_required
def outbox():
    """E-mails about the agency's files and staff, with their delivery state."""
    agency = administered_agency()
    status = request.args.get("status", "")
    if status not in OUTBOX_FILTERS:
        status = ""
    messages = list(mail_outbox.agency_messages(agency, status or None).limit(OUTBOX_LIMIT))
    return render("admin/outbox.html", "messages", agency=agency, messages=messages,
                  shown=status, filters=OUTBOX_FILTERS, limit=OUTBOX_LIMIT,
                  calendar=agency.calendar(),
                  mail_configured=bool(current_config().mail_server))


@bp.post("/admin/outbox/<int:message_id>/resend")
@admin_required
def resend(message_id):
    """Queue a failed or waiting e-mail again; back to the same filtered list."""
    message = mail_outbox.resend_message(current_account(), message_id)
    flash(_("E-mail ke %(address)s dijadwalkan ulang.", address=message.to_address), "ok")
    status = request.form.get("status", "")
    return redirect(url_for("mail.outbox", status=status if status in OUTBOX_FILTERS else None),
                    303)

