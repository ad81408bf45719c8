"""The workflow engine: given an SOP spec and a file's history, where is it and what may happen.

Pure Python (no Flask, no database). The state of a file is never set directly: it is
derived from the spec, the form data and the list of decisions, one transition each.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from portal.modules.sops.spec import ActorKind, Effect, OutcomeSpec, SopSpec, StepSpec

__all__ = [
    "EngineError", "FileStatus", "FileState", "Transition", "actor_of", "advance", "open_file",
    "outcomes_for", "replay",
]


class EngineError(ValueError):
    """A decision the spec does not allow at this point."""


class FileStatus(StrEnum):
    """Where a file stands as a whole."""

    IN_PROGRESS = "in_progress"  # an official (or the applicant, at a normal step) holds it
    RETURNED = "returned"  # sent back for correction; waits at `step` and resumes at `resume_at`
    COMPLETED = "completed"
    REJECTED = "rejected"

    @property
    def final(self) -> bool:
        return self in (FileStatus.COMPLETED, FileStatus.REJECTED)


@dataclass(frozen=True)
class FileState:
    """The position of one file in its SOP."""

    status: FileStatus
    step: str | None  # the step whose actor must act now; None once final
    resume_at: str | None = None  # while RETURNED: the step the corrected file goes back to


@dataclass(frozen=True)
class Transition:
    """What one decision did: the outcome taken and the state it led to."""

    step: str
    outcome: OutcomeSpec
    before: FileState
    after: FileState
    skipped: tuple[str, ...] = ()  # steps passed over because their condition did not hold

    @property
    def returned(self) -> bool:
        return self.after.status is FileStatus.RETURNED

    @property
    def resumed(self) -> bool:
        """True when this decision sends a corrected file back into the flow."""
        return self.before.status is FileStatus.RETURNED and not self.returned


def open_file(spec: SopSpec) -> FileState:
    """The state of a new file: at the first application step, waiting for its initiator."""
    return FileState(FileStatus.IN_PROGRESS, spec.application_steps[0].key)


def actor_of(spec: SopSpec, step_key: str) -> tuple[str, str]:
    """(actor key, acting actor key) for a step: external parties act through their recorder."""
    actor = spec.actor(spec.step(step_key).actor)
    if actor.kind is ActorKind.EXTERNAL:
        return actor.key, actor.recorded_by
    return actor.key, actor.key


def outcomes_for(spec: SopSpec, state: FileState) -> tuple[OutcomeSpec, ...]:
    """The outcomes the actor of the current step may choose (none once final)."""
    if state.status.final or state.step is None:
        return ()
    step = spec.step(state.step)
    if state.status is FileStatus.RETURNED:
        # A correction step only sends the file back; it cannot bounce it further.
        return tuple(o for o in step.outcomes if o.effect is Effect.FORWARD and o.to is None)
    return step.outcomes


def advance(spec: SopSpec, state: FileState, outcome_key: str,
            form: Mapping[str, Any]) -> Transition:
    """Apply one decision; raises EngineError if the outcome is not allowed now."""
    if state.status.final:
        raise EngineError(f"the file is already {state.status.value}")
    allowed = {o.key: o for o in outcomes_for(spec, state)}
    if outcome_key not in allowed:
        raise EngineError(
            f"{outcome_key!r} is not an outcome of step {state.step!r} now "
            f"(allowed: {', '.join(allowed) or 'none'})")
    outcome = allowed[outcome_key]
    current = spec.step(state.step)
    if outcome.effect is Effect.REJECT:
        return Transition(current.key, outcome, state, FileState(FileStatus.REJECTED, None))
    if outcome.effect is Effect.RETURN:
        after = FileState(FileStatus.RETURNED, outcome.to, outcome.back_to or current.key)
        return Transition(current.key, outcome, state, after)
    if state.status is FileStatus.RETURNED:
        target = spec.step(state.resume_at)
        return Transition(current.key, outcome, state,
                          FileState(FileStatus.IN_PROGRESS, target.key))
    if outcome.to is not None:
        nxt, skipped = _first_applicable(spec, spec.step(outcome.to), form)
    else:
        nxt, skipped = _following(spec, current, form)
    after = (FileState(FileStatus.IN_PROGRESS, nxt.key) if nxt
             else FileState(FileStatus.COMPLETED, None))
    return Transition(current.key, outcome, state, after, skipped)


def replay(spec: SopSpec, decisions: Iterable[tuple[str, str]],
           form: Mapping[str, Any]) -> FileState:
    """The state after a history of (step key, outcome key) decisions, checking each one."""
    state = open_file(spec)
    for step_key, outcome_key in decisions:
        if step_key != state.step:
            raise EngineError(f"history decides step {step_key!r} but the file is at "
                              f"{state.step!r}")
        state = advance(spec, state, outcome_key, form).after
    return state


def _next_in_order(spec: SopSpec, step: StepSpec) -> StepSpec | None:
    steps = spec.application_steps
    index = next(i for i, s in enumerate(steps) if s.key == step.key)
    return steps[index + 1] if index + 1 < len(steps) else None


def _following(spec: SopSpec, step: StepSpec, form) -> tuple[StepSpec | None, tuple[str, ...]]:
    nxt = _next_in_order(spec, step)
    return _first_applicable(spec, nxt, form) if nxt else (None, ())


def _first_applicable(spec: SopSpec, step: StepSpec,
                      form) -> tuple[StepSpec | None, tuple[str, ...]]:
    skipped: list[str] = []
    candidate: StepSpec | None = step
    while candidate is not None and candidate.when is not None and not candidate.when.holds(form):
        skipped.append(candidate.key)
        candidate = _next_in_order(spec, candidate)
    return candidate, tuple(skipped)
