"""Agencies (instansi): their settings, working-day calendar and days off, and the
administrator's overview."""

from __future__ import annotations

from flask import Flask

__all__ = ["init_app"]


def init_app(app: Flask) -> None:
    """Register this domain with the app."""
    from portal.modules.agencies import views

    app.register_blueprint(views.bp)
