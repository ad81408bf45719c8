"""Every state change of the portal, one transaction each: guard, transition, decision, audit.

The CLI, the views and the tests all call these functions; nothing else writes state.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from peewee import IntegrityError

from portal import audit, letters, notify
from portal.models import (
    CALENDAR_TTL,
    AccountApproval,
    Agency,
    Application,
    Assignment,
    Decision,
    Document,
    Position,
    SopVersion,
    Task,
    User,
    db,
    kept,
    utcnow,
)
from portal.numbering import next_value
from portal.previews import make_previews
from portal.settings import settings
from portal.sop import engine
from portal.sop.registry import sha256_hex, spec_from_source
from portal.sop.spec import (
    ActionKind,
    ActorKind,
    DocumentSpec,
    Effect,
    SopError,
    SopSpec,
    StepSpec,
)
from portal.storage import Storage

__all__ = [
    "AlreadyDecided", "NotFound", "OperationError", "PermissionDenied", "Upload", "ValidationError",
    "acting_capacity", "approvers", "may_approve", "decide", "decide_approval", "import_sop",
    "needs_approval", "register_applicant", "request_approval", "request_password_reset",
    "own_draft", "reset_password", "save_draft", "set_language", "submit_application",
    "verify_email",
]


class OperationError(Exception):
    """An action that cannot be done; the message is fit to show to the user."""


class NotFound(OperationError):
    """The thing does not exist (or the user may not know that it does)."""


class PermissionDenied(OperationError):
    """The user may not do this."""


class ValidationError(OperationError):
    """Bad input; ``errors`` maps each field or document key to its message."""

    def __init__(self, errors: Mapping[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


class AlreadyDecided(OperationError):
    """Someone decided this task first; nothing was changed."""

    def __init__(self, task: Task):
        self.task = task
        who = task.decided_by.name if task.decided_by_id else "someone"
        when = task.decided_at.strftime("%Y-%m-%d %H:%M UTC") if task.decided_at else "earlier"
        super().__init__(f"already decided by {who} at {when}; nothing was changed")


@dataclass(frozen=True)
class Upload:
    """A file as received: its name, the media type the client claimed, and the bytes."""

    filename: str
    data: bytes
    media_type: str = ""


# ---------------------------------------------------------------------------------------------
# Accounts

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def register_applicant(email: str, name: str, password: str, phone: str | None = None,
                       language: str = "id") -> User:
    """Create an applicant account (not yet verified, not yet approved) that receives its
    e-mails, the confirmation link first, in ``language`` (a code the caller checked)."""
    email = (email or "").strip().lower()
    errors = {}
    if not _EMAIL.match(email):
        errors["email"] = "Alamat e-mail tidak valid."
    if not (name or "").strip():
        errors["name"] = "Nama wajib diisi."
    elif len(name.strip()) > 200:
        errors["name"] = "Nama terlalu panjang (maksimal 200 karakter)."
    if len(password or "") < 10:
        errors["password"] = "Kata sandi minimal 10 karakter."
    if errors:
        raise ValidationError(errors)
    with db.atomic():
        if User.by_email(email):
            raise ValidationError({"email": "Alamat e-mail ini sudah terdaftar."})
        try:
            user = User.create(email=email, name=name.strip(), phone=phone, language=language,
                               password_hash=settings.hash_password(password))
        except IntegrityError:
            raise ValidationError({"email": "Alamat e-mail ini sudah terdaftar."}) from None
        audit.record(user, "account.registered", user)
        notify.account_verify(user)
    return user


def verify_email(user: User) -> User:
    """Mark the user's e-mail address as confirmed (idempotent)."""
    with db.atomic():
        if user.email_verified_at is None:
            user.email_verified_at = utcnow()
            user.save()
            audit.record(user, "account.email_verified", user)
    return user


