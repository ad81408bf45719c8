"""Files: the applicant's pages (apply, track, correct, download) and the official's inbox
and task pages."""

from __future__ import annotations

import uuid
from typing import NamedTuple

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal.core.db import db
from portal.core.errors import OperationError, PermissionDenied, ValidationError
from portal.core.model import utcnow
from portal.core.web import current_account, is_htmx, render, render_unless_unchanged
from portal.modules.accounts import approvals as accounts_approvals
from portal.modules.accounts import staff
from portal.modules.accounts.guards import is_approver
from portal.modules.agencies.models import Agency
from portal.modules.applications import access, documents, kept, operations, results
from portal.modules.applications.documents import Upload
from portal.modules.applications.models import Application, Decision, Document, Task
from portal.modules.applications.timeline import timeline
from portal.modules.audit import trail as audit
from portal.modules.letters import drafts, issuance
from portal.modules.letters.models import Letter
from portal.modules.sla.reminders import due_state
from portal.modules.sops import engine
from portal.modules.sops.models import SopVersion
from portal.modules.sops.spec import ActionKind, Effect
from portal.storage import Storage, current_storage
from portal.storage import send as send_stored

bp = Blueprint("applications", __name__)



def _storage() -> Storage:
    return current_storage()


@bp.get("/home")
@login_required
def home():
    """Officials start at their inbox, agency administrators at their overview, applicants
    at their files."""
    user = current_account()
    if staff.positions_today(user):
        return redirect(url_for("applications.inbox"))
    if user.is_agency_admin and user.agency_id:
        return redirect(url_for("agencies.index"))
    return redirect(url_for("applications.applications"))


def _form_context(version, values, draft=None, errors=None, submission_key=None):
    spec = version.spec
    existing = Document.latest_for(draft) if draft is not None else {}
    controlling = set()
    for item in (*spec.fields, *spec.documents):
        if item.when is not None:
            controlling |= item.when.fields()
    return {"version": version, "spec": spec, "values": values, "draft": draft,
            "errors": errors or {}, "existing": existing, "controlling": controlling,
            "fields": [f for f in spec.fields if f.applies(values)],
            "documents": documents.documents_at_step(spec, spec.application_steps[0].key,
                                                     values),
            "submission_key": submission_key or uuid.uuid4().hex}


@bp.route("/services/<code>/apply", methods=["GET", "POST"])
@login_required
def apply(code):
    """The form generated from the SOP: fields and uploads, conditional ones as they apply.

    Every POST first keeps what was entered and uploaded (as a draft), so an error never
    loses anything; then it refreshes the form, saves, or submits, as the button says.
    """
    version = SopVersion.current(code) or abort(404)
    user = current_account()
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
    if errors and action == "submit":
        # A refused file and what else the submission lacks, told in one round.
        errors = {**operations.submission_problems(code, values, draft), **errors}
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
    except ValidationError as exc:
        context = _form_context(version, values, draft, exc.errors,
                                request.form.get("submission_key"))
        return render("apply.html", "form", status=422, **context)
    except operations.EmailNotConfirmed:
        return _confirm_first(user, code, values, draft)
    return redirect(url_for("applications.application", app_id=application.id, received=1), 303)


def _confirm_first(user, code, values, draft):
    """Submitted before the e-mail address is confirmed: keep everything as a draft and
    answer with the page that says what to do (open the link, or have it sent again)."""
    if draft is None:
        draft, _problems = operations.save_draft(user, code, values, {}, _storage())
    flash(_("Isian dan berkas Anda disimpan sebagai draf; permohonan belum dikirim."), "ok")
    target = url_for("accounts.confirm_email",
                     next=url_for("applications.apply", code=code, draft=draft.id))
    response = redirect(target, 303)
    if is_htmx():
        response.headers["HX-Redirect"] = target
    return response


@bp.get("/applications")
@login_required
def applications():
    """The applicant's files, newest first."""
    rows = (Application.select(Application, SopVersion).join(SopVersion)
            .where(Application.applicant == current_account())
            .order_by(Application.created_at.desc()).limit(200))
    return render("applications.html", applications=list(rows))


def _visible(app_id) -> Application:
    application = Application.get_or_none(Application.id == app_id)
    if application is None or not access.can_view_application(current_account(), application):
        abort(404)  # the same answer whether it exists or not
    return application


