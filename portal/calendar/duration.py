"""Standard times (mutu baku waktu) as the SOPs state them: an amount and a unit.

Pure Python; shared by the SOP loader, the working-day calendar and the views.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Duration", "DurationError", "Unit", "parse_duration"]


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
_PATTERN = re.compile(r"^\s*(\d+)\s*([a-z ]+?)\s*$")

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

_LABELS_ID = {
    Unit.MINUTES: "menit", Unit.HOURS: "jam", Unit.WORKING_DAYS: "hari kerja",
    Unit.DAYS: "hari", Unit.MONTHS: "bulan",
}


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

    def label_id(self) -> str:
        """The duration as an Indonesian reader expects it: '2 hari kerja'."""
        return f"{self.amount} {_LABELS_ID[self.unit]}"


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
    amount, word = int(match.group(1)), " ".join(match.group(2).split())
    unit = _UNIT_WORDS.get(word)
    if unit is None:
        known = ", ".join(sorted({u.value for u in Unit}))
        raise DurationError(f"unknown unit {word!r} in {text!r} (known: {known})")
    return Duration(amount, unit)


def total_minutes(durations) -> int:
    """Sum of nominal minutes, the way the SOPs state their totals."""
    return sum(d.nominal_minutes for d in durations)
