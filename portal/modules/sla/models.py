"""The working time of each decided task, measured once on its agency's calendar (the SLA
report reads these rows instead of recounting office hours for every task on every view).
The schema is created only by migrations."""

from __future__ import annotations

from peewee import (
    BooleanField,
    CharField,
    FloatField,
    ForeignKeyField,
    IntegerField,
)

from portal.core.model import BaseModel, UTCDateTimeField
from portal.modules.accounts.models import User
from portal.modules.agencies.models import Agency
from portal.modules.applications.models import Application, Task

__all__ = ["TaskTiming"]


class TaskTiming(BaseModel):
    """One decided task: how long it took (working minutes for steps timed in office time,
    wall-clock minutes for steps timed in days or months), whether it kept its due time,
    and what its decision did. A decided task never changes, so neither does its row."""

    task = ForeignKeyField(Task, unique=True, on_delete="CASCADE")
    decision_id = IntegerField(index=True)
    application = ForeignKeyField(Application, on_delete="CASCADE")
    agency = ForeignKeyField(Agency)
    sop_code = CharField()
    step_key = CharField()
    applicant = BooleanField(default=False)  # held by the applicant: not the agency's time
    returned_from = CharField(null=True)  # a correction: the step that sent the file back
    decided_by = ForeignKeyField(User, null=True)
    decided_at = UTCDateTimeField()
    minutes = FloatField()
    on_time = BooleanField(null=True)  # None: the step has no due time
    effect = CharField()  # forward | return | reject
    closes = BooleanField(default=False)  # this decision completed the file

    class Meta:
        indexes = ((("agency", "decided_at"), False),)

    INSERT_COLUMNS = ("task", "decision_id", "application", "agency", "sop_code", "step_key",
                      "applicant", "returned_from", "decided_by", "decided_at", "minutes",
                      "on_time", "effect", "closes")

    @classmethod
    def insert_ignoring_measured(cls, rows: list[dict], batch: int = 500) -> None:
        """Multi-row INSERTs that skip tasks measured meanwhile (ON CONFLICT DO NOTHING, in
        both SQLite and PostgreSQL), written out: peewee builds them value by value."""
        database = cls._meta.database
        fields = [cls._meta.fields[name] for name in cls.INSERT_COLUMNS]
        columns = ", ".join(f'"{f.column_name}"' for f in fields)
        one = "(" + ", ".join([database.param] * len(fields)) + ")"
        for start in range(0, len(rows), batch):
            chunk = rows[start:start + batch]
            params = [f.db_value(row[f.name]) for row in chunk for f in fields]
            database.execute_sql(f'INSERT INTO "task_timing" ({columns}) VALUES '
                                 + ", ".join([one] * len(chunk))
                                 + ' ON CONFLICT ("task_id") DO NOTHING', params)

    @classmethod
    def last_decision_id(cls) -> int:
        """The newest decision already measured (0 when none)."""
        return cls.select(cls.decision_id).order_by(cls.decision_id.desc()).scalar() or 0
