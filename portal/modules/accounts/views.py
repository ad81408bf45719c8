"""Accounts: registration, e-mail confirmation, login, password reset and language; the
administrator's pages for account approvals, officials, positions and acting officials."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from portal.core import limits
from portal.core.errors import OperationError, ValidationError
from portal.core.limits import limited
from portal.core.web import LANGUAGES, current_account, current_locale, is_htmx, render
from portal.modules.accounts import approvals as accounts_approvals
from portal.modules.accounts import operations as accounts_operations
from portal.modules.accounts import sessions, staff
from portal.modules.accounts.guards import (
    admin_required,
    administered_agency,
    approver_required,
)
from portal.modules.accounts.models import UserSession
from portal.modules.accounts.policy import EMAIL_MAX
from portal.modules.accounts.tokens import TokenError, TokenSpent, exchange, read_token
from portal.modules.sops.models import SopVersion

bp = Blueprint("accounts", __name__)


def _approvals_page(status=200, errors=None, values=None, done=None):
    agency = current_account().agency
    return render("admin/approvals.html", "approvals", status=status, agency=agency,
                  approvals=accounts_approvals.pending_approvals(agency),
                  checks=accounts_approvals.activation_checks(agency),
                  calendar=agency.calendar(), errors=errors or {}, values=values or {},
                  done=done)


@bp.get("/admin/approvals")
@approver_required
def approvals():
    """Applicant accounts waiting for this agency's approval."""
    return _approvals_page()


@bp.post("/admin/approvals/<int:approval_id>")
@approver_required
def decide_approval(approval_id):
    """Approve, or decline with a reason; the applicant is told by e-mail."""
    decision = request.form.get("decision", "")
    try:
        approval = accounts_approvals.decide_account(current_account(), approval_id, decision,
                                                     request.form.get("reason", ""))
    except ValidationError as exc:
        return _approvals_page(status=422, errors={approval_id: exc.errors},
                               values={approval_id: request.form})
    done = (_("Akun %(email)s disetujui.", email=approval.user.email)
            if approval.status == "approved"
            else _("Akun %(email)s ditolak.", email=approval.user.email))
    if is_htmx():
        return _approvals_page(done=done)
    flash(done, "ok")
    return redirect(url_for("accounts.approvals"), 303)


def _choices(officials, positions):
    """(value, label) pairs for the official and position selects of the forms."""
    return {"user_choices": [(str(u.id), f"{u.name} ({u.email})") for u in officials
                             if u.active],
            "position_choices": [(str(p.id), f"{p.title} ({p.key})") for p in positions]}


def _users_page(status=200, form=None, errors=None, values=None):
    agency = administered_agency()
    today = agency.today()
    held: dict[int, list] = {}
    for assignment in staff.current_assignments(agency, today):
        held.setdefault(assignment.user_id, []).append(assignment)
    officials = staff.officials(agency)
    positions = staff.positions(agency)
    return render("admin/users.html", status=status, agency=agency, today=today,
                  officials=officials, held=held, positions=positions,
                  errors={form: errors} if form else {}, values={form: values} if form else {},
                  **_choices(officials, positions))


@bp.get("/admin/users")
@admin_required
def users():
    """The agency's officials with the positions they hold, and the positions."""
    return _users_page()


@bp.post("/admin/users")
@admin_required
def create_official():
    form = request.form
    try:
        user = staff.create_official(current_account(), form.get("email", ""),
                                     form.get("name", ""), form.get("nip", ""),
                                     form.get("password", ""))
    except ValidationError as exc:
        values = {k: v for k, v in form.items() if k not in ("password", "csrf_token")}
        return _users_page(422, "official", exc.errors, values)
    flash(_("Akun %(email)s dibuat.", email=user.email), "ok")
    return redirect(url_for("accounts.users"), 303)


@bp.post("/admin/positions")
@admin_required
def create_position():
    form = request.form
    try:
        position = staff.create_position(current_account(), form.get("key", ""),
                                         form.get("title", ""))
    except ValidationError as exc:
        return _users_page(422, "position", exc.errors, form)
    flash(_("Jabatan %(title)s dibuat.", title=position.title), "ok")
    return redirect(url_for("accounts.users"), 303)


