"""Who is told what, by e-mail, when a file moves: builds each event's context and queues it
in the caller's transaction. No personal data (NIK, health data, document contents) goes in."""

from __future__ import annotations

import datetime as dt

from portal.config import current_config
from portal.mail import outbox
from portal.modules.accounts.models import Assignment, User
from portal.modules.applications.models import Application, Decision, Task


def file_context(application: Application) -> dict:
    spec = application.sop.spec
    return {"service": spec.title, "agency": application.agency.name,
            "registration_number": application.registration_number,
            "link": current_config().url(f"/applications/{application.id}")}


def _when(application: Application, moment: dt.datetime | None) -> str | None:
    """The instant in the agency's local time; None when there is none (no deadline), which
    each template words in its own language."""
    return application.agency.calendar().format(moment) if moment else None


def task_link(task: Task) -> str:
    """Where the recipients of a task act on it: the applicant on the file's tracking page
    (the one place they correct, pay or confirm), officials on the task page."""
    if task.assignee_id is not None:
        return current_config().url(f"/applications/{task.application_id}")
    return current_config().url(f"/tasks/{task.id}")


def task_recipients(task: Task) -> list[User]:
    """The applicant for the applicant's tasks; else everyone holding the position today,
    acting officials (Plh/Plt) included."""
    if task.assignee_id is not None:
        return [task.assignee]
    today = task.application.agency.calendar().local(task.opened_at).date()
    return [user for user, _capacity in Assignment.holders(task.position, today)]


def application_received(application: Application) -> None:
    """The receipt with the registration number (tanda terima)."""
    outbox.queue("application_received", [application.applicant],
                 {**file_context(application),
                  "submitted_at": _when(application, application.submitted_at)},
                 application=application)


def task_opened(task: Task, application: Application, returned_by: Decision | None) -> None:
    """Tell whoever must act next; a file sent back carries the reasons per document."""
    spec = application.sop.spec
    context = {**file_context(application), "step": spec.step(task.step_key).title,
               "due": _when(application, task.due_at),
               "link": task_link(task),
               "for_applicant": task.assignee_id is not None}
    if returned_by is None:
        outbox.queue("task_assigned", task_recipients(task), context, application=application)
        return
    labels = {d.key: d.label for d in spec.documents}
    verdicts = (returned_by.data or {}).get("verdicts", {})
    documents = [{"label": labels.get(key, key), "note": v.get("note", "")}
                 for key, v in verdicts.items() if not v.get("complete", True)]
    outbox.queue("application_returned", task_recipients(task),
                 {**context, "step": spec.step(returned_by.step_key).title,
                  "reason": returned_by.note, "documents": documents},
                 application=application)


def application_rejected(application: Application, decision: Decision) -> None:
    spec = application.sop.spec
    outbox.queue("application_rejected", [application.applicant],
                 {**file_context(application), "step": spec.step(decision.step_key).title,
                  "reason": decision.note}, application=application)


def application_completed(application: Application) -> None:
    outbox.queue("application_completed", [application.applicant], file_context(application),
                 application=application)

