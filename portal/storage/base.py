"""The storage interface: content-addressed objects, staging names and their promotion
after commit (see ``portal.storage``). Backends: ``local.py`` and ``s3.py``."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import secrets
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["Staged", "Storage", "StorageError", "check_key", "key_for"]

log = logging.getLogger(__name__)

_KEY = re.compile(r"^([0-9a-f]{2})/([0-9a-f]{64})$")
_STAGED = re.compile(r"^staging/([0-9a-f]{64})\.([0-9A-Za-z_-]{8,64})$")


class StorageError(Exception):
    """The storage is misconfigured or cannot be reached; the message says which."""


def key_for(digest: str) -> str:
    """The storage key of content with this SHA-256 (hex)."""
    return f"{digest[:2]}/{digest}"


def check_key(key: str) -> str:
    """The key itself when it is one ``put`` makes; ValueError otherwise (no path tricks)."""
    match = _KEY.match(key or "")
    if match is None or not match.group(2).startswith(match.group(1)):
        raise ValueError(f"not a storage key: {key!r}")
    return key


@dataclass(frozen=True)
class Staged:
    """An object written under a staging name, to become ``key`` once promoted."""

    name: str
    key: str
    digest: str
    modified: dt.datetime | None = None

    @classmethod
    def parse(cls, name: str, modified: dt.datetime | None = None) -> Staged | None:
        match = _STAGED.match(name)
        if match is None:
            return None
        return cls(name, key_for(match.group(1)), match.group(1), modified)


class Storage(ABC):
    """Stores bytes under their SHA-256; the same content is stored once."""

    # -- what a backend implements ---------------------------------------------------------
    @abstractmethod
    def _write(self, name: str, data: bytes) -> None:
        """Write an object whole (a reader never sees half of it)."""

    @abstractmethod
    def _read(self, name: str) -> bytes:
        """An object's bytes; FileNotFoundError when absent."""

    @abstractmethod
    def _exists(self, name: str) -> bool: ...

    @abstractmethod
    def _rename(self, name: str, new_name: str) -> None:
        """Move an object to another name (replacing what is there)."""

    @abstractmethod
    def _delete(self, name: str) -> None:
        """Delete an object; nothing when it is absent."""

    @abstractmethod
    def _list(self, prefix: str) -> Iterator[tuple[str, dt.datetime]]:
        """(name, last modified, UTC) of every object whose name starts with ``prefix``."""

    @abstractmethod
    def describe(self) -> str:
        """Where the files are, for messages and the backup manifest."""

    def locate(self, key: str) -> str:
        """Where an object is, for people: a path or a URL."""
        return f"{self.describe()}: {key}"

    def send_source(self, key: str):
        """What ``flask.send_file`` takes for an object: a path where there is one."""
        import io

        return io.BytesIO(self.read(key))

    # -- the interface ---------------------------------------------------------------------
    def put(self, data: bytes) -> tuple[str, str]:
        """Store bytes; returns (storage key, sha256 hex)."""
        digest = hashlib.sha256(data).hexdigest()
        key = key_for(digest)
        if not self._exists(key):
            self._write(key, data)
        return key, digest

    def stage(self, data: bytes) -> Staged:
        """Write bytes under a staging name (never served); ``promote`` makes them the key."""
        digest = hashlib.sha256(data).hexdigest()
        staged = Staged(f"staging/{digest}.{secrets.token_urlsafe(12)}", key_for(digest), digest)
        self._write(staged.name, data)
        return staged

    def promote(self, staged: Staged) -> None:
        """Move a staged object to its key (idempotent: done already is fine)."""
        if self._exists(staged.key):
            self._delete(staged.name)
            return
        self._rename(staged.name, staged.key)

    def discard(self, staged: Staged) -> None:
        """Delete a staged object."""
        self._delete(staged.name)

    def put_after_commit(self, data: bytes) -> tuple[str, str]:
        """Store bytes under a staging name now and at their key once the current database
        transaction commits (at once outside one; never if it rolls back). Returns (storage
        key, sha256) as ``put`` does, to be recorded in that transaction."""
        from portal.core.db import db

        staged = self.stage(data)

        def promote():
            # After the commit: a failure here must not turn a committed issuance into an
            # error page; the first read of the key or the sweep promotes it later.
            try:
                self.promote(staged)
            except Exception:  # noqa: BLE001 - logged, repaired by read() or the sweep
                log.exception("could not promote %s; the sweep will", staged.name)

        db.after_commit(promote)
        return staged.key, staged.digest

    def read(self, key: str) -> bytes:
        """The bytes stored under a key (promoting a committed staging copy if need be)."""
        check_key(key)
        try:
            return self._read(key)
        except FileNotFoundError:
            if not self.recover(key):
                raise
            return self._read(key)

    def exists(self, key: str) -> bool:
        return self._exists(check_key(key))

    def delete(self, key: str) -> None:
        self._delete(check_key(key))

    def keys(self) -> Iterator[str]:
        """Every stored key (staging objects excluded)."""
        for name, _modified in self._list(""):
            if _KEY.match(name):
                yield name

    def staged(self) -> Iterator[Staged]:
        """Every staging object, with when it was written."""
        for name, modified in self._list("staging/"):
            staged = Staged.parse(name, modified)
            if staged is not None:
                yield staged

    def remove_temporaries(self, older_than: dt.datetime) -> int:
        """Delete what an interrupted write left before it was complete; returns how many."""
        return 0

    def recover(self, key: str) -> bool:
        """Promote a staging copy of ``key``; True if one was found. Call it only for a key a
        committed record names (the record is what makes promoting it right)."""
        digest = check_key(key).split("/")[1]
        for name, modified in self._list(f"staging/{digest}."):
            staged = Staged.parse(name, modified)
            if staged is not None:
                self.promote(staged)
                return True
        return False
