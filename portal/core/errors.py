"""The errors operations raise: each says, in words fit for the person, why an action
cannot be done. Messages are marked for translation (``portal.core.i18n``) and shown in
the language of whoever reads them."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["NotFound", "OperationError", "PermissionDenied", "ValidationError"]


class OperationError(Exception):
    """An action that cannot be done; the message is fit to show to the user."""

    def __init__(self, message=""):
        self.message = message
        super().__init__(message)

    def __str__(self) -> str:
        return str(self.message)


class NotFound(OperationError):
    """The thing does not exist (or the user may not know that it does)."""


class PermissionDenied(OperationError):
    """The user may not do this."""


class ValidationError(OperationError):
    """Bad input; ``errors`` maps each field or document key to its message."""

    def __init__(self, errors: Mapping[str, object]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))

    def __str__(self) -> str:
        return "; ".join(f"{k}: {v}" for k, v in self.errors.items())
