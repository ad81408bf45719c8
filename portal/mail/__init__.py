"""E-mail: the outbox written in the caller's transaction, its delivery over SMTP, the
administrator's outbox page, and the demo mailbox (only with PORTAL_DEMO_MAILBOX)."""

from __future__ import annotations

from flask import Flask

__all__ = ["init_app"]


def init_app(app: Flask) -> None:
    """Register this domain with the app."""
    from portal.mail import cli, mailbox, transport, views

    transport.init_app(app)
    app.register_blueprint(views.bp)
    app.register_blueprint(mailbox.bp)
    app.jinja_env.globals["demo_mailbox"] = app.extensions["portal.config"].demo_mailbox
    app.cli.add_command(cli.outbox_cli)
