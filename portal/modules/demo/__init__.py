"""Demo data and walks: the five seed agencies, their officials, and a file walked
through every step."""

from __future__ import annotations

from flask import Flask

__all__ = ["init_app"]


def init_app(app: Flask) -> None:
    """Register this domain with the app."""
    from portal.modules.demo import cli

    app.cli.add_command(cli.demo_cli)
