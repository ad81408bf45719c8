"""The applicant's pages: a service and its form, drafts, submission, tracking, corrections,
and the applicant's own steps (pay, collect, receive). Also the home page after login."""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, current_app, redirect, request, send_file, url_for
from flask_login import current_user, login_required

from portal import access, audit, operations
from portal.models import Application, Document, Letter, SopVersion, Task, db
from portal.sop.spec import ActorKind, Effect
from portal.storage import Storage
from portal.timeline import timeline
from portal.web import render, uploads_from_request

bp = Blueprint("portal", __name__)


def _storage() -> Storage:
    return Storage(current_app.config["STORAGE_DIR"])


def _user():
    return current_user._get_current_object()


@bp.get("/home")
@login_required
def home():
    """Officials start at their inbox, agency administrators at their overview, applicants
    at their files."""
    user = _user()
    if access.positions_today(user):
        return redirect(url_for("official.inbox"))
    if user.is_agency_admin and user.agency_id:
        return redirect(url_for("admin.index"))
    return redirect(url_for("portal.applications"))


@bp.get("/services/<code>")
def service(code):
    """One service: what it needs, its steps and standard times, and how to apply."""
    version = SopVersion.current(code)
    if version is None:
        abort(404)
    spec = version.spec
    approval = None
    if current_user.is_authenticated and operations.needs_approval(spec, version.agency):
        from portal.models import AccountApproval

        approval = AccountApproval.status_of(_user(), version.agency)
    return render("service.html", version=version, spec=spec, approval=approval,
                  needs_approval=operations.needs_approval(spec, version.agency),
                  applicant_opens=spec.initiator.kind is ActorKind.APPLICANT)


@bp.post("/services/<code>/approval")
@login_required
def request_approval(code):
    version = SopVersion.current(code) or abort(404)
    operations.request_approval(_user(), version.agency)
    return redirect(url_for("portal.service", code=code), 303)


def _form_context(version, values, draft=None, errors=None, submission_key=None):
    spec = version.spec
    existing = Document.latest_for(draft) if draft is not None else {}
    controlling = set()
    for item in (*spec.fields, *spec.documents):
        if item.when is not None:
            controlling |= item.when.fields()
    opening = spec.application_steps[0].key
    return {"version": version, "spec": spec, "values": values, "draft": draft,
            "errors": errors or {}, "existing": existing, "controlling": controlling,
            "fields": [f for f in spec.fields if f.applies(values)],
            "documents": [d for d in spec.documents
                          if (d.step or opening) == opening and d.applies(values)],
            "submission_key": submission_key or uuid.uuid4().hex}


@bp.route("/services/<code>/apply", methods=["GET", "POST"])
@login_required
def apply(code):
    """The form generated from the SOP: fields and uploads, conditional ones as they apply.

    Every POST first keeps what was entered and uploaded (as a draft), so an error never
    loses anything; then it refreshes the form, saves, or submits, as the button says.
    """
    version = SopVersion.current(code) or abort(404)
    user = _user()
    draft_id = request.values.get("draft", type=int)
    draft = operations.own_draft(user, draft_id) if draft_id else None
    if request.method == "GET":
        values = request.args.to_dict() if request.args.get("refresh") else (
            dict(draft.form_data) if draft else {})
        return render("apply.html", "fields", **_form_context(version, values, draft))
    values = {k: v for k, v in request.form.items() if k not in ("csrf_token",)}
    action = request.form.get("action", "submit")
    uploads = uploads_from_request()
    errors: dict[str, str] = {}
    if uploads or action in ("draft", "refresh") or draft is not None:
        draft, errors = operations.save_draft(user, code, values, uploads, _storage(),
                                              draft_id=draft.id if draft else None)
    if action in ("draft", "refresh") or errors:
        status = 422 if errors else 200
        context = _form_context(version, values, draft, errors,
                                request.form.get("submission_key"))
        if action == "draft" and not errors:
            context["saved"] = True
        return render("apply.html", "form", status=status, **context)
    try:
        application = operations.submit_application(
            user, code, values, {}, _storage(), submission_key=request.form.get("submission_key"),
            draft_id=draft.id if draft else None)
    except operations.ValidationError as exc:
        context = _form_context(version, values, draft, exc.errors,
                                request.form.get("submission_key"))
        return render("apply.html", "form", status=422, **context)
    return redirect(url_for("portal.application", app_id=application.id, received=1), 303)


@bp.get("/applications")
@login_required
def applications():
    """The applicant's files, newest first."""
    rows = (Application.select(Application, SopVersion).join(SopVersion)
            .where(Application.applicant == _user())
            .order_by(Application.created_at.desc()).limit(200))
    return render("applications.html", applications=list(rows))


