"""The agency administrator's operations: officials, positions, acting officials (Plh/Plt),
SOP versions, days off, account approvals and the outbox.

Each state change is one function taking the acting user: it checks who may act, then
writes inside one transaction with an audit event. An administrator acts on their own
agency only; anything of another agency is "not found", as if it did not exist.
No Flask here: the views, the CLI and the tests call the same functions.
"""

from __future__ import annotations

import datetime as dt
import re

from peewee import JOIN, IntegrityError

from portal import audit, operations, outbox
from portal.models import (
    AccountApproval,
    Agency,
    Application,
    Assignment,
    DayOff,
    OutboxMessage,
    Position,
    SopVersion,
    User,
    db,
    utcnow,
)
from portal.operations import NotFound, OperationError, PermissionDenied, ValidationError
from portal.settings import settings
from portal.sop.spec import SopSpec, load_sop

__all__ = [
    "ACTING", "MIN_PASSWORD", "SOP_MAX_BYTES", "acting_assignments", "add_day_off",
    "admin_agency", "agency_messages", "approval_agency", "assign_acting", "assign_position",
    "create_official", "create_position", "current_assignments", "days_off", "decide_account",
    "end_assignment", "import_sop_version", "may_approve", "officials", "pending_approvals",
    "positions", "remove_day_off", "resend_message", "set_sop_active", "sop_versions", "today",
]

# For a date range: pelaksana harian / pelaksana tugas (acting in the position), or atas nama
# (signing on behalf of it under one's own definitive position).
ACTING = ("plh", "plt", "an")
MIN_PASSWORD = 10
SOP_MAX_BYTES = 512 * 1024
NAME_MAX = 200
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Position keys are what SOP actor keys refer to, so they follow the same shape.
_POSITION_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")


# ---------------------------------------------------------------------------------------------
# Who may act


def admin_agency(actor: User | None) -> Agency:
    """The agency the actor administers; PermissionDenied for anyone else."""
    if actor is None or not actor.active or not actor.is_agency_admin or not actor.agency_id:
        raise PermissionDenied("Halaman ini hanya untuk admin instansi.")
    return actor.agency


def may_approve(actor: User | None) -> bool:
    """Whether the actor may decide account approvals for their own agency."""
    if actor is None or not actor.active or not actor.agency_id:
        return False
    return actor.id in {u.id for u in operations.approvers(actor.agency)}


def approval_agency(actor: User | None) -> Agency:
    """The agency whose accounts the actor approves: an admin, or an activating position."""
    if not may_approve(actor):
        raise PermissionDenied("Anda tidak berwenang menyetujui akun untuk instansi ini.")
    return actor.agency


def today(agency: Agency) -> dt.date:
    """Today's date in the agency's zone (assignment dates are the agency's dates)."""
    return agency.calendar().local(utcnow()).date()


# ---------------------------------------------------------------------------------------------
# Named queries of the admin pages (scoped to one agency)


def pending_approvals(agency: Agency) -> list[AccountApproval]:
    """Accounts waiting for the agency's approval, oldest request first."""
    return list(AccountApproval.select(AccountApproval, User)
                .join(User, on=(AccountApproval.user == User.id))
                .where((AccountApproval.agency == agency)
                       & (AccountApproval.status == "pending"))
                .order_by(AccountApproval.requested_at, AccountApproval.id))


def officials(agency: Agency) -> list[User]:
    """The agency's own accounts (officials and administrators), by name."""
    return list(User.select().where(User.agency == agency).order_by(User.name, User.id))


def positions(agency: Agency) -> list[Position]:
    """The agency's positions, by title."""
    return list(Position.select().where(Position.agency == agency)
                .order_by(Position.title, Position.key))


def _assignments(agency: Agency, on: dt.date):
    return (Assignment.select(Assignment, Position, User)
            .join(Position).switch(Assignment).join(User)
            .where((Position.agency == agency)
                   & (Assignment.ends_on.is_null() | (Assignment.ends_on >= on))))


def current_assignments(agency: Agency, on: dt.date) -> list[Assignment]:
    """Assignments to the agency's positions that have not ended by ``on`` (future included)."""
    return list(_assignments(agency, on).order_by(User.name, Position.title, Assignment.id))


def acting_assignments(agency: Agency, on: dt.date) -> list[Assignment]:
    """Current and future Plh/Plt assignments, the soonest first."""
    return list(_assignments(agency, on).where(Assignment.capacity.in_(ACTING))
                .order_by(Assignment.starts_on, Assignment.id))


