"""The health check: 200 when the database answers."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify
from peewee import PeeweeException

from portal.core.db import db, pending_migrations

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


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

