"""What a person does with their own account: register, confirm the e-mail, choose
the language, reset the password. One transaction each, with an audit event."""

from __future__ import annotations

import datetime as dt

from peewee import IntegrityError
from werkzeug.security import check_password_hash

from portal.config import current_config
from portal.core.db import db
from portal.core.errors import OperationError, ValidationError
from portal.core.forms import length_problems
from portal.core.i18n import lazy_gettext as _l
from portal.core.model import utcnow
from portal.modules.accounts import notify, sessions
from portal.modules.accounts.models import User
from portal.modules.accounts.policy import (
    clean_phone,
    email_problem,
    name_problem,
    password_problem,
    phone_problem,
)
from portal.modules.accounts.staff import UNUSABLE_PASSWORD
from portal.modules.audit import trail as audit
from portal.modules.audit.models import AuditEvent


def register_applicant(email: str, name: str, password: str, phone: str | None = None,
                       language: str = "id") -> User:
    """Create an applicant account (not yet verified, not yet approved) that receives its
    e-mails, the confirmation link first, in ``language`` (a code the caller checked)."""
    email = (email or "").strip().lower()
    name = (name or "").strip()
    phone = clean_phone(phone)
    problems = {"email": email_problem(email), "name": name_problem(name),
                "password": password_problem(password), "phone": phone_problem(phone)}
    # The column lengths too (the rules above are stricter today; they may not stay so).
    errors = {**length_problems({"email": email, "name": name, "phone": phone}, User),
              **{field: problem for field, problem in problems.items() if problem}}
    if errors:
        raise ValidationError(errors)
    with db.atomic():
        if User.by_email(email):
            raise ValidationError({"email": _l("Alamat e-mail ini sudah terdaftar.")})
        try:
            user = User.create(email=email, name=name, phone=phone or None, language=language,
                               password_hash=current_config().hash_password(password))
        except IntegrityError:
            raise ValidationError({"email": _l("Alamat e-mail ini sudah terdaftar.")}) from None
        audit.record(user, "account.registered", user)
        notify.account_verify(user)
    return user


def verify_email(user: User) -> User:
    """Mark the user's e-mail address as confirmed (idempotent)."""
    with db.atomic():
        if user.email_verified_at is None:
            user.email_verified_at = utcnow()
            user.save()
            audit.record(user, "account.email_verified", user)
    return user


RESEND_INTERVAL = dt.timedelta(minutes=1)


class ResendTooSoon(OperationError):
    """A confirmation link went to this account less than RESEND_INTERVAL ago."""


def resend_verification(user: User) -> User:
    """Queue the confirmation e-mail again (a fresh link; the earlier ones stay valid), at
    most once a minute per account; ResendTooSoon when asked sooner, OperationError when
    the address is already confirmed."""
    with db.atomic():
        query = User.select().where(User.id == user.id)
        if db.obj.for_update:
            query = query.for_update()  # two clicks at once: one e-mail
        current = query.get()
        if current.email_verified_at is not None:
            raise OperationError(_l("Alamat e-mail Anda sudah terkonfirmasi."))
        sent = (AuditEvent.select(AuditEvent.id)
                .where((AuditEvent.object_type == "user") & (AuditEvent.object_id == str(user.id))
                       & AuditEvent.action.in_(("account.registered",
                                                "account.verification_resent"))
                       & (AuditEvent.at > utcnow() - RESEND_INTERVAL))
                .exists())
        if sent:
            raise ResendTooSoon(_l("Tautan konfirmasi baru saja dikirim ke %(email)s. Periksa "
                                   "e-mail Anda (juga folder spam), atau coba lagi dalam satu "
                                   "menit.", email=current.email))
        notify.account_verify(current)
        audit.record(current, "account.verification_resent", current)
    return current


def set_language(user: User, language: str) -> User:
    """Remember the language a person chose (a code the caller checked): their next e-mails
    are written in it. Choosing the language they already have changes nothing."""
    if user.language == language:
        return user
    with db.atomic():
        User.update(language=language).where(User.id == user.id).execute()
        user.language = language
        audit.record(user, "account.language", user, language=language)
    return user


