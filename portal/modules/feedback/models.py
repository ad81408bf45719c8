"""Survei Kepuasan Masyarakat responses and invitations, complaints (pengaduan) and each
agency's complaints setting. The schema is created only by migrations."""

from __future__ import annotations

from peewee import (
    CharField,
    ForeignKeyField,
    SmallIntegerField,
    TextField,
)

from portal.core.model import BaseModel, UTCDateTimeField, utcnow
from portal.modules.accounts.models import Position, User
from portal.modules.agencies.models import Agency
from portal.modules.applications.models import Application

__all__ = ["Complaint", "ComplaintSetting", "SurveyInvitation", "SurveyResponse"]


class SurveyResponse(BaseModel):
    """One file's answers to the nine elements (1-4 each). The file is kept only so that it
    answers once; no report shows which file or person answered."""

    application = ForeignKeyField(Application, unique=True, on_delete="CASCADE")
    agency = ForeignKeyField(Agency)
    sop_code = CharField()
    answered_at = UTCDateTimeField(default=utcnow)
    u1 = SmallIntegerField()
    u2 = SmallIntegerField()
    u3 = SmallIntegerField()
    u4 = SmallIntegerField()
    u5 = SmallIntegerField()
    u6 = SmallIntegerField()
    u7 = SmallIntegerField()
    u8 = SmallIntegerField()
    u9 = SmallIntegerField()
    comment = TextField(default="")

    ELEMENTS = ("u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9")

    def scores(self) -> tuple[int, ...]:
        return tuple(getattr(self, name) for name in self.ELEMENTS)


class SurveyInvitation(BaseModel):
    """The applicant of a completed file was invited to the survey (at most once)."""

    application = ForeignKeyField(Application, unique=True, on_delete="CASCADE")
    invited_at = UTCDateTimeField(default=utcnow)


class ComplaintSetting(BaseModel):
    """Where an agency's complaints go and how soon they are answered, for the SOPs whose
    header names no complaints position or time of its own (``complaints_to``)."""

    agency = ForeignKeyField(Agency, unique=True, on_delete="CASCADE")
    position_key = CharField(null=True)  # None: the agency's administrators answer
    standard_time = CharField(default="5 hari kerja")


class Complaint(BaseModel):
    """A complaint about a service, with the complainant's contact (seen only by the
    complaints position and the agency's administrators, and by the complainant through
    the private link they were sent)."""

    agency = ForeignKeyField(Agency)
    sop_code = CharField()
    application = ForeignKeyField(Application, null=True, on_delete="SET NULL")
    registration_number = CharField(default="")
    complainant = ForeignKeyField(User, null=True)
    name = CharField()
    email = CharField()
    language = CharField(default="id")
    body = TextField()
    position = ForeignKeyField(Position, null=True)
    token = CharField(unique=True)
    status = CharField(default="open")  # open | answered
    filed_at = UTCDateTimeField(default=utcnow)
    due_at = UTCDateTimeField(null=True)
    answered_at = UTCDateTimeField(null=True)
    answered_by = ForeignKeyField(User, null=True)
    answer = TextField(default="")

    class Meta:
        indexes = ((("agency", "filed_at"), False), (("agency", "status"), False))

    @classmethod
    def by_token(cls, token: str) -> Complaint | None:
        return cls.get_or_none(cls.token == token) if token else None
