"""The portal's configuration: one frozen ``Config`` built from PORTAL_* environment
variables (each with an embedded default for one machine) by ``create_app``.

Domain code reads it with ``current_config()`` (the app's, in the app context the views,
the CLI and the tests all run in); Flask and its extensions get their settings from
``Config.flask_settings``. Nothing is read at import time.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Config", "current_config"]


@dataclass(frozen=True)
class Config:
    """Every setting of the portal (README, "Configuration", names each variable)."""

    database_url: str
    """``sqlite:///path`` or ``postgresql://user@host:port/db`` (PORTAL_DATABASE_URL)."""
    base_url: str
    """The public address used in links and QR codes (PORTAL_BASE_URL)."""
    storage_dir: str
    """Private storage of uploads and letters (PORTAL_STORAGE_DIR)."""
    secret_key: str
    """Signs sessions and links (PORTAL_SECRET_KEY; else generated once per instance)."""
    audit_key: str = ""
    """Keys the audit chain's checkpoints (HMAC-SHA256); never stored in the database
    (PORTAL_AUDIT_KEY; else generated once into ``instance/audit_key``)."""
    storage_url: str = ""
    """Files in an S3-compatible store instead: ``s3://bucket?endpoint=URL&region=R``
    (PORTAL_STORAGE_URL; credentials from the AWS_* variables). Empty: ``storage_dir``."""
    db_pool_size: int = 10
    """Connections kept open per process (PORTAL_DB_POOL_SIZE)."""
    max_upload_mb: int = 60
    """Largest request body accepted, in MB (PORTAL_MAX_UPLOAD_MB)."""
    password_hash_method: str = "scrypt"
    """werkzeug's password hash method (PORTAL_PASSWORD_HASH_METHOD)."""
    signing_ca_dir: str = ""
    """The development CA and its signer keys (PORTAL_SIGNING_CA_DIR)."""
    signing_p12_dir: str = ""
    """Production keys: one ``<e-mail>.p12`` per signer (PORTAL_SIGNING_P12_DIR)."""
    signing_p12_passphrase: str = ""
    """Passphrase of those files (PORTAL_SIGNING_P12_PASSPHRASE)."""
    signing_pkcs11_library: str = ""
    """Production keys on a PKCS#11 token or HSM: the vendor's module (``.so``); each signer's
    key and certificate are labelled with the signer's e-mail (PORTAL_SIGNING_PKCS11_LIBRARY)."""
    signing_pkcs11_token: str = ""
    """Label of that token (PORTAL_SIGNING_PKCS11_TOKEN)."""
    signing_pkcs11_pin: str = ""
    """User PIN of that token (PORTAL_SIGNING_PKCS11_PIN)."""
    signing_trust_roots: str = ""
    """PEM bundle of the CA certificates (the PSrE's root and intermediates) a letter's signer
    must chain to, for the verification page and `letters verify`; production keys (PKCS#12,
    PKCS#11) need it (PORTAL_SIGNING_TRUST_ROOTS)."""
    signing_tsa_url: str = ""
    """An RFC 3161 timestamp authority (PORTAL_SIGNING_TSA_URL): letters are then PAdES B-T at
    signing, B-LT with validation data, and `letters extend` takes them to B-LTA."""
    signing_extend_after_days: int = 365
    """`letters extend` renews a letter's newest timestamp once it is this many days old
    (PORTAL_SIGNING_EXTEND_AFTER_DAYS), and sooner when its TSA certificate nears its end."""
    mail_server: str = ""
    """SMTP host; without it e-mails stay in the outbox (PORTAL_MAIL_SERVER)."""
    mail_port: int = 25
    mail_use_tls: bool = False
    mail_use_ssl: bool = False
    mail_username: str | None = None
    mail_password: str | None = None
    mail_sender: str = "Absah <no-reply@absah.test>"
    mail_timeout: float = 30.0
    """Seconds to wait for the SMTP server at each step (PORTAL_MAIL_TIMEOUT)."""
    outbox_deliver_after_request: bool = True
    """Deliver queued e-mails right after the request that queued them."""
    demo_mailbox: bool = False
    """Demo only: every queued e-mail readable at /dev/mailbox, without login or SMTP
    (PORTAL_DEMO_MAILBOX; ``make run`` turns it on). Never on a real portal."""
    ratelimit_storage_url: str = "memory://"
    """Where rate limits are counted: ``memory://`` (this process) or ``redis://host:port/db``,
    shared by every worker and host (PORTAL_RATELIMIT_STORAGE_URL)."""
    ratelimit_enabled: bool = True
    """Whether rate limits apply at all (PORTAL_RATELIMIT_ENABLED; ``0`` for benchmarks)."""
    ratelimits: str = ""
    """Overrides of single limits, ``name=5 per 15 minutes;name2=...`` (PORTAL_RATELIMITS;
    names in ``portal.core.limits.DEFAULT_LIMITS``)."""
    proxy_hops: int = 0
    """Reverse proxies in front of the portal whose X-Forwarded-* headers are trusted
    (PORTAL_PROXY_HOPS; werkzeug's ProxyFix). 0: the client is the connecting address."""

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], instance: Path,
                     overrides: Mapping[str, object] | None = None) -> Config:
        """The configuration from PORTAL_* variables; ``overrides`` (the factory's
        ``test_config``) replaces fields by their upper-case names."""
        env = environ.get
        values = {
            "database_url": env("PORTAL_DATABASE_URL", f"sqlite:///{instance / 'absah.db'}"),
            "base_url": env("PORTAL_BASE_URL", "http://127.0.0.1:5000"),
            "storage_dir": env("PORTAL_STORAGE_DIR", str(instance / "files")),
            "storage_url": env("PORTAL_STORAGE_URL", ""),
            "secret_key": env("PORTAL_SECRET_KEY", ""),
            "audit_key": env("PORTAL_AUDIT_KEY", ""),
            "db_pool_size": int(env("PORTAL_DB_POOL_SIZE", "10")),
            "max_upload_mb": int(env("PORTAL_MAX_UPLOAD_MB", "60")),
            "password_hash_method": env("PORTAL_PASSWORD_HASH_METHOD", "scrypt"),
            "signing_ca_dir": env("PORTAL_SIGNING_CA_DIR", str(instance / "ca")),
            "signing_p12_dir": env("PORTAL_SIGNING_P12_DIR", ""),
            "signing_p12_passphrase": env("PORTAL_SIGNING_P12_PASSPHRASE", ""),
            "signing_pkcs11_library": env("PORTAL_SIGNING_PKCS11_LIBRARY", ""),
            "signing_pkcs11_token": env("PORTAL_SIGNING_PKCS11_TOKEN", ""),
            "signing_pkcs11_pin": env("PORTAL_SIGNING_PKCS11_PIN", ""),
            "signing_trust_roots": env("PORTAL_SIGNING_TRUST_ROOTS", ""),
            "signing_tsa_url": env("PORTAL_SIGNING_TSA_URL", ""),
            "signing_extend_after_days": int(env("PORTAL_SIGNING_EXTEND_AFTER_DAYS", "365")),
            "mail_server": env("PORTAL_MAIL_SERVER", ""),
            "mail_port": int(env("PORTAL_MAIL_PORT", "25")),
            "mail_use_tls": _flag(env("PORTAL_MAIL_USE_TLS", "")),
            "mail_use_ssl": _flag(env("PORTAL_MAIL_USE_SSL", "")),
            "mail_username": env("PORTAL_MAIL_USERNAME") or None,
            "mail_password": env("PORTAL_MAIL_PASSWORD") or None,
            "mail_sender": env("PORTAL_MAIL_SENDER", "Absah <no-reply@absah.test>"),
            "mail_timeout": float(env("PORTAL_MAIL_TIMEOUT", "30")),
            "outbox_deliver_after_request": _flag(env("PORTAL_OUTBOX_AFTER_REQUEST", "1")),
            "demo_mailbox": _flag(env("PORTAL_DEMO_MAILBOX", "")),
            "ratelimit_storage_url": env("PORTAL_RATELIMIT_STORAGE_URL", "memory://"),
            "ratelimit_enabled": _flag(env("PORTAL_RATELIMIT_ENABLED", "1")),
            "ratelimits": env("PORTAL_RATELIMITS", ""),
            "proxy_hops": int(env("PORTAL_PROXY_HOPS", "0")),
        }
        fields = {f.name for f in dataclasses.fields(cls)}
        extra = {}
        for key, value in (overrides or {}).items():
            if key.lower() in fields:
                values[key.lower()] = value
            else:
                extra[key] = value
        if not values["secret_key"]:
            values["secret_key"] = _secret_key(instance)
        if not values["audit_key"]:
            values["audit_key"] = _secret_key(instance, "audit_key")
        values["base_url"] = str(values["base_url"]).rstrip("/")
        config = cls(**values)
        object.__setattr__(config, "_flask_extra", extra)
        return config

    def flask_settings(self) -> dict:
        """Flask's and its extensions' settings (plus the factory's other overrides)."""
        return {
            "SECRET_KEY": self.secret_key,
            # Session cookie: never readable by scripts, not sent on cross-site posts, and
            # only over HTTPS when the portal is served over HTTPS.
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_SECURE": self.base_url.startswith("https:"),
            "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
            "MAX_CONTENT_LENGTH": self.max_upload_mb * 1024 * 1024,
            "MAIL_SERVER": self.mail_server,
            "MAIL_PORT": self.mail_port,
            "MAIL_USE_TLS": self.mail_use_tls,
            "MAIL_USE_SSL": self.mail_use_ssl,
            "MAIL_USERNAME": self.mail_username,
            "MAIL_PASSWORD": self.mail_password,
            "MAIL_DEFAULT_SENDER": self.mail_sender,
            "MAIL_SUPPRESS_SEND": False,  # flask-mail would otherwise drop mail when TESTING
            "RATELIMIT_STORAGE_URI": self.ratelimit_storage_url,
            "RATELIMIT_ENABLED": self.ratelimit_enabled,
            "RATELIMIT_STRATEGY": "moving-window",  # exact and atomic in memory and Redis
            **getattr(self, "_flask_extra", {}),
        }

    def url(self, path: str) -> str:
        """An absolute link for e-mails and QR codes."""
        return f"{self.base_url}/{path.lstrip('/')}"

    def hash_password(self, password: str) -> str:
        """A salted hash of a password with the configured method."""
        from werkzeug.security import generate_password_hash

        return generate_password_hash(password, method=self.password_hash_method)


def current_config() -> Config:
    """The configuration of the app whose context is active."""
    from flask import current_app

    return current_app.extensions["portal.config"]


def _secret_key(instance: Path, name: str = "secret_key") -> str:
    # Generated once per installation and kept in the instance folder, never in the code.
    path = instance / name
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _flag(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")

