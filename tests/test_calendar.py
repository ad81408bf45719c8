"""The working-day SLA calendar: every expected instant below was worked out by hand.

Reference week: Monday 2026-11-23 to Sunday 2026-11-29 has no Indonesian public
holiday. WIB is UTC+7, WITA UTC+8, WIT UTC+9.
"""

from datetime import UTC, date, datetime, time, timedelta

import pytest

from portal.calendar.duration import Duration, Unit
from portal.calendar.workdays import (
    AGENCY_DAY_OFF_NAME,
    OFFICE_HOURS_DEFAULT,
    ZONE_LABELS,
    WorkCalendar,
)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def minutes(n: int) -> Duration:
    return Duration(n, Unit.MINUTES)


def hours(n: int) -> Duration:
    return Duration(n, Unit.HOURS)


def working_days(n: int) -> Duration:
    return Duration(n, Unit.WORKING_DAYS)


JAKARTA = WorkCalendar()
MAKASSAR = WorkCalendar(zone="Asia/Makassar")


# -- minutes and hours: office time only ---------------------------------------------------


def test_fifteen_minute_step_started_near_closing_is_due_next_morning():
    # Monday 15:55 WIB: 5 minutes left today, 10 more from Tuesday 07:30.
    assert JAKARTA.due(utc(2026, 11, 23, 8, 55), minutes(15)) == utc(2026, 11, 24, 0, 40)


def test_step_ending_exactly_at_closing_is_due_at_closing_not_next_morning():
    # Monday 15:45 WIB + 15 minutes = 16:00 WIB the same day.
    assert JAKARTA.due(utc(2026, 11, 23, 8, 45), minutes(15)) == utc(2026, 11, 23, 9, 0)


def test_minutes_step_started_after_closing_counts_from_next_opening():
    # Monday 17:00 WIB: nothing counts until Tuesday 07:30, due 07:45 WIB.
    assert JAKARTA.due(utc(2026, 11, 23, 10, 0), minutes(15)) == utc(2026, 11, 24, 0, 45)


def test_step_started_before_opening_counts_from_opening():
    # Monday 06:00 WIB (Sunday 23:00 UTC) + 30 minutes = 08:00 WIB.
    assert JAKARTA.due(utc(2026, 11, 22, 23, 0), minutes(30)) == utc(2026, 11, 23, 1, 0)


def test_step_started_on_saturday_counts_from_monday_opening():
    # Saturday 10:00 WIB + 1 hour = Monday 08:30 WIB.
    assert JAKARTA.due(utc(2026, 11, 28, 3, 0), hours(1)) == utc(2026, 11, 30, 1, 30)


def test_hours_step_started_friday_afternoon_is_due_monday_not_saturday():
    # Friday 15:30 WIB: 1 hour until the 16:30 Friday closing, 1 more from Monday 07:30.
    assert JAKARTA.due(utc(2026, 11, 27, 8, 30), hours(2)) == utc(2026, 11, 30, 1, 30)


def test_friday_closes_half_an_hour_later():
    # Friday 16:20 WIB + 10 minutes = 16:30 WIB, still Friday.
    assert JAKARTA.due(utc(2026, 11, 27, 9, 20), minutes(10)) == utc(2026, 11, 27, 9, 30)


def test_hours_step_skips_idul_fitri():
    # Tuesday 2027-03-09 15:00 WIB: 1 hour on Tuesday; 10-11 March are Idul Fitri;
    # the second hour ends Friday 2027-03-12 08:30 WIB.
    assert JAKARTA.due(utc(2027, 3, 9, 8, 0), hours(2)) == utc(2027, 3, 12, 1, 30)


# -- working days ---------------------------------------------------------------------------


def test_working_days_step_started_friday_afternoon_is_due_monday_same_time():
    # Friday 14:00 WIB + 1 working day = Monday 14:00 WIB.
    due = JAKARTA.due(utc(2026, 11, 27, 7, 0), working_days(1))
    assert due == utc(2026, 11, 30, 7, 0)


def test_working_days_clock_time_past_target_closing_is_due_at_closing():
    # Friday 16:20 WIB is after Monday's 16:00 closing, so due Monday 16:00 WIB.
    due = JAKARTA.due(utc(2026, 11, 27, 9, 20), working_days(1))
    assert due == utc(2026, 11, 30, 9, 0)


