"""Opening the database named by a URL, and applying the numbered migrations."""

from __future__ import annotations

from pathlib import Path

from peewee import Database, DatabaseProxy, SqliteDatabase
from playhouse.db_url import connect as connect_url
from playhouse.migrations import Runner
from playhouse.pool import PooledSqliteDatabase

from portal.core.paths import MIGRATIONS_DIR

__all__ = ["MIGRATIONS_DIR", "bind", "db", "make_database", "migrate", "pending_migrations",
           "release"]

# The models' database, bound late (by create_app, the CLI or a test) through ``bind``.
db = DatabaseProxy()

# WAL lets readers work while one writer writes; IMMEDIATE takes the write lock at BEGIN,
# so two writers queue (busy_timeout) instead of deadlocking on a lock upgrade.
SQLITE_PRAGMAS = {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 10000,
                  "synchronous": "normal"}


def make_database(url: str, pool_size: int = 10) -> Database:
    """A peewee database for ``sqlite:///path`` or ``postgresql://user@host:port/name``."""
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else ":memory:"
        if path == ":memory:":
            return SqliteDatabase(path, pragmas=SQLITE_PRAGMAS, lock_type="IMMEDIATE",
                                  check_same_thread=False)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        # Pooled as well: opening the file and setting the pragmas cost more than a small
        # request's own work; each request borrows a connection that is already set up.
        # (Connections must not cross a fork: do not run gunicorn with --preload.)
        return PooledSqliteDatabase(path, pragmas=SQLITE_PRAGMAS, lock_type="IMMEDIATE",
                                    check_same_thread=False, max_connections=pool_size,
                                    stale_timeout=300, timeout=10)
    if not url.startswith(("postgresql://", "postgres://")):
        raise ValueError(f"unsupported database URL {url!r}: use sqlite:/// or postgresql://")
    # psycopg 3. A pool per process: opening a PostgreSQL connection (and authenticating)
    # costs milliseconds, more than most of our requests; each request borrows one instead.
    # psycopg 3 prepares a statement on the server once it has run prepare_threshold (5)
    # times on a connection. Behind a transaction-pooling proxy (PgBouncer in transaction
    # mode) that breaks, because the next transaction may land on another server
    # connection: there, pass prepare_threshold=None in the URL's query string.
    rest = url.split("://", 1)[1]
    return connect_url(f"psycopg3+pool://{rest}", max_connections=pool_size,
                       stale_timeout=300, timeout=10)


def release(database: Database) -> None:
    """Close every connection the database holds (pooled ones included)."""
    if hasattr(database, "close_all"):
        database.close_all()
    else:
        database.close()


def bind(database: Database) -> Database:
    """Point the models' proxy at a database."""
    db.initialize(database)
    return database


def migrate(database: Database) -> list[str]:
    """Apply pending migrations in order; returns the names applied."""
    return Runner(database, str(MIGRATIONS_DIR)).up()


def pending_migrations(database: Database) -> list[str]:
    """Names of migrations not yet applied."""
    return [m.name for m in Runner(database, str(MIGRATIONS_DIR)).status() if not m.applied]