def set_language(user: User, language: str) -> User:
    """Remember the language a person chose (a code the caller checked): their next e-mails
    are written in it. Choosing the language they already have changes nothing."""
    if user.language == language:
        return user
    with db.atomic():
        User.update(language=language).where(User.id == user.id).execute()
        user.language = language
        audit.record(user, "account.language", user, language=language)
    return user


def request_password_reset(email: str) -> None:
    """E-mail a reset link if the address has an account; say nothing either way."""
    user = User.by_email(email or "")
    if user is None or not user.active:
        return
    with db.atomic():
        notify.password_reset(user)
        audit.record(user, "account.password_reset_requested", user)


def reset_password(user: User, password: str) -> User:
    """Set a new password (the reset link stops working, other sessions end)."""
    if len(password or "") < 10:
        raise ValidationError({"password": "Kata sandi minimal 10 karakter."})
    with db.atomic():
        user.password_hash = settings.hash_password(password)
        if user.email_verified_at is None:
            user.email_verified_at = utcnow()  # the link proved the address
        user.save()
        audit.record(user, "account.password_reset", user)
    return user


def request_approval(user: User, agency: Agency) -> AccountApproval:
    """Ask an agency to approve the account (idempotent); its approvers are told."""
    with db.atomic():
        approval = AccountApproval.get_or_none((AccountApproval.user == user)
                                               & (AccountApproval.agency == agency))
        if approval is not None and approval.status != "declined":
            return approval
        if approval is None:
            approval = AccountApproval.create(user=user, agency=agency)
        else:
            approval.status, approval.requested_at, approval.reason = "pending", utcnow(), ""
            approval.save()
        audit.record(user, "account.approval_requested", approval, agency=agency.code)
        notify.approval_requested(approval, approvers(agency))
    return approval


def approvers(agency: Agency) -> list[User]:
    """Who may approve accounts for an agency: its administrators and the holders of the
    positions its SOPs name to activate accounts."""
    users = {u.id: u for u in User.select().where((User.agency == agency)
                                                  & User.is_agency_admin & User.active)}
    today = agency.calendar().local(utcnow()).date()
    for code, key in _activating_positions(fresh=True):
        if code != agency.code:
            continue
        position = Position.get_or_none((Position.agency == agency) & (Position.key == key))
        if position is not None:
            users.update({u.id: u for u, _c in Assignment.holders(position, today)})
    return list(users.values())


def may_approve(user: User) -> bool:
    """Whether the user may approve applicant accounts for their agency (cheap: for menus)."""
    if not user.agency_id:
        return False
    if user.is_agency_admin:
        return True
    code = Agency.cached(user.agency_id).code
    pairs = {key for agency_code, key in _activating_positions() if agency_code == code}
    if not pairs:
        return False
    from portal.access import positions_today

    return any(p.key in pairs and p.agency_id == user.agency_id
               for p, _c in positions_today(user))


def decide_approval(approver: User, approval: AccountApproval, approve: bool,
                    reason: str = "") -> AccountApproval:
    """Approve or decline an account for an agency; the applicant is told."""
    with db.atomic():
        if approver.id not in {u.id for u in approvers(approval.agency)}:
            raise PermissionDenied("Anda tidak berwenang menyetujui akun untuk instansi ini.")
        if not approve and not (reason or "").strip():
            raise ValidationError({"reason": "Sebutkan alasan penolakan."})
        taken = (AccountApproval.update(status="approved" if approve else "declined",
                                        decided_at=utcnow(), decided_by=approver,
                                        reason=(reason or "").strip())
                 .where((AccountApproval.id == approval.id)
                        & (AccountApproval.status == "pending")).execute())
        if taken != 1:  # decided by someone else in the meantime, or not pending
            raise OperationError("Permintaan ini sudah diputuskan; muat ulang halaman.")
        approval = AccountApproval.get_by_id(approval.id)
        audit.record(approver, f"account.{approval.status}", approval,
                     agency=approval.agency.code)
        notify.approval_decided(approval)
    return approval


