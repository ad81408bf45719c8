"""Parsing of what people type into forms, shared by the domains' operations."""

from __future__ import annotations

import datetime as dt

from portal.core.i18n import lazy_gettext as _l

NAME_MAX = 200  # characters of a name, title or label typed into a form


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


def iso_date(day: dt.date | None) -> str | None:
    return day.isoformat() if day is not None else None


def int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None