@bp.post("/admin/assignments")
@admin_required
def assign():
    form = request.form
    try:
        staff.assign_position(current_account(), form.get("user"), form.get("position"),
                              form.get("starts_on", ""))
    except ValidationError as exc:
        return _users_page(422, "assign", exc.errors, form)
    flash(_("Jabatan diberikan."), "ok")
    return redirect(url_for("accounts.users"), 303)


@bp.post("/admin/assignments/<int:assignment_id>/end")
@admin_required
def end_assignment(assignment_id):
    """End a definitive or acting assignment today; back to the page it was listed on."""
    assignment = staff.end_assignment(current_account(), assignment_id)
    flash(_("Penugasan diakhiri."), "ok")
    target = "accounts.users" if assignment.capacity == "definitive" else "accounts.acting"
    return redirect(url_for(target), 303)


def _acting_page(status=200, errors=None, values=None):
    agency = administered_agency()
    today = agency.today()
    return render("admin/acting.html", status=status, agency=agency, today=today,
                  acting=staff.acting_assignments(agency, today),
                  errors=errors or {}, values=values or {},
                  **_choices(staff.officials(agency), staff.positions(agency)))


@bp.get("/admin/acting")
@admin_required
def acting():
    """Current and future Plh/Plt assignments, and the form to add one."""
    return _acting_page()


@bp.post("/admin/acting")
@admin_required
def create_acting():
    form = request.form
    try:
        staff.assign_acting(current_account(), form.get("user"), form.get("position"),
                            form.get("capacity", ""), form.get("starts_on", ""),
                            form.get("ends_on", ""))
    except ValidationError as exc:
        return _acting_page(422, exc.errors, form)
    flash(_("Penugasan Plh/Plt disimpan."), "ok")
    return redirect(url_for("accounts.acting"), 303)


@bp.post("/services/<code>/approval")
@login_required
def request_approval(code):
    version = SopVersion.current(code) or abort(404)
    accounts_approvals.request_approval(current_account(), version.agency)
    return redirect(url_for("sops.service", code=code), 303)


@bp.route("/register", methods=["GET", "POST"])
@limited("register_client")
def register():
    """Create an applicant account; a confirmation link goes to the e-mail address.

    Without JavaScript the answer to a good form is a redirect to "check your e-mail"; for
    htmx, the register panel becomes that message in place (never a page in the form)."""
    form = request.form
    if request.method == "POST":
        try:
            user = accounts_operations.register_applicant(
                form.get("email", ""), form.get("name", ""), form.get("password", ""),
                form.get("phone") or None, language=current_locale())
        except ValidationError as exc:
            return render("auth/register.html", "panel", status=422, errors=exc.errors,
                          form=form)
        if is_htmx():
            return render("auth/register.html", "panel", sent=True, email=user.email,
                          errors={}, form={})
        session["registered_email"] = user.email
        return redirect(url_for("accounts.registered"), 303)
    return render("auth/register.html", errors={}, form={})


@bp.get("/register/sent")
def registered():
    """Where a registration without JavaScript lands: the link is on its way."""
    email = session.get("registered_email")
    if not email:
        return redirect(url_for("accounts.register"))
    return render("auth/register.html", sent=True, email=email, errors={}, form={})


def _local(target: str, default: str) -> str:
    """``target`` if it is a path on this site, else ``default`` (no open redirect)."""
    if (target.startswith("/") and not target.startswith(("//", "/\\"))
            and target.isprintable()):
        return target
    return default


@bp.get("/account/confirm")
@login_required
def confirm_email():
    """What to do when the e-mail address is not confirmed yet: open the link, or have it
    sent again; ``next`` is where to continue (e.g. the draft kept from a submission)."""
    return _confirm_page(_local(request.args.get("next", ""), ""))


def _confirm_page(next_url, status=200, error=None):
    return render("auth/confirm_email.html", status=status, next_url=next_url, error=error)


