"""Private file storage for uploads and letters: content-addressed objects, on the local disk
(the embedded default, ``local.py``) or in an S3-compatible object store (``s3.py``); the
interface, staging and promotion after commit are in ``base.py``.

Every object is stored under its SHA-256 (``ab/abcdef…``), so the same content is stored
once and an object never changes. Signed letters are written under a *staging* name first
(``staging/<sha256>.<nonce>``) and promoted to their key only after the transaction that
records them commits (``Storage.put_after_commit``): a crash before the commit leaves at most
a staging object, never served nor backed up, which ``flask storage sweep`` deletes once
stale; a crash between the commit and the promotion is repaired by the first read of the
key, or by the sweep.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from portal.storage.base import Staged, Storage, StorageError, check_key, key_for

__all__ = ["Staged", "Storage", "StorageError", "check_key", "current_storage", "key_for",
           "open_storage", "send"]


def open_storage(storage_url: str, storage_dir: str) -> Storage:
    """The storage a configuration names: ``s3://bucket?endpoint=…&region=…`` or the local
    directory (``file:///path`` or, without a URL, ``storage_dir``)."""
    if not storage_url:
        from portal.storage.local import LocalStorage

        return LocalStorage(storage_dir)
    parts = urlsplit(storage_url)
    if parts.scheme == "file":
        from portal.storage.local import LocalStorage

        return LocalStorage(parts.path)
    if parts.scheme == "s3":
        from portal.storage.s3 import S3Storage

        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        unknown = set(query) - {"endpoint", "region", "prefix"}
        if unknown or not parts.netloc:
            raise StorageError(
                f"PORTAL_STORAGE_URL {storage_url!r}: use s3://bucket?endpoint=URL&region=R"
                f"&prefix=P (unknown: {', '.join(sorted(unknown)) or 'no bucket'})")
        return S3Storage(parts.netloc, endpoint=query.get("endpoint") or None,
                         region=query.get("region") or None, prefix=query.get("prefix", ""))
    raise StorageError(f"PORTAL_STORAGE_URL {storage_url!r}: use s3://… or file:///…")


def current_storage() -> Storage:
    """The storage of the app whose context is active (made once per app)."""
    from flask import current_app

    storage = current_app.extensions.get("portal.storage")
    if storage is None:
        config = current_app.extensions["portal.config"]
        storage = open_storage(config.storage_url, config.storage_dir)
        current_app.extensions["portal.storage"] = storage
    return storage


def send(key: str, **kwargs: object):
    """A response with a stored object (``flask.send_file``'s arguments)."""
    from flask import send_file

    return send_file(current_storage().send_source(key), **kwargs)
