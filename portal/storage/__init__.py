"""Private file storage for uploads and letters: content-addressed files under one directory."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

__all__ = ["Storage"]


class Storage:
    """Stores bytes under their SHA-256; the same content is stored once."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def put(self, data: bytes) -> tuple[str, str]:
        """Store bytes; returns (storage key, sha256 hex)."""
        digest = hashlib.sha256(data).hexdigest()
        key = f"{digest[:2]}/{digest}"
        path = self.root / key
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            # Write to a temporary name then rename, so a crash never leaves half a file.
            fd, tmp = tempfile.mkstemp(dir=path.parent)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        return key, digest

    def path(self, key: str) -> Path:
        """The file for a key (keys are made by put; anything else is refused)."""
        parts = key.split("/")
        if len(parts) != 2 or not all(p.isalnum() for p in parts):
            raise ValueError(f"not a storage key: {key!r}")
        return self.root / key

    def read(self, key: str) -> bytes:
        return self.path(key).read_bytes()
