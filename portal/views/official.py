"""The official's pages: the inbox ordered by due time, and a task with its action panel."""

from __future__ import annotations

from typing import NamedTuple

from flask import Blueprint, abort, current_app, redirect, request, session, url_for
from flask_login import current_user, login_required

from portal import access, operations
from portal.models import (
    Agency,
    Decision,
    Document,
    Letter,
    SopVersion,
    Task,
    utcnow,
)
from portal.reminders import due_state, near_due_from
from portal.sop import engine
from portal.sop.spec import Effect
from portal.storage import Storage
from portal.timeline import timeline
from portal.web import (
    PageMemo,
    is_approver,
    is_htmx,
    page_response,
    render,
    render_body,
    uploads_from_request,
)

bp = Blueprint("official", __name__)

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


def _user():
    return current_user._get_current_object()


_INBOX_PAGES = PageMemo()


@bp.get("/inbox")
@login_required
def inbox():
    """Open tasks of every position the user holds today (Plh/Plt/a.n. included), most urgent
    first.

    The page officials open most, many times a day and often on slow lines: two statements
    built once per process (positions held, open tasks as tuples), SOP versions and
    calendars from per-process caches, no URL building per row, and when the rows and
    everything else on the page are as they were at the last visit, the page as rendered
    then (see PageMemo).
    """
    user = _user()
    today = access.today_for(user)
    held = access.positions_today(user)
    sop = request.args.get("sop", "")
    tasks = Task.inbox_rows(user, today, sop, INBOX_LIMIT) if held else []
    # The filter lists the SOPs with open work: the rows' own, unless the list is filtered
    # or cut, when it takes a query of its own.
    codes = (Task.inbox_codes(user, today) if held and (sop or len(tasks) >= INBOX_LIMIT)
             else None)
    now = utcnow()
    key = None
    if session.get("csrf_token") and not session.get("_flashes"):
        key = (user.id, tuple(tasks), tuple((p.id, p.title, c) for p, c in held), sop,
               None if codes is None else tuple(codes), request.full_path, is_htmx(),
               session.get("lang"), session["csrf_token"], user.agency_id,
               user.is_agency_admin, is_approver())
        page = _INBOX_PAGES.get(key, now)
        if page is not None:
            return page.response()
    rows, until = [], None
    calendars = {}
    task_url = url_for("official.task", task_id=0)[:-1]  # + id: one route, 40 links
    for task_id, kind, step_key, due_at, started, number, sop_id, agency_id in tasks:
        version = SopVersion.cached(sop_id)
        calendar = calendars.get(agency_id)
        if calendar is None:
            calendar = calendars[agency_id] = Agency.cached(agency_id).calendar()
        if due_at is not None:  # the page changes by itself when a task nears or passes due
            for moment in (near_due_from(due_at, started), due_at):
                if moment > now and (until is None or moment < until):
                    until = moment
        rows.append(InboxRow(f"{task_url}{task_id}", number, version.code, version.title,
                             version.spec.step(step_key).title, kind,
                             due_state(due_at, started, now),
                             calendar.format(due_at) if due_at else ""))
    if codes is None:
        codes = sorted({r.code for r in rows})
    body = render_body("inbox.html", "tasks", rows=rows, held=held, sop=sop, codes=codes)
    if key is None:
        return page_response(body)
    return _INBOX_PAGES.put(key, body, now, until).response()


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
