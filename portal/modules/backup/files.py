"""Which stored objects the records name, and the sweep of staging objects that issuance
left behind (``flask storage sweep``).

Why the sweep asks the database: a staging object is a signed letter written before its
transaction committed. If the letter's record exists, the transaction committed and only
the promotion was lost (a crash right after the commit): promote it. If no record names it
and it is older than any transaction runs, its transaction rolled back or died: delete it,
so no signed PDF stays in storage without its letter record, and the number it carries,
given to the next letter, exists in one file only."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from portal.core.db import db
from portal.storage import Storage

__all__ = ["REFERENCES", "SweepReport", "is_referenced", "read_references", "referenced_keys",
           "sweep"]

# The columns that name stored objects: (table, key column, its SHA-256 column or None, a
# JSON list of more keys or None). Written as SQL both databases run, because a backup reads
# them from its own snapshot, where the models are not bound. A new table that keeps
# storage keys must be added here, or backups miss its files and the sweep its records.
REFERENCES = (
    ("letter", "storage_key", "sha256", None),
    ("letter_revision", "storage_key", "sha256", None),
    ("letter_page", "storage_key", None, None),
    ("document", "storage_key", "sha256", "previews"),
    ("agency", "logo_key", None, None),
)

# Longer than any issuing transaction runs (they take milliseconds to seconds).
STALE_AFTER = dt.timedelta(minutes=15)


def read_references(execute) -> tuple[dict[str, str | None], dict[str, int]]:
    """{storage key: its SHA-256 when a record states it} and the rows per table, through
    ``execute(sql) -> rows`` (a cursor of the live database or of a snapshot)."""
    wanted: dict[str, str | None] = {}
    counts: dict[str, int] = {}
    for table, key_column, digest_column, more_column in REFERENCES:
        digest_sql = f'"{digest_column}"' if digest_column else "NULL"
        more_sql = f'"{more_column}"' if more_column else "NULL"
        rows = execute(f'SELECT "{key_column}", {digest_sql}, {more_sql} FROM "{table}" '
                       f'WHERE "{key_column}" IS NOT NULL')
        counts[table] = len(rows)
        for key, digest, more in rows:
            wanted[key] = digest or wanted.get(key)
            if isinstance(more, str):
                more = json.loads(more)
            for other in more or ():
                wanted.setdefault(other, None)
    return wanted, counts


def referenced_keys() -> set[str]:
    """Every storage key a record of the live database names."""
    wanted, _counts = read_references(lambda sql: db.execute_sql(sql).fetchall())
    return set(wanted)


def is_referenced(key: str) -> bool:
    """Whether a committed record names this key as its file (previews excluded: they are
    never staged)."""
    for table, key_column, _digest, _more in REFERENCES:
        found = db.execute_sql(f'SELECT 1 FROM "{table}" WHERE "{key_column}" = {db.param} '
                               "LIMIT 1", (key,)).fetchone()
        if found:
            return True
    return False


@dataclass(frozen=True)
class SweepReport:
    promoted: list[str]
    deleted: list[str]
    kept: list[str]
    temporaries: int


def sweep(storage: Storage, now: dt.datetime | None = None,
          stale_after: dt.timedelta = STALE_AFTER) -> SweepReport:
    """Promote staging objects whose record committed; delete those without one once older
    than ``stale_after`` (younger ones may belong to a transaction still running)."""
    now = now or dt.datetime.now(dt.UTC)
    promoted, deleted, kept = [], [], []
    for staged in list(storage.staged()):
        if is_referenced(staged.key):
            storage.promote(staged)
            promoted.append(staged.key)
        elif staged.modified is None or now - staged.modified >= stale_after:
            storage.discard(staged)
            deleted.append(staged.name)
        else:
            kept.append(staged.name)
    temporaries = storage.remove_temporaries(now - stale_after)
    return SweepReport(promoted, deleted, kept, temporaries)
