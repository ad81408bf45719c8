"""The data model (peewee). Bound late: ``db`` is a proxy that ``portal.db.bind`` initialises.

The schema itself is created only by the numbered migrations in ``migrations/``.
Named queries live here as classmethods; state changes live in ``portal.operations``.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import weakref
from functools import lru_cache

from peewee import (
    BooleanField,
    CharField,
    DatabaseProxy,
    DateField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)

from portal.prepared import Prepared

__all__ = [
    "AccountApproval", "Agency", "Application", "Assignment", "AuditEvent", "AuditHead",
    "Counter", "DayOff", "Decision", "Document", "Letter", "LetterTemplate", "LoginFailure",
    "OutboxMessage", "Position",
    "SopVersion", "Task", "User", "capacity_prefix", "db", "kept", "utcnow",
]

db = DatabaseProxy()
CALENDAR_TTL = 60.0  # seconds a process keeps an agency's row and calendar for pages
_KEPT: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def kept(name: str) -> dict:
    """A per-process cache (a dict) named ``name`` for the database the models are bound to:
    ids name different rows in different databases, and tests bind many in one process."""
    caches = _KEPT.get(db.obj)
    if caches is None:
        caches = _KEPT[db.obj] = {}
    found = caches.get(name)
    if found is None:
        found = caches[name] = {}
    return found


def utcnow() -> dt.datetime:
    """The current time, aware, in UTC (every stored time is UTC)."""
    return dt.datetime.now(dt.UTC)


class UTCDateTimeField(DateTimeField):
    """Stores aware datetimes as naive UTC and reads them back aware."""

    def db_value(self, value):
        if isinstance(value, dt.datetime):
            if value.tzinfo is None:
                raise ValueError("naive datetime: store times in UTC")
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return super().db_value(value)

    def python_value(self, value):
        if isinstance(value, str):  # SQLite's text
            parsed = _utc_from_text(value)
            if parsed is not None:
                return parsed
        value = super().python_value(value)
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value


@lru_cache(maxsize=8192)
def _utc_from_text(text: str) -> dt.datetime | None:
    """SQLite's ISO 8601 text as an aware UTC datetime (None if it is not ISO 8601). Kept:
    an inbox reads the same due times on every visit, and datetimes are immutable."""
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


class JSONField(TextField):
    """JSON in a text column: portable across SQLite and PostgreSQL."""

    def db_value(self, value):
        return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)

    def python_value(self, value):
        return None if value is None else json.loads(value)


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False


class Agency(BaseModel):
    """A government office (instansi) that runs SOPs, or a partner office that acts in them."""

    code = CharField(unique=True)
    name = CharField()
    government = CharField(default="")  # "Pemerintah Kabupaten Bangka"
    city = CharField(default="")  # place name on letters
    letterhead = JSONField(default=list)  # kop surat lines
    timezone = CharField(default="Asia/Jakarta")
    office_hours = JSONField(null=True)  # {"mon": "07:30-16:00", ...}; None: the national default
    requires_account_approval = BooleanField(default=False)
    supervisor_position = CharField(null=True)  # position key told when a task is overdue
    created_at = UTCDateTimeField(default=utcnow)

    def calendar(self):
        """The agency's working-day calendar (its zone, hours and own days off).

        Kept per process for a minute: every page shows due times, and days off change a
        few times a year (changing them here forgets the copy at once; other processes
        follow within the minute).
        """
        from portal.calendar import WorkCalendar

        key = (self.timezone, json.dumps(self.office_hours, sort_keys=True))
        cached = kept("calendars").get(self.id)
        if cached is not None and cached[0] > time.monotonic() and cached[1] == key:
            return cached[2]
        days = [d.day for d in self.days_off]
        calendar = WorkCalendar.from_config(self.timezone, self.office_hours, days)
        kept("calendars")[self.id] = (time.monotonic() + CALENDAR_TTL, key, calendar)
        return calendar

    @staticmethod
    def forget_calendar(agency_id: int) -> None:
        """Drop the kept calendar and row (after its days off changed)."""
        kept("calendars").pop(agency_id, None)
        kept("agencies").pop(agency_id, None)

    @classmethod
    def cached(cls, agency_id: int) -> Agency:
        """The agency's row as this process read it within the last minute.

        For what every page shows (names, today's date in the agency's zone, due times):
        agencies change a few times a year. Numbering, letters and decisions read the row.
        """
        agencies = kept("agencies")
        found = agencies.get(agency_id)
        if found is not None and found[0] > time.monotonic():
            return found[1]
        agency = cls.get_by_id(agency_id)
        agencies[agency_id] = (time.monotonic() + CALENDAR_TTL, agency)
        return agency


class DayOff(BaseModel):
    """A day the agency is closed beyond the public holidays (cuti bersama, local holidays)."""

    agency = ForeignKeyField(Agency, backref="days_off", on_delete="CASCADE")
    day = DateField()
    name = CharField(default="")

    class Meta:
        indexes = ((("agency", "day"), True),)


class User(BaseModel):
    """Anyone who logs in: applicants (no positions), officials and agency administrators."""

    email = CharField(unique=True)
    name = CharField()
    password_hash = CharField()
    nip = CharField(null=True)  # civil-servant number, printed in signature blocks
    phone = CharField(null=True)
    agency = ForeignKeyField(Agency, null=True, backref="staff")  # home agency of officials
    is_agency_admin = BooleanField(default=False)
    email_verified_at = UTCDateTimeField(null=True)
    active = BooleanField(default=True)
    created_at = UTCDateTimeField(default=utcnow)
    language = CharField(default="id")  # chosen in the portal; their e-mails are written in it

    @classmethod
    def by_email(cls, email: str) -> User | None:
        return cls.get_or_none(cls.email == email.strip().lower())

    # flask-login's user protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return bool(self.active)

    @property
    def is_anonymous(self) -> bool:
        return False

    @classmethod
    def by_id(cls, user_id: int) -> User | None:
        """The user with this id (every logged-in request asks: the statement is built once)."""
        found = _USER(user_id)
        return found[0] if found else None

    def get_id(self) -> str:
        # The session holds the id and a fragment of the password hash: changing the
        # password (e.g. after a reset) logs out every other session.
        return f"{self.id}:{self.password_hash[-12:]}"


class Position(BaseModel):
    """A jabatan in an agency (Kasi SDMK of Dinkes Bangka); the key matches SOP actor keys."""

    agency = ForeignKeyField(Agency, backref="positions", on_delete="CASCADE")
    key = CharField()
    title = CharField()

    class Meta:
        indexes = ((("agency", "key"), True),)

    @classmethod
    def held_by(cls, user: User, on: dt.date) -> list[tuple[Position, str]]:
        """(position, capacity) pairs the user holds on a date, directly or as Plh/Plt."""
        held = []
        for ident, agency, key, title, capacity in _HELD(user.id, on):
            position = cls(__no_default__=1, id=ident, agency=agency, key=key, title=title)
            position._dirty.clear()  # as read from the database
            held.append((position, capacity))
        return held


# How an official holds a position, as letters and pages write it before the title:
# Plh. (pelaksana harian) and Plt. (pelaksana tugas) act in the position for a while;
# a.n. (atas nama) signs on behalf of the position with their own title beneath.
CAPACITY_PREFIX = {"definitive": "", "plh": "Plh.", "plt": "Plt.", "an": "a.n."}


def capacity_prefix(capacity: str | None) -> str:
    """"Plh.", "Plt.", "a.n." or "" (definitive, or no position)."""
    return CAPACITY_PREFIX.get(capacity or "", "")


class Assignment(BaseModel):
    """A user holding a position: definitively, or for a date range as Plh/Plt (acting in
    it) or a.n. (on behalf of it, under their own definitive title)."""

    CAPACITIES = tuple(CAPACITY_PREFIX)

    user = ForeignKeyField(User, backref="assignments", on_delete="CASCADE")
    position = ForeignKeyField(Position, backref="assignments", on_delete="CASCADE")
    capacity = CharField(default="definitive")
    starts_on = DateField(null=True)
    ends_on = DateField(null=True)
    created_at = UTCDateTimeField(default=utcnow)

    @classmethod
    def holders(cls, position: Position, on: dt.date) -> list[tuple[User, str]]:
        """(user, capacity) of everyone who may act for a position on a date."""
        rows = (cls.select(cls, User).join(User)
                .where((cls.position == position) & User.active
                       & (cls.starts_on.is_null() | (cls.starts_on <= on))
                       & (cls.ends_on.is_null() | (cls.ends_on >= on))))
        return [(row.user, row.capacity) for row in rows]


class SopVersion(BaseModel):
    """One imported version of an SOP: its YAML source is the truth; the spec is derived."""

    agency = ForeignKeyField(Agency, backref="sops")
    code = CharField()
    version = IntegerField()
    title = CharField()
    source = TextField()
    sha256 = CharField()
    active = BooleanField(default=True)
    imported_at = UTCDateTimeField(default=utcnow)

    class Meta:
        indexes = ((("code", "version"), True),)

    @classmethod
    def cached(cls, version_id: int) -> SopVersion:
        """A version's row without its source, kept per process: a stored version's code,
        title and source never change (its ``active`` flag does: do not read it here)."""
        versions = kept("versions")
        version = versions.get(version_id)
        if version is None:
            version = (cls.select(*(getattr(cls, c) for c in cls.LIGHT))
                       .where(cls.id == version_id).get())
            versions[version_id] = version
        return version

    @property
    def spec(self):
        """The validated spec (parsed once per process and source).

        A row selected without its source (lists select only the columns they show) reads
        the source only when this process has not parsed that version yet.
        """
        from portal.sop.registry import cached_spec, spec_from_source

        spec = cached_spec(self.sha256)
        if spec is not None:
            return spec
        source = self.source or SopVersion.select(SopVersion.source).where(
            SopVersion.id == self.id).scalar()
        return spec_from_source(source, self.sha256)

    # Columns a list needs to show a version and reach its spec, without the YAML source.
    LIGHT = ("id", "agency", "code", "version", "title", "sha256", "active")

    @classmethod
    def current(cls, code: str) -> SopVersion | None:
        """The active version new files of this SOP use."""
        return (cls.select().where((cls.code == code) & cls.active)
                .order_by(cls.version.desc()).first())

    @classmethod
    def catalogue(cls) -> list[SopVersion]:
        """The active version of every SOP, by agency and code (without the YAML sources:
        their specs are cached by hash)."""
        return list(cls.select(*(getattr(cls, c) for c in cls.LIGHT), Agency).join(Agency)
                    .where(cls.active).order_by(Agency.name, cls.code))


class Application(BaseModel):
    """One file (berkas): an applicant's case run by one SOP version."""

    sop = ForeignKeyField(SopVersion, backref="applications")
    agency = ForeignKeyField(Agency, backref="applications")
    applicant = ForeignKeyField(User, backref="applications")
    registration_number = CharField(unique=True, null=True)
    tracking_code = CharField(unique=True)
    form_data = JSONField(default=dict)
    status = CharField(default="in_progress")  # cache of the engine's FileStatus
    current_step = CharField(null=True)
    resume_at = CharField(null=True)
    submission_key = CharField(unique=True, null=True)  # makes a resent submit harmless
    created_at = UTCDateTimeField(default=utcnow)
    submitted_at = UTCDateTimeField(null=True)
    closed_at = UTCDateTimeField(null=True)

    class Meta:
        indexes = ((("agency", "status"), False), (("applicant", "created_at"), False))

    def file_state(self):
        from portal.sop.engine import FileState, FileStatus

        return FileState(FileStatus(self.status), self.current_step, self.resume_at)