def _activating_positions(fresh: bool = False) -> frozenset[tuple[str, str]]:
    """(agency code, position key) pairs that activate accounts in any active SOP.

    Kept per process for a minute (changing the catalogue here forgets it at once);
    ``fresh`` asks the database, as deciding who may approve does.
    """
    found = kept("catalogue").get("activating")
    if not fresh and found is not None and found[0] > time.monotonic():
        return found[1]
    pairs = set()
    for version in SopVersion.catalogue():
        spec = version.spec
        for step in spec.account_steps:
            if step.action is ActionKind.ACTIVATE:
                actor = spec.actor(step.actor)
                pairs.add((actor.office or spec.agency, actor.key))
    kept("catalogue")["activating"] = (time.monotonic() + CALENDAR_TTL, frozenset(pairs))
    return frozenset(pairs)


def needs_approval(spec: SopSpec, agency: Agency) -> bool:
    """Whether applying for this SOP needs the agency's approval of the account."""
    return spec.requires_account_approval or agency.requires_account_approval


# ---------------------------------------------------------------------------------------------
# SOPs


def import_sop(text: str, filename: str = "<upload>", actor: User | None = None) -> SopVersion:
    """Validate and store an SOP version; the newest active version serves new files.

    Importing the same source again returns the stored version unchanged.
    """
    try:
        spec = spec_from_source(text, sha256_hex(text))
    except SopError as exc:  # name the file the user gave, not the cache key
        raise SopError(filename, exc.issues) from None
    with db.atomic():
        agency = Agency.get_or_none(Agency.code == spec.agency)
        if agency is None:
            raise OperationError(f"{filename}: agency {spec.agency!r} is not set up in the portal")
        existing = SopVersion.get_or_none((SopVersion.code == spec.code)
                                          & (SopVersion.version == spec.version))
        if existing is not None:
            if existing.sha256 == spec.source_sha256:
                return existing
            raise OperationError(f"{filename}: {spec.code} version {spec.version} already exists "
                                 "with other content; raise the version number")
        latest = SopVersion.current(spec.code)
        if latest is not None and latest.version > spec.version:
            raise OperationError(f"{filename}: version {spec.version} is older than the current "
                                 f"version {latest.version}")
        _check_positions(spec, filename)
        version = SopVersion.create(agency=agency, code=spec.code, version=spec.version,
                                    title=spec.title, source=text, sha256=spec.source_sha256)
        # One version serves new files; files under way keep the version they started with.
        for other in SopVersion.select().where((SopVersion.code == spec.code)
                                               & (SopVersion.id != version.id)
                                               & SopVersion.active):
            other.active = False
            other.save()
            audit.record(actor, "sop.deactivated", other, code=other.code,
                         version=other.version, reason="superseded",
                         by_version=version.version)
        audit.record(actor, "sop.imported", version, code=spec.code, version=spec.version)
    catalogue_changed()
    return version


def catalogue_changed() -> None:
    """After SOP versions were imported, activated or deactivated: this process's menus
    follow at once, other processes within the minute."""
    kept("catalogue").clear()


def _check_positions(spec: SopSpec, filename: str) -> None:
    """Every position actor must exist in its agency, or no one could ever act for it."""
    missing = []
    for actor in spec.actors:
        if actor.kind is not ActorKind.POSITION:
            continue
        code = actor.office or spec.agency
        agency = Agency.get_or_none(Agency.code == code)
        if agency is None or not Position.select().where(
                (Position.agency == agency) & (Position.key == actor.key)).exists():
            missing.append(f"{actor.key} ({actor.title}) in {code}")
    if missing:
        raise OperationError(f"{filename}: positions not set up: {', '.join(missing)}")


# ---------------------------------------------------------------------------------------------
# Files


