"""Login sessions kept on the server (UserSession): opened at login, ended by logout, a
password change or reset, deactivation, and "log out everywhere" (by the person, or by an
administrator of their agency). One transaction each, with an audit event.

The cookie only names a row: every host reads the same table, so a session ended on one
host is refused on all of them at the next request.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets

from portal.core.db import db
from portal.core.errors import NotFound, OperationError
from portal.core.i18n import lazy_gettext as _l
from portal.core.model import utcnow
from portal.modules.accounts.models import User, UserSession
from portal.modules.accounts.staff import may_manage_staff, require_platform_admin
from portal.modules.audit import trail as audit

__all__ = ["IDLE_LIMIT", "end_all", "end_session", "log_out_everywhere", "open_session",
           "set_active", "still_valid", "summarise_agent"]

# A session nobody used for this long ends (the cookie lives only as long as the browser
# runs, but a browser kept open on a shared office PC should not stay logged in for ever).
IDLE_LIMIT = dt.timedelta(days=14)
# last_seen_at is written at most this often: not one write per request.
_SEEN_EVERY = dt.timedelta(minutes=5)

_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("SamsungBrowser", "Samsung Internet"),
             ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Safari/", "Safari"))
_SYSTEMS = (("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"),
            ("Windows", "Windows"), ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"),
            ("Linux", "Linux"))


def summarise_agent(user_agent: str) -> str:
    """A short, readable name of a browser ("Chrome · Android") for the list of sessions."""
    text = user_agent or ""
    browser = next((name for token, name in _BROWSERS if token in text), "")
    system = next((name for token, name in _SYSTEMS if token in text), "")
    summary = " · ".join(part for part in (browser, system) if part)
    if not summary:
        summary = re.sub(r"[^\x20-\x7e]", "", text)[:60].strip()
    return summary[:UserSession.user_agent.max_length]


def open_session(user: User, user_agent: str = "") -> UserSession:
    """Start a session for a user who just proved who they are (inside the caller's
    transaction); the user object then carries it (``get_id`` names it)."""
    session = UserSession.create(id=secrets.token_urlsafe(32), user=user,
                                 user_agent=summarise_agent(user_agent))
    user.session_id = session.id
    user.session_seen_at = session.last_seen_at
    # Sessions ended long ago say nothing any more.
    UserSession.delete().where((UserSession.user == user) & UserSession.ended_at.is_null(False)
                               & (UserSession.ended_at < utcnow() - dt.timedelta(days=90))
                               ).execute()
    return session


def still_valid(user: User) -> bool:
    """Whether the loaded session may go on (not idle too long); marks it seen now and
    then. An idle one is ended here and the request runs without a user."""
    now = utcnow()
    seen = user.session_seen_at
    if seen is not None and now - seen > IDLE_LIMIT:
        with db.atomic():
            _end((UserSession.id == user.session_id), "idle", now)
        return False
    if seen is None or now - seen > _SEEN_EVERY:
        UserSession.update(last_seen_at=now).where(UserSession.id == user.session_id).execute()
        user.session_seen_at = now
    return True


def _end(condition, reason: str, now=None) -> int:
    return (UserSession.update(ended_at=now or utcnow(), ended_reason=reason)
            .where(condition & UserSession.ended_at.is_null()).execute())


def end_session(user: User) -> None:
    """Log out: end the session this request runs in (audited)."""
    with db.atomic():
        _end(UserSession.id == (user.session_id or ""), "logout")
        audit.record(user, "account.logout", user)


def end_all(user: User, reason: str, keep: str | None = None) -> int:
    """End the user's sessions but ``keep`` (inside the caller's transaction); how many."""
    condition = UserSession.user == user
    if keep:
        condition &= UserSession.id != keep
    return _end(condition, reason)


def log_out_everywhere(actor: User, user_id: int) -> tuple[User, int]:
    """End every session of a user: their own (but the one they ask from), or, by an
    administrator of their agency or of the platform, all of them. Returns (user, ended)."""
    user = User.get_or_none(User.id == user_id)
    if user is None:
        raise NotFound(_l("Akun tidak ditemukan."))
    own = actor.id == user.id
    if not own:
        if user.agency_id is None:
            require_platform_admin(actor)  # an applicant: the platform's administrators
        else:
            may_manage_staff(actor, user.agency)
    with db.atomic():
        ended = end_all(user, "everywhere", keep=actor.session_id if own else None)
        audit.record(actor, "account.sessions_ended", user, sessions=ended,
                     by="self" if own else "admin")
    return user, ended


def set_active(actor: User, user_id: int, active: bool) -> User:
    """Deactivate an official's account (their sessions end at once, they cannot log in) or
    activate it again; by an administrator of their agency, never on oneself."""
    user = User.get_or_none(User.id == user_id)
    if user is None or user.agency_id is None:
        raise NotFound(_l("Akun tidak ditemukan."))
    may_manage_staff(actor, user.agency)
    if user.id == actor.id:
        raise OperationError(_l("Anda tidak dapat menonaktifkan akun Anda sendiri."))
    with db.atomic():
        changed = (User.update(active=active)
                   .where((User.id == user.id) & (User.active != active)).execute())
        ended = 0 if active else end_all(user, "deactivated")
        if changed:
            audit.record(actor, "account.activated" if active else "account.deactivated",
                         user, sessions=ended)
    user.active = active
    return user
