"""The official's pages: the inbox ordered by due time, and a task with its action panel."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, request, url_for
from flask_login import current_user, login_required

from portal import access, operations
from portal.models import (
    Agency,
    Application,
    Decision,
    Document,
    Letter,
    SopVersion,
    Task,
    utcnow,
)
from portal.reminders import near_due_window
from portal.sop import engine
from portal.sop.spec import Effect
from portal.storage import Storage
from portal.timeline import timeline
from portal.web import render, uploads_from_request

bp = Blueprint("official", __name__)

INBOX_LIMIT = 50


def _user():
    return current_user._get_current_object()


@bp.get("/inbox")
@login_required
def inbox():
    """Open tasks of every position the user holds today (Plh/Plt included), most urgent first."""
    held = access.positions_today(_user())
    positions = [p for p, _c in held]
    sop = request.args.get("sop", "")
    tasks = []
    codes = []
    if positions:
        # Only the columns the list shows: not the SOP's YAML source nor the form data.
        query = (Task.inbox(positions, light=True)
                 .switch(Application).join(SopVersion)
                 .select_extend(*(getattr(SopVersion, c) for c in SopVersion.LIGHT))
                 .switch(Application).join(Agency).select_extend(Agency))
        if sop:
            query = query.where(SopVersion.code == sop)
        tasks = list(query.limit(INBOX_LIMIT))
        codes = sorted({c for c, in (Task.select(SopVersion.code).join(Application)
                                       .join(SopVersion)
                                       .where((Task.status == "open")
                                              & Task.position.in_(positions))
                                       .distinct().tuples())})
    now = utcnow()
    rows = []
    for task in tasks:
        application = task.application
        spec = application.sop.spec
        calendar = application.agency.calendar()
        state = ""
        if task.due_at is not None:
            if task.due_at <= now:
                state = "overdue"
            elif task.due_at - now <= near_due_window(task):
                state = "near"
        rows.append({"task": task, "application": application, "spec": spec,
                     "step": spec.step(task.step_key), "state": state,
                     "due": calendar.format(task.due_at) if task.due_at else ""})
    return render("inbox.html", "tasks", rows=rows, held=held, sop=sop, codes=codes)


def _task_or_404(task_id) -> Task:
    task = Task.get_or_none(Task.id == task_id)
    if task is None or not access.can_view_application(_user(), task.application):
        abort(404)
    return task


def _task_context(task, errors=None, form=None, done=None):
    application = task.application
    spec = application.sop.spec
    step = spec.step(task.step_key)
    try:
        operations.acting_capacity(_user(), task, application.agency)
        may_act = task.status == "open"
    except operations.PermissionDenied:
        may_act = False
    outcomes = engine.outcomes_for(spec, application.file_state()) if may_act else ()
    decision = Decision.get_or_none(Decision.task == task)
    judged = [d for d in spec.documents if d.key in (step.documents or ())
              and d.applies(application.form_data)]
    opening = spec.application_steps[0].key
    replaceable = [d for d in spec.documents if task.kind == "correction"
                   and (d.step or opening) == step.key and d.applies(application.form_data)]
    next_task = None
    if task.status != "open":
        positions = [p for p, _c in access.positions_today(_user())]
        next_task = Task.inbox(positions).first() if positions else None
    return {"task": task, "application": application, "spec": spec, "step": step,
            "may_act": may_act, "outcomes": outcomes, "decision": decision,
            "documents": Document.latest_for(application), "judged": judged,
            "rows": timeline(application), "errors": errors or {}, "form": form or {},
            "calendar": application.agency.calendar(), "next_task": next_task,
            "done": done, "Effect": Effect, "replaceable": replaceable,
            "letters": list(application.letters.order_by(Letter.id)),
            "fields": [f for f in spec.fields if f.key in application.form_data]}


@bp.get("/tasks/<int:task_id>")
@login_required
def task(task_id):
    """A task: the file's data and documents, its history, and the action panel."""
    return render("task.html", "panel", **_task_context(_task_or_404(task_id)))


@bp.post("/tasks/<int:task_id>/decide")
@login_required
def decide(task_id):
    """Take one of the outcomes the SOP allows here. A task someone else already decided
    answers with who and when, and changes nothing."""
    task = _task_or_404(task_id)
    form = request.form
    verdicts = {}
    for doc_key in form.getlist("judged"):
        verdicts[doc_key] = {"complete": form.get(f"verdict_{doc_key}") == "complete",
                             "note": form.get(f"verdict_note_{doc_key}", "")}
    try:
        record = {k[len("record_"):]: v for k, v in form.items() if k.startswith("record_")}
        operations.decide(task.id, _user(), form.get("outcome", ""), note=form.get("note", ""),
                          verdicts=verdicts or None, record=record,
                          uploads=uploads_from_request() if task.kind == "correction" else None,
                          storage=Storage(current_app.config["STORAGE_DIR"]))
    except operations.PermissionDenied:
        abort(403)
    except operations.AlreadyDecided as exc:
        task = Task.get_by_id(task.id)
        return render("task.html", "panel", status=409,
                      **_task_context(task, errors={"form": str(exc)}))
    except operations.ValidationError as exc:
        return render("task.html", "panel", status=422,
                      **_task_context(task, errors=exc.errors, form=form))
    except operations.OperationError as exc:
        return render("task.html", "panel", status=409,
                      **_task_context(task, errors={"form": str(exc)}))
    task = Task.get_by_id(task.id)
    if request.headers.get("HX-Request") == "true":
        return render("task.html", "panel", **_task_context(task, done=True))
    return redirect(url_for("official.task", task_id=task.id, done=1), 303)
