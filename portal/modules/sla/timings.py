"""Measure each decided task once: its working time on the agency's calendar, whether it
kept its due time, and what its decision did (``TaskTiming``). The SLA report and the
public figures read these rows; measuring a task costs a walk over its days, which done
for every task of a year on every view would not scale.

A decided task never changes, so its row never does either. New decisions are found by
their id (decisions are append-only); a short look back catches a decision whose
transaction committed after a later one was already measured (PostgreSQL), and the unique
task column makes measuring twice harmless."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from peewee import JOIN

from portal.calendar.duration import Unit
from portal.core.db import db
from portal.modules.agencies.models import Agency
from portal.modules.applications.models import Application, Decision, Task
from portal.modules.sla.models import TaskTiming
from portal.modules.sops.models import SopVersion

__all__ = ["LOOK_BACK", "Measured", "measure", "measure_new"]

LOOK_BACK = 200  # decisions re-examined below the newest measured one
BATCH = 2000


def measure_new(batches: int | None = None) -> int:
    """Measure every decision not measured yet (``batches``: at most that many batches of
    2,000, so that a public page never pays for a whole history); returns how many rows
    were added."""
    added = 0
    while batches is None or batches > 0:
        if batches is not None:
            batches -= 1
        start = max(TaskTiming.last_decision_id() - LOOK_BACK, 0)
        rows = _decisions_after(start)
        if not rows:
            return added
        fresh = measure(rows)
        added += fresh
        if len(rows) < BATCH or not fresh:
            return added
    return added


def _decisions_after(start: int) -> list[tuple]:
    """The next decisions after ``start`` whose tasks are not measured yet, as
    ``Measured`` rows (one statement)."""
    query = (Decision.select(Decision.id, Decision.application, Decision.actor,
                             Decision.effect, Decision.decided_at, Task.id, Task.step_key,
                             Task.assignee, Task.kind, Task.opened_at, Task.due_at,
                             SopVersion.code, SopVersion.sha256, Application.agency,
                             SopVersion.id, Application.status, Application.closed_at)
             .join(Task, on=(Decision.task == Task.id))
             .join(TaskTiming, JOIN.LEFT_OUTER, on=(TaskTiming.task == Task.id))
             .switch(Decision).join(Application, on=(Decision.application == Application.id))
             .join(SopVersion, on=(Application.sop == SopVersion.id))
             .where((Decision.id > start) & TaskTiming.id.is_null())
             .order_by(Decision.id).limit(BATCH))
    when = Task.opened_at.python_value
    return [Measured(row[0], row[1], row[2], row[3], when(row[4]), row[5], row[6],
                     row[7], row[8], when(row[9]), when(row[10]), row[11], row[12], row[13],
                     row[14], row[15] == "completed" and when(row[16]) == when(row[4]))
            for row in query.tuples()]


class Measured(NamedTuple):
    """A decision to measure, with what of its task and file the measure needs."""

    decision_id: int
    application_id: int
    actor_id: int
    effect: str
    decided_at: dt.datetime
    task_id: int
    step_key: str
    assignee_id: int | None
    kind: str
    opened_at: dt.datetime
    due_at: dt.datetime | None
    sop_code: str
    sha256: str
    agency_id: int
    version_id: int
    closes: bool  # the decision completed the file


def measure(rows: list[Measured]) -> int:
    """Write the timing of each decision; returns how many rows were new."""
    calendars: dict[int, object] = {}
    returns = _returning_steps(rows)
    values = []
    for row in rows:
        if row.agency_id not in calendars:
            calendars[row.agency_id] = Agency.get_by_id(row.agency_id).calendar()
        calendar = calendars[row.agency_id]
        step = _step(SopVersion.spec_of(row.version_id, row.sha256), row.step_key)
        start, end = row.opened_at, row.decided_at
        if step is not None and step.time is not None and not Unit(step.time.unit).office_time:
            minutes = max((end - start).total_seconds() / 60, 0.0)  # days, months: the calendar
        else:
            minutes = calendar.office_minutes_between(start, end)
        values.append({
            "task": row.task_id, "decision_id": row.decision_id,
            "application": row.application_id, "agency": row.agency_id,
            "sop_code": row.sop_code, "step_key": row.step_key,
            "applicant": row.assignee_id is not None,
            "returned_from": returns.get(row.task_id),
            "decided_by": row.actor_id, "decided_at": end, "minutes": round(minutes, 2),
            "on_time": None if row.due_at is None else end <= row.due_at,
            "effect": row.effect, "closes": row.closes})
    if not values:
        return 0
    before = TaskTiming.select().count()
    with db.atomic():
        TaskTiming.insert_ignoring_measured(values)
    return TaskTiming.select().count() - before


def _step(spec, key: str):
    if spec is None:
        return None
    try:
        return spec.step(key)
    except KeyError:
        return None


def _returning_steps(rows) -> dict[int, str]:
    """For each correction task among the rows: the step whose return opened it (the
    latest return of its file decided before the correction task was opened)."""
    corrections = [row for row in rows if row.kind == "correction"]
    if not corrections:
        return {}
    files = {row.application_id for row in corrections}
    returns = (Decision.select(Decision.application, Decision.step_key, Decision.task)
               .where(Decision.application.in_(files) & (Decision.effect == "return"))
               .order_by(Decision.task))
    by_file: dict[int, list[tuple[int, str]]] = {}
    for decision in returns:
        by_file.setdefault(decision.application_id, []).append((decision.task_id,
                                                                decision.step_key))
    found = {}
    for row in corrections:
        earlier = [step for task_id, step in by_file.get(row.application_id, ())
                   if task_id < row.task_id]
        if earlier:
            found[row.task_id] = earlier[-1]
    return found
