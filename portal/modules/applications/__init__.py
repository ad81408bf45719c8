"""Files (berkas): drafts, submission, documents, tasks with due times, decisions, the
applicant's and the official's pages."""

from __future__ import annotations

from flask import Flask

__all__ = ["init_app"]


def init_app(app: Flask) -> None:
    """Register this domain with the app."""
    from portal.modules.applications import views

    app.register_blueprint(views.bp)