def sop_versions(agency: Agency) -> list[SopVersion]:
    """Every imported version of the agency's SOPs, by code, the newest version first."""
    return list(SopVersion.select().where(SopVersion.agency == agency)
                .order_by(SopVersion.code, SopVersion.version.desc()))


def days_off(agency: Agency) -> list[DayOff]:
    """The agency's own days off, by date."""
    return list(DayOff.select().where(DayOff.agency == agency).order_by(DayOff.day))


def agency_messages(agency: Agency, status: str | None = None):
    """E-mails about the agency's files or to its staff, the newest first (a query)."""
    recipient = User.alias()
    query = (OutboxMessage.select(OutboxMessage)
             .join(Application, JOIN.LEFT_OUTER, on=(OutboxMessage.application == Application.id))
             .switch(OutboxMessage)
             .join(recipient, JOIN.LEFT_OUTER, on=(OutboxMessage.recipient == recipient.id))
             .where((Application.agency == agency) | (recipient.agency == agency)))
    if status:
        query = query.where(OutboxMessage.status == status)
    return query.order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())


# ---------------------------------------------------------------------------------------------
# Account approvals


def decide_account(actor: User, approval_id: int, decision: str,
                   reason: str = "") -> AccountApproval:
    """Approve or decline a pending account of the actor's agency; the applicant is told."""
    agency = approval_agency(actor)
    if decision not in ("approve", "decline"):
        raise ValidationError({"decision": "Pilih setujui atau tolak."})
    with db.atomic():
        approval = AccountApproval.get_or_none(AccountApproval.id == approval_id)
        if approval is None or approval.agency_id != agency.id:
            raise NotFound("Permintaan persetujuan tidak ditemukan.")
        if approval.status != "pending":
            raise OperationError("Permintaan ini sudah diputuskan. Muat ulang halaman.")
        return operations.decide_approval(actor, approval, decision == "approve", reason)


# ---------------------------------------------------------------------------------------------
# Officials and positions


def create_official(actor: User, email: str, name: str, nip: str = "",
                    password: str = "") -> User:
    """Create an official's account in the actor's agency, with an initial password."""
    agency = admin_agency(actor)
    email = (email or "").strip().lower()
    name = (name or "").strip()
    nip = " ".join((nip or "").split())
    errors = {}
    if not _EMAIL.match(email) or len(email) > 254:
        errors["email"] = "Alamat e-mail tidak valid."
    if not name:
        errors["name"] = "Nama wajib diisi."
    elif len(name) > NAME_MAX:
        errors["name"] = f"Nama terlalu panjang (maksimal {NAME_MAX} karakter)."
    if nip and (not nip.replace(" ", "").isdigit() or len(nip.replace(" ", "")) != 18):
        errors["nip"] = "NIP terdiri atas 18 angka."
    if len(password or "") < MIN_PASSWORD:
        errors["password"] = f"Kata sandi minimal {MIN_PASSWORD} karakter."
    if errors:
        raise ValidationError(errors)
    taken = ValidationError({"email": "Alamat e-mail ini sudah terdaftar."})
    with db.atomic():
        if User.by_email(email):
            raise taken
        now = utcnow()
        try:
            with db.atomic():
                user = User.create(email=email, name=name, nip=nip or None, agency=agency,
                                   password_hash=settings.hash_password(password),
                                   email_verified_at=now)
        except IntegrityError:
            raise taken from None
        audit.record(actor, "account.created", user, agency=agency.code, email=email)
    return user


def create_position(actor: User, key: str, title: str) -> Position:
    """Add a position (jabatan) to the actor's agency; its key is what SOP actors name."""
    agency = admin_agency(actor)
    key = (key or "").strip()
    title = (title or "").strip()
    errors = {}
    if not _POSITION_KEY.match(key):
        errors["key"] = ("Kunci hanya huruf, angka dan garis bawah (_), diawali huruf, "
                         "maksimal 64 karakter.")
    if not title:
        errors["title"] = "Nama jabatan wajib diisi."
    elif len(title) > NAME_MAX:
        errors["title"] = f"Nama jabatan terlalu panjang (maksimal {NAME_MAX} karakter)."
    if errors:
        raise ValidationError(errors)
    taken = ValidationError({"key": "Kunci ini sudah dipakai jabatan lain di instansi ini."})
    with db.atomic():
        if Position.select().where((Position.agency == agency) & (Position.key == key)).exists():
            raise taken
        try:
            with db.atomic():
                position = Position.create(agency=agency, key=key, title=title)
        except IntegrityError:
            raise taken from None
        audit.record(actor, "position.created", position, agency=agency.code, key=key)
    return position


