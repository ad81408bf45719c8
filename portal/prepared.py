"""Queries whose SQL is built once: for the few statements every page runs."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import weakref
from collections.abc import Callable

from peewee import (
    ROW,
    AutoField,
    CharField,
    Database,
    DatabaseProxy,
    Field,
    ForeignKeyField,
    IntegerField,
    PostgresqlDatabase,
    Query,
    TextField,
    Value,
)

# Columns both drivers already return as the Python value (str, int): no conversion needed.
_AS_IS = {AutoField, CharField, ForeignKeyField, IntegerField, TextField}  # exactly these
_NAMES = itertools.count(1)
_PLACEHOLDER = re.compile(r"%s")

__all__ = ["Prepared"]


class Prepared:
    """A query whose SQL text is built once per database and then run with new values.

    peewee builds the SQL of a query anew on every execution, which for the joins of a hot
    page costs more than running them. ``build`` receives one placeholder per parameter
    (use them where the values go) and returns the query; calling the Prepared object runs
    the stored text with the values given (ids, strings, dates; aware datetimes are stored
    as naive UTC, as every time here is) and returns the rows as the query would (models,
    tuples...). The query's shape must not depend on the values: a list of varying length,
    say, needs a subquery instead; and each placeholder must sit where the database can
    tell its type (``field == value``, not ``value IS NULL``), or PostgreSQL refuses it.

    On PostgreSQL the statement is also prepared on the server (PREPARE, once per
    connection; then EXECUTE), which spares the server parsing and planning it on every
    request: for the inbox's statements, well over half of the server's work. Named
    prepared statements need a session of their own: run PostgreSQL directly or behind a
    session-pooling proxy, not a transaction-pooling one.
    """

    def __init__(self, database: DatabaseProxy, build: Callable[..., Query]):
        self._database = database
        self._build = build
        self._built: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._arity: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._name = f"absah_prepared_{next(_NAMES)}"
        self._ready: weakref.WeakSet = weakref.WeakSet()  # connections that prepared it

    def _compile(self, database: Database, arity: int):
        marks = [object() for _ in range(arity)]
        query = self._build(*(Value(mark, converter=False) for mark in marks))
        sql, params = query.sql()
        slots = []
        for index, param in enumerate(params):
            for number, mark in enumerate(marks):
                if param is mark:
                    slots.append((index, number))
        if sorted({n for _i, n in slots}) != list(range(arity)):
            raise ValueError("every placeholder must appear in the query")
        # Rows straight from the cursor, converting only the columns that need it (dates,
        # JSON, booleans): peewee's row wrappers cost more than these statements.
        # Only when every selected column is a plain field: aliases, functions and the
        # like are left to peewee, which knows how to convert them.
        row_type = getattr(query, "_row_type", None)
        fields = query._returning
        plain = all(isinstance(n, Field) for n in fields)
        converters = [(i, node.python_value) for i, node in enumerate(fields)
                      if plain and type(node) not in _AS_IS]
        if plain and row_type == ROW.TUPLE:
            make = None
        elif (plain and row_type in (None, ROW.MODEL) and not query._joins
              and all(f.model is query.model for f in fields)):
            make = (query.model, [f.name for f in fields])  # one model, its own columns
        else:
            make, converters = "peewee", None
        compiled = (query, sql, params, slots, converters, make)
        self._arity[database] = arity
        self._built[database] = compiled
        return compiled

    def __call__(self, *values) -> list:
        database = self._database.obj
        compiled = self._built.get(database) or self._compile(database, len(values))
        query, sql, params, slots, converters, make = compiled
        if len(values) != self._arity[database]:
            raise TypeError(f"{self._name} takes {self._arity[database]} values, "
                            f"{len(values)} given")
        params = list(params)
        for index, number in slots:
            params[index] = _stored(values[number])
        if isinstance(database, PostgresqlDatabase):
            cursor = self._execute_prepared(database, sql, params)
        else:
            cursor = database.execute_sql(sql, params)
        if make == "peewee":
            return list(query._get_cursor_wrapper(cursor))
        rows = cursor.fetchall()
        if converters:
            rows = [list(row) for row in rows]
            for row in rows:
                for index, convert in converters:
                    if row[index] is not None:
                        row[index] = convert(row[index])
        if make is None:
            return [tuple(row) for row in rows] if converters else rows
        model, names = make
        instances = []
        for row in rows:  # as peewee hydrates a model: no defaults, nothing dirty
            instance = model(__no_default__=1, **dict(zip(names, row, strict=True)))
            instance._dirty.clear()
            instances.append(instance)
        return instances

    def _execute_prepared(self, database: PostgresqlDatabase, sql: str, params: list):
        connection = database.connection()
        if connection not in self._ready:
            numbers = itertools.count(1)
            text = _PLACEHOLDER.sub(lambda _m: f"${next(numbers)}", sql)  # "%%" stays "%%"
            # PREPARE is not transactional: once it succeeds, the statement stays for the
            # connection's life whatever the surrounding transaction does.
            database.execute_sql(f"PREPARE {self._name} AS {text}", ())
            self._ready.add(connection)
        marks = ", ".join(["%s"] * len(params))
        return database.execute_sql(f"EXECUTE {self._name}({marks})" if params
                                    else f"EXECUTE {self._name}", params)


def _stored(value):
    """A value as the models store it: aware datetimes as naive UTC (UTCDateTimeField)."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value
