"""The administrator's operations on the agency's staff: officials, positions, and who
holds which position when (definitive, Plh/Plt, a.n.). An administrator acts on their own
agency only; anything of another agency is "not found". Also: the positions a user
holds today, and today's date where the user works."""

from __future__ import annotations

import datetime as dt
import re

from peewee import IntegrityError

from portal.calendar.workdays import WorkCalendar
from portal.config import current_config
from portal.core.db import db
from portal.core.errors import NotFound, OperationError, PermissionDenied, ValidationError
from portal.core.forms import (
    NAME_MAX,
    ascii_digits,
    date_range_problem,
    int_or_none,
    iso_date,
    length_problems,
    parse_date,
)
from portal.core.i18n import lazy_gettext as _l
from portal.core.model import utcnow
from portal.modules.accounts.models import Assignment, Position, User
from portal.modules.accounts.policy import email_problem, name_problem, password_problem
from portal.modules.agencies.models import Agency
from portal.modules.audit import trail as audit

# For a date range: pelaksana harian / pelaksana tugas (acting in the position), or atas nama
# (signing on behalf of it under one's own definitive position).
ACTING = ("plh", "plt", "an")




# Position keys are what SOP actor keys refer to, so they follow the same shape.
_POSITION_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")


def admin_agency(actor: User | None) -> Agency:
    """The agency the actor administers; PermissionDenied for anyone else."""
    if actor is None or not actor.active or not actor.is_agency_admin or not actor.agency_id:
        raise PermissionDenied(_l("Halaman ini hanya untuk admin instansi."))
    return actor.agency


def require_platform_admin(actor: User | None) -> None:
    """PermissionDenied unless the actor administers the platform. ``None`` is the command
    line: whoever runs it on the server already holds the database."""
    if actor is not None and not (actor.active and actor.is_platform_admin):
        raise PermissionDenied(_l("Halaman ini hanya untuk administrator platform."))


def may_manage_staff(actor: User | None, agency: Agency) -> None:
    """PermissionDenied unless the actor may manage this agency's staff: the platform's
    administrators (and the command line), and the agency's own administrators."""
    if (actor is not None and actor.active and actor.is_agency_admin
            and actor.agency_id == agency.id):
        return
    require_platform_admin(actor)


# The password hash of an account made for someone who has not chosen a password yet (an
# invitation is on its way): no password matches it.
UNUSABLE_PASSWORD = "!invited"


def official_fields(email: str, name: str, nip: str) -> tuple[str, str, str, dict]:
    """(email, name, nip) of an official as stored (trimmed, lower-cased address, NIP with
    single spaces) and the problems with them, by field."""
    email = (email or "").strip().lower()
    name = (name or "").strip()
    nip = " ".join(ascii_digits(nip or "").split())  # digits of any script, as ASCII
    problems = {"email": email_problem(email), "name": name_problem(name)}
    digits = nip.replace(" ", "")
    if nip and (not (digits.isascii() and digits.isdigit()) or len(digits) != 18):
        problems["nip"] = _l("NIP terdiri atas 18 angka.")
    problems = {**length_problems({"email": email, "name": name, "nip": nip}, User), **problems}
    return email, name, nip, {field: problem for field, problem in problems.items() if problem}


def position_fields(key: str, title: str) -> tuple[str, str, dict]:
    """(key, title) of a position as stored, and the problems with them, by field."""
    key = (key or "").strip()
    title = (title or "").strip()
    errors = {}
    if not _POSITION_KEY.match(key):
        errors["key"] = _l("Kunci hanya huruf, angka dan garis bawah (_), diawali huruf, "
                           "maksimal 64 karakter.")
    if not title:
        errors["title"] = _l("Nama jabatan wajib diisi.")
    elif len(title) > NAME_MAX:
        errors["title"] = _l("Nama jabatan terlalu panjang (maksimal %(n)s karakter).",
                             n=NAME_MAX)
    return key, title, errors


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


def create_official(actor: User, email: str, name: str, nip: str = "",
                    password: str = "") -> User:
    """Create an official's account in the actor's agency, with an initial password."""
    agency = admin_agency(actor)
    email, name, nip, errors = official_fields(email, name, nip)
    if problem := password_problem(password):
        errors["password"] = problem
    if errors:
        raise ValidationError(errors)
    taken = ValidationError({"email": _l("Alamat e-mail ini sudah terdaftar.")})
    with db.atomic():
        if User.by_email(email):
            raise taken
        now = utcnow()
        try:
            with db.atomic():
                user = User.create(email=email, name=name, nip=nip or None, agency=agency,
                                   password_hash=current_config().hash_password(password),
                                   email_verified_at=now)
        except IntegrityError:
            raise taken from None
        audit.record(actor, "account.created", user, agency=agency.code, email=email)
    return user


