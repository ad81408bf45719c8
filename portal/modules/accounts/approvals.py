"""Agencies' approval of applicant accounts (some SOPs require it before applying): who
may approve, asking, deciding. One rule for "who may approve", used by pages and menus."""

from __future__ import annotations

from portal.core.db import db
from portal.core.errors import NotFound, OperationError, PermissionDenied, ValidationError
from portal.core.forms import TEXT_MAX, length_problem
from portal.core.i18n import lazy_gettext as _l
from portal.core.model import utcnow
from portal.modules.accounts import notify
from portal.modules.accounts.models import AccountApproval, Assignment, Position, User
from portal.modules.accounts.staff import positions_today
from portal.modules.agencies.models import Agency
from portal.modules.audit import trail as audit
from portal.modules.sops.models import SopVersion
from portal.modules.sops.spec import (
    ActionKind,
    SopSpec,
)


def request_approval(user: User, agency: Agency) -> AccountApproval:
    """Ask an agency to approve the account (idempotent); its approvers are told."""
    with db.atomic():
        approval = AccountApproval.get_or_none((AccountApproval.user == user)
                                               & (AccountApproval.agency == agency))
        if approval is not None and approval.status != "declined":
            return approval
        if approval is None:
            approval = AccountApproval.create(user=user, agency=agency)
        else:
            approval.status, approval.requested_at, approval.reason = "pending", utcnow(), ""
            approval.save()
        audit.record(user, "account.approval_requested", approval, agency=agency.code)
        notify.approval_requested(approval, approvers(agency))
    return approval


def activating_keys(agency: Agency) -> frozenset[str]:
    """Keys of the agency's positions that an active SOP names to activate accounts."""
    keys = set()
    for spec in SopVersion.active_specs():
        for step in spec.account_steps:
            if step.action is ActionKind.ACTIVATE:
                actor = spec.actor(step.actor)
                if (actor.office or spec.agency) == agency.code:
                    keys.add(actor.key)
    return frozenset(keys)


def approvers(agency: Agency) -> list[User]:
    """Who may approve accounts for an agency: its active administrators, and whoever holds
    today (Plh/Plt included) a position its SOPs name to activate accounts. The one rule:
    ``may_approve`` asks it too."""
    users = {u.id: u for u in User.select().where((User.agency == agency)
                                                  & User.is_agency_admin & User.active)}
    keys = activating_keys(agency)
    if keys:
        today = agency.today()
        for position in Position.select().where((Position.agency == agency)
                                                & Position.key.in_(keys)):
            users.update({u.id: u for u, _c in Assignment.holders(position, today)})
    return list(users.values())


def may_approve(user: User | None) -> bool:
    """Whether the user may decide account approvals for their own agency."""
    if user is None or not user.active or not user.agency_id:
        return False
    if user.is_agency_admin:
        return True
    # The same rule as ``approvers``, asked from the user's side: for the menu of every page.
    keys = activating_keys(Agency.of_request(user.agency_id))
    return any(p.key in keys and p.agency_id == user.agency_id
               for p, _c in positions_today(user))


def decide_approval(approver: User, approval: AccountApproval, approve: bool,
                    reason: str = "") -> AccountApproval:
    """Approve or decline an account for an agency; the applicant is told."""
    with db.atomic():
        if approver.id not in {u.id for u in approvers(approval.agency)}:
            raise PermissionDenied(_l("Anda tidak berwenang menyetujui akun untuk instansi ini."))
        if not approve and not (reason or "").strip():
            raise ValidationError({"reason": _l("Sebutkan alasan penolakan.")})
        if problem := length_problem((reason or "").strip(), TEXT_MAX):
            raise ValidationError({"reason": problem})
        taken = (AccountApproval.update(status="approved" if approve else "declined",
                                        decided_at=utcnow(), decided_by=approver,
                                        reason=(reason or "").strip())
                 .where((AccountApproval.id == approval.id)
                        & (AccountApproval.status == "pending")).execute())
        if taken != 1:  # decided by someone else in the meantime, or not pending
            raise OperationError(_l("Permintaan ini sudah diputuskan. Muat ulang halaman."))
        approval = AccountApproval.get_by_id(approval.id)
        audit.record(approver, f"account.{approval.status}", approval,
                     agency=approval.agency.code)
        notify.approval_decided(approval)
    return approval


def needs_approval(spec: SopSpec, agency: Agency) -> bool:
    """Whether applying for this SOP needs the agency's approval of the account."""
    return spec.requires_account_approval or agency.requires_account_approval


def approval_agency(actor: User | None) -> Agency:
    """The agency whose accounts the actor approves: an admin, or an activating position."""
    if not may_approve(actor):
        raise PermissionDenied(_l("Anda tidak berwenang menyetujui akun untuk instansi ini."))
    return actor.agency


def pending_approvals(agency: Agency) -> list[AccountApproval]:
    """Accounts waiting for the agency's approval, oldest request first."""
    return list(AccountApproval.select(AccountApproval, User)
                .join(User, on=(AccountApproval.user == User.id))
                .where((AccountApproval.agency == agency)
                       & (AccountApproval.status == "pending"))
                .order_by(AccountApproval.requested_at, AccountApproval.id))


def pending_summary(agency_id: int) -> tuple[int, object]:
    """How many accounts wait for the agency's approval, and when the latest was asked: one
    COUNT statement for the inbox of every approver (and its ETag), written out like
    ``User.from_session_id``: peewee spends more building it than the database answering."""
    database = AccountApproval._meta.database
    count, latest = database.execute_sql(
        f'SELECT COUNT(id), MAX(requested_at) FROM "account_approval" '
        f"WHERE agency_id = {database.param} AND status = 'pending'", (agency_id,)).fetchone()
    return int(count or 0), AccountApproval.requested_at.python_value(latest)


def activation_checks(agency: Agency) -> list[tuple[SopSpec, object]]:
    """What the agency's active SOPs say an official checks before activating an account:
    (spec, its ACTIVATE account step) for each SOP of the agency that has one."""
    checks = []
    for spec in SopVersion.active_specs():
        for step in spec.account_steps:
            if step.action is ActionKind.ACTIVATE and \
                    (spec.actor(step.actor).office or spec.agency) == agency.code:
                checks.append((spec, step))
    return checks


def decide_account(actor: User, approval_id: int, decision: str,
                   reason: str = "") -> AccountApproval:
    """Approve or decline a pending account of the actor's agency; the applicant is told."""
    agency = approval_agency(actor)
    if decision not in ("approve", "decline"):
        raise ValidationError({"decision": _l("Pilih setujui atau tolak.")})
    with db.atomic():
        approval = AccountApproval.get_or_none(AccountApproval.id == approval_id)
        if approval is None or approval.agency_id != agency.id:
            raise NotFound(_l("Permintaan persetujuan tidak ditemukan."))
        if approval.status != "pending":
            raise OperationError(_l("Permintaan ini sudah diputuskan. Muat ulang halaman."))
        return decide_approval(actor, approval, decision == "approve", reason)

