"""Files on the local disk under one directory (the embedded default, PORTAL_STORAGE_DIR)."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from portal.storage.base import Storage, check_key

__all__ = ["LocalStorage"]


class LocalStorage(Storage):
    """Objects as files: ``<root>/ab/abcdef…``, staging copies under ``<root>/staging/``."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def describe(self) -> str:
        return f"local directory {self.root}"

    def path(self, key: str) -> Path:
        """The file for a key (keys are made by put; anything else is refused)."""
        return self.root / check_key(key)

    def locate(self, key: str) -> str:
        return str(self.path(key))

    def send_source(self, key: str):
        path = self.path(key)
        if not path.exists():
            self.recover(key)
        return path

    def _file(self, name: str) -> Path:
        return self.root / name

    def _write(self, name: str, data: bytes) -> None:
        path = self._file(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write to a temporary name then rename, so a crash never leaves half a file.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _read(self, name: str) -> bytes:
        return self._file(name).read_bytes()

    def _exists(self, name: str) -> bool:
        return self._file(name).is_file()

    def _rename(self, name: str, new_name: str) -> None:
        target = self._file(new_name)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(self._file(name), target)
        except FileNotFoundError:
            if not target.is_file():  # promoted meanwhile by another process: fine
                raise

    def _delete(self, name: str) -> None:
        self._file(name).unlink(missing_ok=True)

    def _list(self, prefix: str) -> Iterator[tuple[str, dt.datetime]]:
        folder, _, start = prefix.rpartition("/")
        base = self.root / folder if folder else self.root
        if not base.is_dir():
            return
        for path in sorted(base.rglob("*")):
            if not path.is_file() or path.name.startswith(".tmp-"):
                continue
            name = path.relative_to(self.root).as_posix()
            if name.startswith(prefix):
                yield name, dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)

    def remove_temporaries(self, older_than: dt.datetime) -> int:
        removed = 0
        if not self.root.is_dir():
            return 0
        for path in self.root.rglob(".tmp-*"):
            modified = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
            if path.is_file() and modified < older_than:
                path.unlink(missing_ok=True)
                removed += 1
        return removed
