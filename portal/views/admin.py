"""The agency administrator's pages: account approvals, officials and positions, acting
officials (Plh/Plt), SOP versions, days off and the outbox. Thin: each POST calls one
operation of ``portal.administration`` and answers 303, or 422 with the form again."""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal import administration
from portal.models import OutboxMessage, SopVersion
from portal.operations import OperationError, ValidationError
from portal.sop.spec import SopError
from portal.web import is_htmx, render

bp = Blueprint("admin", __name__, url_prefix="/admin")

OUTBOX_LIMIT = 200
OUTBOX_FILTERS = ("failed", "pending", "sent")


def _user():
    return current_user._get_current_object()


def admin_required(view):
    """Only administrators of an agency; they see their own agency only."""
    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not current_user.is_agency_admin or not current_user.agency_id:
            abort(403)
        return view(*args, **kwargs)
    return wrapper


def approver_required(view):
    """Administrators, and holders of a position that activates accounts in an SOP."""
    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not administration.may_approve(_user()):
            abort(403)
        return view(*args, **kwargs)
    return wrapper


def _agency():
    return administration.admin_agency(_user())


@bp.get("/")
@admin_required
def index():
    """Overview: what waits for the administrator, and the way to each section."""
    agency = _agency()
    today = administration.today(agency)
    messages = administration.agency_messages(agency)
    counts = {
        "pending": len(administration.pending_approvals(agency)),
        "officials": len(administration.officials(agency)),
        "positions": len(administration.positions(agency)),
        "acting": len(administration.acting_assignments(agency, today)),
        "sops": sum(1 for v in administration.sop_versions(agency) if v.active),
        "days_off": sum(1 for d in administration.days_off(agency) if d.day >= today),
        "unsent": messages.where(OutboxMessage.status.in_(("pending", "failed"))).count(),
        "failed": administration.agency_messages(agency, "failed").count(),
    }
    return render("admin/index.html", agency=agency, counts=counts,
                  mail_configured=bool(current_app.config.get("MAIL_SERVER")))


# ---------------------------------------------------------------------------------------------
# Account approvals


def _approvals_page(status=200, errors=None, values=None, done=None):
    agency = _user().agency
    return render("admin/approvals.html", "approvals", status=status, agency=agency,
                  approvals=administration.pending_approvals(agency),
                  calendar=agency.calendar(), errors=errors or {}, values=values or {},
                  done=done)


@bp.get("/approvals")
@approver_required
def approvals():
    """Applicant accounts waiting for this agency's approval."""
    return _approvals_page()


@bp.post("/approvals/<int:approval_id>")
@approver_required
def decide_approval(approval_id):
    """Approve, or decline with a reason; the applicant is told by e-mail."""
    decision = request.form.get("decision", "")
    try:
        approval = administration.decide_account(_user(), approval_id, decision,
                                                 request.form.get("reason", ""))
    except ValidationError as exc:
        return _approvals_page(status=422, errors={approval_id: exc.errors},
                               values={approval_id: request.form})
    done = (_("Akun %(email)s disetujui.", email=approval.user.email)
            if approval.status == "approved"
            else _("Akun %(email)s ditolak.", email=approval.user.email))
    if is_htmx():
        return _approvals_page(done=done)
    flash(done, "ok")
    return redirect(url_for("admin.approvals"), 303)


# ---------------------------------------------------------------------------------------------
# Officials and positions


def _choices(officials, positions):
    """(value, label) pairs for the official and position selects of the forms."""
    return {"user_choices": [(str(u.id), f"{u.name} ({u.email})") for u in officials
                             if u.active],
            "position_choices": [(str(p.id), f"{p.title} ({p.key})") for p in positions]}


def _users_page(status=200, form=None, errors=None, values=None):
    agency = _agency()
    today = administration.today(agency)
    held: dict[int, list] = {}
    for assignment in administration.current_assignments(agency, today):
        held.setdefault(assignment.user_id, []).append(assignment)
    officials = administration.officials(agency)
    positions = administration.positions(agency)
    return render("admin/users.html", status=status, agency=agency, today=today,
                  officials=officials, held=held, positions=positions,
                  errors={form: errors} if form else {}, values={form: values} if form else {},
                  **_choices(officials, positions))


@bp.get("/users")
@admin_required
def users():
    """The agency's officials with the positions they hold, and the positions."""
    return _users_page()


