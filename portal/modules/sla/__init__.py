"""Standard times (SLA): near-due and overdue reminders."""

from __future__ import annotations

from flask import Flask

__all__ = ["init_app"]


def init_app(app: Flask) -> None:
    """Register this domain with the app."""
    from portal.modules.sla import cli

    app.cli.add_command(cli.sla_cli)
