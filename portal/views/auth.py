"""Accounts: register, confirm e-mail, log in and out, reset a forgotten password."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, flash, redirect, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.security import check_password_hash

from portal import audit, operations
from portal.models import LoginFailure, User, db, utcnow
from portal.tokens import TokenError, read_token
from portal.web import LANGUAGES, current_locale, render

bp = Blueprint("auth", __name__)

THROTTLE_WINDOW = dt.timedelta(minutes=15)
THROTTLE_LIMIT = 5  # failures per address (and per IP, times four) inside the window


@bp.route("/register", methods=["GET", "POST"])
def register():
    """Create an applicant account; a confirmation link goes to the e-mail address."""
    form = request.form
    if request.method == "POST":
        try:
            operations.register_applicant(form.get("email", ""), form.get("name", ""),
                                          form.get("password", ""), form.get("phone") or None,
                                          language=current_locale())
        except operations.ValidationError as exc:
            return render("auth/register.html", "form", status=422, errors=exc.errors, form=form)
        return render("auth/check_email.html", email=form.get("email", "").strip().lower())
    return render("auth/register.html", errors={}, form={})


@bp.get("/verify/<token>")
def verify(token):
    """Confirm the e-mail address from the link that was sent to it."""
    try:
        user = read_token(token, "verify")
    except TokenError as exc:
        return render("error.html", status=400, code=400, message=str(exc))
    operations.verify_email(user)
    flash("Alamat e-mail terkonfirmasi. Silakan masuk.", "ok")
    return redirect(url_for("auth.login", email=user.email), 303)


def _throttled(email: str, ip: str) -> bool:
    since = utcnow() - THROTTLE_WINDOW
    recent = LoginFailure.select().where(LoginFailure.at >= since)
    return (recent.where(LoginFailure.email == email).count() >= THROTTLE_LIMIT
            or recent.where(LoginFailure.ip == ip).count() >= THROTTLE_LIMIT * 4)


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Log in with e-mail and password (throttled after repeated failures)."""
    if request.method == "GET":
        return render("auth/login.html", errors={}, form={"email": request.args.get("email", "")})
    email = request.form.get("email", "").strip().lower()
    ip = request.remote_addr or "?"
    if _throttled(email, ip):
        return render("auth/login.html", "form", status=429, form={"email": email}, errors={
            "form": "Terlalu banyak percobaan gagal. Coba lagi dalam 15 menit."})
    user = User.by_email(email)
    if user is None or not user.active or not check_password_hash(
            user.password_hash, request.form.get("password", "")):
        with db.atomic():
            LoginFailure.create(email=email, ip=ip)
            LoginFailure.delete().where(LoginFailure.at < utcnow() - THROTTLE_WINDOW).execute()
        return render("auth/login.html", "form", status=422, form={"email": email},
                      errors={"form": "E-mail atau kata sandi salah."})
    lang = session.get("lang")
    session.clear()  # a fresh session at login: nothing carried over from before
    # The language chosen in this browser, else the one the account keeps (from another
    # browser, or registration), so pages and e-mails agree.
    session["lang"] = lang or user.language
    login_user(user)
    with db.atomic():
        audit.record(user, "account.login", user)
    target = request.args.get("next", "")
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("portal.home")
    return redirect(target, 303)


@bp.post("/logout")
@login_required
def logout():
    with db.atomic():
        audit.record(current_user._get_current_object(), "account.logout", current_user)
    logout_user()
    session.clear()
    return redirect(url_for("public.index"), 303)


@bp.route("/reset", methods=["GET", "POST"])
def reset_request():
    """Ask for a reset link; the answer is the same whether or not the address exists."""
    if request.method == "POST":
        operations.request_password_reset(request.form.get("email", "").strip().lower())
        return render("auth/check_email.html", email=request.form.get("email", ""), reset=True)
    return render("auth/reset_request.html")


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset(token):
    """Choose a new password from the link sent by e-mail."""
    try:
        user = read_token(token, "reset")
    except TokenError as exc:
        return render("error.html", status=400, code=400, message=str(exc))
    if request.method == "POST":
        try:
            operations.reset_password(user, request.form.get("password", ""))
        except operations.ValidationError as exc:
            return render("auth/reset.html", "form", status=422, errors=exc.errors, token=token)
        flash("Kata sandi baru tersimpan. Silakan masuk.", "ok")
        return redirect(url_for("auth.login", email=user.email), 303)
    return render("auth/reset.html", errors={}, token=token)


@bp.route("/lang/<code>", methods=["GET", "POST"])
def language(code):
    """Switch the interface language (Bahasa Indonesia by default, English available).

    The footer's button POSTs (CSRF-checked): for a logged-in person the choice is also
    kept on the account, and their e-mails follow it. A plain link (GET) switches this
    browser only: a GET must not change what the account keeps.
    """
    if code in LANGUAGES:
        session["lang"] = code
        if request.method == "POST" and current_user.is_authenticated:
            operations.set_language(current_user._get_current_object(), code)
    target = request.values.get("next", "/")
    return redirect(target if target.startswith("/") and not target.startswith("//") else "/")
