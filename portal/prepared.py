"""Queries whose SQL is built once: for the few statements every page runs."""

from __future__ import annotations

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
    Query,
    TextField,
    Value,
)

# Columns both drivers already return as the Python value (str, int): no conversion needed.
_AS_IS = (AutoField, CharField, ForeignKeyField, IntegerField, TextField)

__all__ = ["Prepared"]


class Prepared:
    """A query whose SQL text is built once per database and then run with new values.

    peewee builds the SQL of a query anew on every execution, which for the joins of a hot
    page costs more than running them. ``build`` receives one placeholder per parameter
    (use them where the values go) and returns the query; calling the Prepared object runs
    the stored text with the values given, already in the form the database stores
    (ids, ISO dates, strings), and returns the rows as the query would (models, tuples...).
    The query's shape must not depend on the values: a list of varying length, say, needs
    a subquery instead.
    """

    def __init__(self, database: DatabaseProxy, build: Callable[..., Query]):
        self._database = database
        self._build = build
        self._built: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

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
        row_type = getattr(query, "_row_type", None)
        fields = [n for n in query._returning if isinstance(n, Field)]
        converters = [(i, node.python_value) for i, node in enumerate(query._returning)
                      if isinstance(node, Field) and not isinstance(node, _AS_IS)]
        if row_type == ROW.TUPLE:
            make = None
        elif (row_type in (None, ROW.MODEL) and not query._joins
              and len(fields) == len(query._returning)
              and all(f.model is query.model for f in fields)):
            make = (query.model, [f.name for f in fields])  # one model, its own columns
        else:
            make, converters = "peewee", None
        compiled = (query, sql, params, slots, converters, make)
        self._built[database] = compiled
        return compiled

    def __call__(self, *values) -> list:
        database = self._database.obj
        compiled = self._built.get(database) or self._compile(database, len(values))
        query, sql, params, slots, converters, make = compiled
        params = list(params)
        for index, number in slots:
            params[index] = values[number]
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
