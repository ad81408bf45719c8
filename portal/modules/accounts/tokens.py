"""Signed, expiring links for e-mail verification, password reset and invitations (an
account made for someone, who chooses its password from the link) (itsdangerous)."""

from __future__ import annotations

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from portal.config import current_config
from portal.core.i18n import lazy_gettext as _l
from portal.modules.accounts.models import User

__all__ = ["TokenError", "make_token", "read_token"]

MAX_AGE = {"verify": 3 * 24 * 3600, "reset": 2 * 3600, "invite": 7 * 24 * 3600}
# Links that set a password: they bind the session nonce, so they are spent once it is set.
_SETS_PASSWORD = ("reset", "invite")


class TokenError(Exception):
    """A link that is invalid, used, or too old; the message is fit to show."""


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
    return user
