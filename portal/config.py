"""Configuration from environment variables, with embedded defaults for one machine."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

__all__ = ["load_config"]


def _secret_key(instance: Path) -> str:
    # Generated once per installation and kept in the instance folder, never in the code.
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def load_config(instance: Path, environ=os.environ) -> dict:
    """Settings for ``app.config``; every one can be set by a PORTAL_* variable (see README)."""
    return {
        "DATABASE_URL": environ.get("PORTAL_DATABASE_URL", f"sqlite:///{instance / 'absah.db'}"),
        "BASE_URL": environ.get("PORTAL_BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        "STORAGE_DIR": environ.get("PORTAL_STORAGE_DIR", str(instance / "files")),
        "SECRET_KEY": environ.get("PORTAL_SECRET_KEY") or _secret_key(instance),
        # Signing: a development CA under the instance folder unless PKCS#12 files are given.
        "SIGNING_CA_DIR": environ.get("PORTAL_SIGNING_CA_DIR", str(instance / "ca")),
        "SIGNING_P12_DIR": environ.get("PORTAL_SIGNING_P12_DIR", ""),
        "SIGNING_P12_PASSPHRASE": environ.get("PORTAL_SIGNING_P12_PASSPHRASE", ""),
        "SIGNING_TSA_URL": environ.get("PORTAL_SIGNING_TSA_URL", ""),
        # Session cookie: never readable by scripts, not sent on cross-site posts, and only
        # over HTTPS when the portal is served over HTTPS.
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": environ.get("PORTAL_BASE_URL", "").startswith("https:"),
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        "PASSWORD_HASH_METHOD": environ.get("PORTAL_PASSWORD_HASH_METHOD", "scrypt"),
        "DEMO_PASSWORD": environ.get("PORTAL_DEMO_PASSWORD", "demo-absah-2026"),
        "MAX_CONTENT_LENGTH": int(environ.get("PORTAL_MAX_UPLOAD_MB", "60")) * 1024 * 1024,
        # E-mail. Without PORTAL_MAIL_SERVER messages are kept in the outbox (admin page), not sent.
        "MAIL_SERVER": environ.get("PORTAL_MAIL_SERVER", ""),
        "MAIL_PORT": int(environ.get("PORTAL_MAIL_PORT", "25")),
        "MAIL_USE_TLS": _flag(environ.get("PORTAL_MAIL_USE_TLS", "")),
        "MAIL_USE_SSL": _flag(environ.get("PORTAL_MAIL_USE_SSL", "")),
        "MAIL_USERNAME": environ.get("PORTAL_MAIL_USERNAME") or None,
        "MAIL_PASSWORD": environ.get("PORTAL_MAIL_PASSWORD") or None,
        "MAIL_DEFAULT_SENDER": environ.get("PORTAL_MAIL_SENDER", "Absah <no-reply@absah.test>"),
        "MAIL_TIMEOUT": float(environ.get("PORTAL_MAIL_TIMEOUT", "30")),  # seconds per SMTP step
        "MAIL_SUPPRESS_SEND": False,  # flask-mail would otherwise drop mail whenever TESTING
        "OUTBOX_DELIVER_AFTER_REQUEST": _flag(environ.get("PORTAL_OUTBOX_AFTER_REQUEST", "1")),
    }


def _flag(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")
