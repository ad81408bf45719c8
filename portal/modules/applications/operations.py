"""Every state change of a file, one transaction each: guard, transition, decision, audit,
e-mail. Drafts, submission, decisions ("first decision wins", settled by the database),
corrections, and the next task with its due time on the agency's calendar."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Mapping
from typing import Any

from peewee import IntegrityError

from portal.calendar.duration import Unit
from portal.core.db import db
from portal.core.errors import NotFound, OperationError, PermissionDenied, ValidationError
from portal.core.forms import (
    FORM_VALUE_MAX,
    NAME_MAX,
    TEXT_MAX,
    ascii_digits,
    date_range_problem,
    length_problem,
)
from portal.core.i18n import LazyText
from portal.core.i18n import lazy_gettext as _l
from portal.core.model import utcnow
from portal.core.numbering import next_value
from portal.modules.accounts.approvals import needs_approval
from portal.modules.accounts.models import AccountApproval, Position, User
from portal.modules.accounts.policy import email_problem
from portal.modules.agencies.models import Agency
from portal.modules.applications import notify
from portal.modules.applications.documents import (
    Upload,
    failed_documents,
    judged_documents,
    official_upload_problems,
    screen_uploads,
    store_uploads,
    upload_problems,
    with_previews,
)
from portal.modules.applications.models import Application, Decision, Document, Task
from portal.modules.applications.results import official_upload_ids
from portal.modules.audit import trail as audit
from portal.modules.letters import issuance
from portal.modules.sops import engine
from portal.modules.sops.models import SopVersion
from portal.modules.sops.spec import (
    ActionKind,
    ActorKind,
    Effect,
    SopSpec,
    StepSpec,
)
from portal.storage import Storage


class AlreadyDecided(OperationError):
    """Someone decided this task first; nothing was changed."""

    def __init__(self, task: Task):
        self.task = task
        if task.decided_by_id and task.decided_at:
            message = _l("Tugas ini sudah diputuskan oleh %(who)s pada %(when)s; tidak ada "
                         "yang diubah.", who=task.decided_by.name,
                         when=task.decided_at.strftime("%Y-%m-%d %H:%M UTC"))
        else:
            message = _l("Tugas ini sudah diputuskan sebelumnya; tidak ada yang diubah.")
        super().__init__(message)


def save_draft(user: User, sop_code: str, form: Mapping[str, Any],
               uploads: Mapping[str, Upload], storage: Storage, draft_id: int | None = None,
               now: dt.datetime | None = None) -> tuple[Application, dict[str, object]]:
    """Keep what the applicant entered and uploaded so far, unchecked except the files.

    Good files are stored even when others are refused: nothing already uploaded is lost.
    Returns the draft and the per-document problems of the refused files.
    """
    now = now or utcnow()
    version = SopVersion.current(sop_code)
    if version is None:
        raise NotFound(_l("Layanan %(code)s tidak ditemukan.", code=repr(sop_code)))
    spec = version.spec
    known = {f.key for f in spec.fields}
    # Kept whole (the request guard bounds every value), so that a value too long for its
    # field is shown back with its message instead of being cut without a word.
    values = {k: str(v).strip()[:FORM_VALUE_MAX] for k, v in (form or {}).items() if k in known}
    good, errors = screen_uploads(spec, uploads)
    good = with_previews(good, storage)  # rendered before the transaction: no lock held
    with db.atomic():
        _ensure_may_open(user, spec, version.agency, drafting=True)
        if draft_id is not None:
            draft = own_draft(user, draft_id)
            draft.form_data = values
            draft.save()
        else:
            draft = Application.create(
                sop=version, agency=version.agency, applicant=user, form_data=values,
                tracking_code=secrets.token_urlsafe(12), status="draft",
                current_step=spec.application_steps[0].key, created_at=now)
            audit.record(user, "application.draft_created", draft, sop=spec.code)
        store_uploads(draft, good, user, storage, now)
        audit.record(user, "application.draft_saved", draft, documents=sorted(good))
    return draft, errors


def own_draft(user: User, draft_id: int) -> Application:
    """The user's draft; NotFound for anything else (another's file, a submitted one)."""
    draft = Application.get_or_none((Application.id == draft_id)
                                    & (Application.applicant == user)
                                    & (Application.status == "draft"))
    if draft is None:
        raise NotFound(_l("Draf tidak ditemukan."))
    return draft


def submit_application(user: User, sop_code: str, form: Mapping[str, Any],
                       uploads: Mapping[str, Upload], storage: Storage,
                       submission_key: str | None = None, now: dt.datetime | None = None,
                       draft_id: int | None = None) -> Application:
    """Open and submit a file: validate form and documents, number it, hand it to step two.

    A repeated ``submission_key`` (a double click, a resent request) returns the first file;
    a draft's stored documents count as uploaded.
    """
    now = now or utcnow()
    if submission_key:
        earlier = Application.get_or_none((Application.submission_key == submission_key)
                                          & (Application.status != "draft"))
        if earlier is not None:
            if earlier.applicant_id != user.id:
                raise PermissionDenied(_l("Kunci pengiriman ini milik pengguna lain."))
            return earlier
    version = SopVersion.current(sop_code)
    if version is None:
        raise NotFound(_l("Layanan %(code)s tidak ditemukan.", code=repr(sop_code)))
    spec = version.spec
    opening = spec.application_steps[0]
    uploads = with_previews(uploads, storage)  # rendered before the transaction: no lock held
    with db.atomic():
        agency = version.agency
        _ensure_may_open(user, spec, agency)
        draft = own_draft(user, draft_id) if draft_id is not None else None
        existing = Document.latest_for(draft) if draft is not None else {}
        clean = _checked_submission(spec, form, uploads, existing)
        try:
            with db.atomic():
                if draft is None:
                    application = Application.create(
                        sop=version, agency=agency, applicant=user, form_data=clean,
                        tracking_code=secrets.token_urlsafe(12), submission_key=submission_key,
                        status=engine.FileStatus.IN_PROGRESS.value, current_step=opening.key,
                        created_at=now, submitted_at=now)
                else:
                    # Conditional, so two racing submits of one draft cannot both pass.
                    taken = (Application.update(
                        sop=version, form_data=clean, submission_key=submission_key,
                        status=engine.FileStatus.IN_PROGRESS.value, current_step=opening.key,
                        submitted_at=now)
                        .where((Application.id == draft.id) & (Application.status == "draft"))
                        .execute())
                    if taken != 1:
                        raise OperationError(_l("Permohonan ini sudah dikirim; muat ulang "
                                                "halaman."))
                    application = Application.get_by_id(draft.id)
        except IntegrityError:
            # The same submission_key won a race with us: that request made the file.
            raise OperationError(_l("Permohonan ini sudah dikirim; muat ulang halaman.")) \
                from None
        year = agency.calendar().local(now).year
        seq = next_value(agency.code, "registration", year)
        application.registration_number = f"{agency.code.upper()}/REG/{year}/{seq:05d}"
        application.save()
        store_uploads(application, uploads, user, storage, now)
        audit.record(user, "application.submitted", application, sop=spec.code,
                     version=spec.version, registration_number=application.registration_number)
        notify.application_received(application)
        task = _open_task(application, spec, engine.open_file(spec), now)
        outcome = next(o for o in opening.outcomes if o.effect is Effect.FORWARD)
        _apply(task, application, spec, user, None, None, outcome.key, "", {}, now)
    return application


def submission_problems(sop_code: str, form: Mapping[str, Any],
                        draft: Application | None = None) -> dict[str, object]:
    """What submitting the form (with the draft's stored documents) would refuse, every
    problem at once; empty when it would pass. Submits nothing."""
    version = SopVersion.current(sop_code)
    if version is None:
        raise NotFound(_l("Layanan %(code)s tidak ditemukan.", code=repr(sop_code)))
    existing = Document.latest_for(draft) if draft is not None else {}
    try:
        _checked_submission(version.spec, form, {}, existing)
    except ValidationError as exc:
        return exc.errors
    return {}


def _checked_submission(spec: SopSpec, form: Mapping[str, Any], uploads: Mapping[str, Upload],
                        existing: Mapping[str, Document]) -> dict[str, str]:
    """The clean form of a first submission; one ValidationError with the fields' and the
    documents' problems together (the documents asked for follow the answers given)."""
    clean, errors = _fields_and_problems(spec.fields, form)
    errors.update(upload_problems(spec, spec.application_steps[0], clean, uploads, existing))
    if errors:
        raise ValidationError(errors)
    return clean


def decide(task_id: int, user: User, outcome: str, note: str = "",
           verdicts: Mapping[str, Mapping[str, Any]] | None = None,
           form: Mapping[str, Any] | None = None, uploads: Mapping[str, Upload] | None = None,
           storage: Storage | None = None, now: dt.datetime | None = None,
           record: Mapping[str, Any] | None = None) -> Decision:
    """Decide a task with one of the outcomes its step allows.

    The first decision wins; a second one on the same task raises AlreadyDecided naming who
    decided and when, and changes nothing.
    """
    now = now or utcnow()
    uploads = uploads or {}
    if storage is not None:
        uploads = with_previews(uploads, storage)  # before the transaction: no lock held
    with db.atomic():
        task = Task.get_or_none(Task.id == task_id)
        if task is None:
            raise NotFound(_l("Tugas tidak ditemukan."))
        application = task.application
        spec = application.sop.spec
        position, capacity = acting_capacity(user, task, application.agency)
        if task.status != "open":
            raise AlreadyDecided(task)
        step = spec.step(task.step_key)
        state = application.file_state()
        if state.step != task.step_key:
            raise OperationError(_l("Halaman ini sudah usang; muat ulang."))
        chosen = next((o for o in engine.outcomes_for(spec, state) if o.key == outcome), None)
        if chosen is None:
            allowed = ", ".join(o.key for o in engine.outcomes_for(spec, state))
            raise ValidationError({"outcome": _l("Pilihan %(outcome)s tidak tersedia di langkah "
                                                 "ini (tersedia: %(allowed)s).",
                                                 outcome=repr(outcome), allowed=allowed)})
        if chosen.note_required and not (note or "").strip():
            raise ValidationError({"note": _l("Alasan wajib diisi.")})
        data = _clean_verdicts(spec, step, application, verdicts, chosen)
        forward = chosen.effect is Effect.FORWARD
        by_official = task.assignee_id is None and task.kind != "correction"
        problems: dict[str, object] = {}
        if step.record and forward:
            data["record"], problems = _fields_and_problems(step.record, record or {})
        if by_official:
            # What the official produces here (a recommendation, a scan), screened like the
            # applicant's uploads; told together with the recorded values' problems.
            problems.update(official_upload_problems(spec, step, application.form_data,
                                                     uploads, forward))
        if problems:
            raise ValidationError(problems)
        if uploads and storage is None:
            raise OperationError("storage is required to accept uploads")
        if step.action is ActionKind.HAND_OVER and chosen.effect is Effect.FORWARD:
            # The official confirms the pickup ticket the system issued; nobody types it.
            ticket = issuance.collection_ticket(application)
            if ticket is not None:
                data["ticket"] = {"letter": ticket.id, "number": ticket.number}
        if task.assignee_id is not None or task.kind == "correction":
            # Checked even when nothing came: a correction replaces what the return flagged,
            # and an applicant's step gets the documents it asks for.
            _apply_applicant_changes(application, spec, step, task, form, uploads, storage, user,
                                     now)
        taken = (Task.update(status="done", decided_at=now, decided_by=user, outcome=outcome)
                 .where((Task.id == task.id) & (Task.status == "open")).execute())
        if taken != 1:
            raise AlreadyDecided(Task.get_by_id(task.id))
        if by_official and uploads:
            store_uploads(application, uploads, user, storage, now)
        produced = [key for key, upload in uploads.items()
                    if upload.data and spec.by_official(spec.document(key))]
        if produced:  # which versions this decision brought, shown to every later actor
            data["documents"] = official_upload_ids(application, produced)
        return _apply(task, application, spec, user, position, capacity, outcome, note,
                      data, now, already_taken=True)


def acting_capacity(user: User, task: Task, agency: Agency) -> tuple[Position | None, str | None]:
    """(position, capacity) through which the user may act on the task; else PermissionDenied."""
    if task.assignee_id is not None:
        if task.assignee_id == user.id:
            return None, None
        raise PermissionDenied(_l("Tugas ini bukan milik Anda."))
    today = agency.today()
    for position, capacity in Position.held_by(user, today):
        if position.id == task.position_id:
            return position, capacity
    raise PermissionDenied(_l("Jabatan Anda tidak memegang langkah ini."))


def _apply(task: Task, application: Application, spec: SopSpec, user: User,
           position: Position | None, capacity: str | None, outcome: str, note: str,
           data: dict, now: dt.datetime, already_taken: bool = False) -> Decision:
    if not already_taken:
        Task.update(status="done", decided_at=now, decided_by=user, outcome=outcome).where(
            Task.id == task.id).execute()
    transition = engine.advance(spec, application.file_state(), outcome, application.form_data)
    decision = Decision.create(
        application=application, task=task, step_key=task.step_key, outcome=outcome,
        effect=transition.outcome.effect.value, actor=user, position=position,
        capacity=capacity, note=(note or "").strip(), data=data, decided_at=now)
    if transition.outcome.effect is Effect.FORWARD and spec.letters_issued_at(task.step_key):
        # Issued before the step counts as done; a failure rolls the whole decision back.
        try:
            issuance.issue_letters(application, spec, spec.step(task.step_key), user, position,
                                   capacity, now)
        except issuance.LetterError as exc:
            raise OperationError(exc.args[0] if exc.args else str(exc)) from None
    after = transition.after
    application.status = after.status.value
    application.current_step = after.step
    application.resume_at = after.resume_at
    if after.status.final:
        application.closed_at = now
    application.save()
    audit.record(user, f"decision.{transition.outcome.effect.value}", application,
                 step=task.step_key, outcome=outcome, capacity=capacity,
                 to=after.step, skipped=list(transition.skipped))
    if after.status is engine.FileStatus.COMPLETED:
        notify.application_completed(application)
    elif after.status is engine.FileStatus.REJECTED:
        notify.application_rejected(application, decision)
    else:
        resumed_from = None
        if transition.resumed:
            resumed_from = _returned_task(application, after.step)
        task = _open_task(application, spec, after, now,
                          kind="correction" if transition.returned else "step",
                          resumed_from=resumed_from)
        notify.task_opened(task, application, decision if transition.returned else None)
    return decision


def _returned_task(application: Application | int, step_key: str,
                   before: int | None = None) -> Task | None:
    """The task whose return sent the file back, if the file now resumes at that same step
    (``before``: for the task of that id, which resumed the file)."""
    query = (Task.select().join(Decision, on=(Decision.task == Task.id))
             .where((Task.application == application) & (Task.step_key == step_key)
                    & (Decision.effect == Effect.RETURN.value)))
    if before is not None:
        query = query.where(Task.id < before)
    return query.order_by(Task.id.desc()).first()


def _open_task(application: Application, spec: SopSpec, state: engine.FileState,
               now: dt.datetime, kind: str = "step", resumed_from: Task | None = None) -> Task:
    step = spec.step(state.step)
    _actor_key, acting_key = engine.actor_of(spec, step.key)
    acting = spec.actor(acting_key)
    position = assignee = None
    if acting.kind is ActorKind.APPLICANT:
        assignee = application.applicant
    else:
        code = acting.office or spec.agency
        position = (Position.select().join(Agency)
                    .where((Agency.code == code) & (Position.key == acting.key)).first())
        if position is None:
            raise OperationError(_l("Jabatan %(title)s (%(key)s) belum diatur di %(agency)s.",
                                    title=acting.title, key=acting.key, agency=code))
    due = _due_time(application.agency.calendar(), application, step, kind, now, resumed_from)
    task = Task.create(application=application, step_key=step.key, actor_key=acting.key,
                       position=position, assignee=assignee, kind=kind, status="open",
                       opened_at=now, clock_started_at=now, due_at=due)
    return task


def _due_time(calendar, application: Application, step: StepSpec, kind: str,
              start: dt.datetime, resumed_from: Task | None = None,
              resumed_due: dt.datetime | None = None) -> dt.datetime | None:
    """The one rule for a task's due time, when it opens and when the calendar changes
    (``resumed_due``: the earlier task's due time recounted on this calendar)."""
    if resumed_from is not None and resumed_from.due_at is not None and step.time is not None:
        # The clock of the step that returned the file resumes where it stopped.
        return calendar.resume_due(resumed_from.clock_started_at,
                                   resumed_due or resumed_from.due_at,
                                   resumed_from.decided_at, start, step.time)
    if step.until_field:
        return _end_of_date(calendar, application.form_data.get(step.until_field))
    if step.time is not None and not (kind == "correction" and step.time.amount == 0):
        return calendar.due(start, step.time)
    return None


def retime_open_tasks(actor: User | None, agency: Agency, since: dt.date | None = None,
                      cause: str = "") -> list[int]:
    """Recount the due times of the agency's open tasks on its calendar as it is now (its
    days off changed), in the caller's transaction; returns the ids of the tasks whose due
    time moved, audited in one event with their count.

    Only tasks counted in office time move: a due date taken from the form (``until``),
    calendar time (days, months) and steps without a standard time are left alone. Each
    due time is recounted from the task's clock start; a clock resumed after a correction
    is recounted from the earlier task of its step, whose office time used before the
    return is recounted on this calendar too. ``since``: only tasks due on or after this
    local date can move (the day that changed).
    """
    calendar = agency.calendar()
    query = (Task.select(Task, Application).join(Application)
             .where((Task.status == "open") & (Application.agency == agency)
                    & Task.due_at.is_null(False)))
    if since is not None:
        first = dt.datetime.combine(since, dt.time(0), tzinfo=calendar.tzinfo())
        query = query.where(Task.due_at >= first.astimezone(dt.UTC))
    moved: list[int] = []
    for task in query.order_by(Task.id):
        spec = task.application.sop.spec
        step = spec.step(task.step_key)
        if step.until_field or step.time is None or not Unit(step.time.unit).office_time:
            continue
        due = _recounted_due(calendar, task, step)
        if due is not None and due != task.due_at:
            Task.update(due_at=due).where((Task.id == task.id)
                                          & (Task.status == "open")).execute()
            moved.append(task.id)
    if moved:
        audit.record(actor, "tasks.retimed", agency, agency=agency.code, count=len(moved),
                     tasks=moved, cause=cause)
    return moved


def _recounted_due(calendar, task: Task, step: StepSpec) -> dt.datetime | None:
    """The task's due time as if the calendar had always been this one."""
    resumed_from = None
    previous = (Task.select(Task.id, Task.kind).where((Task.application == task.application_id)
                                                      & (Task.id < task.id))
                .order_by(Task.id.desc()).first())
    if previous is not None and previous.kind == "correction":
        # The correction's decision opened this task: the file resumed here.
        resumed_from = _returned_task(task.application_id, task.step_key, before=task.id)
    resumed_due = None
    if resumed_from is not None and resumed_from.due_at is not None:
        resumed_due = _recounted_due(calendar, resumed_from, step)
    return _due_time(calendar, task.application, step, task.kind, task.clock_started_at,
                     resumed_from, resumed_due)


def _end_of_date(calendar, value) -> dt.datetime | None:
    try:
        day = dt.date.fromisoformat(str(value))
    except ValueError:
        return None
    local_end = dt.datetime.combine(day, dt.time(23, 59), tzinfo=calendar.tzinfo())
    return local_end.astimezone(dt.UTC)


class EmailNotConfirmed(PermissionDenied):
    """An applicant submits before confirming the e-mail address (a draft may be kept)."""


def _ensure_may_open(user: User, spec: SopSpec, agency: Agency, drafting: bool = False) -> None:
    initiator = spec.initiator
    if initiator.kind is ActorKind.APPLICANT:
        # Every applicant confirms their e-mail before submitting, whatever the SOP says:
        # notices go there. A draft may be kept before: the work is not lost meanwhile.
        if user.email_verified_at is None and not drafting:
            raise EmailNotConfirmed(_l("Konfirmasi alamat e-mail Anda terlebih dahulu."))
        if needs_approval(spec, agency) and AccountApproval.status_of(user, agency) != "approved":
            raise PermissionDenied(_l("Akun Anda belum disetujui oleh %(agency)s.",
                                      agency=agency.name))
        return
    today = agency.today()
    code = initiator.office or spec.agency
    for position, _capacity in Position.held_by(user, today):
        if position.key == initiator.key and position.agency.code == code:
            return
    raise PermissionDenied(_l("Hanya %(title)s yang dapat memulai berkas ini.",
                              title=initiator.title))


def _fields_and_problems(fields, form: Mapping[str, Any]) -> tuple[dict[str, str],
                                                                   dict[str, object]]:
    """The values of the fields that apply, and each field's problem (none raised)."""
    raw = {k: str(v).strip() for k, v in (form or {}).items() if v is not None}
    clean: dict[str, str] = {}
    errors: dict[str, object] = {}
    for field in fields:
        if not field.applies(raw):
            continue
        value = raw.get(field.key, "")
        if not value:
            if field.required:
                errors[field.key] = _l("%(label)s wajib diisi.", label=field.label)
            continue
        if field.type in ("nik", "phone", "number"):
            value = ascii_digits(value)  # the same number typed on another keyboard
        problem = _field_problem(field.type, value, field.choices)
        if problem:
            errors[field.key] = problem
        clean[field.key] = value
    for field in fields:  # a date that may not precede another (an end after its start)
        if field.not_before and field.key in clean and field.not_before in clean \
                and field.key not in errors and field.not_before not in errors:
            problem = date_range_problem(dt.date.fromisoformat(clean[field.not_before]),
                                         dt.date.fromisoformat(clean[field.key]))
            if problem:
                errors[field.key] = problem
    return clean, errors


# The longest value of each field type (a typed text, the longest a form's free text).
_FIELD_MAX = {"textarea": TEXT_MAX, "text": NAME_MAX * 2}


def _field_problem(kind: str, value: str, choices) -> LazyText | None:
    if problem := length_problem(value, _FIELD_MAX.get(kind, NAME_MAX)):
        return problem
    if kind == "choice" and value not in {v for v, _ in choices}:
        return _l("Pilih salah satu pilihan yang tersedia.")
    if kind == "date":
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            return _l("Tanggal tidak valid (format TTTT-BB-HH).")
    if kind == "number" and not re.fullmatch(r"-?[0-9]+([.,][0-9]+)?", value):
        return _l("Isi dengan angka.")
    if kind == "email":
        return email_problem(value)
    if kind == "nik" and not re.fullmatch(r"[0-9]{16}", value):
        return _l("NIK terdiri dari 16 angka.")
    if kind == "phone" and not re.fullmatch(r"\+?[0-9 -]{8,20}", value):
        return _l("Nomor telepon tidak valid.")
    return None


def _apply_applicant_changes(application: Application, spec: SopSpec, step: StepSpec,
                             task: Task, form, uploads, storage: Storage | None, user: User,
                             now: dt.datetime) -> None:
    """Corrections and later uploads by the applicant, checked like the first submission;
    a correction replaces every document the return flagged incomplete (each one missing
    is named), and may change only the form when the return flagged none."""
    if uploads and storage is None:
        raise OperationError("storage is required to accept uploads")
    merged = dict(application.form_data)
    errors: dict[str, object] = {}
    if form is not None:
        merged, errors = _fields_and_problems(spec.fields, {**merged, **form})
    must_replace = failed_documents(application) if task.kind == "correction" else frozenset()
    latest = Document.latest_for(application)
    errors.update(upload_problems(spec, step, merged, uploads, latest, must_replace))
    if errors:
        raise ValidationError(errors)
    if merged != application.form_data:
        application.form_data = merged
        application.save()
        audit.record(user, "application.corrected", application, fields=sorted(form or {}))
    if uploads:
        store_uploads(application, uploads, user, storage, now)


def _clean_verdicts(spec: SopSpec, step: StepSpec, application: Application, verdicts,
                    chosen) -> dict:
    """Per-document verdicts of a checking step: known documents only, each judged
    ``complete`` True or False (None: not judged yet); a forward needs every document the
    step checks judged, and all complete."""
    allowed = set(step.documents) or {d.key for d in spec.documents}
    errors: dict[str, object] = {}
    clean = {}
    for key, verdict in (verdicts or {}).items():
        if key not in allowed:
            errors[key] = _l("Dokumen ini tidak diperiksa di langkah ini.")
            continue
        if verdict.get("complete") is None:
            continue
        complete = bool(verdict.get("complete"))
        note = str(verdict.get("note") or "").strip()
        if not complete and not note:
            errors[key] = _l("Sebutkan apa yang kurang.")
        clean[key] = {"complete": complete, "note": note}
    if chosen.effect is Effect.FORWARD:
        for doc in judged_documents(spec, step, application.form_data):
            if doc.key not in clean and doc.key not in errors:
                errors[doc.key] = _l("%(label)s belum diperiksa: pilih lengkap atau tidak "
                                     "lengkap.", label=doc.label)
        if any(not v["complete"] for v in clean.values()):
            errors["outcome"] = _l("Ada dokumen yang belum lengkap: kembalikan berkas untuk "
                                   "perbaikan.")
    if errors:
        raise ValidationError(errors)
    return {"verdicts": clean} if clean else {}
