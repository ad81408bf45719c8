"""Absah: the portal that runs government service SOPs and issues verifiable letters."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from flask import Flask

__all__ = ["create_app"]

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict | None = None) -> Flask:
    """Build the Flask app; ``test_config`` overrides settings (tests use it)."""
    from portal import cli, mailer, views
    from portal.config import load_config
    from portal.db import bind, make_database
    from portal.models import db

    instance = Path(os.environ.get("PORTAL_INSTANCE_DIR", ROOT / "instance"))
    app = Flask(__name__, instance_path=str(instance.resolve()),
                template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static"))
    app.config.from_mapping(load_config(Path(app.instance_path)))
    if test_config:
        app.config.from_mapping(test_config)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    database = app.config.get("DATABASE") or make_database(app.config["DATABASE_URL"])
    bind(database)
    app.extensions["database"] = database

    @app.before_request
    def _connect():
        db.connect(reuse_if_open=True)

    @app.teardown_appcontext
    def _close(_exc):
        if not db.is_closed():
            db.close()

    from portal.settings import settings

    settings.configure(app.config["BASE_URL"], app.config["SECRET_KEY"],
                       storage_dir=app.config["STORAGE_DIR"],
                       ca_dir=app.config["SIGNING_CA_DIR"],
                       p12_dir=app.config["SIGNING_P12_DIR"],
                       p12_passphrase=app.config["SIGNING_P12_PASSPHRASE"],
                       tsa_url=app.config["SIGNING_TSA_URL"],
                       password_hash_method=app.config["PASSWORD_HASH_METHOD"])
    mailer.init_app(app)
    views.init_app(app)
    cli.init_app(app)
    return app
