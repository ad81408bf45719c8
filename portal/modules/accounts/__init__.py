"""Accounts: applicants, officials and their positions (jabatan), acting officials
(Plh/Plt/a.n.), account approvals by agencies, login, tokens."""

from __future__ import annotations

from flask import Flask

__all__ = ["init_app"]


def init_app(app: Flask) -> None:
    """Register this domain with the app."""
    from portal.modules.accounts import guards, views
    from portal.modules.accounts.models import capacity_prefix

    app.register_blueprint(views.bp)
    app.jinja_env.globals.update(is_approver=guards.is_approver, capacity_prefix=capacity_prefix)