def save_draft(user: User, sop_code: str, form: Mapping[str, Any],
               uploads: Mapping[str, Upload], storage: Storage, draft_id: int | None = None,
               now: dt.datetime | None = None) -> tuple[Application, dict[str, str]]:
    """Keep what the applicant entered and uploaded so far, unchecked except the files.

    Good files are stored even when others are refused: nothing already uploaded is lost.
    Returns the draft and the per-document problems of the refused files.
    """
    now = now or utcnow()
    version = SopVersion.current(sop_code)
    if version is None:
        raise NotFound(f"Layanan {sop_code!r} tidak ditemukan.")
    spec = version.spec
    known = {f.key for f in spec.fields}
    values = {k: str(v).strip()[:2000] for k, v in (form or {}).items() if k in known}
    good, errors = _screen_uploads(spec, uploads)
    with db.atomic():
        _ensure_may_open(user, spec, version.agency)
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
        _store_uploads(draft, good, user, storage, now)
        audit.record(user, "application.draft_saved", draft, documents=sorted(good))
    return draft, errors


def own_draft(user: User, draft_id: int) -> Application:
    """The user's draft; NotFound for anything else (another's file, a submitted one)."""
    draft = Application.get_or_none((Application.id == draft_id)
                                    & (Application.applicant == user)
                                    & (Application.status == "draft"))
    if draft is None:
        raise NotFound("Draf tidak ditemukan.")
    return draft


def _screen_uploads(spec: SopSpec, uploads: Mapping[str, Upload]):
    known = {d.key: d for d in spec.documents}
    good, errors = {}, {}
    for key, upload in (uploads or {}).items():
        if not upload.data:
            continue
        doc = known.get(key)
        if doc is None:
            errors[key] = "Dokumen ini tidak diminta."
        elif len(upload.data) > doc.max_size_mb * 1024 * 1024:
            errors[key] = f"{doc.label} melebihi {doc.max_size_mb} MB."
        elif _sniff(upload.data, doc.media_types) is None:
            errors[key] = f"{doc.label} harus berupa berkas {', '.join(doc.media).upper()}."
        else:
            good[key] = upload
    return good, errors


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
                raise PermissionDenied("Kunci pengiriman ini milik pengguna lain.")
            return earlier
    version = SopVersion.current(sop_code)
    if version is None:
        raise NotFound(f"Layanan {sop_code!r} tidak ditemukan.")
    spec = version.spec
    opening = spec.application_steps[0]
    with db.atomic():
        agency = version.agency
        _ensure_may_open(user, spec, agency)
        draft = own_draft(user, draft_id) if draft_id is not None else None
        existing = Document.latest_for(draft) if draft is not None else {}
        clean = _clean_form(spec, form)
        _check_uploads(spec, opening, clean, uploads, existing)
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
                        raise OperationError("Permohonan ini sudah dikirim; muat ulang halaman.")
                    application = Application.get_by_id(draft.id)
        except IntegrityError:
            # The same submission_key won a race with us: that request made the file.
            raise OperationError("Permohonan ini sudah dikirim; muat ulang halaman.") from None
        year = agency.calendar().local(now).year
        seq = next_value(agency.code, "registration", year)
        application.registration_number = f"{agency.code.upper()}/REG/{year}/{seq:05d}"
        application.save()
        _store_uploads(application, uploads, user, storage, now)
        audit.record(user, "application.submitted", application, sop=spec.code,
                     version=spec.version, registration_number=application.registration_number)
        notify.application_received(application)
        task = _open_task(application, spec, engine.open_file(spec), now)
        outcome = next(o for o in opening.outcomes if o.effect is Effect.FORWARD)
        _apply(task, application, spec, user, None, None, outcome.key, "", {}, now)
    return application


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
    with db.atomic():
        task = Task.get_or_none(Task.id == task_id)
        if task is None:
            raise NotFound("Tugas tidak ditemukan.")
        application = task.application
        spec = application.sop.spec
        position, capacity = acting_capacity(user, task, application.agency)
        if task.status != "open":
            raise AlreadyDecided(task)
        step = spec.step(task.step_key)
        state = application.file_state()
        if state.step != task.step_key:
            raise OperationError("Halaman ini sudah usang; muat ulang.")
        chosen = next((o for o in engine.outcomes_for(spec, state) if o.key == outcome), None)
        if chosen is None:
            allowed = ", ".join(o.key for o in engine.outcomes_for(spec, state))
            raise ValidationError({"outcome": f"Pilihan {outcome!r} tidak tersedia di langkah "
                                   f"ini (tersedia: {allowed})."})
        if chosen.note_required and not (note or "").strip():
            raise ValidationError({"note": "Alasan wajib diisi."})
        data = _clean_verdicts(spec, step, application, verdicts, chosen)
        if step.record and chosen.effect is Effect.FORWARD:
            data["record"] = _clean_fields(step.record, record or {})
        if (task.assignee_id is not None or task.kind == "correction") \
                and (form is not None or uploads):
            _apply_applicant_changes(application, spec, step, task, form, uploads, storage, user,
                                     now)
        taken = (Task.update(status="done", decided_at=now, decided_by=user, outcome=outcome)
                 .where((Task.id == task.id) & (Task.status == "open")).execute())
        if taken != 1:
            raise AlreadyDecided(Task.get_by_id(task.id))
        return _apply(task, application, spec, user, position, capacity, outcome, note,
                      data, now, already_taken=True)


