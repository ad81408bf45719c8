"""Accounts and positions: users, the positions (jabatan) of agencies, who holds them
when (definitive, Plh/Plt, a.n.), agencies' approval of accounts, login sessions.

The schema is created only by the numbered migrations in migrations/."""

from __future__ import annotations

import datetime as dt
import secrets

from peewee import (
    BooleanField,
    CharField,
    DateField,
    ForeignKeyField,
    TextField,
)

from portal.core.model import BaseModel, UTCDateTimeField, utcnow
from portal.modules.agencies.models import Agency


class User(BaseModel):
    """Anyone who logs in: applicants (no positions), officials and agency administrators."""

    email = CharField(unique=True)
    name = CharField()
    password_hash = CharField()
    nip = CharField(null=True)  # civil-servant number, printed in signature blocks
    phone = CharField(null=True)
    agency = ForeignKeyField(Agency, null=True, backref="staff")  # home agency of officials
    is_agency_admin = BooleanField(default=False)
    # Creates agencies and their first administrators, imports staff (/platform).
    is_platform_admin = BooleanField(default=False)
    email_verified_at = UTCDateTimeField(null=True)
    active = BooleanField(default=True)
    created_at = UTCDateTimeField(default=utcnow)
    language = CharField(default="id")  # chosen in the portal; their e-mails are written in it
    # Random, carried by the session id and reset links; a new one ends every session.
    session_nonce = CharField(default=lambda: secrets.token_urlsafe(16))

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

    # The UserSession this request runs in (set by from_session_id and at login).
    session_id: str | None = None
    session_seen_at: dt.datetime | None = None

    def get_id(self) -> str | None:
        """The session's id (flask-login keeps it in the signed cookie): a UserSession row,
        so ending that row ends the session on every host (see UserSession)."""
        return self.session_id

    @classmethod
    def from_session_id(cls, session_id: str) -> User | None:
        """The active user of an open session, with the session's last sighting, in one
        indexed statement (every logged-in request asks: written out, since peewee would
        spend more building it than the database answering: see ``BaseModel.fetch``)."""
        if not session_id or len(session_id) > UserSession.id.max_length:
            return None
        p = cls._meta.database.param
        found = cls.fetch(f"""
            SELECT u.*, s.last_seen_at AS session_seen_at
            FROM "user_session" AS s JOIN "user" AS u ON u.id = s.user_id
            WHERE s.id = {p} AND s.ended_at IS NULL AND u.active""", session_id)
        if not found:
            return None
        user = found[0]
        user.session_id = session_id
        user.session_seen_at = UserSession.last_seen_at.python_value(user.session_seen_at)
        return user

    def rotate_nonce(self) -> None:
        """Draw a new nonce (with a password change): reset and invitation links end."""
        self.session_nonce = secrets.token_urlsafe(16)


class UserSession(BaseModel):
    """One login. The signed cookie carries only this row's random id; a session ends when
    its row does (logout, password change, deactivation, "log out everywhere"), and a copy
    of the cookie taken before is refused from then on, on every host sharing the database."""

    id = CharField(primary_key=True, max_length=64)
    user = ForeignKeyField(User, backref="sessions", on_delete="CASCADE")
    created_at = UTCDateTimeField(default=utcnow)
    last_seen_at = UTCDateTimeField(default=utcnow)  # updated at most every few minutes
    ended_at = UTCDateTimeField(null=True)
    ended_reason = CharField(max_length=32, default="")  # logout, password, everywhere, ...
    user_agent = CharField(max_length=120, default="")  # a summary: "Chrome · Android"

    class Meta:
        table_name = "user_session"
        indexes = ((("user", "ended_at"), False),)

    @classmethod
    def open_for(cls, user: User) -> list[UserSession]:
        """The user's sessions that have not ended, the most recently seen first."""
        return list(cls.select().where((cls.user == user) & cls.ended_at.is_null())
                    .order_by(cls.last_seen_at.desc()))


class Position(BaseModel):
    """A jabatan in an agency (Kasi SDMK of Dinkes Bangka); the key matches SOP actor keys."""

    agency = ForeignKeyField(Agency, backref="positions", on_delete="CASCADE")
    key = CharField()
    title = CharField()

    class Meta:
        indexes = ((("agency", "key"), True),)

    @classmethod
    def held_by(cls, user: User, on: dt.date) -> list[tuple[Position, str]]:
        """(position, capacity) pairs the user holds on a date, directly or as Plh/Plt
        (every page of an official asks: the statement is written out, see
        User.from_session_id)."""
        p = cls._meta.database.param
        day = Assignment.starts_on.db_value(on)
        rows = cls.fetch(f"""
            SELECT p.id, p.agency_id, p."key", p.title, h.capacity AS held_as
            FROM "assignment" AS h JOIN "position" AS p ON p.id = h.position_id
            WHERE h.user_id = {p} AND (h.starts_on IS NULL OR h.starts_on <= {p})
              AND (h.ends_on IS NULL OR h.ends_on >= {p})
            ORDER BY h.id""", user.id, day, day)
        return [(position, position.held_as) for position in rows]


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

    @classmethod
    def held_on(cls, user, on: dt.date):
        """The condition "assignments of the user that hold on a date" (ranges include both
        ends; an open end holds for ever)."""
        return ((cls.user == user)
                & (cls.starts_on.is_null() | (cls.starts_on <= on))
                & (cls.ends_on.is_null() | (cls.ends_on >= on)))


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

