"""What every domain shares: the database, model fields, errors, translation, web
plumbing, numbering, forms parsing, the health check."""

from __future__ import annotations

from flask import Flask

__all__ = ["init_app"]


def init_app(app: Flask) -> None:
    """Register this domain with the app."""
    from portal.core import cli, health, web

    web.init_app(app)
    app.register_blueprint(health.bp)
    app.cli.add_command(cli.db_cli)