@bp.get("/applications/<int:app_id>")
@login_required
def application(app_id):
    """The tracking page: where the file is, who holds it, standard vs. actual time."""
    application = _visible(app_id)
    if application.status == "draft":
        return redirect(url_for("applications.apply", code=application.sop.code,
                                draft=application.id))
    return render("application.html", "status", **_application_context(application))


def _application_context(application, errors=None, values=None):
    spec = application.sop.spec
    task = Task.open_for(application)
    mine = task is not None and task.assignee_id == current_user.id
    step = spec.step(task.step_key) if task else None
    last_return = (documents.last_return(application) if application.status == "returned"
                   else None)
    failed = documents.failed_verdicts(last_return)
    step_documents = []
    if mine:
        # A correction offers every document the return flagged, wherever first uploaded.
        step_documents = documents.correction_documents(
            spec, step.key, application.form_data,
            frozenset(failed) if task.kind == "correction" else frozenset())
    outcomes = []
    if mine:
        from portal.modules.sops import engine

        outcomes = [o for o in engine.outcomes_for(spec, application.file_state())
                    if o.effect is Effect.FORWARD]
    return {"application": application, "spec": spec, "rows": timeline(application),
            "task": task, "mine": mine, "step": step, "last_return": last_return,
            "failed": failed, "step_documents": step_documents, "outcomes": outcomes,
            "documents": Document.latest_for(application), "errors": errors or {},
            # What officials produced: everything for an official opening this page, what
            # the SOP marks public for the applicant.
            "results": results.step_results(
                application, access.sees_as_official(current_account(), application)),
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
        operations.decide(task.id, current_account(), request.form.get("outcome", ""),
                          note=request.form.get("note", ""), form=form,
                          uploads=uploads_from_request(), storage=_storage())
    except ValidationError as exc:
        return render("application.html", "status", status=422, **_application_context(
            application, errors=exc.errors, values=form))
    except operations.AlreadyDecided as exc:
        return render("application.html", "status", status=409, **_application_context(
            application, errors={"form": str(exc)}))
    application = Application.get_by_id(application.id)
    return render("application.html", "status", **_application_context(application)) \
        if request.headers.get("HX-Request") == "true" else \
        redirect(url_for("applications.application", app_id=application.id), 303)


@bp.get("/documents/<int:doc_id>")
@login_required
def document(doc_id):
    """Download an uploaded document (only for those entitled to its file); audited."""
    doc = Document.get_or_none(Document.id == doc_id)
    if doc is None or not access.can_view_document(current_account(), doc):
        abort(404)
    with db.atomic():
        audit.record(current_account(), "document.viewed", doc, requirement=doc.requirement,
                     version=doc.version)
    response = send_stored(doc.storage_key, mimetype=doc.media_type,
                           as_attachment=request.args.get("inline") is None,
                           download_name=doc.filename, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/documents/<int:doc_id>/pages/<int:page>.jpg")
@login_required
def preview(doc_id, page):
    """A small image of one page of an uploaded document (for those entitled to its file)."""
    doc = Document.get_or_none(Document.id == doc_id)
    if doc is None or not access.can_view_document(current_account(), doc) \
            or not 0 <= page < len(doc.previews or []):
        abort(404)
    response = send_stored(doc.previews[page], mimetype="image/jpeg", max_age=3600)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


INBOX_LIMIT = 50


class InboxRow(NamedTuple):
    url: str
    number: str
    code: str
    service: str
    step: str
    kind: str  # step | correction
    state: str  # overdue | near | ""
    due: str


@bp.get("/inbox")
@login_required
def inbox():
    """Open tasks of every position the user holds today (Plh/Plt/a.n. included), most urgent
    first.

    The page officials open most, many times a day and often on slow lines: a few
    statements however many rows (the user, their agency, the positions held, the open
    tasks with their SOP), no model objects per row, and an ETag of what the page shows,
    so that a repeat visit to an unchanged inbox is answered 304 without building the rows'
    links and labels or rendering the page.
    """
    user = current_account()
    held = staff.positions_today(user)
    today = staff.today_for(user)
    sop = request.args.get("sop", "")
    tasks = Task.inbox_rows(user, today, sop, INBOX_LIMIT) if held else []
    # The filter lists the SOPs with open work: the rows' own, unless the list is filtered
    # or cut, when it takes a query of its own.
    codes = (Task.inbox_codes(user, today) if held and (sop or len(tasks) >= INBOX_LIMIT)
             else None)
    now = utcnow()
    states = [due_state(task.due_at, task.clock_started_at, now) for task in tasks]
    if codes is None:
        codes = sorted({task.code for task in tasks})
    # Accounts waiting for this approver's decision: one COUNT, only for approvers (whom
    # the menu asks about anyway); shown above the tasks and part of the ETag.
    approvals = (accounts_approvals.pending_summary(user.agency_id)
                 if is_approver() else (0, None))

    def page() -> dict:
        rows = []
        for task, state in zip(tasks, states, strict=True):
            spec = SopVersion.spec_of(task.sop_id, task.sha256)
            due = Agency.calendar_of(task.agency).format(task.due_at) if task.due_at else ""
            rows.append(InboxRow(url_for("applications.task", task_id=task.id),
                                 task.registration_number, task.code, task.title,
                                 spec.step(task.step_key).title, task.kind, state, due))
        return {"rows": rows, "held": held, "sop": sop, "codes": codes,
                "pending_approvals": approvals[0]}

    # The rows' data and due states are what the page shows (labels follow from them).
    # (Due times as numbers: hashing them is a third of the cost of their repr.)
    shown = ([(t.id, t.kind, t.step_key, t.due_at and t.due_at.timestamp(),
               t.registration_number, t.sop_id) for t in tasks],
             states, [(p.id, p.title, c) for p, c in held], sop, codes,
             approvals[0], approvals[1] and approvals[1].timestamp())
    return render_unless_unchanged("inbox.html", "tasks", shown, page)


def _task_or_404(task_id) -> Task:
    task = Task.get_or_none(Task.id == task_id)
    if task is None or not access.can_view_application(current_account(), task.application):
        abort(404)
    return task


def _task_context(task, errors=None, form=None, done=None, confirm=None, kept_uploads=None):
    application = task.application
    spec = application.sop.spec
    step = spec.step(task.step_key)
    try:
        operations.acting_capacity(current_account(), task, application.agency)
        may_act = task.status == "open"
    except PermissionDenied:
        may_act = False
    outcomes = engine.outcomes_for(spec, application.file_state()) if may_act else ()
    decision = Decision.get_or_none(Decision.task == task)
    judged = documents.judged_documents(spec, step, application.form_data)
    replaceable = (documents.correction_documents(spec, step.key, application.form_data,
                                                  documents.failed_documents(application))
                   if task.kind == "correction" else [])
    official = bool(staff.positions_today(current_account()))
    next_task = None
    if task.status != "open" and official:
        positions = [p for p, _c in staff.positions_today(current_account())]
        next_task = Task.inbox(positions).first() if positions else None
    return {"task": task, "application": application, "spec": spec, "step": step,
            "may_act": may_act, "outcomes": outcomes, "decision": decision,
            "official": official,
            # The documents this official produces here, uploaded with the decision.
            "produces": (documents.official_documents_at_step(spec, step.key,
                                                              application.form_data)
                         if may_act and task.kind != "correction" else []),
            # What earlier officials recorded and uploaded, step by step.
            "results": results.step_results(
                application, access.sees_as_official(current_account(), application)),
            "documents": Document.latest_for(application), "judged": judged,
            "rows": timeline(application), "errors": errors or {}, "form": form or {},
            "calendar": application.agency.calendar(), "next_task": next_task,
            "done": done, "Effect": Effect, "replaceable": replaceable,
            "replaced": documents.replaced_since_return(application) if judged else (),
            "letters": list(application.letters.order_by(Letter.id)),
            "fields": [f for f in spec.fields if f.key in application.form_data],
            # The letters as they will be issued, where officials initial and sign them.
            "drafts": drafts.drafts_at(task) if task.status == "open" else [],
            "confirm": confirm,
            # Files uploaded with a refused decision, carried by reference (kept.py).
            "kept": kept_uploads or {},
            # At a handover: the pickup ticket the official takes in (shown, not typed).
            "ticket": (issuance.collection_ticket(application)
                       if step.action is ActionKind.HAND_OVER else None)}


def _applicants_view(task: Task):
    """The applicant's way to a task of their own file: its tracking page (303), where they
    read why it came back and correct it. The task page is for officials; an applicant sees
    it only for a step they hold as an official (an official applying to their own
    agency)."""
    user = current_account()
    if task.application.applicant_id != user.id:
        return None
    if task.assignee_id is None:
        try:
            operations.acting_capacity(user, task, task.application.agency)
            return None
        except PermissionDenied:
            pass
    target = url_for("applications.application", app_id=task.application_id)
    response = redirect(target, 303)
    if is_htmx():
        response.headers["HX-Redirect"] = target
    return response


@bp.get("/tasks/<int:task_id>")
@login_required
def task(task_id):
    """A task: the file's data and documents, its history, and the action panel."""
    task = _task_or_404(task_id)
    return _applicants_view(task) or render("task.html", "panel", **_task_context(task))


@bp.post("/tasks/<int:task_id>/decide")
@login_required
def decide(task_id):
    """Take one of the outcomes the SOP allows here. A task someone else already decided
    answers with who and when, and changes nothing."""
    task = _task_or_404(task_id)
    elsewhere = _applicants_view(task)
    if elsewhere is not None:  # nothing is decided: the applicant acts on the tracking page
        return elsewhere
    form = request.form
    user = current_account()
    # Files kept from a refused try come back unless a new one was chosen for the document;
    # a reference that cannot be used is told next to its field, and nothing is decided
    # without the file the official believes is attached.
    uploads = uploads_from_request()
    restored, lost = kept.restore(task, user, kept.references(form), _storage(),
                                  replaced=frozenset(uploads))
    uploads = {**restored, **uploads}
    if lost:
        return render("task.html", "panel", status=422, **_task_context(
            task, errors=lost, form=form, kept_uploads=kept.keep(task, user, uploads,
                                                                 _storage())))
    step = task.application.sop.spec.step(task.step_key)
    chosen = step.outcome(form.get("outcome", ""))
    if (step.action is ActionKind.SIGN and chosen is not None
            and chosen.effect is Effect.FORWARD and form.get("confirmed") != "1"):
        # Signing asks once more, naming the letters and the person they are for; files
        # that came with the click ride along as kept references, a refused one is told.
        refused = kept.refused(task, uploads)
        context = _task_context(task, errors=refused, form=form,
                                confirm=None if refused else chosen,
                                kept_uploads=kept.keep(task, user, uploads, _storage()))
        return render("task.html", "panel", status=422 if refused else 200, **context)
    verdicts = {}
    for doc_key in form.getlist("judged"):
        chosen = form.get(f"verdict_{doc_key}")  # unset until the official chooses
        verdicts[doc_key] = {"complete": None if chosen not in ("complete", "incomplete")
                             else chosen == "complete",
                             "note": form.get(f"verdict_note_{doc_key}", "")}
    try:
        record = {k[len("record_"):]: v for k, v in form.items() if k.startswith("record_")}
        operations.decide(task.id, user, form.get("outcome", ""),
                          note=form.get("note", ""),
                          verdicts=verdicts or None, record=record,
                          uploads=uploads, storage=_storage())
    except PermissionDenied:
        abort(403)
    except operations.AlreadyDecided as exc:
        task = Task.get_by_id(task.id)
        return render("task.html", "panel", status=409,
                      **_task_context(task, errors={"form": str(exc)}))
    except ValidationError as exc:
        # Every file that passed its own screening is kept for the next try; a refused
        # one is told next to its field, whatever refused the decision first.
        return render("task.html", "panel", status=422, **_task_context(
            task, errors={**kept.refused(task, uploads), **exc.errors}, form=form,
            kept_uploads=kept.keep(task, user, uploads, _storage())))
    except OperationError as exc:
        return render("task.html", "panel", status=409,
                      **_task_context(task, errors={"form": str(exc)}))
    task = Task.get_by_id(task.id)
    if request.headers.get("HX-Request") == "true":
        return render("task.html", "panel", **_task_context(task, done=True))
    return redirect(url_for("applications.task", task_id=task.id, done=1), 303)


def uploads_from_request(prefix: str = "doc_") -> dict[str, Upload]:
    """Files of the request keyed by document key (inputs are named doc_<key>)."""
    uploads = {}
    for name, storage in request.files.items():
        if name.startswith(prefix) and storage and storage.filename:
            uploads[name[len(prefix):]] = Upload(storage.filename, storage.read(),
                                                 storage.mimetype or "")
    return uploads