class Document(BaseModel):
    """An uploaded document; a re-upload adds a version, never overwrites."""

    application = ForeignKeyField(Application, backref="documents", on_delete="CASCADE")
    requirement = CharField()  # DocumentSpec.key
    version = IntegerField()
    filename = CharField()
    media_type = CharField()
    size = IntegerField()
    sha256 = CharField()
    storage_key = CharField()
    uploaded_by = ForeignKeyField(User)
    uploaded_at = UTCDateTimeField(default=utcnow)
    previews = JSONField(default=list)  # storage keys of small page images

    class Meta:
        indexes = ((("application", "requirement", "version"), True),)

    @classmethod
    def latest_for(cls, application: Application) -> dict[str, Document]:
        """The newest version of each requirement."""
        latest: dict[str, Document] = {}
        for doc in cls.select().where(cls.application == application).order_by(cls.version):
            latest[doc.requirement] = doc
        return latest


class Task(BaseModel):
    """Work waiting for one actor at one step, with its due time (the SLA clock)."""

    application = ForeignKeyField(Application, backref="tasks", on_delete="CASCADE")
    step_key = CharField()
    actor_key = CharField()  # the SOP actor; for external parties, the recorder acts
    position = ForeignKeyField(Position, null=True)  # who may act; None: the applicant
    assignee = ForeignKeyField(User, null=True)  # the applicant, for the applicant's steps
    kind = CharField(default="step")  # step | correction
    status = CharField(default="open")  # open | done
    opened_at = UTCDateTimeField(default=utcnow)
    clock_started_at = UTCDateTimeField(default=utcnow)
    due_at = UTCDateTimeField(null=True)
    decided_at = UTCDateTimeField(null=True)
    decided_by = ForeignKeyField(User, null=True)
    outcome = CharField(null=True)

    class Meta:
        indexes = (
            (("position", "status", "due_at"), False),
            (("assignee", "status"), False),
            (("application", "status"), False),
        )

    @classmethod
    def open_for(cls, application: Application) -> Task | None:
        return cls.get_or_none((cls.application == application) & (cls.status == "open"))

    # What one row of an official's inbox shows: (task id, kind, step key, due at, clock
    # started at, registration number, SOP version id, agency id).
    INBOX_ROW = ("id", "kind", "step_key", "due_at", "clock_started_at")

    @classmethod
    def inbox_rows(cls, user: User, on: dt.date, sop_code: str = "",
                   limit: int = 50) -> list[tuple]:
        """Open tasks of the positions the user holds on a date, the most urgent first, as
        INBOX_ROW tuples (one statement, built once: every official opens this page)."""
        if sop_code:
            return _INBOX_OF_SOP(user.id, on, sop_code, limit)
        return _INBOX(user.id, on, limit)

    @classmethod
    def inbox_codes(cls, user: User, on: dt.date) -> list[str]:
        """The SOP codes among the open tasks of the positions the user holds on a date."""
        return sorted(code for code, in _INBOX_CODES(user.id, on))

    @classmethod
    def inbox(cls, positions: list[Position], light: bool = False):
        """Open tasks of these positions, the most urgent first (``light``: only the file's
        columns a list shows, not its form data)."""
        columns = ((Application.id, Application.sop, Application.agency,
                    Application.applicant, Application.registration_number,
                    Application.status, Application.current_step, Application.resume_at)
                   if light else (Application,))
        return (cls.select(cls, *columns).join(Application)
                .where((cls.status == "open") & cls.position.in_(positions))
                .order_by(cls.due_at.asc(nulls="LAST"), cls.id))


