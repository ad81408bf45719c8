"""The working-day calendar that SLA due times are counted on.

Indonesian agencies promise service times in office time ("2 jam", "3 hari kerja") or
in calendar time ("2 hari", "1 bulan"); see :mod:`portal.duration`. A
:class:`WorkCalendar` knows one agency's zone, office hours, public holidays and own
days off, and turns a start instant plus a :class:`~portal.duration.Duration` into a
due instant.

All instants going in and out are timezone-aware and come out in UTC; the counting
itself happens in the agency's local zone, because "07:30" means 07:30 WITA in
Makassar. Pure Python, no Flask or database.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from portal.calendar.duration import Duration, Unit

__all__ = [
    "AGENCY_DAY_OFF_NAME",
    "HOLIDAY_LANGUAGE",
    "OFFICE_HOURS_DEFAULT",
    "WEEKDAY_NAMES",
    "ZONE_LABELS",
    "OfficeHours",
    "WorkCalendar",
]

ZONE_LABELS = MappingProxyType({
    "Asia/Jakarta": "WIB",
    "Asia/Pontianak": "WIB",
    "Asia/Makassar": "WITA",
    "Asia/Jayapura": "WIT",
})

# Config keys for weekdays, in datetime.weekday() order (0 = Monday).
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# Pinned because the holidays package otherwise picks the language from the process
# locale, so names would change between a developer's shell and the server.
HOLIDAY_LANGUAGE = "id"

# What holiday_name() reports for a day the agency closes on its own decision.
AGENCY_DAY_OFF_NAME = "Libur instansi"

_MINUTE = timedelta(minutes=1)
# A safety stop: a calendar with every day closed (or a typo making years of days
# off) would otherwise search for an opening forever.
_MAX_CLOSED_RUN = 3 * 366
_RANGE = re.compile(r"^\s*(\d{1,2})[:.](\d{2})\s*[-\u2013]\s*(\d{1,2})[:.](\d{2})\s*$")


class OfficeHours(Mapping):
    """Weekday (0 = Monday) to (opening, closing) local times; a missing weekday is closed.

    An immutable, hashable mapping, so a frozen :class:`WorkCalendar` can hold it.
    """

    __slots__ = ("_items", "_map")

    def __init__(self, hours: Mapping[int, tuple[time, time]] | Iterable = ()):
        pairs = hours.items() if isinstance(hours, Mapping) else hours
        checked: dict[int, tuple[time, time]] = {}
        for weekday, span in pairs:
            if isinstance(weekday, bool) or not isinstance(weekday, int) or not 0 <= weekday <= 6:
                raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), got {weekday!r}")
            opening, closing = span
            for moment in (opening, closing):
                if not isinstance(moment, time) or moment.tzinfo is not None:
                    raise ValueError(
                        f"office hours are naive local times, got {moment!r} for weekday {weekday}"
                    )
            if not opening < closing:
                raise ValueError(
                    f"opening must be before closing on {WEEKDAY_NAMES[weekday]}: "
                    f"{opening:%H:%M}-{closing:%H:%M}"
                )
            checked[weekday] = (opening, closing)
        self._map = checked
        self._items = tuple(sorted(checked.items()))

    def __getitem__(self, weekday: int) -> tuple[time, time]:
        return self._map[weekday]

    def __iter__(self) -> Iterator[int]:
        return (weekday for weekday, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, OfficeHours):
            return self._items == other._items
        return super().__eq__(other)

    def __repr__(self) -> str:
        spans = ", ".join(
            f"{WEEKDAY_NAMES[d]}: {o:%H:%M}-{c:%H:%M}" for d, (o, c) in self._items
        )
        return f"OfficeHours({{{spans}}})"


# The five-day week of Indonesian civil servants: Friday runs half an hour longer to
# make up for the Friday prayer break.
OFFICE_HOURS_DEFAULT = OfficeHours({
    0: (time(7, 30), time(16, 0)),
    1: (time(7, 30), time(16, 0)),
    2: (time(7, 30), time(16, 0)),
    3: (time(7, 30), time(16, 0)),
    4: (time(7, 30), time(16, 30)),
})


@functools.lru_cache(maxsize=64)
def _public_holidays(year: int) -> Mapping[date, str]:
    """Indonesian public holidays of one year, built once per process."""
    found = holidays.country_holidays("ID", years=year, language=HOLIDAY_LANGUAGE)
    return MappingProxyType(dict(found.items()))


def _zone(key: str) -> ZoneInfo:
    """The ZoneInfo for an IANA key, or ValueError naming the key."""
    if not isinstance(key, str) or not key:
        raise ValueError(f"unknown time zone {key!r}")
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {key!r}") from None


def _utc(moment: datetime, name: str = "datetime") -> datetime:
    """The same instant in UTC; naive datetimes are refused, never guessed."""
    if not isinstance(moment, datetime):
        raise TypeError(f"{name} must be a datetime, got {moment!r}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (UTC), got naive {moment!r}")
    return moment.astimezone(UTC)


def _offset_label(offset: timedelta) -> str:
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(offset) // _MINUTE
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _parse_range(weekday: str, text: object) -> tuple[time, time] | None:
    """'07:30-16:00' (or '07.30-16.00', as Indonesian documents write it) to two times."""
    if isinstance(text, str) and text.strip().lower() == "closed":
        return None
    match = _RANGE.match(text) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"cannot read office hours {text!r} for {weekday!r}: write '07:30-16:00'")
    h1, m1, h2, m2 = (int(part) for part in match.groups())
    try:
        opening, closing = time(h1, m1), time(h2, m2)
    except ValueError:
        raise ValueError(f"invalid time in office hours {text!r} for {weekday!r}") from None
    if not opening < closing:
        raise ValueError(
            f"office hours {text!r} for {weekday!r}: opening must be before closing"
        )
    return opening, closing


def _parse_day(value: object) -> date:
    if isinstance(value, datetime):
        raise ValueError(f"a day off is a date, not a datetime: {value!r}")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"cannot read day off {value!r}: write a date like '2026-03-20'")


def _add_months(day: date, months: int) -> date:
    """The same day of the month ``months`` later, clamped to that month's last day."""
    year, month0 = divmod(day.month - 1 + months, 12)
    year += day.year
    first_of_next = date(year + (month0 + 1) // 12, (month0 + 1) % 12 + 1, 1)
    last_day = (first_of_next - timedelta(days=1)).day
    return date(year, month0 + 1, min(day.day, last_day))


@dataclass(frozen=True)
class WorkCalendar:
    """One agency's office time: its zone, weekly hours, public holidays and own days off."""

    #: IANA zone of the agency, e.g. "Asia/Makassar".
    zone: str = "Asia/Jakarta"
    #: Weekday (0 = Monday) to (opening, closing) in local time; a missing weekday is closed.
    hours: Mapping[int, tuple[time, time]] = OFFICE_HOURS_DEFAULT
    #: The agency's own extra days off (cuti bersama, local decisions).
    days_off: frozenset[date] = frozenset()
    #: Whether Indonesian public holidays (from the holidays package) are closed.
    public_holidays: bool = True

    def __post_init__(self) -> None:
        _zone(self.zone)
        # Normalised so that any mapping a caller passes still leaves the calendar
        # hashable and immutable.
        hours = self.hours if isinstance(self.hours, OfficeHours) else OfficeHours(self.hours)
        if not hours:
            raise ValueError("office hours must open on at least one weekday")
        object.__setattr__(self, "hours", hours)
        object.__setattr__(self, "days_off", frozenset(_parse_day(d) for d in self.days_off))

    @classmethod
    def from_config(
        cls,
        zone: str,
        hours: Mapping[str, str] | None = None,
        days_off: Iterable[date | str] = (),
    ) -> WorkCalendar:
        """Build a calendar from plain config: ``{"mon": "07:30-16:00", ...}`` and ISO dates.

        ``hours=None`` means :data:`OFFICE_HOURS_DEFAULT`; a weekday left out (or given as
        "closed") is closed. Raises ValueError naming the zone, weekday or range at fault.
        """
        _zone(zone)
        if hours is None:
            parsed: Mapping[int, tuple[time, time]] = OFFICE_HOURS_DEFAULT
        else:
            if not isinstance(hours, Mapping):
                raise ValueError(f"office hours must be a mapping like {{'mon': '07:30-16:00'}}, "
                                 f"got {hours!r}")
            table: dict[int, tuple[time, time]] = {}
            for name, text in hours.items():
                key = name.strip().lower() if isinstance(name, str) else name
                if key not in WEEKDAY_NAMES:
                    raise ValueError(
                        f"unknown weekday {name!r} in office hours "
                        f"(use {', '.join(WEEKDAY_NAMES)})"
                    )
                span = _parse_range(name, text)
                if span is not None:
                    table[WEEKDAY_NAMES.index(key)] = span
            parsed = OfficeHours(table)
        return cls(zone=zone, hours=parsed, days_off=frozenset(_parse_day(d) for d in days_off))

    # -- zone ---------------------------------------------------------------------------

    def tzinfo(self) -> ZoneInfo:
        """The agency's zone as a tzinfo."""
        return ZoneInfo(self.zone)

    @property
    def zone_label(self) -> str:
        """"WIB", "WITA" or "WIT"; other zones get their current offset, e.g. "UTC+08:00"."""
        label = ZONE_LABELS.get(self.zone)
        if label is not None:
            return label
        return _offset_label(datetime.now(UTC).astimezone(self.tzinfo()).utcoffset())

    def local(self, moment: datetime) -> datetime:
        """The instant as an aware datetime in the agency's zone."""
        return _utc(moment, "moment").astimezone(self.tzinfo())

    def format(self, moment: datetime) -> str:
        """The instant as Indonesian readers write it: "23-11-2026 14:05 WIB"."""
        local = self.local(moment)
        label = ZONE_LABELS.get(self.zone) or _offset_label(local.utcoffset())
        return f"{local:%d-%m-%Y %H:%M} {label}"

    # -- days ---------------------------------------------------------------------------

    def is_working_day(self, day: date) -> bool:
        """True when the office opens that day: an open weekday, no holiday, no day off."""
        _check_date(day)
        if day.weekday() not in self.hours or day in self.days_off:
            return False
        return not (self.public_holidays and day in _public_holidays(day.year))

    def holiday_name(self, day: date) -> str | None:
        """The public holiday's name (in Indonesian), :data:`AGENCY_DAY_OFF_NAME` for the
        agency's own days off, or None on an ordinary day (weekends included)."""
        _check_date(day)
        if self.public_holidays:
            name = _public_holidays(day.year).get(day)
            if name is not None:
                return name
        if day in self.days_off:
            return AGENCY_DAY_OFF_NAME
        return None

    def _office_span(self, day: date) -> tuple[datetime, datetime] | None:
        """The day's opening and closing instants in UTC, or None when closed."""
        if not self.is_working_day(day):
            return None
        opening, closing = self.hours[day.weekday()]
        zone = self.tzinfo()
        return (
            datetime.combine(day, opening, tzinfo=zone).astimezone(UTC),
            datetime.combine(day, closing, tzinfo=zone).astimezone(UTC),
        )

    def _next_working_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        for step in range(1, _MAX_CLOSED_RUN + 1):
            candidate = day + timedelta(days=step)
            if self.is_working_day(candidate):
                return candidate
        raise ValueError(f"no working day within {_MAX_CLOSED_RUN} days after {day}")

    def _previous_working_day(self, day: date) -> date:
        """The last working day strictly before ``day``."""
        for step in range(1, _MAX_CLOSED_RUN + 1):
            candidate = day - timedelta(days=step)
            if self.is_working_day(candidate):
                return candidate
        raise ValueError(f"no working day within {_MAX_CLOSED_RUN} days before {day}")

    def end_of_day_due(self, moment: datetime, not_before: datetime | None = None) -> datetime:
        """The one way a deadline at the end of a working day is written (UTC).

        A working day's opening with only closed time before it (the night, a weekend, a
        day off) is the same office instant as the previous working day's closing; the
        deadline is that closing, "30-11-2026 16:00 WIB", never "01-12-2026 07:30 WIB".
        Any other instant, or a closing earlier than ``not_before`` (a zero standard time
        starting at an opening is due at its start), comes back unchanged.
        """
        moment = _utc(moment, "moment")
        local = moment.astimezone(self.tzinfo())
        day = local.date()
        if not self.is_working_day(day) or local.timetz().replace(tzinfo=None) != \
                self.hours[day.weekday()][0]:
            return moment
        closing = self._office_span(self._previous_working_day(day))[1]
        if not_before is not None and closing < _utc(not_before, "not_before"):
            return moment
        return closing

    # -- office time --------------------------------------------------------------------

    def _office_time_between(self, a: datetime, b: datetime) -> timedelta:
        # Exact timedeltas internally, so pause/resume arithmetic does not drift.
        if b <= a:
            return timedelta(0)
        zone = self.tzinfo()
        day, last = a.astimezone(zone).date(), b.astimezone(zone).date()
        total = timedelta(0)
        while day <= last:
            span = self._office_span(day)
            if span is not None:
                begin, end = max(span[0], a), min(span[1], b)
                if begin < end:
                    total += end - begin
            day += timedelta(days=1)
        return total

    def _add_office_time(self, start: datetime, amount: timedelta) -> datetime:
        if amount < timedelta(0):
            raise ValueError(f"office time to add must not be negative, got {amount}")
        if not amount:
            return start
        remaining = amount
        day = start.astimezone(self.tzinfo()).date()
        closed_run = 0
        while True:
            span = self._office_span(day)
            if span is not None:
                closed_run = 0
                begin = max(span[0], start)
                if begin < span[1]:
                    available = span[1] - begin
                    # "<=" so a step that ends exactly at closing is due at closing,
                    # not at the next morning's opening.
                    if remaining <= available:
                        return begin + remaining
                    remaining -= available
            else:
                closed_run += 1
                if closed_run > _MAX_CLOSED_RUN:
                    raise ValueError(f"no working day within {_MAX_CLOSED_RUN} days after {day}")
            day += timedelta(days=1)

    def office_minutes_between(self, a: datetime, b: datetime) -> float:
        """Minutes of office time from ``a`` to ``b`` (0 when ``b`` is not after ``a``)."""
        a, b = _utc(a, "a"), _utc(b, "b")
        return self._office_time_between(a, b) / _MINUTE

    def add_office_minutes(self, start: datetime, minutes: float) -> datetime:
        """The instant after ``minutes`` of office time from ``start``; 0 returns ``start``.

        A start outside office hours counts from the next opening.
        """
        start = _utc(start, "start")
        if minutes < 0:
            raise ValueError(f"minutes must not be negative, got {minutes!r}")
        return self._add_office_time(start, timedelta(minutes=minutes))

    def _add_working_days(self, start: datetime, count: int) -> datetime:
        if count == 0:
            return start
        local = start.astimezone(self.tzinfo())
        day, clock = local.date(), local.time()
        if self.is_working_day(day):
            opening, closing = self.hours[day.weekday()]
            # Closing itself counts as inside: 16:00 Monday + 1 is 16:00 Tuesday, which
            # is the same office instant as 07:30 Wednesday but reads as people expect.
            if clock > closing:
                day = self._next_working_day(day)
                clock = self.hours[day.weekday()][0]
            elif clock < opening:
                clock = opening
        else:
            day = self._next_working_day(day)
            clock = self.hours[day.weekday()][0]
        for _ in range(count):
            day = self._next_working_day(day)
        opening, closing = self.hours[day.weekday()]
        clock = min(max(clock, opening), closing)
        return datetime.combine(day, clock, tzinfo=self.tzinfo()).astimezone(UTC)

    # -- due times ----------------------------------------------------------------------

    def due(self, start: datetime, duration: Duration) -> datetime:
        """When a step started at ``start`` with standard time ``duration`` is due (UTC).

        MINUTES/HOURS count office time; WORKING_DAYS keep the office clock time N working
        days later (clamped into that day's hours); an office-time due at the end of a
        working day is that day's closing (:meth:`end_of_day_due`). DAYS are N x 24 hours;
        MONTHS keep the local date and time N months later, clamping the day to the
        month's length.
        """
        start = _utc(start, "start")
        amount, unit = _check_duration(duration)
        # Office-time deadlines are written the one way (end_of_day_due): N working days
        # from an opening end at a closing, as the same time counted in hours does.
        if unit is Unit.MINUTES:
            return self.end_of_day_due(self._add_office_time(start, timedelta(minutes=amount)),
                                       start)
        if unit is Unit.HOURS:
            return self.end_of_day_due(self._add_office_time(start, timedelta(hours=amount)),
                                       start)
        if unit is Unit.WORKING_DAYS:
            return self.end_of_day_due(self._add_working_days(start, amount), start)
        if unit is Unit.DAYS:
            return start + timedelta(days=amount)
        if unit is Unit.MONTHS:
            local = start.astimezone(self.tzinfo())
            target = _add_months(local.date(), amount)
            # Rebuilt from the wall clock (not timedelta arithmetic) so a zone with DST
            # would still keep the local time of day.
            return datetime.combine(target, local.timetz()).astimezone(UTC)
        raise ValueError(f"unsupported unit {unit!r}")  # pragma: no cover - Unit is closed

    def resume_due(
        self,
        started: datetime,
        due: datetime,
        paused_at: datetime,
        resumed_at: datetime,
        duration: Duration,
    ) -> datetime:
        """The new due time after the clock stood still from ``paused_at`` to ``resumed_at``.

        The clock never restarts from zero: office-time units carry the office time that
        was left at the pause (never below 0) forward from ``resumed_at``; calendar units
        shift ``due`` by the length of the pause.
        """
        started, due = _utc(started, "started"), _utc(due, "due")
        paused_at, resumed_at = _utc(paused_at, "paused_at"), _utc(resumed_at, "resumed_at")
        _, unit = _check_duration(duration)
        if paused_at < started:
            raise ValueError(f"paused_at {paused_at} is before started {started}")
        if resumed_at < paused_at:
            raise ValueError(f"resumed_at {resumed_at} is before paused_at {paused_at}")
        if unit.office_time:
            remaining = self._office_time_between(started, due) - self._office_time_between(
                started, paused_at
            )
            return self.end_of_day_due(
                self._add_office_time(resumed_at, max(remaining, timedelta(0))), resumed_at)
        return due + (resumed_at - paused_at)


def _check_date(day: object) -> None:
    # datetime is a subclass of date but never equals one, so it would silently miss
    # every holiday and day off.
    if isinstance(day, datetime) or not isinstance(day, date):
        raise TypeError(f"expected a date, got {day!r}")


def _check_duration(duration: Duration) -> tuple[int, Unit]:
    if not isinstance(duration, Duration):
        raise TypeError(f"expected a Duration, got {duration!r}")
    amount, unit = duration.amount, Unit(duration.unit)
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
        raise ValueError(f"duration amount must be a whole number >= 0, got {amount!r}")
    return amount, unit
