"""SOPs: the format (spec), the pure workflow engine, the shipped seeds, stored versions,
the public catalogue."""

from __future__ import annotations

from flask import Flask

__all__ = ["init_app"]


def init_app(app: Flask) -> None:
    """Register this domain with the app."""
    from portal.modules.sops import cli, views

    app.register_blueprint(views.bp)
    app.cli.add_command(cli.sop_cli)