class Decision(BaseModel):
    """What an actor decided on a task. Append-only: the file's history is this list."""

    application = ForeignKeyField(Application, backref="decisions", on_delete="CASCADE")
    task = ForeignKeyField(Task, unique=True)  # one decision per task, enforced by the database
    step_key = CharField()
    outcome = CharField()
    effect = CharField()
    actor = ForeignKeyField(User)
    position = ForeignKeyField(Position, null=True)
    capacity = CharField(null=True)  # definitive | plh | plt | an
    note = TextField(default="")
    data = JSONField(default=dict)  # per-document verdicts, recorded results
    decided_at = UTCDateTimeField(default=utcnow)

    @classmethod
    def history(cls, application: Application) -> list[Decision]:
        return list(cls.select().where(cls.application == application).order_by(cls.id))


class Counter(BaseModel):
    """A gap-free running number per scope, series and year (registrations, letters)."""

    scope = CharField()
    series = CharField()
    year = IntegerField()
    value = IntegerField(default=0)

    class Meta:
        indexes = ((("scope", "series", "year"), True),)


class AuditEvent(BaseModel):
    """One action, hash-chained to the one before it: a missing or edited row breaks the chain."""

    seq = IntegerField(unique=True)
    at = UTCDateTimeField(default=utcnow)
    actor = ForeignKeyField(User, null=True)
    action = CharField()
    object_type = CharField(default="")
    object_id = CharField(default="")
    data = JSONField(default=dict)
    prev_hash = CharField()
    hash = CharField()

    class Meta:
        indexes = ((("object_type", "object_id"), False),)


