"""The web layer: thin views that call operations and render templates."""

from __future__ import annotations

from flask import Flask

from portal import operations, web
from portal.views import admin, applicant, auth, letters, official, public

__all__ = ["init_app"]


def init_app(app: Flask) -> None:
    """Register the blueprints and error pages."""
    web.init_app(app)
    for module in (public, auth, applicant, official, admin, letters):
        app.register_blueprint(module.bp)
    public.register_errors(app)

    @app.errorhandler(operations.NotFound)
    def _not_found(exc):
        return web.render("error.html", status=404, code=404, message=str(exc))

    @app.errorhandler(operations.PermissionDenied)
    def _denied(exc):
        return web.render("error.html", status=403, code=403, message=str(exc))

    @app.errorhandler(operations.OperationError)
    def _refused(exc):
        return web.render("error.html", status=409, code=409, message=str(exc))
