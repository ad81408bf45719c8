"""Web plumbing shared by the blueprints: extensions, rendering of pages and fragments,
fingerprinted assets, security headers, error pages. Views stay thin on top of this."""

from __future__ import annotations

import gzip
import hashlib
import logging
from functools import lru_cache
from pathlib import Path

from flask import Flask, current_app, request, session, url_for
from flask_babel import Babel
from flask_compress import Compress
from flask_login import LoginManager
from flask_wtf.csrf import CSRFError, CSRFProtect
from htmx_flask import Htmx
from jinja2_fragments.flask import render_block

from portal.models import User

__all__ = ["asset_url", "init_app", "login_manager", "render", "uploads_from_request"]

log = logging.getLogger(__name__)
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
compress = Compress()
htmx = Htmx()

LANGUAGES = ("id", "en")


def render(template: str, block: str | None = None, status: int = 200, **context):
    """The whole page, or for an htmx request the named block of the same template.

    One URL serves both, so the response varies on HX-Request.
    """
    from flask import make_response, render_template

    if block is not None and request.headers.get("HX-Request") == "true":
        body = render_block(template, block, **context)
    else:
        body = render_template(template, **context)
    response = make_response(body, status)
    response.vary.add("HX-Request")
    return response


@lru_cache(maxsize=64)
def _fingerprint(path: str, mtime: float) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:10]


def asset_url(filename: str) -> str | None:
    """URL of a static file with a content hash (cached for a year); None if it is absent."""
    path = Path(current_app.static_folder) / filename
    if not path.is_file():
        return None
    return url_for("static", filename=filename, v=_fingerprint(str(path), path.stat().st_mtime))


class _Macros:
    """Attribute access to the macros of templates/_macros.html."""

    def __init__(self, app: Flask):
        self._app = app

    def __getattr__(self, name):
        return getattr(self._app.jinja_env.get_template("_macros.html").module, name)


@lru_cache(maxsize=64)
def _gzipped(path: str, mtime: float) -> bytes:
    return gzip.compress(Path(path).read_bytes(), compresslevel=9, mtime=0)


def _static_view(app: Flask):
    """Static files, gzipped once per file version when the client accepts it.

    flask-compress leaves file responses alone; htmx is 52 KB raw but 17 KB gzipped, which
    on a 2G line is the difference between eight seconds and three.
    """
    plain = app.view_functions["static"]

    def static(filename):
        path = Path(app.static_folder) / filename
        if ("gzip" not in request.headers.get("Accept-Encoding", "")
                or path.suffix not in (".js", ".css", ".svg") or not path.is_file()
                or not path.resolve().is_relative_to(Path(app.static_folder).resolve())):
            return plain(filename=filename)
        response = plain(filename=filename)  # status, type, conditional GET and caching as usual
        if response.status_code == 200:
            response.direct_passthrough = False
            if hasattr(response.response, "close"):
                response.response.close()  # the file send_file opened
            response.set_data(_gzipped(str(path), path.stat().st_mtime))
            response.headers["Content-Encoding"] = "gzip"
            response.vary.add("Accept-Encoding")
        return response

    return static


def _is_approver() -> bool:
    """Whether the logged-in official may approve applicant accounts for their agency."""
    from flask import g
    from flask_login import current_user

    from portal.operations import may_approve

    if not current_user.is_authenticated:
        return False
    if "is_approver" not in g:
        g.is_approver = may_approve(current_user._get_current_object())
    return g.is_approver


def _locale() -> str:
    chosen = session.get("lang")
    return chosen if chosen in LANGUAGES else "id"


def init_app(app: Flask) -> None:
    """Bind the extensions and the cross-cutting request handling."""
    app.config.setdefault("COMPRESS_MIMETYPES", ["text/html", "text/css", "application/javascript",
                                                 "text/javascript", "application/json"])
    app.config.setdefault("COMPRESS_ALGORITHM", ["gzip"])
    app.config.setdefault("COMPRESS_MIN_SIZE", 300)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES",
                          str(Path(__file__).resolve().parent / "translations"))
    app.config["BABEL_DEFAULT_LOCALE"] = "id"
    app.view_functions["static"] = _static_view(app)
    htmx.init_app(app)
    csrf.init_app(app)
    compress.init_app(app)
    babel.init_app(app, locale_selector=_locale)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    # The form macros as a global `m`: a fragment rendered alone (an htmx block) does not
    # run its template's top-level imports, so an `{% import %}` would be missing there.
    app.jinja_env.globals.update(asset_url=asset_url, LANGUAGES=LANGUAGES, locale=_locale,
                                 m=_Macros(app), is_approver=_is_approver)

    @app.after_request
    def _headers(response):
        if request.path.startswith("/static/") and request.args.get("v"):
            # Fingerprinted: the content never changes under this URL. send_file's no-cache
            # would make every page revalidate htmx, which on 2G sometimes re-downloads it.
            response.cache_control.no_cache = None
            response.cache_control.public = True
            response.cache_control.max_age = 31536000
            response.cache_control.immutable = True
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; "
            "script-src 'self'; frame-ancestors 'none'; form-action 'self'")
        return response

    @app.errorhandler(CSRFError)
    def _csrf_error(error):
        log.warning("CSRF refused: %s", error.description)
        return render("error.html", status=400, code=400,
                      message="Sesi formulir kedaluwarsa atau tidak sah. Muat ulang halaman "
                              "lalu coba lagi.")


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    ident, _, fragment = user_id.partition(":")
    if not ident.isdigit():
        return None
    user = User.get_or_none(User.id == int(ident))
    if user is None or not user.active or user.password_hash[-12:] != fragment:
        return None
    return user


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def uploads_from_request(prefix: str = "doc_"):
    """Files of the request keyed by document key (inputs are named doc_<key>)."""
    from portal.operations import Upload

    uploads = {}
    for name, storage in request.files.items():
        if name.startswith(prefix) and storage and storage.filename:
            uploads[name[len(prefix):]] = Upload(storage.filename, storage.read(),
                                                 storage.mimetype or "")
    return uploads