class AuditHead(BaseModel):
    """The single row that holds the end of the chain; locking it orders concurrent writers."""

    seq = IntegerField(default=0)
    hash = CharField()


ALL_MODELS = [Agency, DayOff, User, Position, Assignment, SopVersion, Application, Document,
              Task, Decision, Counter, AuditEvent, AuditHead]


class OutboxMessage(BaseModel):
    """An e-mail waiting to be sent, sent, or failed for good (visible to the agency admin)."""

    event = CharField()  # the template name: task_assigned, application_returned, ...
    recipient = ForeignKeyField(User, null=True)
    to_address = CharField()
    subject = CharField()
    body_text = TextField()
    body_html = TextField()
    application = ForeignKeyField(Application, null=True, on_delete="SET NULL")
    dedupe_key = CharField(unique=True, null=True)  # "at most once" events such as reminders
    status = CharField(default="pending")  # pending | sending (leased) | sent | failed
    attempts = IntegerField(default=0)
    next_attempt_at = UTCDateTimeField(default=utcnow)
    last_error = TextField(default="")
    created_at = UTCDateTimeField(default=utcnow)
    sent_at = UTCDateTimeField(null=True)

    class Meta:
        indexes = ((("status", "next_attempt_at"), False),)

    @classmethod
    def due(cls, now):
        """Messages to try now: pending ones whose time has come, and expired leases."""
        return (cls.select().where(cls.status.in_(("pending", "sending"))
                                   & (cls.next_attempt_at <= now))
                .order_by(cls.next_attempt_at, cls.id))


