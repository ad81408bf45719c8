"""What officials produced at the steps of a file: the values they recorded (a step's
``record``) and the documents they uploaded (``documents[].step`` naming their step), for
every later actor on the task page, and for the applicant where the SOP marks them public."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from portal.modules.applications.models import Application, Decision, Document
from portal.modules.sops.spec import FieldSpec, SopSpec

__all__ = ["StepResult", "official_upload_ids", "recorded_value", "step_results"]


@dataclass(frozen=True)
class StepResult:
    """The results of one step, as its latest decision that produced any left them."""

    step: str
    heading: str
    by: str  # the official's name, with the position they acted in
    at: dt.datetime
    values: tuple[tuple[str, str], ...]  # (label, value as a reader reads it)
    documents: tuple[tuple[str, Document], ...]  # (label, the uploaded version)


def recorded_value(field: FieldSpec, value) -> str:
    """A recorded value as people read it: a choice by its label, a date as DD-MM-YYYY."""
    text = str(value)
    if field.type == "choice":
        return dict(field.choices).get(text, text)
    if field.type == "date":
        try:
            return dt.date.fromisoformat(text).strftime("%d-%m-%Y")
        except ValueError:
            return text
    return text


def official_upload_ids(application: Application, keys) -> dict[str, int]:
    """The ids of the newest versions of these documents (what a decision just stored)."""
    latest = Document.latest_for(application)
    return {key: latest[key].id for key in keys if key in latest}


def step_results(application: Application, everything: bool) -> list[StepResult]:
    """Per step in SOP order, what the latest decision that recorded values or uploaded
    documents there left: all of it for officials (``everything``), only what the SOP marks
    ``public`` for the applicant. Steps with nothing to show are left out."""
    spec: SopSpec = application.sop.spec
    latest: dict[str, Decision] = {}
    for decision in Decision.history(application):
        data = decision.data or {}
        if data.get("record") or data.get("documents"):
            latest[decision.step_key] = decision
    if not latest:
        return []
    doc_ids = [i for d in latest.values() for i in (d.data.get("documents") or {}).values()]
    stored = {doc.id: doc for doc in Document.select().where(Document.id.in_(doc_ids))} \
        if doc_ids else {}
    labels = {d.key: d for d in spec.documents}
    results = []
    for step in spec.application_steps:
        decision = latest.get(step.key)
        if decision is None:
            continue
        record = decision.data.get("record") or {}
        values = tuple((f.label, recorded_value(f, record[f.key])) for f in step.record
                       if record.get(f.key) not in (None, "") and (everything or f.public))
        documents = tuple(
            (labels[key].label, stored[doc_id])
            for key, doc_id in (decision.data.get("documents") or {}).items()
            if key in labels and doc_id in stored and (everything or labels[key].public))
        if not values and not documents:
            continue
        position = decision.position.title if decision.position_id else ""
        results.append(StepResult(
            step=step.key, heading=step.heading,
            by=decision.actor.name + (f" ({position})" if position else ""),
            at=decision.decided_at, values=values, documents=documents))
    return results