def _date(value, field: str, errors: dict[str, str], required: bool) -> dt.date | None:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    text = (value or "").strip() if isinstance(value, str) else ""
    if not text:
        if required:
            errors[field] = "Tanggal wajib diisi."
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        errors[field] = "Tanggal tidak valid (format TTTT-BB-HH)."
        return None


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day is not None else None


def _id(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _assign(actor: User, user_id, position_id, capacity: str, starts_on, ends_on,
            dates_required: bool) -> Assignment:
    agency = admin_agency(actor)
    errors: dict[str, str] = {}
    user = User.get_or_none((User.id == _id(user_id)) & (User.agency == agency))
    if user is None:
        errors["user"] = "Pilih pejabat instansi ini."
    elif not user.active:
        errors["user"] = "Akun ini tidak aktif."
    position = Position.get_or_none((Position.id == _id(position_id))
                                    & (Position.agency == agency))
    if position is None:
        errors["position"] = "Pilih jabatan instansi ini."
    if capacity not in Assignment.CAPACITIES:
        errors["capacity"] = "Pilih Plh, Plt atau a.n."
    start = _date(starts_on, "starts_on", errors, dates_required)
    end = _date(ends_on, "ends_on", errors, dates_required)
    now = today(agency)
    if start is None and "starts_on" not in errors:
        start = now
    if end is not None and "ends_on" not in errors:
        if start is not None and end < start:
            errors["ends_on"] = "Tanggal selesai tidak boleh sebelum tanggal mulai."
        elif end < now:
            errors["ends_on"] = "Tanggal selesai sudah lewat."
    if errors:
        raise ValidationError(errors)
    with db.atomic():
        # The same person holding the same position twice over one period helps no one.
        overlap = Assignment.select().where(
            (Assignment.user == user) & (Assignment.position == position)
            & (Assignment.starts_on.is_null() | (Assignment.starts_on <= (end or dt.date.max)))
            & (Assignment.ends_on.is_null() | (Assignment.ends_on >= start))).first()
        if overlap is not None:
            raise ValidationError({"user": f"{user.name} sudah memegang jabatan ini pada "
                                           "rentang tanggal tersebut."})
        assignment = Assignment.create(user=user, position=position, capacity=capacity,
                                       starts_on=start, ends_on=end)
        audit.record(actor, "assignment.created", assignment, user=user.email,
                     position=position.key, capacity=capacity, starts_on=_iso(start),
                     ends_on=_iso(end))
    return assignment


def assign_position(actor: User, user_id, position_id, starts_on=None) -> Assignment:
    """Give an official a position definitively, from ``starts_on`` (default: today)."""
    return _assign(actor, user_id, position_id, "definitive", starts_on, None,
                   dates_required=False)


def assign_acting(actor: User, user_id, position_id, capacity: str, starts_on,
                  ends_on) -> Assignment:
    """Lend a position to an official as Plh, Plt or a.n. for a date range (both dates
    included). a.n. needs the official to hold a definitive position of their own: the
    letters they sign print it under "a.n. <position>"."""
    agency = admin_agency(actor)
    if capacity not in ACTING:
        raise ValidationError({"capacity": "Pilih Plh, Plt atau a.n."})
    if capacity == "an":
        holder = User.get_or_none((User.id == _id(user_id)) & (User.agency == agency))
        if holder is not None and not any(c == "definitive" for _p, c in
                                          Position.held_by(holder, today(agency))):
            raise ValidationError({"user": f"{holder.name} belum memegang jabatan definitif: "
                                           "a.n. ditandatangani dengan jabatannya sendiri."})
    return _assign(actor, user_id, position_id, capacity, starts_on, ends_on,
                   dates_required=True)


def end_assignment(actor: User, assignment_id: int) -> Assignment:
    """End an assignment at once: from today the official no longer acts for the position."""
    agency = admin_agency(actor)
    with db.atomic():
        assignment = (Assignment.select(Assignment, Position).join(Position)
                      .where((Assignment.id == assignment_id) & (Position.agency == agency))
                      .first())
        if assignment is None:
            raise NotFound("Penugasan tidak ditemukan.")
        now = today(agency)
        if assignment.ends_on is not None and assignment.ends_on < now:
            raise OperationError("Penugasan ini sudah berakhir. Muat ulang halaman.")
        # Date ranges include both ends, so "ended today" means it last held yesterday.
        # A future assignment ended this way never starts (its range is empty).
        previous = assignment.ends_on
        assignment.ends_on = now - dt.timedelta(days=1)
        assignment.save()
        audit.record(actor, "assignment.ended", assignment, user=assignment.user.email,
                     position=assignment.position.key, capacity=assignment.capacity,
                     planned_end=_iso(previous), ends_on=_iso(assignment.ends_on))
    return assignment


# ---------------------------------------------------------------------------------------------
# SOP versions


def _sop_text(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not data:
        raise ValidationError({"file": "Pilih berkas SOP (YAML)."})
    if len(data) > SOP_MAX_BYTES:
        raise ValidationError({"file": f"Berkas terlalu besar (maksimal {SOP_MAX_BYTES // 1024} "
                                       "KB)."})
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationError({"file": "Berkas harus berupa teks UTF-8 (YAML)."}) from None


def import_sop_version(actor: User, data: bytes | str, filename: str) -> SopVersion:
    """Validate and store a version of one of the actor's agency's SOPs.

    Raises ``SopError`` (every issue with line and key) for an unusable file. A new version
    becomes the only active one of its code, so new files use it and the catalogue lists it
    once; files already under way keep the version they started with.
    """
    agency = admin_agency(actor)
    text = _sop_text(data)
    filename = (filename or "").strip() or "<upload>"
    spec: SopSpec = load_sop(text, filename)
    if spec.agency != agency.code:
        raise ValidationError({"file": f"SOP ini milik instansi {spec.agency!r}, bukan "
                                       f"{agency.code!r}; hanya SOP instansi sendiri yang "
                                       "dapat diimpor."})
    with db.atomic():
        others = SopVersion.select().where((SopVersion.code == spec.code)
                                           & (SopVersion.agency != agency))
        if others.exists():
            raise ValidationError({"file": f"Kode SOP {spec.code!r} sudah dipakai instansi "
                                           "lain."})
        # import_sop makes the new version the only active one, auditing what it replaces.
        version = operations.import_sop(text, filename, actor)
    return version


def _deactivate_others(actor: User, version: SopVersion, reason: str) -> None:
    for other in SopVersion.select().where((SopVersion.code == version.code)
                                           & (SopVersion.id != version.id) & SopVersion.active):
        other.active = False
        other.save()
        audit.record(actor, "sop.deactivated", other, code=other.code, version=other.version,
                     reason=reason, by_version=version.version)


def set_sop_active(actor: User, version_id: int, active: bool) -> SopVersion:
    """Activate a version (it alone then serves new files) or deactivate it."""
    agency = admin_agency(actor)
    with db.atomic():
        version = SopVersion.get_or_none((SopVersion.id == version_id)
                                         & (SopVersion.agency == agency))
        if version is None:
            raise NotFound("Versi SOP tidak ditemukan.")
        if active:
            _deactivate_others(actor, version, reason="another version activated")
        if bool(version.active) != active:
            version.active = active
            version.save()
            audit.record(actor, "sop.activated" if active else "sop.deactivated", version,
                         code=version.code, version=version.version)
    operations.catalogue_changed()
    return version


# ---------------------------------------------------------------------------------------------
# Days off


def add_day_off(actor: User, day, name: str) -> DayOff:
    """Close the agency on a date (cuti bersama, a local holiday): no working time counts."""
    agency = admin_agency(actor)
    errors: dict[str, str] = {}
    date = _date(day, "day", errors, required=True)
    name = (name or "").strip()
    if not name:
        errors["name"] = "Keterangan wajib diisi (mis. Cuti bersama Idulfitri)."
    elif len(name) > NAME_MAX:
        errors["name"] = f"Keterangan terlalu panjang (maksimal {NAME_MAX} karakter)."
    if errors:
        raise ValidationError(errors)
    taken = ValidationError({"day": "Tanggal ini sudah tercatat sebagai hari libur."})
    with db.atomic():
        if DayOff.select().where((DayOff.agency == agency) & (DayOff.day == date)).exists():
            raise taken
        try:
            with db.atomic():
                day_off = DayOff.create(agency=agency, day=date, name=name)
        except IntegrityError:
            raise taken from None
        audit.record(actor, "day_off.added", day_off, agency=agency.code, day=_iso(date),
                     name=name)
    Agency.forget_calendar(agency.id)  # after the commit, so nobody keeps the old days
    return day_off


def remove_day_off(actor: User, day_off_id: int) -> None:
    """Open the agency again on a day it had closed."""
    agency = admin_agency(actor)
    with db.atomic():
        day_off = DayOff.get_or_none((DayOff.id == day_off_id) & (DayOff.agency == agency))
        if day_off is None:
            raise NotFound("Hari libur tidak ditemukan.")
        audit.record(actor, "day_off.removed", day_off, agency=agency.code,
                     day=_iso(day_off.day), name=day_off.name)
        day_off.delete_instance()
    Agency.forget_calendar(agency.id)


# ---------------------------------------------------------------------------------------------
# Outbox


def resend_message(actor: User, message_id: int) -> OutboxMessage:
    """Queue a failed or waiting e-mail of the agency again for a fresh round of attempts."""
    agency = admin_agency(actor)
    with db.atomic():
        message = agency_messages(agency).where(OutboxMessage.id == message_id).first()
        if message is None:
            raise NotFound("Pesan tidak ditemukan.")
        if message.status not in ("failed", "pending"):
            raise OperationError("Pesan ini sudah terkirim atau sedang dikirim. Muat ulang "
                                 "halaman.")
        return outbox.resend(message, actor)  # records its own audit event


# ---------------------------------------------------------------------------------------------
# Letter templates


def letter_templates(agency: Agency) -> list[tuple[SopSpec, object, bool]]:
    """(spec, letter spec, the agency has its own wording) for every letter of its SOPs."""
    from portal.models import LetterTemplate

    own = {(t.sop_code, t.letter_key) for t in
           LetterTemplate.select().where(LetterTemplate.agency == agency)}
    rows = []
    for version in SopVersion.select().where((SopVersion.agency == agency)
                                             & SopVersion.active).order_by(SopVersion.code):
        spec = version.spec
        rows.extend((spec, letter, (spec.code, letter.key) in own) for letter in spec.letters)
    return rows


def _agency_letter(agency: Agency, sop_code: str, letter_key: str):
    version = SopVersion.get_or_none((SopVersion.code == sop_code) & (SopVersion.agency == agency)
                                     & SopVersion.active)
    if version is None:
        raise NotFound("Layanan tidak ditemukan.")
    try:
        return version.spec, version.spec.letter(letter_key)
    except KeyError:
        raise NotFound("Surat tidak ditemukan.") from None


def save_letter_template(actor: User, sop_code: str, letter_key: str, source: str):
    """Store the agency's wording of a letter, after rendering it once with sample values in
    the same sandbox that issues letters (a broken template is refused here, not at the
    moment an official signs)."""
    from jinja2 import TemplateError

    from portal.letters import SANDBOX, sample_context
    from portal.models import LetterTemplate

    agency = admin_agency(actor)
    spec, letter = _agency_letter(agency, sop_code, letter_key)
    source = (source or "").replace("\r\n", "\n").strip() + "\n"
    if len(source) > 20000 or not source.strip():
        raise ValidationError({"source": "Isi templat antara 1 dan 20.000 karakter."})
    try:
        SANDBOX.from_string(source).render(sample_context(spec, letter, agency))
    except TemplateError as exc:
        raise ValidationError({"source": f"Templat tidak dapat dipakai: {exc}"}) from None
    with db.atomic():
        row, created = LetterTemplate.get_or_create(
            agency=agency, sop_code=sop_code, letter_key=letter_key,
            defaults={"source": source, "updated_by": actor})
        if not created:
            row.source, row.updated_by, row.updated_at = source, actor, dt.datetime.now(dt.UTC)
            row.save()
        audit.record(actor, "letter_template.saved", row, sop=sop_code, letter=letter_key)
    return row


def reset_letter_template(actor: User, sop_code: str, letter_key: str) -> None:
    """Go back to the shipped wording."""
    from portal.models import LetterTemplate

    agency = admin_agency(actor)
    _agency_letter(agency, sop_code, letter_key)
    with db.atomic():
        row = LetterTemplate.get_or_none((LetterTemplate.agency == agency)
                                         & (LetterTemplate.sop_code == sop_code)
                                         & (LetterTemplate.letter_key == letter_key))
        if row is not None:
            audit.record(actor, "letter_template.reset", row, sop=sop_code, letter=letter_key)
            row.delete_instance()
