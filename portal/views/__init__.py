"""The web layer: thin views that call operations and render templates."""

from __future__ import annotations

from flask import Flask

from portal.views import public

__all__ = ["init_app"]


def init_app(app: Flask) -> None:
    """Register the blueprints and error pages."""
    app.register_blueprint(public.bp)
    public.register_errors(app)
