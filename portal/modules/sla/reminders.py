"""SLA reminders: tell a task's holders when it nears its due time, and once it is overdue,
also the supervisor position the agency named. Each reminder at most once per task and
threshold, so running it from cron every few minutes is safe."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from portal.config import current_config
from portal.core.db import db
from portal.core.model import utcnow
from portal.mail import outbox
from portal.modules.accounts.models import Assignment, Position
from portal.modules.agencies.models import Agency
from portal.modules.applications.models import Application, Task
from portal.modules.applications.notify import task_link, task_recipients
from portal.modules.audit import trail as audit

__all__ = ["ReminderReport", "due_state", "near_due_from", "send_reminders"]

MAX_WINDOW = dt.timedelta(days=1)
MIN_WINDOW = dt.timedelta(minutes=15)


def near_due_from(due_at: dt.datetime, clock_started_at: dt.datetime) -> dt.datetime:
    """When a task starts to count as near due: a quarter of its time before it is due,
    at least 15 minutes and at most a day."""
    return due_at - min(max((due_at - clock_started_at) / 4, MIN_WINDOW), MAX_WINDOW)


def due_state(due_at: dt.datetime | None, clock_started_at: dt.datetime,
              now: dt.datetime) -> str:
    """"overdue", "near" (see near_due_from), or "" (not yet, or no due time)."""
    if due_at is None:
        return ""
    if due_at <= now:
        return "overdue"
    return "near" if near_due_from(due_at, clock_started_at) <= now else ""


@dataclass(frozen=True)
class ReminderReport:
    near_due: int = 0
    overdue: int = 0


def send_reminders(now: dt.datetime | None = None) -> ReminderReport:
    """Queue the reminders that are due now and were not sent before."""
    now = now or utcnow()
    near = overdue = 0
    tasks = (Task.select(Task, Application).join(Application)
             .where((Task.status == "open") & Task.due_at.is_null(False)
                    & (Task.due_at <= now + MAX_WINDOW))
             .order_by(Task.due_at))
    for task in tasks:
        state = due_state(task.due_at, task.clock_started_at, now)
        with db.atomic():
            if state == "overdue":
                overdue += _remind(task, "sla_overdue", now)
            elif state == "near":
                near += _remind(task, "sla_near_due", now)
    return ReminderReport(near, overdue)


def _remind(task: Task, event: str, now: dt.datetime) -> int:
    application = task.application
    spec = application.sop.spec
    calendar = application.agency.calendar()
    context = {"service": spec.title, "registration_number": application.registration_number,
               "step": spec.step(task.step_key).title, "due": calendar.format(task.due_at),
               "link": task_link(task), "as_supervisor": False,
               # None: the applicant's own task, which each template names in its language
               "holder_position": task.position.title if task.position_id else None}
    key = f"{event}:{task.id}"
    sent = outbox.queue(event, task_recipients(task), context, application=application,
                        dedupe_key=key)
    if event == "sla_overdue":
        supervisors = _supervisors(application.agency, calendar.local(now).date())
        sent += outbox.queue(event, supervisors,
                             {**context, "as_supervisor": True,
                              "link": current_config().url(f"/tasks/{task.id}")},
                             application=application, dedupe_key=f"{key}:supervisor")
    if sent:
        audit.record(None, f"sla.{event.removeprefix('sla_')}", task, messages=len(sent))
    return 1 if sent else 0


def _supervisors(agency: Agency, today: dt.date):
    if not agency.supervisor_position:
        return []
    position = Position.get_or_none((Position.agency == agency)
                                    & (Position.key == agency.supervisor_position))
    if position is None:
        return []
    return [user for user, _capacity in Assignment.holders(position, today)]
