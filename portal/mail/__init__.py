"""E-mail: the outbox written in the caller's transaction, its delivery over SMTP, and
the administrator's outbox page."""

from __future__ import annotations

from flask import Flask

__all__ = ["init_app"]


def init_app(app: Flask) -> None:
    """Register this domain with the app."""
    from portal.mail import cli, transport, views

    transport.init_app(app)
    app.register_blueprint(views.bp)
    app.cli.add_command(cli.outbox_cli)