@bp.post("/account/confirm/resend")
@login_required
def resend_verification():
    """Send the confirmation link again (at most once a minute); back to the page it was
    asked from, or this page again saying why not."""
    back = _local(request.form.get("back", ""), url_for("accounts.confirm_email"))
    next_url = _local(request.form.get("next", ""), "")
    try:
        user = accounts_operations.resend_verification(current_account())
    except accounts_operations.ResendTooSoon as exc:
        response = _confirm_page(next_url, status=429, error=exc.message)
        retry = int(accounts_operations.RESEND_INTERVAL.total_seconds())
        response.headers["Retry-After"] = str(retry)  # as every 429 of the portal
        return response
    except OperationError as exc:  # confirmed meanwhile (in another tab): nothing to send
        flash(str(exc.message), "ok")
        return redirect(back, 303)
    flash(_("Tautan konfirmasi baru dikirim ke %(email)s.", email=user.email), "ok")
    return redirect(back, 303)


@bp.get("/verify/<token>")
def verify(token):
    """Confirm the e-mail address from the link that was sent to it (which spends it)."""
    try:
        user = read_token(token, "verify")
    except TokenSpent as exc:
        flash(str(exc), "ok")
        return redirect(url_for("accounts.login"), 303)
    except TokenError as exc:
        return render("error.html", status=400, code=400, message=str(exc))
    accounts_operations.verify_email(user)
    flash(_("Alamat e-mail terkonfirmasi. Silakan masuk."), "ok")
    return redirect(url_for("accounts.login", email=user.email), 303)


@bp.route("/login", methods=["GET", "POST"])
@limited("login_client")
def login():
    """Log in with e-mail and password; attempts are limited per client and per account."""
    if request.method == "GET":
        return render("auth/login.html", errors={}, form={"email": request.args.get("email", "")})
    email = request.form.get("email", "").strip().lower()
    limits.hit("login_account", email)  # counted before the password is tried
    try:
        user = accounts_operations.authenticate(email, request.form.get("password", ""),
                                                request.user_agent.string)
    except accounts_operations.LoginRefused as exc:
        return render("auth/login.html", "form", status=exc.status,
                      form={"email": email[:EMAIL_MAX]}, errors={"form": exc.message})
    limits.clear("login_account", email)
    lang = session.get("lang")
    session.clear()  # a fresh session at login: nothing carried over from before
    # The language chosen in this browser, else the one the account keeps (from another
    # browser, or registration), so pages and e-mails agree.
    session["lang"] = lang or user.language
    login_user(user)
    target = request.args.get("next", "")
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("applications.home")
    return redirect(target, 303)


@bp.post("/logout")
@login_required
def logout():
    """End this session on the server: a copy of its cookie opens nothing afterwards."""
    sessions.end_session(current_account())
    logout_user()
    session.clear()
    return redirect(url_for("sops.index"), 303)


@bp.route("/reset", methods=["GET", "POST"])
@limited("reset_client")
def reset_request():
    """Ask for a reset link; the answer is the same whether or not the address exists."""
    if request.method == "POST":
        email = request.form.get("email", "").strip().lower()
        limits.hit("reset_address", email)
        accounts_operations.request_password_reset(email)
        return render("auth/check_email.html", email=email[:EMAIL_MAX], reset=True)
    return render("auth/reset_request.html")


_GRANT = "link_grant"  # the session key of a spent link's replacement token


def _link_user(token: str | None, purpose: str):
    """The user a reset or invitation link names. A token that comes in a URL is spent now
    (tokens.exchange) and its replacement kept in this browser's session; without one (or
    once spent, on a reload), the session's replacement. TokenError when neither holds."""
    if token is not None:
        try:
            user, fresh = exchange(token, purpose)
        except TokenError:
            pass
        else:
            session[_GRANT] = {"purpose": purpose, "token": fresh}
            return user
    grant = session.get(_GRANT) or {}
    if grant.get("purpose") != purpose:
        raise TokenError(_("Tautan tidak berlaku lagi. Minta tautan baru."))
    return read_token(grant.get("token", ""), purpose)


