"""Operating the portal: backups that restore (`flask backup`), and the sweep of staging
files that a crash during issuance left behind (`flask storage`)."""

from __future__ import annotations

from flask import Flask

__all__ = ["init_app"]


def init_app(app: Flask) -> None:
    """Register this domain with the app."""
    from portal.modules.backup import cli

    app.cli.add_command(cli.backup_cli)
    app.cli.add_command(cli.storage_cli)