@bp.post("/users")
@admin_required
def create_official():
    form = request.form
    try:
        user = administration.create_official(_user(), form.get("email", ""),
                                              form.get("name", ""), form.get("nip", ""),
                                              form.get("password", ""))
    except ValidationError as exc:
        values = {k: v for k, v in form.items() if k not in ("password", "csrf_token")}
        return _users_page(422, "official", exc.errors, values)
    flash(_("Akun %(email)s dibuat.", email=user.email), "ok")
    return redirect(url_for("admin.users"), 303)


@bp.post("/positions")
@admin_required
def create_position():
    form = request.form
    try:
        position = administration.create_position(_user(), form.get("key", ""),
                                                  form.get("title", ""))
    except ValidationError as exc:
        return _users_page(422, "position", exc.errors, form)
    flash(_("Jabatan %(title)s dibuat.", title=position.title), "ok")
    return redirect(url_for("admin.users"), 303)


@bp.post("/assignments")
@admin_required
def assign():
    form = request.form
    try:
        administration.assign_position(_user(), form.get("user"), form.get("position"),
                                       form.get("starts_on", ""))
    except ValidationError as exc:
        return _users_page(422, "assign", exc.errors, form)
    flash(_("Jabatan diberikan."), "ok")
    return redirect(url_for("admin.users"), 303)


@bp.post("/assignments/<int:assignment_id>/end")
@admin_required
def end_assignment(assignment_id):
    """End a definitive or acting assignment today; back to the page it was listed on."""
    assignment = administration.end_assignment(_user(), assignment_id)
    flash(_("Penugasan diakhiri."), "ok")
    target = "admin.users" if assignment.capacity == "definitive" else "admin.acting"
    return redirect(url_for(target), 303)


# ---------------------------------------------------------------------------------------------
# Acting officials (Plh/Plt)


def _acting_page(status=200, errors=None, values=None):
    agency = _agency()
    today = administration.today(agency)
    return render("admin/acting.html", status=status, agency=agency, today=today,
                  acting=administration.acting_assignments(agency, today),
                  errors=errors or {}, values=values or {},
                  **_choices(administration.officials(agency), administration.positions(agency)))


@bp.get("/acting")
@admin_required
def acting():
    """Current and future Plh/Plt assignments, and the form to add one."""
    return _acting_page()


@bp.post("/acting")
@admin_required
def create_acting():
    form = request.form
    try:
        administration.assign_acting(_user(), form.get("user"), form.get("position"),
                                     form.get("capacity", ""), form.get("starts_on", ""),
                                     form.get("ends_on", ""))
    except ValidationError as exc:
        return _acting_page(422, exc.errors, form)
    flash(_("Penugasan Plh/Plt disimpan."), "ok")
    return redirect(url_for("admin.acting"), 303)


# ---------------------------------------------------------------------------------------------
# SOP versions


def _sops_page(status=200, errors=None, issues=None, filename=""):
    agency = _agency()
    versions = administration.sop_versions(agency)
    current = {}
    for version in versions:
        if version.code not in current:
            serving = SopVersion.current(version.code)
            current[version.code] = serving.id if serving else None
    return render("admin/sops.html", status=status, agency=agency, versions=versions,
                  current=current, calendar=agency.calendar(), errors=errors or {},
                  issues=issues or [], filename=filename)


@bp.get("/sops")
@admin_required
def sops():
    """The agency's SOP versions, and the form to import one."""
    return _sops_page()


@bp.post("/sops")
@admin_required
def import_sop():
    """Import an SOP version from an uploaded YAML file; every problem is listed."""
    upload = request.files.get("file")
    filename = upload.filename if upload and upload.filename else ""
    data = upload.read() if upload and upload.filename else b""
    try:
        version = administration.import_sop_version(_user(), data, filename)
    except SopError as exc:
        return _sops_page(422, {"file": _("Berkas SOP tidak dapat dipakai:")}, exc.issues,
                          filename)
    except ValidationError as exc:
        return _sops_page(422, exc.errors, filename=filename)
    except OperationError as exc:  # the version exists, is older, or names unknown positions
        return _sops_page(422, {"file": str(exc)}, filename=filename)
    flash(_("SOP %(code)s versi %(version)s tersimpan.", code=version.code,
            version=version.version), "ok")
    return redirect(url_for("admin.sops"), 303)