def test_working_days_started_after_closing_counts_from_next_opening():
    # Friday 17:00 WIB counts from Monday 07:30; one working day later is the end of
    # Monday, written as Monday 16:00 WIB (not as Tuesday 07:30, the same office instant).
    due = JAKARTA.due(utc(2026, 11, 27, 10, 0), working_days(1))
    assert due == utc(2026, 11, 30, 9, 0)
    assert JAKARTA.format(due) == "30-11-2026 16:00 WIB"


def test_working_days_started_on_weekend_counts_from_monday_opening():
    # Sunday 12:00 WIB + 2 working days = the end of Tuesday, 16:00 WIB.
    due = JAKARTA.due(utc(2026, 11, 29, 5, 0), working_days(2))
    assert due == utc(2026, 12, 1, 9, 0)


def test_working_days_started_before_opening_count_that_whole_day():
    # Monday 06:00 WIB + 1 working day = all of Monday: due Monday 16:00 WIB.
    due = JAKARTA.due(utc(2026, 11, 22, 23, 0), working_days(1))
    assert due == utc(2026, 11, 23, 9, 0)


def test_zero_working_days_is_due_at_start():
    start = utc(2026, 11, 23, 10, 0)  # Monday 17:00 WIB, even outside office hours
    assert JAKARTA.due(start, working_days(0)) == start


def test_working_days_step_spanning_idul_fitri_skips_the_holidays():
    # Tuesday 2027-03-09 10:00 WIB; Wed 10 and Thu 11 March are Idul Fitri, so the two
    # working days are Friday 12 and Monday 15 March.
    assert not JAKARTA.is_working_day(date(2027, 3, 10))
    assert not JAKARTA.is_working_day(date(2027, 3, 11))
    due = JAKARTA.due(utc(2027, 3, 9, 3, 0), working_days(2))
    assert due == utc(2027, 3, 15, 3, 0)


def test_holiday_name_comes_from_the_holidays_package_in_indonesian():
    assert "Idul Fitri" in JAKARTA.holiday_name(date(2027, 3, 10))
    assert JAKARTA.holiday_name(date(2026, 11, 23)) is None
    assert JAKARTA.holiday_name(date(2026, 11, 28)) is None  # a weekend is not a holiday


def test_calendar_without_public_holidays_works_through_them():
    no_holidays = WorkCalendar(public_holidays=False)
    assert no_holidays.is_working_day(date(2027, 3, 10))
    assert no_holidays.holiday_name(date(2027, 3, 10)) is None
    due = no_holidays.due(utc(2027, 3, 9, 3, 0), working_days(2))
    assert due == utc(2027, 3, 11, 3, 0)


CUTI_BERSAMA_2026 = frozenset({date(2026, 3, 20), date(2026, 3, 23), date(2026, 3, 24)})


def test_agency_days_off_for_cuti_bersama_are_skipped():
    agency = WorkCalendar(days_off=CUTI_BERSAMA_2026)
    # Wednesday 2026-03-18 09:00 WIB. Thu 19 is Nyepi, Fri 20 cuti bersama, Sat 21 and
    # Sun 22 Idul Fitri on a weekend, Mon 23 and Tue 24 cuti bersama: due Wed 25 09:00.
    assert agency.due(utc(2026, 3, 18, 2, 0), working_days(1)) == utc(2026, 3, 25, 2, 0)
    # Without the agency's days off, Friday 20 March is a working day.
    assert JAKARTA.due(utc(2026, 3, 18, 2, 0), working_days(1)) == utc(2026, 3, 20, 2, 0)
    assert agency.holiday_name(date(2026, 3, 23)) == AGENCY_DAY_OFF_NAME


def test_hours_step_skips_cuti_bersama_days_off():
    agency = WorkCalendar(days_off=CUTI_BERSAMA_2026)
    # Wednesday 2026-03-18 15:00 WIB: 1 hour on Wednesday, the next at Wed 25 08:30 WIB.
    assert agency.due(utc(2026, 3, 18, 8, 0), hours(2)) == utc(2026, 3, 25, 1, 30)


# -- the one way to write the end of a working day ------------------------------------------


def test_the_end_of_a_working_day_is_written_as_its_closing_whatever_the_unit():
    # One working day, or its 8.5 office hours, from Monday 07:30 WIB: both are due at the
    # end of Monday, written one way.
    monday_opening = utc(2026, 11, 23, 0, 30)
    by_days = JAKARTA.due(monday_opening, working_days(1))
    by_hours = JAKARTA.due(monday_opening, Duration(510, Unit.MINUTES))
    assert by_days == by_hours == utc(2026, 11, 23, 9, 0)
    assert JAKARTA.format(by_days) == "23-11-2026 16:00 WIB"


