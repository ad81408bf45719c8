"""Letters: numbering, wording, rendering and signing at issuance, revocation, and
verification of a presented file."""

from __future__ import annotations

from flask import Flask

__all__ = ["init_app"]


def init_app(app: Flask) -> None:
    """Register this domain with the app."""
    from portal.modules.letters import cli, views

    app.register_blueprint(views.bp)
    app.cli.add_command(cli.letters_cli)