def acting_capacity(user: User, task: Task, agency: Agency) -> tuple[Position | None, str | None]:
    """(position, capacity) through which the user may act on the task; else PermissionDenied."""
    if task.assignee_id is not None:
        if task.assignee_id == user.id:
            return None, None
        raise PermissionDenied("Tugas ini bukan milik Anda.")
    today = agency.calendar().local(utcnow()).date()
    for position, capacity in Position.held_by(user, today):
        if position.id == task.position_id:
            return position, capacity
    raise PermissionDenied("Jabatan Anda tidak memegang langkah ini.")


# ---------------------------------------------------------------------------------------------
# Internals


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
            letters.issue_letters(application, spec, spec.step(task.step_key), user, position,
                                  capacity, now)
        except letters.LetterError as exc:
            raise OperationError(str(exc)) from None
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


def _returned_task(application: Application, step_key: str) -> Task | None:
    """The task whose return sent the file back, if the file now resumes at that same step."""
    return (Task.select().join(Decision, on=(Decision.task == Task.id))
            .where((Task.application == application) & (Task.step_key == step_key)
                   & (Decision.effect == Effect.RETURN.value))
            .order_by(Task.id.desc()).first())


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
            raise OperationError(f"Jabatan {acting.title} ({acting.key}) belum diatur di {code}.")
    calendar = application.agency.calendar()
    if resumed_from is not None and resumed_from.due_at is not None and step.time is not None:
        # The clock of the step that returned the file resumes where it stopped.
        due = calendar.resume_due(resumed_from.clock_started_at, resumed_from.due_at,
                                  resumed_from.decided_at, now, step.time)
    elif step.until_field:
        due = _end_of_date(calendar, application.form_data.get(step.until_field))
    elif step.time is not None and not (kind == "correction" and step.time.amount == 0):
        due = calendar.due(now, step.time)
    else:
        due = None
    task = Task.create(application=application, step_key=step.key, actor_key=acting.key,
                       position=position, assignee=assignee, kind=kind, status="open",
                       opened_at=now, clock_started_at=now, due_at=due)
    return task


def _end_of_date(calendar, value) -> dt.datetime | None:
    try:
        day = dt.date.fromisoformat(str(value))
    except ValueError:
        return None
    local_end = dt.datetime.combine(day, dt.time(23, 59), tzinfo=calendar.tzinfo())
    return local_end.astimezone(dt.UTC)


