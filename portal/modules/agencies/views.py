"""The agency's own pages: the administrator's overview and the days off."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _

from portal.config import current_config
from portal.core.errors import ValidationError
from portal.core.web import current_account, render
from portal.mail import outbox
from portal.mail.models import OutboxMessage
from portal.modules.accounts import approvals, staff
from portal.modules.accounts.guards import admin_required, administered_agency
from portal.modules.agencies import operations as agencies_operations
from portal.modules.sops import operations as sops_operations

bp = Blueprint("agencies", __name__)



@bp.get("/admin/")
@admin_required
def index():
    """Overview: what waits for the administrator, and the way to each section."""
    agency = administered_agency()
    today = agency.today()
    messages = outbox.agency_messages(agency)
    counts = {
        "pending": len(approvals.pending_approvals(agency)),
        "officials": len(staff.officials(agency)),
        "positions": len(staff.positions(agency)),
        "acting": len(staff.acting_assignments(agency, today)),
        "sops": sum(1 for v in sops_operations.sop_versions(agency) if v.active),
        "days_off": sum(1 for d in agencies_operations.days_off(agency) if d.day >= today),
        "unsent": messages.where(OutboxMessage.status.in_(("pending", "failed"))).count(),
        "failed": outbox.agency_messages(agency, "failed").count(),
    }
    return render("admin/index.html", agency=agency, counts=counts,
                  mail_configured=bool(current_config().mail_server))


def _days_off_page(status=200, errors=None, values=None):
    agency = administered_agency()
    return render("admin/days_off.html", status=status, agency=agency,
                  days_off=agencies_operations.days_off(agency),
                  today=agency.today(), errors=errors or {},
                  values=values or {})


@bp.get("/admin/days-off")
@admin_required
def days_off():
    """The agency's own days off (cuti bersama, local holidays)."""
    return _days_off_page()


@bp.post("/admin/days-off")
@admin_required
def add_day_off():
    form = request.form
    try:
        agencies_operations.add_day_off(current_account(), form.get("day", ""),
                                        form.get("name", ""))
    except ValidationError as exc:
        return _days_off_page(422, exc.errors, form)
    flash(_("Hari libur ditambahkan."), "ok")
    return redirect(url_for("agencies.days_off"), 303)


@bp.post("/admin/days-off/<int:day_off_id>/delete")
@admin_required
def remove_day_off(day_off_id):
    agencies_operations.remove_day_off(current_account(), day_off_id)
    flash(_("Hari libur dihapus."), "ok")
    return redirect(url_for("agencies.days_off"), 303)

