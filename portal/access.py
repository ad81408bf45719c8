"""Who may see what: applicants their own files; officials the files of the SOPs their
positions act in; agency administrators their agency's files. One place for these rules."""

from __future__ import annotations

import datetime as dt

from portal.models import Agency, Application, Position, User, utcnow
from portal.sop.spec import ActorKind, SopSpec

__all__ = ["can_view_application", "positions_today", "sop_positions", "today_for"]


def today_for(user: User) -> dt.date:
    """Today's date where the user works (their agency's zone; WIB without an agency)."""
    if user.agency_id:
        return Agency.cached(user.agency_id).calendar().local(utcnow()).date()
    return (utcnow() + dt.timedelta(hours=7)).date()  # WIB, for users without an agency


def positions_today(user: User) -> list[tuple[Position, str]]:
    """(position, capacity) the user holds today, directly or as Plh/Plt (asked once per
    user object, i.e. once per request)."""
    held = getattr(user, "_positions_today", None)
    if held is None:
        held = Position.held_by(user, today_for(user))
        user._positions_today = held
    return held


def sop_positions(spec: SopSpec) -> set[tuple[str, str]]:
    """(agency code, position key) of every position acting in an SOP."""
    return {(a.office or spec.agency, a.key) for a in spec.actors
            if a.kind is ActorKind.POSITION}


def can_view_application(user: User | None, application: Application) -> bool:
    """The applicant, officials whose positions act in its SOP, and its agency's admins."""
    if user is None:
        return False
    if application.applicant_id == user.id:
        return True
    if application.status == "draft":
        return False
    if user.is_agency_admin and user.agency_id == application.agency_id:
        return True
    pairs = sop_positions(application.sop.spec)
    return any((p.agency.code, p.key) in pairs for p, _c in positions_today(user))
