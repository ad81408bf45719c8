"""The story of a file for its tracking page: each step of its SOP, who held it, the
standard time beside the time it really took, and when the current step is due."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from peewee import JOIN

from portal.calendar.duration import elapsed_label, no_standard_time
from portal.core.i18n import current_language
from portal.core.i18n import lazy_gettext as _l
from portal.core.model import utcnow
from portal.modules.accounts.models import Position, User, capacity_prefix
from portal.modules.applications.models import Application, Decision, Task

__all__ = ["Round", "TimelineRow", "duration_label", "timeline"]


@dataclass(frozen=True)
class TimelineRow:
    """One step of the SOP as this file met it."""

    ref: str
    key: str
    title: str
    actor: str
    standard: str  # the SOP's standard time, as stated: 'standar 2 jam', 'sesuai jadwal'
    state: str  # done | current | returned | upcoming | skipped | rejected
    actual: str = ""  # time the step took (all its rounds), wall clock
    by: str = ""  # who decided last, with capacity
    at: str = ""
    due: str = ""
    overdue: bool = False
    outcome: str = ""
    note: str = ""
    rounds: tuple[Round, ...] = ()  # every decision at this step, returns included


@dataclass(frozen=True)
class Round:
    """One decision taken at a step (a step may be decided again after a return)."""

    outcome: str
    effect: str
    by: str
    at: str
    note: str


def duration_label(delta: dt.timedelta, language: str | None = None) -> str:
    """'2 hari 3 jam', '45 menit', 'kurang dari 1 menit' (or English: '2 days 3 hours')."""
    return elapsed_label(int(delta.total_seconds() // 60), language or current_language())


def timeline(application: Application, language: str | None = None) -> list[TimelineRow]:
    """A row per application step, in SOP order; durations in ``language`` (default: the
    request's)."""
    language = language or current_language()
    spec = application.sop.spec
    calendar = application.agency.calendar()
    tasks = list(Task.select().where(Task.application == application).order_by(Task.id))
    decisions = {d.task_id: d for d in (
        Decision.select(Decision, User, Position)
        .join(User, on=(Decision.actor == User.id))
        .switch(Decision).join(Position, JOIN.LEFT_OUTER, on=(Decision.position == Position.id))
        .where(Decision.application == application))}
    now = utcnow()
    rows = []
    for step in spec.application_steps:
        own = [t for t in tasks if t.step_key == step.key]
        spent = sum(((t.decided_at or now) - t.opened_at for t in own), dt.timedelta())
        last = own[-1] if own else None
        decision = decisions.get(last.id) if last else None
        outcome = step.outcome(decision.outcome) if decision else None
        if last is not None and last.status == "open":
            state = "returned" if last.kind == "correction" else "current"
        elif decision is not None:
            state = {"reject": "rejected", "return": "returned"}.get(decision.effect, "done")
            if state == "returned" and application.status != "returned":
                state = "done"
        elif application.status in ("in_progress", "returned") and step.when is not None \
                and not step.when.holds(application.form_data) and _passed(spec, step, tasks):
            state = "skipped"
        else:
            state = "upcoming"
        standard = (_l("standar %(time)s", time=step.time.label(language)).in_language(language)
                    if step.time and step.time.amount else
                    _l("sesuai jadwal").in_language(language) if step.until_field
                    else no_standard_time(language))
        by = _who(decision) if decision is not None else ""
        rounds = tuple(
            Round(outcome=(step.outcome(d.outcome).label if step.outcome(d.outcome)
                           else d.outcome), effect=d.effect, by=_who(d),
                  at=calendar.format(d.decided_at), note=d.note)
            for t in own if (d := decisions.get(t.id)) is not None)
        rows.append(TimelineRow(
            ref=step.ref, key=step.key, title=step.title, actor=spec.actor(step.actor).title,
            standard=standard, state=state,
            actual=duration_label(spent, language)
            if own and step.key != spec.application_steps[0].key else "",
            by=by, at=calendar.format(decision.decided_at) if decision else "",
            due=calendar.format(last.due_at) if last and last.status == "open" and last.due_at
            else "",
            overdue=bool(last and last.status == "open" and last.due_at and last.due_at < now),
            outcome=outcome.label if outcome else "", note=decision.note if decision else "",
            rounds=rounds))
    return rows


def _who(decision) -> str:
    prefix = capacity_prefix(decision.capacity)
    where = f"{prefix} {decision.position.title}".strip() if decision.position_id else ""
    return decision.actor.name + (f" ({where})" if where else "")


def _passed(spec, step, tasks) -> bool:
    """Whether the file has already gone beyond this step (so a skip really happened)."""
    keys = [s.key for s in spec.application_steps]
    index = keys.index(step.key)
    return any(keys.index(t.step_key) > index for t in tasks if t.step_key in keys)
