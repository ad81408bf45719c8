"""Who is told what, by e-mail, when a file moves: builds each event's context and queues it
in the caller's transaction. No personal data (NIK, health data, document contents) goes in."""

from __future__ import annotations

import datetime as dt

from portal import outbox
from portal.models import Application, Assignment, Decision, Task, User
from portal.settings import settings

__all__ = ["account_verify", "application_completed", "application_received",
           "application_rejected", "approval_decided", "approval_requested", "letter_issued",
           "letter_revoked", "password_reset",
           "task_opened", "task_recipients"]


def _file(application: Application) -> dict:
    spec = application.sop.spec
    return {"service": spec.title, "agency": application.agency.name,
            "registration_number": application.registration_number,
            "link": settings.url(f"/applications/{application.id}")}


def _when(application: Application, moment: dt.datetime | None) -> str | None:
    """The instant in the agency's local time; None when there is none (no deadline), which
    each template words in its own language."""
    return application.agency.calendar().format(moment) if moment else None


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
                  {**_file(application),
                   "submitted_at": _when(application, application.submitted_at)},
                  application=application)


def task_opened(task: Task, application: Application, returned_by: Decision | None) -> None:
    """Tell whoever must act next; a file sent back carries the reasons per document."""
    spec = application.sop.spec
    context = {**_file(application), "step": spec.step(task.step_key).title,
               "due": _when(application, task.due_at),
               "link": settings.url(f"/tasks/{task.id}"),
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
                 {**_file(application), "step": spec.step(decision.step_key).title,
                  "reason": decision.note}, application=application)


def application_completed(application: Application) -> None:
    outbox.queue("application_completed", [application.applicant], _file(application),
                 application=application)


def account_verify(user: User) -> None:
    from portal.tokens import make_token

    outbox.queue("account_verify", [user],
                 {"link": settings.url(f"/verify/{make_token(user, 'verify')}")})


def password_reset(user: User) -> None:
    from portal.tokens import make_token

    outbox.queue("password_reset", [user],
                 {"link": settings.url(f"/reset/{make_token(user, 'reset')}")})


def approval_requested(approval, approvers: list[User]) -> None:
    outbox.queue("account_approval_requested", approvers,
                 {"applicant": approval.user.name, "agency": approval.agency.name,
                  "link": settings.url("/admin/approvals")})


def approval_decided(approval) -> None:
    outbox.queue("account_approved" if approval.status == "approved" else "account_declined",
                 [approval.user], {"agency": approval.agency.name, "reason": approval.reason,
                                   "link": settings.url("/")})


def letter_issued(letter, notice: str = "issued") -> None:
    """The applicant learns the letter is ready (a link, never the PDF or personal data)."""
    application = letter.application
    outbox.queue("letter_ready_for_collection" if notice == "collection" else "letter_issued",
                 [application.applicant],
                 {**_file(application), "letter": letter.title, "number": letter.number},
                 application=application)


def letter_revoked(letter) -> None:
    application = letter.application
    outbox.queue("letter_revoked", [application.applicant],
                 {**_file(application), "letter": letter.title, "number": letter.number,
                  "reason": letter.revoke_reason, "replaced": letter.status == "replaced"},
                 application=application)
