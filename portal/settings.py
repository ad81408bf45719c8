"""The few settings domain code needs (public base URL, signing secret), bound by create_app.

Like the database proxy: nothing is read at import time; ``settings.configure`` is called
once per app from its config, so operations stay free of Flask.
"""

from __future__ import annotations

__all__ = ["settings"]


class _Settings:
    base_url: str = "http://127.0.0.1:5000"
    secret_key: str = ""
    storage_dir: str = "instance/files"
    ca_dir: str = "instance/ca"  # the development CA and its signer keys
    p12_dir: str = ""  # production: one <e-mail>.p12 per signing official
    p12_passphrase: str = ""
    tsa_url: str = ""  # an RFC 3161 timestamp authority, when configured
    password_hash_method: str = "scrypt"  # werkzeug's; tests choose a cheap one

    def hash_password(self, password: str) -> str:
        """A salted hash of a password with the configured method."""
        from werkzeug.security import generate_password_hash

        return generate_password_hash(password, method=self.password_hash_method)

    def configure(self, base_url: str, secret_key: str, **signing) -> None:
        self.base_url = base_url.rstrip("/")
        self.secret_key = secret_key
        for name, value in signing.items():
            if not hasattr(self, name):
                raise ValueError(f"unknown setting {name!r}")
            setattr(self, name, value or "")

    def url(self, path: str) -> str:
        """An absolute link for e-mails and QR codes."""
        return f"{self.base_url}/{path.lstrip('/')}"


settings = _Settings()
