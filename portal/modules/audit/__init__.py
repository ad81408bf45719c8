"""The audit trail: events appended by each action, sealed into a keyed hash chain."""

from __future__ import annotations

from flask import Flask, g

__all__ = ["init_app"]


def init_app(app: Flask) -> None:
    """Register this domain with the app: its commands, and sealing after each request
    that recorded events (after the request's own transaction has committed)."""
    from portal.modules.audit import cli, trail

    app.cli.add_command(cli.audit_cli)

    @app.teardown_request
    def _seal(_exc):
        if g.pop("audit_unsealed", False):
            trail.seal_after_request()
