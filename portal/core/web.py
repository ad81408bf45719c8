"""Web plumbing shared by the domains' blueprints: the extensions, rendering a page or its
htmx fragment, fingerprinted assets, security headers and the one set of error pages."""

from __future__ import annotations

import gzip
import hashlib
import logging
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from flask import Flask, current_app, make_response, render_template, request, session, url_for
from flask_babel import Babel
from flask_compress import Compress
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from htmx_flask import Htmx
from jinja2_fragments.flask import render_block
from werkzeug.exceptions import HTTPException

from portal.core import errors, forms, limits
from portal.core.i18n import LANGUAGES
from portal.core.i18n import lazy_gettext as _l
from portal.core.paths import STATIC_DIR, TEMPLATES_DIR, TRANSLATIONS_DIR

__all__ = ["LANGUAGES", "add_page_state", "asset_url", "current_account", "current_locale",
           "init_app", "is_htmx", "login_manager", "page_state", "render", "render_body",
           "render_unless_unchanged"]

log = logging.getLogger(__name__)
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
compress = Compress()
htmx = Htmx()

# What each error status tells the person, when the error itself says nothing better.
_STATUS_MESSAGES = {
    400: _l("Permintaan tidak dapat diproses."),
    403: _l("Anda tidak berwenang melakukan ini."),
    404: _l("Halaman tidak ditemukan."),
    405: _l("Cara membuka halaman ini tidak didukung."),
    409: _l("Tindakan ini tidak dapat dilakukan sekarang. Muat ulang halaman."),
    413: _l("Berkas terlalu besar untuk dikirim sekaligus."),
    429: _l("Terlalu banyak permintaan. Tunggu sebentar lalu coba lagi."),
    500: _l("Terjadi kesalahan di server. Coba lagi nanti."),
}


def render(template: str, block: str | None = None, status: int = 200, **context):
    """The whole page, or for an htmx request the named block of the same template.

    One URL serves both, so the response varies on HX-Request.
    """
    body = render_body(template, block, **context)
    if block is not None and status < 400 and is_htmx():
        body += _CLEAR_ALERTS  # a successful click clears the last refusal's message
    response = make_response(body, status)
    response.vary.add("HX-Request")
    return response


# Out-of-band: empties templates/base.html's #alerts along with whatever the answer swaps.
_CLEAR_ALERTS = '<div id="alerts" hx-swap-oob="innerHTML"></div>'


def render_body(template: str, block: str | None = None, **context) -> str:
    """The HTML ``render`` sends: the page, or the block an htmx request asks for."""
    if block is not None and is_htmx():
        return render_block(template, block, **context)
    return render_template(template, **context)


def render_unless_unchanged(template: str, block: str | None, shown,
                            context: Callable[[], dict]):
    """``render``, unless the browser already has exactly this page: then 304, no body.

    The ETag hashes what the page shows, computed before rendering: ``shown`` (the view's
    own data: rows, filters), and what every page around it shows, from ``page_state``
    (the URL, htmx or not, language, session form token, the domains' menu state, and the
    version of the templates and assets). ``context`` builds the template's context, only
    when the page is rendered. Nothing is kept on the server; an unchanged page costs its
    queries and a few hundred bytes on the wire. A page with a flash
    message is always rendered (it is shown once).
    """
    if session.get("_flashes"):
        return render(template, block, **context())
    digest = hashlib.sha256(repr((page_state(template, block), shown)).encode())
    etag = digest.hexdigest()[:32]
    if request.if_none_match.contains_weak(etag):
        response = make_response("", 304)
    else:
        response = render(template, block, **context())
    response.set_etag(etag, weak=True)
    response.vary.add("HX-Request")
    response.cache_control.private = True
    response.cache_control.no_cache = True  # always ask; 304 while unchanged
    return response


def page_state(template: str, block: str | None) -> tuple:
    """Everything a page shows besides its view's data (see ``render_unless_unchanged``):
    each domain adds what its part of base.html shows through ``add_page_state``."""
    extra = tuple(provider() for provider in current_app.extensions["portal.page_state"])
    return (_design_version(current_app.jinja_env.auto_reload), template,
            block if is_htmx() else None, request.full_path, current_locale(),
            session.get("csrf_token"), extra)


def add_page_state(app: Flask, provider) -> None:
    """Register a function whose value every page shows (e.g. the menu of the user)."""
    app.extensions.setdefault("portal.page_state", []).append(provider)


def _design_version(reloading: bool) -> str:
    """A hash of every template and static file: a deploy that changes how pages look
    changes every ETag. Read once per process (files change only with a deploy), or
    every time while templates reload (development)."""
    if reloading:
        return _files_hash.__wrapped__(str(TEMPLATES_DIR), str(STATIC_DIR))
    return _files_hash(str(TEMPLATES_DIR), str(STATIC_DIR))