def test_the_same_office_start_gives_the_same_deadline_text():
    # Monday 16:00 (closing) and Tuesday 07:30 (opening) are the same office instant.
    after_closing = JAKARTA.due(utc(2026, 11, 23, 9, 0), working_days(1))
    at_opening = JAKARTA.due(utc(2026, 11, 24, 0, 30), working_days(1))
    assert JAKARTA.format(after_closing) == JAKARTA.format(at_opening) == "24-11-2026 16:00 WIB"


def test_end_of_day_due_goes_back_over_weekends_and_days_off():
    # Tuesday 1 Dec 07:30 WIB after a day off on Monday 30 Nov: the end of Friday 27 Nov,
    # which closes at 16:30.
    calendar = WorkCalendar(days_off=frozenset({date(2026, 11, 30)}))
    assert calendar.end_of_day_due(utc(2026, 12, 1, 0, 30)) == utc(2026, 11, 27, 9, 30)
    assert calendar.format(calendar.due(utc(2026, 11, 27, 10, 0), working_days(1))) == \
        "01-12-2026 16:00 WIB"


def test_end_of_day_due_leaves_other_instants_and_never_goes_before_the_start():
    assert JAKARTA.end_of_day_due(utc(2026, 11, 24, 0, 31)) == utc(2026, 11, 24, 0, 31)
    assert JAKARTA.end_of_day_due(utc(2026, 11, 24, 9, 0)) == utc(2026, 11, 24, 9, 0)
    saturday = utc(2026, 11, 28, 0, 30)  # 07:30 on a closed day is not an opening
    assert JAKARTA.end_of_day_due(saturday) == saturday
    opening = utc(2026, 11, 24, 0, 30)
    assert JAKARTA.end_of_day_due(opening, not_before=opening) == opening
    assert JAKARTA.due(opening, hours(0)) == opening


def test_end_of_day_due_is_in_the_agency_zone():
    # Tuesday 07:30 WITA (Monday 23:30 UTC) is the end of Monday, 16:00 WITA = 08:00 UTC.
    assert MAKASSAR.end_of_day_due(utc(2026, 11, 23, 23, 30)) == utc(2026, 11, 23, 8, 0)
    assert MAKASSAR.format(MAKASSAR.due(utc(2026, 11, 22, 23, 0), working_days(1))) == \
        "23-11-2026 16:00 WITA"


def test_calendar_time_is_not_moved_to_a_closing():
    # Two calendar days from Sunday 07:30 WIB is Tuesday 07:30 WIB, a real instant.
    start = utc(2026, 11, 29, 0, 30)
    assert JAKARTA.due(start, Duration(2, Unit.DAYS)) == utc(2026, 12, 1, 0, 30)


# -- calendar time --------------------------------------------------------------------------


def test_two_calendar_days_are_2880_minutes_including_the_weekend():
    start = utc(2026, 11, 27, 7, 0)  # Friday 14:00 WIB
    due = JAKARTA.due(start, Duration(2, Unit.DAYS))
    assert due == utc(2026, 11, 29, 7, 0)
    assert due - start == timedelta(minutes=2880)


def test_one_month_clamps_to_the_end_of_february():
    assert JAKARTA.due(utc(2026, 1, 31, 3, 0), Duration(1, Unit.MONTHS)) == utc(2026, 2, 28, 3, 0)
    assert JAKARTA.due(utc(2028, 1, 31, 3, 0), Duration(1, Unit.MONTHS)) == utc(2028, 2, 29, 3, 0)


def test_months_count_on_the_local_date_not_the_utc_date():
    # 06:00 WIB on 31 January is still 30 January in UTC; the local date is what counts.
    due = JAKARTA.due(utc(2026, 1, 30, 23, 0), Duration(1, Unit.MONTHS))
    assert due == utc(2026, 2, 27, 23, 0)  # 28 February 06:00 WIB


def test_months_roll_over_the_year():
    due = JAKARTA.due(utc(2026, 12, 15, 3, 0), Duration(2, Unit.MONTHS))
    assert due == utc(2027, 2, 15, 3, 0)


# -- pause and resume -----------------------------------------------------------------------