ALL_MODELS.append(OutboxMessage)


class AccountApproval(BaseModel):
    """An agency's approval of an applicant account (some SOPs require it before applying)."""

    user = ForeignKeyField(User, backref="approvals", on_delete="CASCADE")
    agency = ForeignKeyField(Agency, backref="approvals", on_delete="CASCADE")
    status = CharField(default="pending")  # pending | approved | declined
    requested_at = UTCDateTimeField(default=utcnow)
    decided_at = UTCDateTimeField(null=True)
    decided_by = ForeignKeyField(User, null=True)
    reason = TextField(default="")

    class Meta:
        indexes = ((("user", "agency"), True), (("agency", "status"), False))

    @classmethod
    def status_of(cls, user: User, agency: Agency) -> str | None:
        row = cls.get_or_none((cls.user == user) & (cls.agency == agency))
        return row.status if row else None


class LoginFailure(BaseModel):
    """A failed login, kept a short while to slow down password guessing."""

    email = CharField(index=True)
    ip = CharField(index=True)
    at = UTCDateTimeField(default=utcnow, index=True)


ALL_MODELS.extend([AccountApproval, LoginFailure])


class Letter(BaseModel):
    """An issued letter: numbered, signed, stored, and verifiable at /v/<token>."""

    application = ForeignKeyField(Application, backref="letters", on_delete="CASCADE")
    agency = ForeignKeyField(Agency, backref="letters")
    letter_key = CharField()  # LetterSpec.key
    title = CharField()
    number = CharField()
    series = CharField()
    seq = IntegerField()
    year = IntegerField()
    token = CharField(unique=True)  # random, 128+ bits: the QR code's /v/<token>
    storage_key = CharField()
    sha256 = CharField(index=True)
    size = IntegerField()
    signer = ForeignKeyField(User)
    signer_position = ForeignKeyField(Position, null=True)
    capacity = CharField(default="definitive")  # definitive | plh | plt | an
    signer_name = CharField()
    signer_nip = CharField(default="")
    signer_title = CharField(default="")
    holder_name = CharField(default="")
    issued_at = UTCDateTimeField(default=utcnow)
    status = CharField(default="valid")  # valid | revoked | replaced
    revoked_at = UTCDateTimeField(null=True)
    revoked_by = ForeignKeyField(User, null=True)
    revoke_reason = TextField(default="")
    replaced_by = ForeignKeyField("self", null=True)

    class Meta:
        indexes = ((("agency", "number"), True), (("application", "letter_key"), False))

    @property
    def signed_as(self) -> str:
        """The signer's title as the letter prints it: "Plt. Kepala Dinas", or for a.n. the
        position signed for and the signer's own title ("a.n. Kepala Dinas · Sekretaris")."""
        if self.capacity == "an" and self.signer_position_id:
            return f"a.n. {self.signer_position.title} · {self.signer_title}"
        return f"{capacity_prefix(self.capacity)} {self.signer_title}".strip()

    @classmethod
    def by_token(cls, token: str) -> Letter | None:
        return cls.get_or_none(cls.token == token)


