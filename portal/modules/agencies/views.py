"""The agency's own pages: the administrator's overview and the days off."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, request, url_for
from flask_babel import gettext as _

from portal.calendar.workdays import WEEKDAY_NAMES, ZONE_LABELS
from portal.config import current_config
from portal.core.errors import ValidationError
from portal.core.web import current_account, render
from portal.mail import outbox
from portal.mail.models import OutboxMessage
from portal.modules.accounts import approvals, staff
from portal.modules.accounts.guards import admin_required, administered_agency
from portal.modules.agencies import operations as agencies_operations
from portal.modules.sops import operations as sops_operations
from portal.storage import current_storage

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
        change = agencies_operations.add_day_off(current_account(), form.get("day", ""),
                                                 form.get("name", ""))
    except ValidationError as exc:
        return _days_off_page(422, exc.errors, form)
    flash(_("Hari libur ditambahkan.") + " " + _retimed_text(change.retimed), "ok")
    return redirect(url_for("agencies.days_off"), 303)


@bp.post("/admin/days-off/<int:day_off_id>/delete")
@admin_required
def remove_day_off(day_off_id):
    change = agencies_operations.remove_day_off(current_account(), day_off_id)
    flash(_("Hari libur dihapus.") + " " + _retimed_text(change.retimed), "ok")
    return redirect(url_for("agencies.days_off"), 303)


def _retimed_text(retimed: list[int]) -> str:
    """How many open tasks a day off moved (none is said too: the admin asked)."""
    return _("Batas waktu tugas terbuka yang dihitung ulang: %(n)s.", n=len(retimed))



def _settings_values(agency) -> dict:
    values = {f"letterhead_{i + 1}": line for i, line in enumerate(agency.letterhead[:4])}
    values.update({name: getattr(agency, name) or "" for name in (
        "city", "address", "phone", "email", "website", "timezone", "supervisor_position")})
    values.update({f"hours_{day}": text for day, text in
                   agencies_operations.office_hours_text(agency).items()})
    values["requires_account_approval"] = agency.requires_account_approval
    return values


def _settings_page(status=200, errors=None, values=None):
    agency = administered_agency()
    zones = [(key, f"{label} ({key})") for key, label in ZONE_LABELS.items()]
    if agency.timezone not in ZONE_LABELS:
        zones.append((agency.timezone, agency.timezone))
    positions = [(p.key, f"{p.title} ({p.key})") for p in staff.positions(agency)]
    weekdays = list(zip(WEEKDAY_NAMES, agencies_operations.WEEKDAY_LABELS, strict=True))
    return render("admin/settings.html", status=status, agency=agency, zones=zones,
                  positions=positions, weekdays=weekdays, errors=errors or {},
                  values=values if values is not None else _settings_values(agency))


@bp.get("/admin/settings")
@admin_required
def settings():
    """The agency's settings: kop surat, logo, contact, zone, office hours, supervisor."""
    return _settings_page()


@bp.post("/admin/settings")
@admin_required
def save_settings():
    upload = request.files.get("logo")
    logo = None
    if upload is not None:
        try:
            logo = upload.read() if upload.filename else None
        finally:
            upload.close()  # a large upload is spooled to a temporary file: close it now
    try:
        changed = agencies_operations.update_settings(current_account(), request.form, logo)
    except ValidationError as exc:
        return _settings_page(422, exc.errors, request.form)
    flash(_("Pengaturan disimpan.") if changed else _("Tidak ada yang berubah."), "ok")
    return redirect(url_for("agencies.settings"), 303)


@bp.get("/admin/settings/logo")
@admin_required
def settings_logo():
    """The agency's stored logo, as the letters print it."""
    agency = administered_agency()
    if not agency.logo_key:
        abort(404)
    data = current_storage().read(agency.logo_key)  # small: a scaled PNG
    return Response(data, mimetype="image/png", headers={"Cache-Control": "private, no-cache"})
