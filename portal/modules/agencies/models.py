"""Agencies (instansi) and their own days off. The schema is created only by migrations."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from peewee import (
    BooleanField,
    CharField,
    DateField,
    ForeignKeyField,
    TextField,
)

from portal.core.model import BaseModel, JSONField, UTCDateTimeField, utcnow


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
    address = TextField(default="")  # printed under the letterhead, with the lines below
    phone = CharField(default="")
    email = CharField(default="")
    website = CharField(default="")
    logo_key = CharField(null=True)  # the scaled kop logo (PNG) in portal.storage
    created_at = UTCDateTimeField(default=utcnow)

    def calendar(self):
        """The agency's working-day calendar (its zone, hours and own days off), read now:
        due times are stored from it, so it must never be a copy another process kept."""
        from portal.calendar.workdays import WorkCalendar

        days = [d.day for d in DayOff.select(DayOff.day).where(DayOff.agency == self.id)]
        return WorkCalendar.from_config(self.timezone, self.office_hours, days)

    @classmethod
    def calendar_of(cls, agency_id: int):
        """The calendar of an agency for what this request shows, read once per request
        (an inbox shows many due times of one agency). Outside a request, read now."""
        from flask import g, has_request_context

        if not has_request_context():
            return cls.get_by_id(agency_id).calendar()
        memo = g.setdefault("agency_calendars", {})
        if agency_id not in memo:
            memo[agency_id] = cls.of_request(agency_id).calendar()
        return memo[agency_id]

    @classmethod
    def of_request(cls, agency_id: int) -> Agency:
        """The agency's row as this request read it first (pages show it many times);
        outside a request, read now. Never for writes: operations read the row."""
        from flask import g, has_request_context

        if not has_request_context():
            return cls.get_by_id(agency_id)
        memo = g.setdefault("agencies", {})
        if agency_id not in memo:
            # Written out like User.by_id: every official's page reads it.
            param = cls._meta.database.param
            memo[agency_id] = cls.fetch(f'SELECT * FROM "agency" WHERE id = {param}',
                                        agency_id)[0]
        return memo[agency_id]

    def contact_lines(self) -> tuple[str, ...]:
        """The small lines under the kop surat: the address, then telephone, e-mail and
        website (as official letters write them: Telepon, Pos-el, Laman)."""
        parts = [f"{label} {value}" for label, value in (
            ("Telepon", self.phone), ("Pos-el", self.email), ("Laman", self.website)) if value]
        return tuple(line for line in (self.address or "", ", ".join(parts)) if line)

    def today(self) -> dt.date:
        """Today's date in the agency's zone (assignment and leave dates are its dates)."""
        return dt.datetime.now(ZoneInfo(self.timezone)).date()


class DayOff(BaseModel):
    """A day the agency is closed beyond the public holidays (cuti bersama, local holidays)."""

    agency = ForeignKeyField(Agency, backref="days_off", on_delete="CASCADE")
    day = DateField()
    name = CharField(default="")

    class Meta:
        indexes = ((("agency", "day"), True),)