class LetterTemplate(BaseModel):
    """An agency's own wording of one letter, replacing the shipped default."""

    agency = ForeignKeyField(Agency, on_delete="CASCADE")
    sop_code = CharField()
    letter_key = CharField()
    source = TextField()
    updated_at = UTCDateTimeField(default=utcnow)
    updated_by = ForeignKeyField(User, null=True)

    class Meta:
        indexes = ((("agency", "sop_code", "letter_key"), True),)


ALL_MODELS.extend([Letter, LetterTemplate])


# -- statements every page runs, built once (portal.prepared) ------------------------------------


def _held_on(user, on):
    """Assignments of the user that hold on a date."""
    return ((Assignment.user == user)
            & (Assignment.starts_on.is_null() | (Assignment.starts_on <= on))
            & (Assignment.ends_on.is_null() | (Assignment.ends_on >= on)))


def _open_tasks_held(user, on):
    """Open tasks of the positions the user holds on a date (the positions as a subquery:
    how many there are does not change the SQL)."""
    held = Assignment.select(Assignment.position).where(_held_on(user, on))
    return (Task.status == "open") & Task.position.in_(held)


def _build_inbox(user, on, limit, sop_code=None):
    query = (Task.select(*(getattr(Task, c) for c in Task.INBOX_ROW),
                         Application.registration_number, Application.sop, Application.agency)
             .join(Application).where(_open_tasks_held(user, on)))
    if sop_code is not None:
        query = query.join(SopVersion).where(SopVersion.code == sop_code)
    return query.order_by(Task.due_at.asc(nulls="LAST"), Task.id).limit(limit).tuples()


_USER = Prepared(db, lambda ident: User.select().where(User.id == ident))
_HELD = Prepared(db, lambda user, on: (
    Assignment.select(Position.id, Position.agency, Position.key, Position.title,
                      Assignment.capacity)
    .join(Position).where(_held_on(user, on)).order_by(Assignment.id).tuples()))
_INBOX = Prepared(db, _build_inbox)
_INBOX_OF_SOP = Prepared(db, lambda user, on, code, limit: _build_inbox(user, on, limit, code))
_INBOX_CODES = Prepared(db, lambda user, on: (
    Task.select(SopVersion.code).join(Application).join(SopVersion)
    .where(_open_tasks_held(user, on)).distinct().tuples()))