def _visible(app_id) -> Application:
    application = Application.get_or_none(Application.id == app_id)
    if application is None or not access.can_view_application(_user(), application):
        abort(404)  # the same answer whether it exists or not
    return application


@bp.get("/applications/<int:app_id>")
@login_required
def application(app_id):
    """The tracking page: where the file is, who holds it, standard vs. actual time."""
    application = _visible(app_id)
    if application.status == "draft":
        return redirect(url_for("portal.apply", code=application.sop.code, draft=application.id))
    return render("application.html", "status", **_application_context(application))


def _application_context(application, errors=None, values=None):
    spec = application.sop.spec
    task = Task.open_for(application)
    mine = task is not None and task.assignee_id == current_user.id
    step = spec.step(task.step_key) if task else None
    last_return = None
    if application.status == "returned":
        last_return = (application.decisions.where(
            application.decisions.model.effect == "return")
            .order_by(application.decisions.model.id.desc()).first())
    failed = {}
    if last_return is not None:
        failed = {k: v for k, v in (last_return.data or {}).get("verdicts", {}).items()
                  if not v.get("complete", True)}
    opening = spec.application_steps[0].key
    step_documents = []
    if mine:
        step_documents = [d for d in spec.documents
                          if (d.step or opening) == step.key and d.applies(application.form_data)]
    outcomes = []
    if mine:
        from portal.sop import engine

        outcomes = [o for o in engine.outcomes_for(spec, application.file_state())
                    if o.effect is Effect.FORWARD]
    return {"application": application, "spec": spec, "rows": timeline(application),
            "task": task, "mine": mine, "step": step, "last_return": last_return,
            "failed": failed, "step_documents": step_documents, "outcomes": outcomes,
            "documents": Document.latest_for(application), "errors": errors or {},
            "values": values if values is not None else dict(application.form_data),
            "correcting": mine and task.kind == "correction",
            "letters": list(application.letters.order_by(Letter.id)),
            "calendar": application.agency.calendar(),
            "received": request.args.get("received")}


@bp.post("/applications/<int:app_id>/act")
@login_required
def act(app_id):
    """The applicant's own step: send a corrected file back, pay, confirm receipt."""
    application = _visible(app_id)
    task = Task.open_for(application)
    if task is None or task.assignee_id != current_user.id:
        abort(403)
    if request.form.get("task", type=int) != task.id:
        return render("application.html", "status", status=409, **_application_context(
            application, errors={"form": "Halaman ini sudah usang; muat ulang."}))
    spec = application.sop.spec
    form = None
    if task.kind == "correction":
        known = {f.key for f in spec.fields}
        form = {k: v for k, v in request.form.items() if k in known}
    try:
        operations.decide(task.id, _user(), request.form.get("outcome", ""),
                          note=request.form.get("note", ""), form=form,
                          uploads=uploads_from_request(), storage=_storage())
    except operations.ValidationError as exc:
        return render("application.html", "status", status=422, **_application_context(
            application, errors=exc.errors, values=form))
    except operations.AlreadyDecided as exc:
        return render("application.html", "status", status=409, **_application_context(
            application, errors={"form": str(exc)}))
    application = Application.get_by_id(application.id)
    return render("application.html", "status", **_application_context(application)) \
        if request.headers.get("HX-Request") == "true" else \
        redirect(url_for("portal.application", app_id=application.id), 303)


@bp.get("/documents/<int:doc_id>")
@login_required
def document(doc_id):
    """Download an uploaded document (only for those entitled to its file); audited."""
    doc = Document.get_or_none(Document.id == doc_id)
    if doc is None or not access.can_view_application(_user(), doc.application):
        abort(404)
    with db.atomic():
        audit.record(_user(), "document.viewed", doc, requirement=doc.requirement,
                     version=doc.version)
    response = send_file(_storage().path(doc.storage_key), mimetype=doc.media_type,
                         as_attachment=request.args.get("inline") is None,
                         download_name=doc.filename, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/documents/<int:doc_id>/pages/<int:page>.jpg")
@login_required
def preview(doc_id, page):
    """A small image of one page of an uploaded document (for those entitled to its file)."""
    doc = Document.get_or_none(Document.id == doc_id)
    if doc is None or not access.can_view_application(_user(), doc.application) \
            or not 0 <= page < len(doc.previews or []):
        abort(404)
    response = send_file(_storage().path(doc.previews[page]), mimetype="image/jpeg",
                         max_age=3600)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
