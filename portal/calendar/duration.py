"""Standard times (mutu baku waktu) as the SOPs state them: an amount and a unit.

Pure Python; shared by the SOP loader, the working-day calendar and the views.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Duration", "DurationError", "Unit", "amount_label", "elapsed_label", "minutes_label",
           "no_standard_time", "parse_duration", "some_steps_untimed"]


class Unit(StrEnum):
    """How a standard time is counted.

    MINUTES, HOURS and WORKING_DAYS run on office time only (the clock stops outside
    office hours, on weekends, public holidays and the agency's days off); DAYS and
    MONTHS are calendar time, as some SOPs state them ("2 hari", "1 bulan").
    """

    MINUTES = "minutes"
    HOURS = "hours"
    WORKING_DAYS = "working_days"
    DAYS = "days"
    MONTHS = "months"

    @property
    def office_time(self) -> bool:
        """True when the clock only runs during office hours."""
        return self in (Unit.MINUTES, Unit.HOURS, Unit.WORKING_DAYS)


# Words an SOP writer may use, in English or Bahasa Indonesia, singular or plural.
_UNIT_WORDS = {
    "minute": Unit.MINUTES, "minutes": Unit.MINUTES, "min": Unit.MINUTES, "menit": Unit.MINUTES,
    "hour": Unit.HOURS, "hours": Unit.HOURS, "jam": Unit.HOURS,
    "working day": Unit.WORKING_DAYS, "working days": Unit.WORKING_DAYS,
    "hari kerja": Unit.WORKING_DAYS,
    "day": Unit.DAYS, "days": Unit.DAYS, "hari": Unit.DAYS,
    "month": Unit.MONTHS, "months": Unit.MONTHS, "bulan": Unit.MONTHS,
}
_PATTERN = re.compile(r"^\s*(\d+)\s*([a-z_ ]+?)\s*$")
# What an error lists: each unit in Bahasa Indonesia and in English (the words above).
KNOWN_UNITS = ("menit / minutes, jam / hours, hari kerja / working days (or working_days), "
               "hari / days, bulan / months")

# For totals only (never for due times): how SOP authors add mixed units up.
# The Malang SIK adds 4 working days and 24 hours to "7 hari kerja" (8-hour days);
# the Kalbar letter adds 105 minutes and "2 hari" to "2.985 menit" (24-hour days).
MINUTES_PER = {
    Unit.MINUTES: 1,
    Unit.HOURS: 60,
    Unit.WORKING_DAYS: 8 * 60,
    Unit.DAYS: 24 * 60,
    Unit.MONTHS: 30 * 24 * 60,
}

# How a reader of each interface language reads a unit: (singular, plural). The one place
# durations get their words; pages pass their language (see ``Duration.label``).
_UNIT_WORDS_IN = {
    "id": {Unit.MINUTES: ("menit", "menit"), Unit.HOURS: ("jam", "jam"),
           Unit.WORKING_DAYS: ("hari kerja", "hari kerja"), Unit.DAYS: ("hari", "hari"),
           Unit.MONTHS: ("bulan", "bulan")},
    "en": {Unit.MINUTES: ("minute", "minutes"), Unit.HOURS: ("hour", "hours"),
           Unit.WORKING_DAYS: ("working day", "working days"), Unit.DAYS: ("day", "days"),
           Unit.MONTHS: ("month", "months")},
}
_PHRASES = {
    "id": {"none": "tanpa waktu standar", "under_minute": "kurang dari 1 menit",
           "partly": " (sebagian langkah tanpa waktu standar)"},
    "en": {"none": "no standard time", "under_minute": "less than a minute",
           "partly": " (some steps have no standard time)"},
}


def _lang(language: str | None) -> str:
    return language if language in _UNIT_WORDS_IN else "id"


def amount_label(amount: int, unit: Unit, language: str | None = "id") -> str:
    """'2 hari kerja', '1 working day', '3 hours': an amount with its unit's word."""
    singular, plural = _UNIT_WORDS_IN[_lang(language)][Unit(unit)]
    return f"{amount} {singular if amount == 1 else plural}"


def minutes_label(minutes: int, language: str | None = "id") -> str:
    """Minutes as a reader expects them: '49 jam 45 menit', '45 minutes', '2 hours'."""
    hours, rest = divmod(int(minutes), 60)
    parts = ([amount_label(hours, Unit.HOURS, language)] if hours else []) + \
        ([amount_label(rest, Unit.MINUTES, language)] if rest or not hours else [])
    return " ".join(parts)


def elapsed_label(minutes: int, language: str | None = "id") -> str:
    """Time a step really took (wall clock): '2 hari 3 jam', '45 menit', '2 days 3 hours'."""
    minutes = int(minutes)
    if minutes < 1:
        return _PHRASES[_lang(language)]["under_minute"]
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [amount_label(days, Unit.DAYS, language) if days else "",
             amount_label(hours, Unit.HOURS, language) if hours else "",
             amount_label(mins, Unit.MINUTES, language) if mins and not days else ""]
    return " ".join(p for p in parts if p)


def no_standard_time(language: str | None = "id") -> str:
    """What a step or SOP without a standard time shows: 'tanpa waktu standar'."""
    return _PHRASES[_lang(language)]["none"]


def some_steps_untimed(language: str | None = "id") -> str:
    """Said after a total that leaves out steps without a standard time."""
    return _PHRASES[_lang(language)]["partly"]


class DurationError(ValueError):
    """A standard time that cannot be read."""


@dataclass(frozen=True, order=True)
class Duration:
    """An amount of a unit, e.g. ``Duration(2, Unit.HOURS)``."""

    amount: int
    unit: Unit

    @property
    def nominal_minutes(self) -> int:
        """Length in minutes by the SOP authors' convention (for totals, not due times)."""
        return self.amount * MINUTES_PER[self.unit]

    def __str__(self) -> str:
        return f"{self.amount} {self.unit.value.replace('_', ' ')}"

    def label(self, language: str | None = "id") -> str:
        """The duration as a reader of ``language`` ("id" or "en") expects it.

        '2 hari kerja' / '2 working days'; minutes past an hour in hours and minutes
        ('2985 menit' reads '49 jam 45 menit'); a zero time says there is none.
        """
        if self.amount == 0:
            return no_standard_time(language)
        if self.unit is Unit.MINUTES:
            return minutes_label(self.amount, language)
        return amount_label(self.amount, self.unit, language)


def parse_duration(text: str | int) -> Duration:
    """Read '15 minutes', '2 jam', '1 hari kerja', '2 days', '1 month'.

    Raises DurationError with the reason when the text is not a duration.
    """
    if isinstance(text, bool) or not isinstance(text, str):
        raise DurationError(f"expected text like '15 minutes' or '2 hari kerja', got {text!r}")
    match = _PATTERN.match(text.lower())
    if not match:
        raise DurationError(
            f"cannot read {text!r}: write an amount and a unit, like '15 minutes' or '2 hari kerja'"
        )
    # "working_days" as the error message and the English code name write it: a space.
    amount, word = int(match.group(1)), " ".join(match.group(2).replace("_", " ").split())
    unit = _UNIT_WORDS.get(word)
    if unit is None:
        raise DurationError(f"unknown unit {word!r} in {text!r} (known: {KNOWN_UNITS})")
    return Duration(amount, unit)


def total_minutes(durations) -> int:
    """Sum of nominal minutes, the way the SOPs state their totals."""
    return sum(d.nominal_minutes for d in durations)