def _ensure_may_open(user: User, spec: SopSpec, agency: Agency) -> None:
    initiator = spec.initiator
    if initiator.kind is ActorKind.APPLICANT:
        # Every applicant confirms their e-mail, whatever the SOP says: notices go there.
        if user.email_verified_at is None:
            raise PermissionDenied("Konfirmasi alamat e-mail Anda terlebih dahulu.")
        if needs_approval(spec, agency) and AccountApproval.status_of(user, agency) != "approved":
            raise PermissionDenied(f"Akun Anda belum disetujui oleh {agency.name}.")
        return
    today = agency.calendar().local(utcnow()).date()
    code = initiator.office or spec.agency
    for position, _capacity in Position.held_by(user, today):
        if position.key == initiator.key and position.agency.code == code:
            return
    raise PermissionDenied(f"Hanya {initiator.title} yang dapat memulai berkas ini.")


def _clean_form(spec: SopSpec, form: Mapping[str, Any]) -> dict[str, str]:
    """Keep the fields that apply, checked; raises ValidationError listing every problem."""
    return _clean_fields(spec.fields, form)


def _clean_fields(fields, form: Mapping[str, Any]) -> dict[str, str]:
    raw = {k: str(v).strip() for k, v in (form or {}).items() if v is not None}
    clean: dict[str, str] = {}
    errors: dict[str, str] = {}
    for field in fields:
        if not field.applies(raw):
            continue
        value = raw.get(field.key, "")
        if not value:
            if field.required:
                errors[field.key] = f"{field.label} wajib diisi."
            continue
        problem = _field_problem(field.type, value, field.choices)
        if problem:
            errors[field.key] = problem
        clean[field.key] = value
    if errors:
        raise ValidationError(errors)
    return clean


def _field_problem(kind: str, value: str, choices) -> str | None:
    if kind == "choice" and value not in {v for v, _ in choices}:
        return "Pilih salah satu pilihan yang tersedia."
    if kind == "date":
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            return "Tanggal tidak valid (format TTTT-BB-HH)."
    if kind == "number" and not re.fullmatch(r"-?\d+([.,]\d+)?", value):
        return "Isi dengan angka."
    if kind == "email" and not _EMAIL.match(value):
        return "Alamat e-mail tidak valid."
    if kind == "nik" and not re.fullmatch(r"\d{16}", value):
        return "NIK terdiri dari 16 angka."
    if kind == "phone" and not re.fullmatch(r"\+?[\d\s-]{8,20}", value):
        return "Nomor telepon tidak valid."
    return None


