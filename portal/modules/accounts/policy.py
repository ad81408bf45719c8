"""The one place for what makes an e-mail address, a password and a name acceptable."""

from __future__ import annotations

import re

from portal.core.forms import NAME_MAX
from portal.core.i18n import LazyText
from portal.core.i18n import lazy_gettext as _l

__all__ = ["EMAIL_PATTERN", "MIN_PASSWORD", "email_problem", "name_problem", "password_problem"]

EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
EMAIL_MAX = 254  # characters of an address (RFC 5321)
MIN_PASSWORD = 10


def email_problem(email: str) -> LazyText | None:
    """Why an (already lower-cased, stripped) address is not acceptable, or None."""
    if not EMAIL_PATTERN.match(email or "") or len(email) > EMAIL_MAX:
        return _l("Alamat e-mail tidak valid.")
    return None


def password_problem(password: str) -> LazyText | None:
    """Why a new password is not acceptable, or None."""
    if len(password or "") < MIN_PASSWORD:
        return _l("Kata sandi minimal %(n)s karakter.", n=MIN_PASSWORD)
    return None


def name_problem(name: str) -> LazyText | None:
    """Why a person's (stripped) name is not acceptable, or None."""
    if not name:
        return _l("Nama wajib diisi.")
    if len(name) > NAME_MAX:
        return _l("Nama terlalu panjang (maksimal %(n)s karakter).", n=NAME_MAX)
    return None
