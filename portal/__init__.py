"""Absah: the portal that runs government service SOPs and issues verifiable letters."""

from __future__ import annotations

import importlib
import logging
import os
from pathlib import Path

from flask import Flask

__all__ = ["create_app"]


def create_app(test_config: dict | None = None) -> Flask:
    """Build the Flask app; ``test_config`` overrides settings (tests use it)."""
    from portal import core, mail
    from portal.config import Config
    from portal.core.cli import require_schema
    from portal.core.db import bind, db, make_database
    from portal.core.paths import STATIC_DIR, TEMPLATES_DIR
    from portal.modules import DOMAINS

    instance = Path(os.environ.get("PORTAL_INSTANCE_DIR") or Path.cwd() / "instance")
    app = Flask(__name__, instance_path=str(instance.resolve()),
                template_folder=str(TEMPLATES_DIR), static_folder=str(STATIC_DIR))
    config = Config.from_environ(os.environ, Path(app.instance_path), test_config)
    app.config.from_mapping(config.flask_settings())
    app.extensions["portal.config"] = config
    if config.proxy_hops:  # behind reverse proxies: the client is who they say it is
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = config.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops,
                                x_prefix=hops)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    database = (test_config or {}).get("DATABASE") or make_database(config.database_url,
                                                                    config.db_pool_size)
    bind(database)
    app.extensions["database"] = database

    @app.before_request
    def _connect():
        db.connect(reuse_if_open=True)

    @app.teardown_appcontext
    def _close(_exc):
        if not db.is_closed():
            db.close()

    core.init_app(app)
    mail.init_app(app)
    for name in DOMAINS:
        importlib.import_module(f"portal.modules.{name}").init_app(app)
    # Every command but `db` stops with what to run on a database lacking migrations.
    require_schema(app.cli)
    return app
