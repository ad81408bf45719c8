"""The one exception hierarchy of :mod:`signing`: callers catch :class:`SigningError`."""

from __future__ import annotations

__all__ = ["InvalidConfig", "KeyUnavailable", "SigningError", "TimestampUnavailable"]


class SigningError(Exception):
    """A letter could not be signed (or set up for signing); ``str(error)`` says why."""


class KeyUnavailable(SigningError):
    """The signing key cannot be used: missing file, wrong passphrase, token or library absent."""


class InvalidConfig(SigningError, ValueError):
    """Configuration or content given to :mod:`signing` is malformed (unknown key, bad value)."""


class TimestampUnavailable(SigningError):
    """The timestamp authority did not answer (or answered nonsense): the letter can still be
    signed without a timestamp, and timestamped later (:func:`signing.ltv.extend`)."""
