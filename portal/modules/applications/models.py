"""Files (berkas) and their life: the application, its documents (versioned), its tasks
with due times, and the append-only decisions. The schema is created only by migrations."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from peewee import (
    CharField,
    ForeignKeyField,
    IntegerField,
    TextField,
)

from portal.core.model import BaseModel, JSONField, UTCDateTimeField, utcnow
from portal.modules.accounts.models import Assignment, Position, User
from portal.modules.agencies.models import Agency
from portal.modules.sops.models import SopVersion


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
        from portal.modules.sops.engine import FileState, FileStatus

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

    @classmethod
    def open_for_holder(cls, user: User, on: dt.date):
        """The condition "open tasks of the positions the user holds on a date" (the
        positions as a subquery: one statement however many there are)."""
        held = Assignment.select(Assignment.position).where(Assignment.held_on(user, on))
        return (cls.status == "open") & cls.position.in_(held)

    # The inbox's statement, written out: every official runs it on every visit, and
    # peewee builds a four-table query with a subquery in about 0.6 ms of Python, five
    # times what the database needs to answer it (bench: 1.3 ms -> 0.3 ms per inbox).
    # Plain SQL both SQLite and PostgreSQL run; {p} is the driver's placeholder.
    INBOX_SQL = """
        SELECT t.id, t.kind, t.step_key, t.due_at, t.clock_started_at,
               a.registration_number, a.agency_id, s.id, s.code, s.title, s.sha256
        FROM "task" AS t
        JOIN "application" AS a ON a.id = t.application_id
        JOIN "sop_version" AS s ON s.id = a.sop_id
        WHERE t.status = 'open'
          AND t.position_id IN (
              SELECT h.position_id FROM "assignment" AS h
              WHERE h.user_id = {p}
                AND (h.starts_on IS NULL OR h.starts_on <= {p})
                AND (h.ends_on IS NULL OR h.ends_on >= {p}))
          AND ({p} = '' OR s.code = {p})
        ORDER BY t.due_at ASC NULLS LAST, t.id
        LIMIT {p}"""
    @classmethod
    def inbox_rows(cls, user: User, on: dt.date, sop_code: str = "", limit: int = 50):
        """What an official's inbox lists, the most urgent first: each open task of the
        positions the user holds on a date with its file's number and SOP version (one
        statement, ``INBOX_SQL``; rows as ``InboxTask`` tuples, not model objects)."""
        database = cls._meta.database
        day = Assignment.starts_on.db_value(on)
        cursor = database.execute_sql(cls.INBOX_SQL.format(p=database.param),
                                      (user.id, day, day, sop_code, sop_code, limit))
        due, started = cls.due_at.python_value, cls.clock_started_at.python_value
        return [InboxTask(row[0], row[1], row[2], due(row[3]), started(row[4]), *row[5:])
                for row in cursor.fetchall()]

    @classmethod
    def inbox_codes(cls, user: User, on: dt.date) -> list[str]:
        """The SOP codes among the open tasks of the positions the user holds on a date."""
        return sorted(code for code, in (cls.select(SopVersion.code).join(Application)
                                         .join(SopVersion).where(cls.open_for_holder(user, on))
                                         .distinct().tuples()))

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


class InboxTask(NamedTuple):
    """One row of ``Task.inbox_rows``."""

    id: int
    kind: str
    step_key: str
    due_at: dt.datetime | None
    clock_started_at: dt.datetime
    registration_number: str | None
    agency: int
    sop_id: int
    code: str
    title: str
    sha256: str
