"""E-mails about accounts: confirmation link, password reset, invitation (an account made
for someone), approval asked and decided."""

from __future__ import annotations

from portal.config import current_config
from portal.mail import outbox
from portal.modules.accounts.models import User


def account_verify(user: User) -> None:
    from portal.modules.accounts.tokens import make_token

    outbox.queue("account_verify", [user],
                 {"link": current_config().url(f"/verify/{make_token(user, 'verify')}")})


def password_reset(user: User) -> None:
    from portal.modules.accounts.tokens import make_token

    outbox.queue("password_reset", [user],
                 {"link": current_config().url(f"/reset/{make_token(user, 'reset')}")})


def invitation(user: User, role: str, agency=None) -> None:
    """Tell someone an account was made for them (``role``: "admin" of ``agency``,
    "official" of it, or "platform"), with the link that sets its password."""
    from portal.modules.accounts.tokens import MAX_AGE, make_token

    outbox.queue("account_invited", [user],
                 {"link": current_config().url(f"/invite/{make_token(user, 'invite')}"),
                  "role": role, "agency": agency.name if agency is not None else "",
                  "days": MAX_AGE["invite"] // 86400,
                  "reset_link": current_config().url("/reset")})


def approval_requested(approval, approvers: list[User]) -> None:
    outbox.queue("account_approval_requested", approvers,
                 {"applicant": approval.user.name, "agency": approval.agency.name,
                  "link": current_config().url("/admin/approvals")})


def approval_decided(approval) -> None:
    outbox.queue("account_approved" if approval.status == "approved" else "account_declined",
                 [approval.user], {"agency": approval.agency.name, "reason": approval.reason,
                                   "link": current_config().url("/")})