def test_office_time_pause_stops_the_clock_without_restarting_it():
    started = utc(2026, 11, 23, 3, 0)  # Monday 10:00 WIB
    due = JAKARTA.due(started, hours(4))
    assert due == utc(2026, 11, 23, 7, 0)  # Monday 14:00 WIB
    paused = utc(2026, 11, 23, 4, 0)  # Monday 11:00 WIB: 1 hour used, 3 left
    resumed = utc(2026, 11, 25, 8, 0)  # Wednesday 15:00 WIB
    # 1 hour on Wednesday until 16:00, then 2 from Thursday 07:30: 09:30 WIB.
    # (Restarting from zero would have given Thursday 10:30.)
    new_due = JAKARTA.resume_due(started, due, paused, resumed, hours(4))
    assert new_due == utc(2026, 11, 26, 2, 30)


def test_working_days_pause_carries_the_remaining_office_time():
    started = utc(2026, 11, 23, 3, 0)  # Monday 10:00 WIB
    due = JAKARTA.due(started, working_days(2))
    assert due == utc(2026, 11, 25, 3, 0)  # Wednesday 10:00 WIB
    # Office time to due: 6 h Monday + 8.5 h Tuesday + 2.5 h Wednesday = 17 h.
    # Paused Monday 14:00 WIB after 4 h: 13 h remain. Resumed Thursday 09:00 WIB:
    # 7 h on Thursday, 6 h from Friday 07:30 = Friday 13:30 WIB.
    new_due = JAKARTA.resume_due(
        started, due, utc(2026, 11, 23, 7, 0), utc(2026, 11, 26, 2, 0), working_days(2)
    )
    assert new_due == utc(2026, 11, 27, 6, 30)


def test_pause_after_the_due_time_leaves_nothing_remaining():
    started = utc(2026, 11, 23, 3, 0)  # Monday 10:00 WIB
    due = JAKARTA.due(started, hours(1))
    resumed = utc(2026, 11, 24, 3, 0)
    new_due = JAKARTA.resume_due(started, due, utc(2026, 11, 23, 8, 0), resumed, hours(1))
    assert new_due == resumed


def test_calendar_time_pause_shifts_the_due_by_the_pause_length():
    started = utc(2026, 11, 23, 3, 0)
    due = JAKARTA.due(started, Duration(2, Unit.DAYS))
    assert due == utc(2026, 11, 25, 3, 0)
    paused, resumed = utc(2026, 11, 24, 3, 0), utc(2026, 11, 26, 9, 0)  # 2 days 6 hours
    new_due = JAKARTA.resume_due(started, due, paused, resumed, Duration(2, Unit.DAYS))
    assert new_due == utc(2026, 11, 27, 9, 0)


def test_resume_before_pause_is_rejected():
    started = utc(2026, 11, 23, 3, 0)
    with pytest.raises(ValueError, match="resumed_at"):
        JAKARTA.resume_due(
            started, utc(2026, 11, 23, 7, 0), utc(2026, 11, 23, 5, 0), utc(2026, 11, 23, 4, 0),
            hours(4),
        )


# -- office minutes -------------------------------------------------------------------------


def test_office_minutes_between_counts_only_office_hours():
    # Monday 15:00 WIB to Tuesday 08:30 WIB: 60 minutes each day.
    assert JAKARTA.office_minutes_between(utc(2026, 11, 23, 8, 0), utc(2026, 11, 24, 1, 30)) == 120
    assert JAKARTA.office_minutes_between(utc(2026, 11, 24, 1, 30), utc(2026, 11, 23, 8, 0)) == 0


def test_add_office_minutes_of_zero_returns_the_start():
    start = utc(2026, 11, 28, 3, 0)
    assert JAKARTA.add_office_minutes(start, 0) == start
    assert JAKARTA.add_office_minutes(start, 90) == utc(2026, 11, 30, 2, 0)  # Mon 09:00 WIB


# -- zones ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "label"),
    [
        ("Asia/Jakarta", "WIB"),
        ("Asia/Pontianak", "WIB"),
        ("Asia/Makassar", "WITA"),
        ("Asia/Jayapura", "WIT"),
        ("Asia/Singapore", "UTC+08:00"),
        ("Asia/Kolkata", "UTC+05:30"),
    ],
)
def test_zone_label_is_the_indonesian_name_or_the_utc_offset(zone, label):
    assert WorkCalendar(zone=zone).zone_label == label


def test_wita_agency_opens_at_0730_wita_which_is_2330_utc_the_day_before():
    # Sunday 23:00 UTC is Monday 07:00 WITA: counting starts at 07:30 WITA = 23:30 UTC.
    assert MAKASSAR.due(utc(2026, 11, 22, 23, 0), minutes(15)) == utc(2026, 11, 22, 23, 45)
    # The same UTC hour is 06:30-07:30 WIB, before a Jakarta office opens.
    window = (utc(2026, 11, 22, 23, 30), utc(2026, 11, 23, 0, 30))
    assert MAKASSAR.office_minutes_between(*window) == 60
    assert JAKARTA.office_minutes_between(*window) == 0


