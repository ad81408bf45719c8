"""Who may open the pages of accounts and administration: the view decorators, the session's
user loader, and the menu's question "may this official approve accounts?"."""

from __future__ import annotations

from functools import wraps

from flask import abort, g
from flask_login import current_user, login_required

from portal.core.web import current_account, login_manager
from portal.modules.accounts import approvals, sessions, staff
from portal.modules.accounts.models import User

__all__ = ["admin_required", "administered_agency", "approver_required", "is_approver",
           "platform_admin_required"]


def admin_required(view):
    """Only administrators of an agency; they see their own agency only."""
    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not current_user.is_agency_admin or not current_user.agency_id:
            abort(403)
        return view(*args, **kwargs)
    return wrapper


def platform_admin_required(view):
    """Only administrators of the platform (``flask admin create``)."""
    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not current_user.is_platform_admin:
            abort(403)
        return view(*args, **kwargs)
    return wrapper


def approver_required(view):
    """Administrators, and holders of a position that activates accounts in an SOP."""
    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not is_approver():
            abort(403)
        return view(*args, **kwargs)
    return wrapper


def administered_agency():
    """The agency the logged-in administrator administers (403 for anyone else)."""
    return staff.admin_agency(current_account())


def is_approver() -> bool:
    """Whether the logged-in official may approve applicant accounts (asked once a request)."""
    if not current_user.is_authenticated:
        return False
    if "is_approver" not in g:
        g.is_approver = approvals.may_approve(current_account())
    return g.is_approver


def menu_state() -> tuple:
    """What the menu of every page shows of the logged-in user, and whether the banner
    "e-mail not confirmed" is shown (see base.html)."""
    user = current_account()
    if not user.is_authenticated:
        return (None,)
    return (user.id, user.agency_id, user.is_agency_admin, is_approver(),
            user.email_verified_at is None, user.is_platform_admin)


@login_manager.user_loader
def _load_user(session_id: str) -> User | None:
    """The user of an open session (one indexed statement; see UserSession)."""
    user = User.from_session_id(session_id)
    if user is None or not sessions.still_valid(user):
        return None
    return user
