"""Standard times (SLA): near-due and overdue reminders, the SLA report (/admin/sla,
`sla report`) and the public figures of each service (/statistik, the service page)."""

from __future__ import annotations

from flask import Flask

__all__ = ["init_app"]


def init_app(app: Flask) -> None:
    """Register this domain with the app."""
    from portal.modules.sla import cli, report, views

    app.register_blueprint(views.bp)
    app.cli.add_command(cli.sla_cli)
    app.jinja_env.globals.update(service_figures=views.service_figures)
    app.jinja_env.filters.update(sla_time=report.time_label, percent=report.percent_label)