def test_wit_agency_closes_friday_at_1630_wit():
    jayapura = WorkCalendar(zone="Asia/Jayapura")
    # Friday 16:20 WIT (07:20 UTC) + 15 min: 10 on Friday, 5 from Monday 07:30 WIT,
    # which is Sunday 22:30 UTC.
    assert jayapura.due(utc(2026, 11, 27, 7, 20), minutes(15)) == utc(2026, 11, 29, 22, 35)


def test_format_shows_local_time_and_zone_label():
    moment = utc(2026, 11, 23, 7, 5)
    assert JAKARTA.format(moment) == "23-11-2026 14:05 WIB"
    assert MAKASSAR.format(moment) == "23-11-2026 15:05 WITA"
    assert WorkCalendar(zone="Asia/Jayapura").format(utc(2026, 11, 23, 15, 0)) == (
        "24-11-2026 00:00 WIT"
    )


def test_local_returns_the_instant_in_the_agency_zone():
    local = MAKASSAR.local(utc(2026, 11, 22, 23, 30))
    assert (local.date(), local.time()) == (date(2026, 11, 23), time(7, 30))
    assert local == utc(2026, 11, 22, 23, 30)


def test_naive_datetimes_are_rejected():
    naive = datetime(2026, 11, 23, 10, 0)
    with pytest.raises(ValueError, match="naive"):
        JAKARTA.due(naive, hours(1))
    with pytest.raises(ValueError, match="naive"):
        JAKARTA.office_minutes_between(naive, utc(2026, 11, 24, 0, 0))
    with pytest.raises(ValueError, match="naive"):
        JAKARTA.format(naive)


# -- configuration --------------------------------------------------------------------------


def test_from_config_without_hours_uses_the_civil_service_week():
    calendar = WorkCalendar.from_config("Asia/Jakarta")
    assert calendar.hours == OFFICE_HOURS_DEFAULT
    assert calendar == JAKARTA
    assert OFFICE_HOURS_DEFAULT[4] == (time(7, 30), time(16, 30))
    assert 5 not in OFFICE_HOURS_DEFAULT and 6 not in OFFICE_HOURS_DEFAULT


def test_from_config_reads_hours_and_days_off():
    calendar = WorkCalendar.from_config(
        "Asia/Makassar",
        hours={"mon": "08:00-15:00", "Sat": "08.00-12.00"},
        days_off=["2026-03-20", date(2026, 3, 23)],
    )
    assert calendar.zone_label == ZONE_LABELS["Asia/Makassar"]
    assert dict(calendar.hours) == {0: (time(8), time(15)), 5: (time(8), time(12))}
    assert calendar.days_off == frozenset({date(2026, 3, 20), date(2026, 3, 23)})
    assert not calendar.is_working_day(date(2026, 11, 24))  # Tuesday is closed here
    assert calendar.is_working_day(date(2026, 11, 28))  # Saturday is open
    hash(calendar)  # frozen and hashable, so it can key caches


def test_from_config_rejects_an_unknown_zone():
    with pytest.raises(ValueError, match="Asia/Bandung"):
        WorkCalendar.from_config("Asia/Bandung")


def test_from_config_rejects_a_closing_before_opening():
    with pytest.raises(ValueError, match="16:00-07:30"):
        WorkCalendar.from_config("Asia/Jakarta", hours={"mon": "16:00-07:30"})


def test_from_config_rejects_an_unreadable_range():
    with pytest.raises(ValueError, match="25:00-26:00"):
        WorkCalendar.from_config("Asia/Jakarta", hours={"mon": "25:00-26:00"})
    with pytest.raises(ValueError, match="pagi"):
        WorkCalendar.from_config("Asia/Jakarta", hours={"mon": "pagi"})


def test_from_config_rejects_an_unknown_weekday():
    with pytest.raises(ValueError, match="senin"):
        WorkCalendar.from_config("Asia/Jakarta", hours={"senin": "07:30-16:00"})


def test_from_config_rejects_an_unreadable_day_off():
    with pytest.raises(ValueError, match="20-03-2026"):
        WorkCalendar.from_config("Asia/Jakarta", days_off=["20-03-2026"])
