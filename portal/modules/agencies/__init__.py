"""Agencies (instansi): their settings, working-day calendar and days off, and the
administrator's overview; the platform's page and commands that create agencies."""

from __future__ import annotations

from flask import Flask

__all__ = ["init_app"]


def init_app(app: Flask) -> None:
    """Register this domain with the app."""
    from portal.modules.agencies import cli, platform, views

    app.register_blueprint(views.bp)
    app.register_blueprint(platform.bp)
    app.cli.add_command(cli.agency_cli)