def _choose_password(token, purpose, operation, done):
    """The page of a reset or invitation link: a request with the token spends it (its
    form posts to a URL without one); POST sets the password from the token or from the
    session's grant."""
    try:
        user = _link_user(token, purpose)
    except TokenError as exc:
        return render("error.html", status=400, code=400, message=str(exc))
    action = url_for(f"accounts.{purpose}_form")
    invited = user if purpose == "invite" else None
    if request.method == "POST":
        try:
            operation(user, request.form.get("password", ""))
        except ValidationError as exc:
            return render("auth/reset.html", "form", status=422, errors=exc.errors,
                          action=action, invited=invited)
        session.pop(_GRANT, None)
        flash(done, "ok")
        return redirect(url_for("accounts.login", email=user.email), 303)
    return render("auth/reset.html", errors={}, action=action, invited=invited)


@bp.route("/reset/new", methods=["GET", "POST"], endpoint="reset_form")
@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset(token=None):
    """Choose a new password from the link sent by e-mail."""
    return _choose_password(token, "reset", accounts_operations.reset_password,
                            _("Kata sandi baru tersimpan. Silakan masuk."))


@bp.route("/invite/new", methods=["GET", "POST"], endpoint="invite_form")
@bp.route("/invite/<token>", methods=["GET", "POST"])
def invite(token=None):
    """Choose the password of an account made for you, from the invitation e-mail."""
    return _choose_password(token, "invite", accounts_operations.accept_invitation,
                            _("Kata sandi tersimpan. Silakan masuk."))


def _account_page(status=200, errors=None):
    user = current_account()
    return render("auth/account.html", "password", status=status, user=user,
                  sessions=UserSession.open_for(user), errors=errors or {})


@bp.get("/account")
@login_required
def account():
    """One's own account: the password, and the sessions open on other devices."""
    return _account_page()


@bp.post("/account/password")
@login_required
def change_password():
    """A new password (the current one proves it is you); other sessions end."""
    try:
        accounts_operations.change_password(current_account(), request.form.get("current", ""),
                                            request.form.get("password", ""))
    except ValidationError as exc:
        return _account_page(422, exc.errors)
    flash(_("Kata sandi baru tersimpan. Sesi di perangkat lain telah diakhiri."), "ok")
    return redirect(url_for("accounts.account"), 303)


@bp.post("/account/sessions/end")
@login_required
def end_other_sessions():
    """Log out everywhere else: every other session of one's account ends now."""
    _user, ended = sessions.log_out_everywhere(current_account(), current_account().id)
    flash(_("%(n)s sesi lain diakhiri.", n=ended), "ok")
    return redirect(url_for("accounts.account"), 303)


@bp.post("/admin/users/<int:user_id>/sessions/end")
@admin_required
def end_user_sessions(user_id):
    """An administrator logs an official of their agency out everywhere."""
    user, ended = sessions.log_out_everywhere(current_account(), user_id)
    flash(_("%(email)s dikeluarkan dari %(n)s sesi.", email=user.email, n=ended), "ok")
    return redirect(url_for("accounts.users", _anchor=f"user-{user.id}"), 303)


@bp.post("/admin/users/<int:user_id>/active")
@admin_required
def set_user_active(user_id):
    """Deactivate an official (their sessions end, they cannot log in) or activate again."""
    active = request.form.get("active") == "1"
    user = sessions.set_active(current_account(), user_id, active)
    flash(_("Akun %(email)s diaktifkan.", email=user.email) if active
          else _("Akun %(email)s dinonaktifkan; semua sesinya diakhiri.", email=user.email),
          "ok")
    return redirect(url_for("accounts.users", _anchor=f"user-{user.id}"), 303)


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
            accounts_operations.set_language(current_user._get_current_object(), code)
    # Only a path on this site: "//host", "/\\host" and "/<tab>/host" would leave it (browsers
    # drop tabs and newlines from URLs). 303, so the browser GETs the page after the POST.
    return redirect(_local(request.values.get("next", "/"), "/"), 303)

