"""Pages anyone may open: the service catalogue and the health check."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify, render_template
from peewee import PeeweeException

from portal.db import pending_migrations
from portal.models import SopVersion, db

bp = Blueprint("public", __name__)
log = logging.getLogger(__name__)


@bp.get("/")
def index():
    """The catalogue of services, per agency."""
    services = [(version, version.spec) for version in SopVersion.catalogue()]
    return render_template("index.html", services=services)


@bp.get("/healthz")
def healthz():
    """200 when the database answers (and says whether migrations are pending)."""
    try:
        db.execute_sql("SELECT 1").fetchone()
        # Migrations only change with a deploy: count them once per process, not per poll.
        if "pending_migrations" not in current_app.extensions:
            current_app.extensions["pending_migrations"] = pending_migrations(
                current_app.extensions["database"])
        pending = current_app.extensions["pending_migrations"]
    except PeeweeException as exc:
        log.error("health check: database error: %s", exc)
        return jsonify(status="error", database="unreachable"), 503
    body = {"status": "ok", "database": db.obj.__class__.__name__.replace("Database", "").lower(),
            "pending_migrations": len(pending)}
    return jsonify(body), 200


def register_errors(app) -> None:
    """Friendly error pages: never a stack trace."""

    @app.errorhandler(404)
    def not_found(_error):
        return render_template("error.html", code=404,
                               message="Halaman tidak ditemukan."), 404

    @app.errorhandler(403)
    def forbidden(_error):
        return render_template("error.html", code=403,
                               message="Anda tidak berwenang melakukan ini."), 403

    @app.errorhandler(413)
    def too_large(_error):
        return render_template("error.html", code=413,
                               message="Berkas terlalu besar untuk dikirim sekaligus."), 413

    @app.errorhandler(500)
    def server_error(_error):
        return render_template("error.html", code=500,
                               message="Terjadi kesalahan di server. Coba lagi nanti."), 500
