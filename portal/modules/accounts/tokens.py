"""Signed, expiring links for e-mail verification, password reset and invitations (an
account made for someone, who chooses its password from the link) (itsdangerous).

A token in a URL reaches access logs (the portal's, the reverse proxy's) with the request
line, so every request that carries one spends it before its line is written: opening a
confirmation link confirms the address (the link then confirms nothing more); opening a
reset or invitation link draws a new session nonce, which spends it and every other such
link of the account, and hands this browser a fresh token in its signed session cookie
instead (``exchange``), which the form that sets the password uses. A log that keeps the
URL keeps a dead token."""

from __future__ import annotations

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from portal.config import current_config
from portal.core.i18n import lazy_gettext as _l
from portal.modules.accounts.models import User

__all__ = ["TokenError", "TokenSpent", "exchange", "make_token", "read_token"]

MAX_AGE = {"verify": 3 * 24 * 3600, "reset": 2 * 3600, "invite": 7 * 24 * 3600}
# Links that set a password: they bind the session nonce, so they are spent once it is set.
_SETS_PASSWORD = ("reset", "invite")


class TokenError(Exception):
    """A link that is invalid, used, or too old; the message is fit to show."""


class TokenSpent(TokenError):
    """A confirmation link whose address is confirmed already."""


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_config().secret_key, salt=f"absah-{purpose}")


def make_token(user: User, purpose: str) -> str:
    """A token naming the user; a reset or invitation token also binds the account's session
    nonce, so it stops working once the password changes (single use)."""
    bind = user.session_nonce if purpose in _SETS_PASSWORD else user.email
    return _serializer(purpose).dumps({"u": user.id, "b": bind})


def read_token(token: str, purpose: str) -> User:
    """The user a token names; raises TokenError when it is bad, expired or spent."""
    try:
        data = _serializer(purpose).loads(token, max_age=MAX_AGE[purpose])
    except SignatureExpired:
        raise TokenError(_l("Tautan sudah kedaluwarsa. Minta tautan baru.")) from None
    except BadSignature:
        raise TokenError(_l("Tautan tidak valid.")) from None
    user = User.get_or_none(User.id == data.get("u"))
    bind = None if user is None else (
        user.session_nonce if purpose in _SETS_PASSWORD else user.email)
    if user is None or data.get("b") != bind:
        raise TokenError(_l("Tautan tidak berlaku lagi."))
    if purpose == "verify" and user.email_verified_at is not None:
        raise TokenSpent(_l("Alamat e-mail ini sudah terkonfirmasi. Silakan masuk."))
    return user


def exchange(token: str, purpose: str) -> tuple[User, str]:
    """Spend a reset or invitation token that arrived in a URL; return its user and a fresh
    token for the same purpose that no URL carries (the caller keeps it in the session)."""
    from portal.core.db import db
    from portal.modules.audit import trail as audit

    user = read_token(token, purpose)
    with db.atomic():
        user.rotate_nonce()
        User.update(session_nonce=user.session_nonce).where(User.id == user.id).execute()
        audit.record(user, f"account.{purpose}_link_opened", user)
    return user, make_token(user, purpose)
