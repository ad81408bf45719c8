"""Accounts: applicants, officials and their positions (jabatan), acting officials
(Plh/Plt/a.n.), account approvals by agencies, login, tokens."""

from __future__ import annotations

from flask import Flask

__all__ = ["init_app"]


def init_app(app: Flask) -> None:
    """Register this domain with the app."""
    from portal.core.web import add_page_state
    from portal.modules.accounts import cli, guards, views
    from portal.modules.accounts.models import capacity_prefix

    app.register_blueprint(views.bp)
    app.cli.add_command(cli.admin_cli)
    # What base.html's menu shows of the user: part of every page's ETag.
    add_page_state(app, guards.menu_state)
    app.jinja_env.globals.update(is_approver=guards.is_approver, capacity_prefix=capacity_prefix)