@lru_cache(maxsize=1)
def _files_hash(*folders: str) -> str:
    digest = hashlib.sha256()
    for folder in folders:
        for path in sorted(Path(folder).rglob("*")):
            if path.is_file():
                digest.update(str(path.relative_to(folder)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def is_htmx() -> bool:
    """Whether htmx sent this request (it then wants a fragment, not a page)."""
    return request.headers.get("HX-Request") == "true"


def current_account():
    """The logged-in user as the model object the operations take."""
    return current_user._get_current_object()


def current_locale() -> str:
    """The interface language of this request: the one chosen in the session, else Indonesian."""
    chosen = session.get("lang")
    return chosen if chosen in LANGUAGES else "id"


@lru_cache(maxsize=64)
def _fingerprint(path: str, mtime: float) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:10]


def asset_url(filename: str) -> str | None:
    """URL of a static file with a content hash (cached for a year); None if it is absent."""
    path = Path(current_app.static_folder) / filename
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return None
    return url_for("static", filename=filename, v=_fingerprint(str(path), mtime))


@lru_cache(maxsize=64)
def _gzipped(path: str, mtime: float) -> bytes:
    return gzip.compress(Path(path).read_bytes(), compresslevel=9, mtime=0)


def _gzip_static(response):
    """Static scripts and styles gzipped (flask-compress leaves file responses alone; htmx is
    52 KB raw but 17 KB gzipped, eight seconds against three on a 2G line)."""
    path = Path(current_app.static_folder) / (request.view_args or {}).get("filename", "")
    if (response.status_code != 200 or not request.accept_encodings["gzip"]
            or path.suffix not in (".js", ".css", ".svg") or not path.is_file()):
        return response
    if hasattr(response.response, "close"):
        response.response.close()  # the file send_file opened
    response.direct_passthrough = False
    response.set_data(_gzipped(str(path), path.stat().st_mtime))
    response.headers["Content-Encoding"] = "gzip"
    response.vary.add("Accept-Encoding")
    return response


class _Macros:
    """Attribute access to the macros of templates/_macros.html."""

    def __init__(self, app: Flask):
        self._app = app

    def __getattr__(self, name):
        return getattr(self._app.jinja_env.get_template("_macros.html").module, name)


def error_response(status: int, message=None):
    """The error page, or for htmx a fragment swapped into the page's alert region: a
    refused click never vanishes silently."""
    message = message or _STATUS_MESSAGES.get(status, _STATUS_MESSAGES[500])
    response = render("error.html", "alert", status=status, code=status, message=message)
    if is_htmx():
        response.headers["HX-Retarget"] = "#alerts"
        response.headers["HX-Reswap"] = "innerHTML"
    return response


def _register_errors(app: Flask) -> None:
    """One set of error handlers, all through ``render``: never a stack trace."""

    @app.errorhandler(HTTPException)
    def _http_error(exc):
        if exc.code is None or exc.code < 400:
            return exc
        return error_response(exc.code, _STATUS_MESSAGES.get(exc.code))

    @app.errorhandler(CSRFError)
    def _csrf_error(exc):
        log.warning("CSRF refused: %s", exc.description)
        return error_response(400, _l("Sesi formulir kedaluwarsa atau tidak sah. Muat ulang "
                                      "halaman lalu coba lagi."))

    @app.errorhandler(errors.NotFound)
    def _not_found(exc):
        return error_response(404, exc.message)

    @app.errorhandler(errors.PermissionDenied)
    def _denied(exc):
        return error_response(403, exc.message)

    @app.errorhandler(errors.OperationError)
    def _refused(exc):
        return error_response(409, exc.message)

    @app.errorhandler(Exception)
    def _unexpected(exc):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500)


def init_app(app: Flask) -> None:
    """Bind the extensions and the cross-cutting request handling."""
    app.config.setdefault("COMPRESS_MIMETYPES", ["text/html", "text/css", "application/javascript",
                                                 "text/javascript", "application/json"])
    app.config.setdefault("COMPRESS_ALGORITHM", ["gzip"])
    app.config.setdefault("COMPRESS_MIN_SIZE", 300)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS_DIR))
    app.config["BABEL_DEFAULT_LOCALE"] = "id"
    app.extensions.setdefault("portal.page_state", [])
    htmx.init_app(app)
    csrf.init_app(app)
    compress.init_app(app)
    babel.init_app(app, locale_selector=current_locale)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = None
    # The form macros as a global `m`: a fragment rendered alone (an htmx block) does not
    # run its template's top-level imports, so an `{% import %}` would be missing there.
    app.jinja_env.globals.update(asset_url=asset_url, LANGUAGES=LANGUAGES,
                                 locale=current_locale, m=_Macros(app))
    _register_errors(app)
    limits.init_app(app, error_response)
    forms.init_app(app, error_response)
    hsts = app.extensions["portal.config"].base_url.startswith("https:")

    @app.after_request
    def _headers(response):
        if request.endpoint == "static":
            response = _gzip_static(response)
            if request.args.get("v"):
                # Fingerprinted: the content never changes under this URL. send_file's
                # no-cache would make every page revalidate htmx.
                response.cache_control.no_cache = None
                response.cache_control.public = True
                response.cache_control.max_age = 31536000
                response.cache_control.immutable = True
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if hsts:  # served over HTTPS: browsers never try plain HTTP again for a year
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; "
            "script-src 'self'; frame-ancestors 'none'; form-action 'self'")
        return response
