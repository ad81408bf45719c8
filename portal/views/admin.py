"""The agency administrator's pages."""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort
from flask_login import current_user, login_required

from portal.models import AccountApproval, OutboxMessage
from portal.web import render

bp = Blueprint("admin", __name__, url_prefix="/admin")


def admin_required(view):
    """Only administrators of an agency; they see their own agency only."""
    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not current_user.is_agency_admin or not current_user.agency_id:
            abort(403)
        return view(*args, **kwargs)
    return wrapper


@bp.get("/")
@admin_required
def index():
    agency = current_user.agency
    pending = AccountApproval.select().where((AccountApproval.agency == agency)
                                             & (AccountApproval.status == "pending")).count()
    unsent = OutboxMessage.select().where(OutboxMessage.status.in_(("pending", "failed"))).count()
    return render("admin/index.html", agency=agency, pending=pending, unsent=unsent)
