"""Public feedback: the Survei Kepuasan Masyarakat (PermenPANRB 14/2017) after a file
completes, and complaints (pengaduan) about a service with their own standard time."""

from __future__ import annotations

from flask import Flask

__all__ = ["init_app"]


def init_app(app: Flask) -> None:
    """Register this domain with the app."""
    from portal.modules.feedback import cli, views

    app.register_blueprint(views.bp)
    app.cli.add_command(cli.feedback_cli)
    app.jinja_env.globals.update(survey_state=views.survey_state)
