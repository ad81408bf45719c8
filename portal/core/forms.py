"""Parsing of what people type into forms, shared by the domains' operations, and the
guard every request passes: no control characters, no value beyond any field's size.

Lengths come from the columns: ``length_problems(values, Model)`` checks each value
against the peewee field it is stored in (``CharField.max_length``, 255 by default), so a
form never reaches PostgreSQL with a value its column refuses (SQLite would keep it).
Digits: a NIK, NIP or phone number typed with other scripts' digits (Arabic-Indic, Persian,
full-width...) is normalised to ASCII by ``ascii_digits``: it is the same number, people
copy it from documents and phones with other keyboards, and the stored value must print,
search and compare as ASCII.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from flask import Flask, request
from peewee import DataError

from portal.core.i18n import LazyText
from portal.core.i18n import lazy_gettext as _l

__all__ = ["FORM_VALUE_MAX", "ID_MAX", "NAME_MAX", "TEXT_MAX", "ascii_digits",
           "date_range_problem", "init_app", "int_or_none", "iso_date", "length_problem",
           "length_problems", "max_length", "parse_date"]

NAME_MAX = 200  # characters of a name, title or label typed into a form
TEXT_MAX = 5000  # characters of a free text (a note, a reason, an address)
# No single value of any form is longer (the wording of a letter is the longest there is):
# above it the request is refused before any view reads it.
FORM_VALUE_MAX = 20000
# C0 control characters but tab, line feed and carriage return, and DEL. PostgreSQL refuses
# NUL in text; none of them is typed by a person.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# The largest integer a database column holds (64 bits, signed). SQLite's driver raises
# OverflowError on a larger one in a query; no row has such an id.
ID_MAX = 2**63 - 1


def parse_date(value, field: str, errors: dict[str, str], required: bool) -> dt.date | None:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    text = (value or "").strip() if isinstance(value, str) else ""
    if not text:
        if required:
            errors[field] = _l("Tanggal wajib diisi.")
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        errors[field] = _l("Tanggal tidak valid (format TTTT-BB-HH).")
        return None


def date_range_problem(start: dt.date | None, end: dt.date | None) -> LazyText | None:
    """Why an end date cannot go with a start date (it is before it), or None."""
    if start is not None and end is not None and end < start:
        return _l("Tanggal selesai tidak boleh sebelum tanggal mulai.")
    return None


def iso_date(day: dt.date | None) -> str | None:
    return day.isoformat() if day is not None else None


def int_or_none(value) -> int | None:
    """``value`` as an integer a database column can hold, else None."""
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if -ID_MAX <= number <= ID_MAX else None


def ascii_digits(value: str) -> str:
    """``value`` with every decimal digit of any script written as its ASCII digit."""
    return "".join(str(unicodedata.decimal(c)) if not c.isascii() and c.isdecimal() else c
                   for c in value or "")


def max_length(field) -> int | None:
    """The most characters a peewee field's column holds (None: unbounded text)."""
    return getattr(field, "max_length", None)


def length_problem(value: str, limit: int | None) -> LazyText | None:
    """Why ``value`` is too long for ``limit`` characters (a number or a peewee field)."""
    if limit is not None and not isinstance(limit, int):
        limit = max_length(limit)
    if limit is not None and len(value or "") > limit:
        return _l("Terlalu panjang (maksimal %(n)s karakter).", n=limit)
    return None


def length_problems(values: dict[str, str | None], model) -> dict[str, LazyText]:
    """The problem of each value too long for the column of ``model`` it goes into."""
    fields = model._meta.fields
    problems = {}
    for name, value in values.items():
        if name in fields and isinstance(value, str):
            if problem := length_problem(value, fields[name]):
                problems[name] = problem
    return problems


def _bad_value(value: str) -> LazyText | None:
    if _CONTROL.search(value):
        return _l("Isian berisi karakter yang tidak diizinkan (karakter kontrol). Hapus "
                  "karakter itu lalu kirim lagi.")
    if len(value) > FORM_VALUE_MAX:
        return _l("Isian terlalu panjang (maksimal %(n)s karakter per isian).",
                  n=f"{FORM_VALUE_MAX:,}".replace(",", "."))
    return None


def init_app(app: Flask, error_response) -> None:
    """Refuse (422) a request whose form, query or file names carry control characters or
    an oversized value before any view reads them; and answer 422, not 500, should a value
    still reach a column that refuses it (PostgreSQL: too long, NUL)."""

    @app.before_request
    def _refuse_bad_input():
        # /tasks/<int:id> with an id no column holds: no such page (not a driver's error).
        if any(isinstance(value, int) and not -ID_MAX <= value <= ID_MAX
               for value in (request.view_args or {}).values()):
            return error_response(404)
        values = [value for _key, value in request.args.items(multi=True)]
        values.append(request.path)
        if request.method in ("POST", "PUT", "PATCH"):
            values += [value for _key, value in request.form.items(multi=True)]
            values += [f.filename or "" for _key, f in request.files.items(multi=True)]
        for value in values:
            if problem := _bad_value(value):
                return error_response(422, problem)
        return None

    @app.errorhandler(DataError)
    @app.errorhandler(OverflowError)  # SQLite's driver: an integer over 64 bits in a query
    def _refused_by_database(exc):
        app.logger.warning("value refused by the database on %s %s: %s", request.method,
                           request.path, str(exc).splitlines()[0] if str(exc) else exc)
        return error_response(422, _l("Isian tidak dapat disimpan: ada isian yang terlalu "
                                      "panjang atau tidak valid. Periksa lalu kirim lagi."))
