"""Each seed SOP runs end to end: its main path, every return loop and every rejection,
in the pure engine and through the operations on a real database."""

from __future__ import annotations

from datetime import date

import pytest
from webclient import verdicts

from portal.modules.accounts.models import User
from portal.modules.applications import operations
from portal.modules.applications.models import Application, Decision, Task
from portal.modules.demo.data import _holder, sample_form, sample_uploads, sample_values, walk
from portal.modules.sops import engine
from portal.modules.sops.models import SopVersion
from portal.modules.sops.registry import seed_files
from portal.modules.sops.spec import Effect, load_sop_file

SEEDS = {path.stem: load_sop_file(path) for path in seed_files()}


def _branches():
    """(seed, step, outcome) for every return and rejection any seed allows."""
    for code, spec in sorted(SEEDS.items()):
        for step in spec.application_steps:
            for outcome in step.outcomes:
                if outcome.effect is not Effect.FORWARD:
                    yield pytest.param(code, step.key, outcome.key,
                                       id=f"{code}-{step.key}-{outcome.key}")


BRANCHES = list(_branches())


def _forward(spec, step_key):
    return next(o.key for o in spec.step(step_key).outcomes if o.effect is Effect.FORWARD)


def test_there_are_five_seeds_with_returns_and_rejections():
    assert set(SEEDS) == {"kso-lms", "rekom-nakes", "sik-perekam-medis",
                          "info-kompetensi-teknis", "registrasi-praktek-mandiri"}
    effects = {SEEDS[p.values[0]].step(p.values[1]).outcome(p.values[2]).effect for p in BRANCHES}
    assert effects == {Effect.RETURN, Effect.REJECT}


@pytest.mark.parametrize("code", sorted(SEEDS))
def test_engine_main_path_visits_every_application_step_and_completes(code):
    spec = SEEDS[code]
    form = sample_form(spec, __import__("datetime").date(2026, 11, 23))
    state, visited = engine.open_file(spec), []
    while not state.status.final:
        visited.append(state.step)
        state = engine.advance(spec, state, _forward(spec, state.step), form).after
    assert state.status is engine.FileStatus.COMPLETED
    expected = [s.key for s in spec.application_steps if s.when is None or s.when.holds(form)]
    assert visited == expected


@pytest.mark.parametrize(("code", "step_key", "outcome_key"), BRANCHES)
def test_engine_branch(code, step_key, outcome_key):
    spec = SEEDS[code]
    form = sample_form(spec, __import__("datetime").date(2026, 11, 23))
    state = engine.open_file(spec)
    while state.step != step_key:
        state = engine.advance(spec, state, _forward(spec, state.step), form).after
    outcome = spec.step(step_key).outcome(outcome_key)
    after = engine.advance(spec, state, outcome_key, form).after
    if outcome.effect is Effect.REJECT:
        assert after.status is engine.FileStatus.REJECTED and after.step is None
        return
    assert (after.status, after.step) == (engine.FileStatus.RETURNED, outcome.to)
    # At the correction step only the plain "send back" outcomes are offered.
    assert all(o.effect is Effect.FORWARD for o in engine.outcomes_for(spec, after))
    resumed = engine.advance(spec, after, _forward(spec, outcome.to), form).after
    assert (resumed.status, resumed.step) == (engine.FileStatus.IN_PROGRESS,
                                              outcome.back_to or step_key)


def test_engine_refuses_an_outcome_the_step_does_not_offer():
    spec = SEEDS["sik-perekam-medis"]
    with pytest.raises(engine.EngineError):
        engine.advance(spec, engine.open_file(spec), "approved", {})


def test_replay_checks_the_history_against_the_spec():
    spec = SEEDS["info-kompetensi-teknis"]
    state = engine.replay(spec, [("draft", _forward(spec, "draft"))], {})
    assert state.step == "review_kabid"
    with pytest.raises(engine.EngineError):
        engine.replay(spec, [("sign_kaban", "signed")], {})


# -- through the operations, on the database -----------------------------------------------


def _actor(task):
    return task.assignee if task.assignee_id else _holder(task.position.agency, task.position.key)


def _open(code, storage):
    spec = SopVersion.current(code).spec
    form = sample_form(spec, __import__("datetime").date.today())
    initiator = spec.initiator
    if initiator.kind.value == "applicant":
        user = User.by_email("pemohon@absah.test")
    else:
        user = _holder(SopVersion.current(code).agency, initiator.key)
    opening = spec.application_steps[0].key
    return spec, operations.submit_application(user, code, form,
                                               sample_uploads(spec, opening, form), storage)


@pytest.mark.parametrize("code", sorted(SEEDS))
def test_demo_walk_completes_with_one_decision_per_step(demo, storage, code):
    application, path = walk(code, storage)
    spec = application.sop.spec
    assert application.status == "completed"
    history = Decision.history(application)
    assert [d.step_key for d in history] == [s.key for s in spec.application_steps
                                             if s.when is None
                                             or s.when.holds(application.form_data)]
    assert len(path) == len(history)
    assert all(t.status == "done" for t in application.tasks)


@pytest.mark.parametrize(("code", "step_key", "outcome_key"), BRANCHES)
def test_branch_through_operations(demo, storage, code, step_key, outcome_key):
    spec, application = _open(code, storage)
    while application.current_step != step_key:
        task = Task.open_for(application)
        step = spec.step(task.step_key)
        uploads = sample_uploads(spec, step.key, application.form_data)  # officials' too
        operations.decide(task.id, _actor(task), _forward(spec, step.key), uploads=uploads,
                          storage=storage, verdicts=verdicts(task),
                          record=sample_values(step.record, date.today()))
        application = Application.get_by_id(application.id)
    task = Task.open_for(application)
    outcome = spec.step(step_key).outcome(outcome_key)
    operations.decide(task.id, _actor(task), outcome_key, note="Alasan uji")
    application = Application.get_by_id(application.id)
    if outcome.effect is Effect.REJECT:
        assert application.status == "rejected" and Task.open_for(application) is None
        return
    assert (application.status, application.current_step) == ("returned", outcome.to)
    correction = Task.open_for(application)
    assert correction.kind == "correction"
    operations.decide(correction.id, _actor(correction), _forward(spec, outcome.to),
                      storage=storage, verdicts=verdicts(correction))
    application = Application.get_by_id(application.id)
    assert (application.status, application.current_step) == ("in_progress",
                                                              outcome.back_to or step_key)
    assert Decision.history(application)[-1].effect == "forward"