def create_position(actor: User, key: str, title: str) -> Position:
    """Add a position (jabatan) to the actor's agency; its key is what SOP actors name."""
    agency = admin_agency(actor)
    key, title, errors = position_fields(key, title)
    if errors:
        raise ValidationError(errors)
    taken = ValidationError({"key": _l("Kunci ini sudah dipakai jabatan lain di "
                                       "instansi ini.")})
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


def _assign(actor: User, user_id, position_id, capacity: str, starts_on, ends_on,
            dates_required: bool) -> Assignment:
    agency = admin_agency(actor)
    errors: dict[str, object] = {}
    user = User.get_or_none((User.id == int_or_none(user_id)) & (User.agency == agency))
    if user is None:
        errors["user"] = _l("Pilih pejabat instansi ini.")
    elif not user.active:
        errors["user"] = _l("Akun ini tidak aktif.")
    position = Position.get_or_none((Position.id == int_or_none(position_id))
                                    & (Position.agency == agency))
    if position is None:
        errors["position"] = _l("Pilih jabatan instansi ini.")
    if capacity not in Assignment.CAPACITIES:
        errors["capacity"] = _l("Pilih Plh, Plt atau a.n.")
    start = parse_date(starts_on, "starts_on", errors, dates_required)
    end = parse_date(ends_on, "ends_on", errors, dates_required)
    now = agency.today()
    if start is None and "starts_on" not in errors:
        start = now
    if end is not None and "ends_on" not in errors:
        if problem := date_range_problem(start, end):
            errors["ends_on"] = problem
        elif end < now:
            errors["ends_on"] = _l("Tanggal selesai sudah lewat.")
    if errors:
        raise ValidationError(errors)
    with db.atomic():
        # The same person holding the same position twice over one period helps no one.
        overlap = Assignment.select().where(
            (Assignment.user == user) & (Assignment.position == position)
            & (Assignment.starts_on.is_null() | (Assignment.starts_on <= (end or dt.date.max)))
            & (Assignment.ends_on.is_null() | (Assignment.ends_on >= start))).first()
        if overlap is not None:
            raise ValidationError({"user": _l("%(name)s sudah memegang jabatan ini pada "
                                              "rentang tanggal tersebut.", name=user.name)})
        assignment = Assignment.create(user=user, position=position, capacity=capacity,
                                       starts_on=start, ends_on=end)
        audit.record(actor, "assignment.created", assignment, user=user.email,
                     position=position.key, capacity=capacity, starts_on=iso_date(start),
                     ends_on=iso_date(end))
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
        raise ValidationError({"capacity": _l("Pilih Plh, Plt atau a.n.")})
    if capacity == "an":
        holder = User.get_or_none((User.id == int_or_none(user_id)) & (User.agency == agency))
        if holder is not None and not any(c == "definitive" for _p, c in
                                          Position.held_by(holder, agency.today())):
            raise ValidationError({"user": _l("%(name)s belum memegang jabatan definitif: "
                                              "a.n. ditandatangani dengan jabatannya sendiri.",
                                              name=holder.name)})
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
            raise NotFound(_l("Penugasan tidak ditemukan."))
        now = agency.today()
        if assignment.ends_on is not None and assignment.ends_on < now:
            raise OperationError(_l("Penugasan ini sudah berakhir. Muat ulang halaman."))
        # Date ranges include both ends, so "ended today" means it last held yesterday.
        # A future assignment ended this way never starts (its range is empty).
        previous = assignment.ends_on
        assignment.ends_on = now - dt.timedelta(days=1)
        assignment.save()
        audit.record(actor, "assignment.ended", assignment, user=assignment.user.email,
                     position=assignment.position.key, capacity=assignment.capacity,
                     planned_end=iso_date(previous), ends_on=iso_date(assignment.ends_on))
    return assignment


def today_for(user: User) -> dt.date:
    """Today's date where the user works (their agency's zone; WIB without an agency)."""
    if user.agency_id:
        return Agency.of_request(user.agency_id).today()
    return WorkCalendar.from_config("Asia/Jakarta").local(utcnow()).date()


def positions_today(user: User) -> list[tuple[Position, str]]:
    """(position, capacity) the user holds today, directly or as Plh/Plt (asked once per
    user object, i.e. once per request)."""
    held = getattr(user, "_positions_today", None)
    if held is None:
        held = Position.held_by(user, today_for(user))
        user._positions_today = held
    return held

