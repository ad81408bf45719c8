"""The hash-chained audit trail of every action."""

from __future__ import annotations

from flask import Flask

__all__ = ["init_app"]


def init_app(app: Flask) -> None:
    """Register this domain with the app."""
    from portal.modules.audit import cli

    app.cli.add_command(cli.audit_cli)