@bp.post("/sops/<int:version_id>/activate")
@admin_required
def activate_sop(version_id):
    version = administration.set_sop_active(_user(), version_id, True)
    flash(_("SOP %(code)s versi %(version)s aktif.", code=version.code,
            version=version.version), "ok")
    return redirect(url_for("admin.sops"), 303)


@bp.post("/sops/<int:version_id>/deactivate")
@admin_required
def deactivate_sop(version_id):
    version = administration.set_sop_active(_user(), version_id, False)
    flash(_("SOP %(code)s versi %(version)s dinonaktifkan.", code=version.code,
            version=version.version), "ok")
    return redirect(url_for("admin.sops"), 303)


# ---------------------------------------------------------------------------------------------
# Days off


def _days_off_page(status=200, errors=None, values=None):
    agency = _agency()
    return render("admin/days_off.html", status=status, agency=agency,
                  days_off=administration.days_off(agency),
                  today=administration.today(agency), errors=errors or {},
                  values=values or {})


@bp.get("/days-off")
@admin_required
def days_off():
    """The agency's own days off (cuti bersama, local holidays)."""
    return _days_off_page()


@bp.post("/days-off")
@admin_required
def add_day_off():
    form = request.form
    try:
        administration.add_day_off(_user(), form.get("day", ""), form.get("name", ""))
    except ValidationError as exc:
        return _days_off_page(422, exc.errors, form)
    flash(_("Hari libur ditambahkan."), "ok")
    return redirect(url_for("admin.days_off"), 303)


@bp.post("/days-off/<int:day_off_id>/delete")
@admin_required
def remove_day_off(day_off_id):
    administration.remove_day_off(_user(), day_off_id)
    flash(_("Hari libur dihapus."), "ok")
    return redirect(url_for("admin.days_off"), 303)


# ---------------------------------------------------------------------------------------------
# Outbox


@bp.get("/outbox")
@admin_required
def outbox():
    """E-mails about the agency's files and staff, with their delivery state."""
    agency = _agency()
    status = request.args.get("status", "")
    if status not in OUTBOX_FILTERS:
        status = ""
    messages = list(administration.agency_messages(agency, status or None).limit(OUTBOX_LIMIT))
    return render("admin/outbox.html", "messages", agency=agency, messages=messages,
                  shown=status, filters=OUTBOX_FILTERS, limit=OUTBOX_LIMIT,
                  calendar=agency.calendar(),
                  mail_configured=bool(current_app.config.get("MAIL_SERVER")))


@bp.post("/outbox/<int:message_id>/resend")
@admin_required
def resend(message_id):
    """Queue a failed or waiting e-mail again; back to the same filtered list."""
    message = administration.resend_message(_user(), message_id)
    flash(_("E-mail ke %(address)s dijadwalkan ulang.", address=message.to_address), "ok")
    status = request.form.get("status", "")
    return redirect(url_for("admin.outbox", status=status if status in OUTBOX_FILTERS else None),
                    303)


@bp.get("/letter-templates")
@admin_required
def letter_templates():
    """The wording of every letter the agency's SOPs issue: shipped or the agency's own."""
    return render("admin/letter_templates.html",
                  rows=administration.letter_templates(_agency()))


@bp.route("/letter-templates/<sop_code>/<letter_key>", methods=["GET", "POST"])
@admin_required
def letter_template(sop_code, letter_key):
    """Edit one letter's wording (checked in the sandbox before it is stored)."""
    from portal.letters import letter_source

    agency = _agency()
    spec, letter = administration._agency_letter(agency, sop_code, letter_key)
    errors, source = {}, None
    if request.method == "POST":
        source = request.form.get("source", "")
        try:
            if request.form.get("action") == "reset":
                administration.reset_letter_template(_user(), sop_code, letter_key)
            else:
                administration.save_letter_template(_user(), sop_code, letter_key, source)
        except ValidationError as exc:
            errors = exc.errors
        else:
            return redirect(url_for("admin.letter_template", sop_code=sop_code,
                                    letter_key=letter_key, saved=1), 303)
    return render("admin/letter_template.html", status=422 if errors else 200, spec=spec,
                  letter=letter, errors=errors, saved=request.args.get("saved"),
                  source=source if source is not None else letter_source(agency, sop_code,
                                                                         letter_key))
