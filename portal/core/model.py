"""The base model and the column types every domain's models use: times stored in UTC,
JSON in a text column."""

from __future__ import annotations

import datetime as dt
import json
from functools import lru_cache

from peewee import (
    DateTimeField,
    Model,
    TextField,
)

from portal.core.db import db


def utcnow() -> dt.datetime:
    """The current time, aware, in UTC (every stored time is UTC)."""
    return dt.datetime.now(dt.UTC)


class UTCDateTimeField(DateTimeField):
    """Stores aware datetimes as naive UTC and reads them back aware."""

    def db_value(self, value):
        if isinstance(value, dt.datetime):
            if value.tzinfo is None:
                raise ValueError("naive datetime: store times in UTC")
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return super().db_value(value)

    def python_value(self, value):
        if isinstance(value, str):  # SQLite's text
            parsed = _utc_from_text(value)
            if parsed is not None:
                return parsed
        value = super().python_value(value)
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value


@lru_cache(maxsize=8192)
def _utc_from_text(text: str) -> dt.datetime | None:
    """SQLite's ISO 8601 text as an aware UTC datetime (None if it is not ISO 8601). Kept:
    an inbox reads the same due times on every visit, and datetimes are immutable."""
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


class JSONField(TextField):
    """JSON in a text column: portable across SQLite and PostgreSQL."""

    def db_value(self, value):
        return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)

    def python_value(self, value):
        return None if value is None else json.loads(value)


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False


    @classmethod
    def fetch(cls, sql: str, *params) -> list:
        """Rows of a written-out statement as model objects, for the few statements every
        page runs (the user, the agency, the positions held): what ``Model.raw`` does, less
        the per-statement column resolution that costs more than SQLite's answer. Columns
        that are not fields (``held_as``) become plain attributes."""
        cursor = cls._meta.database.execute_sql(sql, params)
        columns = cls._meta.columns
        plan = [(name, field.name, field.python_value) if (field := columns.get(name))
                else (name, None, None) for name, *_ in cursor.description]
        found = []
        for row in cursor.fetchall():
            fields, extra = {}, {}
            for (name, attr, convert), value in zip(plan, row, strict=True):
                if attr is None:
                    extra[name] = value
                else:
                    fields[attr] = convert(value) if value is not None else None
            instance = cls(**fields)
            for name, value in extra.items():
                setattr(instance, name, value)
            found.append(instance)
        return found