def request_password_reset(email: str) -> None:
    """E-mail a reset link if the address has an account; say nothing either way."""
    user = User.by_email(email or "")
    if user is None or not user.active:
        return
    with db.atomic():
        notify.password_reset(user)
        audit.record(user, "account.password_reset_requested", user)


def reset_password(user: User, password: str) -> User:
    """Set a new password (the reset link stops working, other sessions end)."""
    return _set_password(user, password, "account.password_reset")


def accept_invitation(user: User, password: str) -> User:
    """Choose the password of an account made for someone (an agency's administrator or
    official), from the invitation link: the link is spent and the address confirmed."""
    return _set_password(user, password, "account.invitation_accepted")


def _set_password(user: User, password: str, action: str) -> User:
    if problem := password_problem(password):
        raise ValidationError({"password": problem})
    with db.atomic():
        user.password_hash = current_config().hash_password(password)
        user.rotate_nonce()  # this link and any other reset link are spent
        if user.email_verified_at is None:
            user.email_verified_at = utcnow()  # the link proved the address
        user.save()
        ended = sessions.end_all(user, "password")  # whoever knew the old one is out
        audit.record(user, action, user, sessions_ended=ended)
    return user


class LoginRefused(OperationError):
    """Wrong e-mail or password (422). Too many attempts are refused before this, by the
    rate limits of the login view (portal.core.limits)."""

    def __init__(self, message, status: int = 422):
        self.status = status
        super().__init__(message)


def authenticate(email: str, password: str, user_agent: str = "") -> User:
    """The active account these credentials open, in a new session (``user.session_id``),
    with the login audited; refused without saying which part was wrong."""
    email = (email or "").strip().lower()
    user = User.by_email(email) if not email_problem(email) else None
    if (user is None or not user.active or password_problem(password, new=False)
            or not check_password_hash(user.password_hash, password or "")):
        raise LoginRefused(_l("E-mail atau kata sandi salah."))
    with db.atomic():
        session = sessions.open_session(user, user_agent)
        audit.record(user, "account.login", user, session=session.id[:8])
    return user


def change_password(user: User, current: str, new: str) -> User:
    """A logged-in person chooses a new password, proving the current one: every other
    session of the account ends, this one goes on; reset links already sent stop working."""
    errors = {}
    if not current or password_problem(current, new=False) or not check_password_hash(
            user.password_hash, current):
        errors["current"] = _l("Kata sandi saat ini salah.")
    if problem := password_problem(new):
        errors["password"] = problem
    elif current and new == current:
        errors["password"] = _l("Kata sandi baru sama dengan yang lama.")
    if errors:
        raise ValidationError(errors)
    with db.atomic():
        User.update(password_hash=current_config().hash_password(new),
                    session_nonce=_new_nonce(user)).where(User.id == user.id).execute()
        ended = sessions.end_all(user, "password", keep=user.session_id)
        audit.record(user, "account.password_changed", user, sessions_ended=ended)
    return user


def _new_nonce(user: User) -> str:
    user.rotate_nonce()
    return user.session_nonce


def make_platform_admin(email: str, name: str = "") -> tuple[User, str]:
    """Make someone an administrator of the platform (``flask admin create``; only the
    command line does this): a new account, invited to choose its password, or an existing
    one promoted. Returns the user and "created", "promoted" or "unchanged"."""
    email = (email or "").strip().lower()
    name = (name or "").strip() or email.split("@", 1)[0]
    errors = {"email": email_problem(email), "name": name_problem(name)}
    if errors := {field: problem for field, problem in errors.items() if problem}:
        raise ValidationError(errors)
    with db.atomic():
        user = User.by_email(email)
        if user is not None and user.is_platform_admin:
            return user, "unchanged"
        if user is not None:
            User.update(is_platform_admin=True).where(User.id == user.id).execute()
            user.is_platform_admin = True
            audit.record(None, "account.platform_admin", user, email=email)
            return user, "promoted"
        try:
            with db.atomic():
                user = User.create(email=email, name=name, is_platform_admin=True,
                                   password_hash=UNUSABLE_PASSWORD)
        except IntegrityError:
            raise ValidationError({"email": _l("Alamat e-mail ini sudah terdaftar.")}) from None
        audit.record(None, "account.created", user, email=email, platform_admin=True)
        notify.invitation(user, "platform")
    return user, "created"
