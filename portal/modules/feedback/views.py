"""The survey form of a completed file, the complaint form of a service, the complainant's
private page, and the complaints of those who answer them (with the agency's setting)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal.core.errors import NotFound, OperationError, PermissionDenied, ValidationError
from portal.core.limits import limiter
from portal.core.web import current_account, current_locale, render
from portal.modules.accounts.guards import admin_required, administered_agency
from portal.modules.accounts.staff import positions
from portal.modules.applications.models import Application
from portal.modules.feedback import complaints, survey
from portal.modules.feedback.models import Complaint
from portal.modules.sops.models import SopVersion

bp = Blueprint("feedback", __name__)


def survey_state(application) -> str | None:
    """What the file's page offers about the survey (see survey.invitation_state)."""
    return survey.invitation_state(current_user, application)


def _own_completed_file(app_id: int) -> Application:
    application = Application.get_or_none(Application.id == app_id)
    if application is None or application.applicant_id != current_user.id:
        raise NotFound(_("Berkas tidak ditemukan."))
    return application


def _survey_page(application, status=200, errors=None, values=None):
    return render("feedback/survey.html", status=status, application=application,
                  spec=application.sop.spec, elements=survey.ELEMENTS, scale=survey.SCALE,
                  state=survey.invitation_state(current_user, application),
                  errors=errors or {}, values=values or {})


@bp.get("/applications/<int:app_id>/survey")
@login_required
def survey_form(app_id):
    """The nine questions, once the file is complete."""
    return _survey_page(_own_completed_file(app_id))


@bp.post("/applications/<int:app_id>/survey")
@login_required
def survey_answer(app_id):
    application = _own_completed_file(app_id)
    try:
        survey.submit_response(current_account(), app_id, request.form,
                               request.form.get("comment", ""))
    except ValidationError as exc:
        return _survey_page(application, 422, exc.errors, request.form)
    except (OperationError, PermissionDenied) as exc:
        flash(str(exc), "error")
        return redirect(url_for("applications.application", app_id=app_id), 303)
    flash(_("Terima kasih. Jawaban survei tersimpan tanpa nama Anda."), "ok")
    return redirect(url_for("applications.application", app_id=app_id), 303)


def _complaint_page(version, status=200, errors=None, values=None):
    if values is None:
        values = {}
        if current_user.is_authenticated:
            values = {"name": current_user.name, "email": current_user.email,
                      "registration_number": request.args.get("file", "")}
    return render("feedback/complaint_form.html", status=status, version=version,
                  spec=version.spec, errors=errors or {}, values=values)


def _version(code: str) -> SopVersion:
    version = SopVersion.current(code)
    if version is None:
        raise NotFound(_("Layanan tidak ditemukan."))
    return version


@bp.get("/services/<code>/complaint")
def complaint_form(code):
    """Anyone may complain about a service; the answer goes to the address given."""
    return _complaint_page(_version(code))


@bp.post("/services/<code>/complaint")
@limiter.limit("10 per hour", methods=["POST"], scope="complaint_client")
def file_complaint(code):
    version = _version(code)
    user = current_account() if current_user.is_authenticated else None
    try:
        complaint = complaints.file_complaint(user, code, request.form, current_locale())
    except ValidationError as exc:
        return _complaint_page(version, 422, exc.errors, request.form)
    flash(_("Pengaduan diterima. Jawaban akan dikirim ke %(email)s.", email=complaint.email),
          "ok")
    return redirect(url_for("feedback.complaint_status", token=complaint.token), 303)


@bp.get("/complaints/t/<token>")
def complaint_status(token):
    """The complainant's private page: their complaint, its due time and the answer."""
    complaint = Complaint.by_token(token)
    if complaint is None:
        raise NotFound(_("Pengaduan tidak ditemukan."))
    response = render("feedback/complaint_status.html", complaint=complaint,
                      version=SopVersion.current(complaint.sop_code),
                      calendar=complaint.agency.calendar())
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.get("/complaints")
@login_required
def complaint_list():
    """The complaints the official answers (the position named for them, or the agency's
    administrators), the open ones first by due time."""
    status = request.args.get("status", "")
    found = list(complaints.handler_complaints(current_account(), status).limit(500))
    return render("feedback/complaints.html", complaints=found, shown=status,
                  titles=_titles(found))


def _titles(found) -> dict[str, str]:
    return {c: (v.title if (v := SopVersion.current(c)) else c)
            for c in {complaint.sop_code for complaint in found}}


def _complaint_page_for_handler(complaint, status=200, errors=None, values=None):
    return render("feedback/complaint.html", status=status, complaint=complaint,
                  titles=_titles([complaint]), calendar=complaint.agency.calendar(),
                  errors=errors or {}, values=values or {})


@bp.get("/complaints/<int:complaint_id>")
@login_required
def complaint_detail(complaint_id):
    return _complaint_page_for_handler(
        complaints.read_complaint(current_account(), complaint_id))


@bp.post("/complaints/<int:complaint_id>/answer")
@login_required
def complaint_answer(complaint_id):
    complaint = complaints.handled_complaint(current_account(), complaint_id)
    try:
        complaints.answer_complaint(current_account(), complaint_id,
                                    request.form.get("answer", ""))
    except ValidationError as exc:
        return _complaint_page_for_handler(complaint, 422, exc.errors, request.form)
    except OperationError as exc:
        flash(str(exc), "error")
        return redirect(url_for("feedback.complaint_detail", complaint_id=complaint_id), 303)
    flash(_("Jawaban terkirim ke pengadu."), "ok")
    return redirect(url_for("feedback.complaint_detail", complaint_id=complaint_id), 303)


def _settings_page(status=200, errors=None, values=None):
    agency = administered_agency()
    setting = complaints.setting_of(agency)
    if values is None:
        values = {"position_key": setting.position_key if setting else "",
                  "standard_time": setting.standard_time if setting
                  else complaints.DEFAULT_TIME.label("id")}
    choices = [(p.key, f"{p.title} ({p.key})") for p in positions(agency)]
    return render("feedback/settings.html", status=status, agency=agency, choices=choices,
                  errors=errors or {}, values=values)


@bp.get("/admin/complaints")
@admin_required
def complaint_settings():
    """Where the agency's complaints go and how soon they are answered."""
    return _settings_page()


@bp.post("/admin/complaints")
@admin_required
def save_complaint_settings():
    try:
        complaints.update_setting(current_account(), administered_agency(),
                                  request.form.get("position_key", ""),
                                  request.form.get("standard_time", ""))
    except ValidationError as exc:
        return _settings_page(422, exc.errors, request.form)
    flash(_("Pengaturan pengaduan disimpan."), "ok")
    return redirect(url_for("feedback.complaint_settings"), 303)
