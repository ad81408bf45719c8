"""Gap-free running numbers (registration numbers now, letter numbers later)."""

from __future__ import annotations

import string

from peewee import (
    CharField,
    IntegerField,
    IntegrityError,
)

from portal.core.db import db
from portal.core.model import BaseModel

__all__ = ["ROMAN_MONTHS", "format_number", "next_value"]

ROMAN_MONTHS = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")


def next_value(scope: str, series: str, year: int) -> int:
    """Take the next number of a series inside the caller's transaction.

    The UPDATE locks the counter row until the transaction ends, so concurrent issuers queue
    and a rolled-back transaction gives its number back: no duplicates, no gaps.
    """
    where = (Counter.scope == scope) & (Counter.series == series) & (Counter.year == year)
    if not Counter.select().where(where).exists():
        try:
            with db.atomic():  # a savepoint: losing the race to create the row is harmless
                Counter.create(scope=scope, series=series, year=year, value=0)
        except IntegrityError:
            pass
    Counter.update(value=Counter.value + 1).where(where).execute()
    return Counter.select(Counter.value).where(where).scalar()


def format_number(fmt: str, seq: int, when, agency: str = "") -> str:
    """Fill a numbering format such as ``445/{seq}/SDMK/{roman_month}/{year}``."""
    values = {"seq": seq, "year": when.year, "month": f"{when.month:02d}",
              "roman_month": ROMAN_MONTHS[when.month - 1], "agency": agency}
    return string.Formatter().vformat(fmt, (), values)




class Counter(BaseModel):
    """A gap-free running number per scope, series and year (registrations, letters)."""

    scope = CharField()
    series = CharField()
    year = IntegerField()
    value = IntegerField(default=0)

    class Meta:
        indexes = ((("scope", "series", "year"), True),)