_MAGIC = {
    "application/pdf": (b"%PDF-",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
}
_ZIP = b"PK\x03\x04"


def _sniff(data: bytes, allowed: tuple[str, ...]) -> str | None:
    """The media type the bytes really are, among the allowed ones (clients can lie)."""
    for media_type in allowed:
        prefixes = _MAGIC.get(media_type, (_ZIP,))
        if any(data.startswith(p) for p in prefixes):
            return media_type
    return None


def _documents_for_step(spec: SopSpec, step: StepSpec, form) -> list[DocumentSpec]:
    opening = spec.application_steps[0].key
    return [d for d in spec.documents
            if (d.step or opening) == step.key and d.applies(form)]


def _check_uploads(spec: SopSpec, step: StepSpec, form, uploads: Mapping[str, Upload],
                   existing: Mapping[str, Document], must_replace=frozenset()) -> None:
    errors: dict[str, str] = {}
    wanted = {d.key: d for d in _documents_for_step(spec, step, form)}
    for key in uploads:
        if key not in wanted:
            errors[key] = "Dokumen ini tidak diminta pada langkah ini."
    for key, doc in wanted.items():
        upload = uploads.get(key)
        if upload is None or not upload.data:
            if doc.required and key not in existing:
                errors[key] = f"{doc.label} wajib diunggah."
            elif key in must_replace:
                errors[key] = f"{doc.label} dikembalikan untuk perbaikan: unggah versi baru."
            continue
        if len(upload.data) > doc.max_size_mb * 1024 * 1024:
            errors[key] = f"{doc.label} melebihi {doc.max_size_mb} MB."
        elif _sniff(upload.data, doc.media_types) is None:
            errors[key] = f"{doc.label} harus berupa berkas {', '.join(doc.media).upper()}."
    if errors:
        raise ValidationError(errors)


def _store_uploads(application: Application, uploads: Mapping[str, Upload], user: User,
                   storage: Storage, now: dt.datetime) -> None:
    spec = application.sop.spec
    known = {d.key: d for d in spec.documents}
    latest = Document.latest_for(application)
    for key, upload in uploads.items():
        if not upload.data:
            continue
        key_, digest = storage.put(upload.data)
        media_type = _sniff(upload.data, known[key].media_types)
        version = latest[key].version + 1 if key in latest else 1
        previews = [storage.put(image)[0] for image in make_previews(upload.data, media_type)]
        document = Document.create(
            application=application, requirement=key, version=version,
            filename=_safe_name(upload.filename), media_type=media_type, size=len(upload.data),
            sha256=digest, storage_key=key_, uploaded_by=user, uploaded_at=now,
            previews=previews)
        audit.record(user, "document.uploaded", document, requirement=key, version=version,
                     sha256=digest)


def _safe_name(filename: str) -> str:
    name = re.sub(r"[^\w.\- ]+", "_", (filename or "dokumen").rsplit("/", 1)[-1]).strip()
    return name[:120] or "dokumen"


def _apply_applicant_changes(application: Application, spec: SopSpec, step: StepSpec,
                             task: Task, form, uploads, storage: Storage | None, user: User,
                             now: dt.datetime) -> None:
    """Corrections and later uploads by the applicant, checked like the first submission."""
    if uploads and storage is None:
        raise OperationError("storage is required to accept uploads")
    merged = dict(application.form_data)
    if form is not None:
        merged = _clean_form(spec, {**merged, **form})
    must_replace = frozenset()
    if task.kind == "correction":
        must_replace = _failed_documents(application)
    latest = Document.latest_for(application)
    _check_uploads(spec, step, merged, uploads, latest, must_replace)
    if merged != application.form_data:
        application.form_data = merged
        application.save()
        audit.record(user, "application.corrected", application, fields=sorted(form or {}))
    if uploads:
        _store_uploads(application, uploads, user, storage, now)


def _failed_documents(application: Application) -> frozenset[str]:
    """Documents judged not complete by the decision that returned the file."""
    last = (Decision.select().where((Decision.application == application)
                                    & (Decision.effect == Effect.RETURN.value))
            .order_by(Decision.id.desc()).first())
    if last is None:
        return frozenset()
    verdicts = (last.data or {}).get("verdicts", {})
    return frozenset(k for k, v in verdicts.items() if not v.get("complete", True))


def _clean_verdicts(spec: SopSpec, step: StepSpec, application: Application, verdicts,
                    chosen) -> dict:
    """Per-document verdicts of a checking step: known documents only; a forward needs all ok."""
    if not verdicts:
        return {}
    judged = set(step.documents) or {d.key for d in spec.documents}
    errors: dict[str, str] = {}
    clean = {}
    for key, verdict in verdicts.items():
        if key not in judged:
            errors[key] = "Dokumen ini tidak diperiksa di langkah ini."
            continue
        complete = bool(verdict.get("complete"))
        note = str(verdict.get("note") or "").strip()
        if not complete and not note:
            errors[key] = "Sebutkan apa yang kurang."
        clean[key] = {"complete": complete, "note": note}
    if chosen.effect is Effect.FORWARD and any(not v["complete"] for v in clean.values()):
        errors["outcome"] = "Ada dokumen yang belum lengkap: kembalikan berkas untuk perbaikan."
    if errors:
        raise ValidationError(errors)
    return {"verdicts": clean}

