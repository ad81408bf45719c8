"""The one place for what makes an e-mail address, a password, a name and a phone number
acceptable.

E-mail addresses are ASCII only. An address with non-ASCII characters (``budi@contoh.id``
written with an accented letter, or a local part in another script) needs SMTPUTF8 from
every server on the way; many do not offer it, and the account could then never receive its
confirmation link. So such an address is refused at registration with a message saying so,
instead of an account that can never be confirmed.
"""

from __future__ import annotations

import re

from portal.core.forms import NAME_MAX, ascii_digits
from portal.core.i18n import LazyText
from portal.core.i18n import lazy_gettext as _l

__all__ = ["EMAIL_MAX", "EMAIL_PATTERN", "MIN_PASSWORD", "PASSWORD_MAX", "email_problem",
           "name_problem", "password_problem", "phone_problem", "clean_phone"]

# RFC 5322's "atext" and dot-separated domain labels, ASCII only.
EMAIL_PATTERN = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}"
                           r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                           r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
EMAIL_MAX = 254  # characters of an address (RFC 5321)
MIN_PASSWORD = 10
PASSWORD_MAX = 200  # hashing a megabyte of "password" would cost the server, not the guesser
PHONE_MAX = 30
_PHONE = re.compile(r"^\+?[0-9 ()./-]{6,30}$")


def email_problem(email: str) -> LazyText | None:
    """Why an (already lower-cased, stripped) address is not acceptable, or None."""
    email = email or ""
    if email and not email.isascii() and "@" in email:
        return _l("Alamat e-mail dengan huruf di luar huruf Latin dasar (mis. huruf beraksen) "
                  "belum dapat dipakai: tidak semua server e-mail dapat mengirimkannya. "
                  "Gunakan alamat lain.")
    if len(email) > EMAIL_MAX or not EMAIL_PATTERN.match(email):
        return _l("Alamat e-mail tidak valid.")
    return None


def password_problem(password: str, new: bool = True) -> LazyText | None:
    """Why a new password (or, ``new=False``, one typed to log in) is not acceptable."""
    password = password or ""
    if len(password) > PASSWORD_MAX:
        return _l("Kata sandi terlalu panjang (maksimal %(n)s karakter).", n=PASSWORD_MAX)
    if new and len(password) < MIN_PASSWORD:
        return _l("Kata sandi minimal %(n)s karakter.", n=MIN_PASSWORD)
    return None


def name_problem(name: str) -> LazyText | None:
    """Why a person's (stripped) name is not acceptable, or None."""
    if not name:
        return _l("Nama wajib diisi.")
    if len(name) > NAME_MAX:
        return _l("Nama terlalu panjang (maksimal %(n)s karakter).", n=NAME_MAX)
    return None


def clean_phone(phone: str | None) -> str:
    """A phone number as stored: digits of any script as ASCII, single spaces."""
    return " ".join(ascii_digits(phone or "").split())


def phone_problem(phone: str) -> LazyText | None:
    """Why a (cleaned) phone number is not acceptable, or None (empty is fine)."""
    if phone and (not _PHONE.match(phone) or sum(c.isdigit() for c in phone) < 6):
        return _l("Nomor telepon hanya berisi angka, spasi dan + ( ) - . / (maksimal "
                  "%(n)s karakter).", n=PHONE_MAX)
    return None
