"""The report's statements over ``task_timing``, written out as SQL both SQLite and
PostgreSQL run: a period holds tens of thousands of tasks, and counting, grouping and
ranking them is the database's work (in C), not Python's. Medians and 90th percentiles come
from window functions: only the one or two middle rows and the nearest-rank row of each
group leave the database.

Every function takes the period as [start, end) in UTC and an optional SOP code ("": all).
"""

from __future__ import annotations

import datetime as dt

from peewee import SqliteDatabase

from portal.modules.sla.models import TaskTiming

__all__ = ["file_totals", "officials", "open_tasks", "ranked", "step_counts", "step_times",
           "week_days", "with_applicant"]

# Rows of the agency decided in the period; {p} is the driver's placeholder.
_PERIOD = """agency_id = {p} AND decided_at >= {p} AND decided_at < {p}
             AND ({p} = '' OR sop_code = {p})"""


def _run(sql: str, agency_id: int, start, end, sop_code: str, *extra):
    database = TaskTiming._meta.database
    when = TaskTiming.decided_at.db_value
    params = (*extra, agency_id, when(start), when(end), sop_code, sop_code)
    return database.execute_sql(sql.format(p=database.param, period=_PERIOD.format(
        p=database.param)), params).fetchall()


def ranked(base: str, keys: int, agency_id: int, start, end, sop_code: str
           ) -> dict[tuple, tuple[int, float, float]]:
    """{key: (count, median, p90)} of ``base``, a statement selecting ``k0``..``k<keys-1>``
    and ``m`` over the period's rows (its WHERE holds ``{period}``). The median is the
    middle value (the mean of the two middle ones); the p90 the ceil(0.9 n)-th smallest."""
    part = ", ".join(f"k{i}" for i in range(keys))
    sql = f"""
        SELECT {part}, n, rn, m FROM (
            SELECT {part}, m,
                   ROW_NUMBER() OVER (PARTITION BY {part} ORDER BY m) AS rn,
                   COUNT(*) OVER (PARTITION BY {part}) AS n
            FROM ({base}) AS base) AS ranked
        WHERE rn = (n + 1) / 2 OR rn = n / 2 + 1 OR rn = (9 * n + 9) / 10"""
    picked: dict[tuple, dict[int, float]] = {}
    counts: dict[tuple, int] = {}
    for row in _run(sql, agency_id, start, end, sop_code):
        key, n, rn, m = tuple(row[:keys]), row[keys], row[keys + 1], float(row[keys + 2])
        picked.setdefault(key, {})[rn] = m
        counts[key] = n
    found = {}
    for key, values in picked.items():
        n = counts[key]
        middle = values[(n + 1) // 2] if n % 2 else (values[n // 2] + values[n // 2 + 1]) / 2
        found[key] = (n, middle, values[(9 * n + 9) // 10])
    return found


# One row per file and step: its tasks' minutes added (a step returned and resumed has two);
# corrections (the applicant's time after a return) are reported apart.
_PER_FILE_STEP = """
    SELECT sop_code, step_key, application_id, SUM(minutes) AS m,
           MAX(CASE WHEN on_time IS NULL THEN 0 ELSE 1 END) AS timed,
           MAX(CASE WHEN NOT on_time THEN 1 ELSE 0 END) AS late,
           SUM(CASE WHEN effect = 'return' THEN 1 ELSE 0 END) AS returns
    FROM "task_timing" WHERE {period} AND returned_from IS NULL
    GROUP BY sop_code, step_key, application_id"""


def step_times(agency_id: int, start, end, sop_code: str = ""):
    """{(code, step): (files, median, p90)} of the time per file at each step."""
    base = f"SELECT sop_code AS k0, step_key AS k1, m FROM ({_PER_FILE_STEP}) AS per"
    return ranked(base, 2, agency_id, start, end, sop_code)


def step_counts(agency_id: int, start, end, sop_code: str = ""):
    """{(code, step): (files timed, files within their due time, returns)}."""
    sql = f"""SELECT sop_code, step_key, SUM(timed), SUM(CASE WHEN timed = 1 AND late = 0
                     THEN 1 ELSE 0 END), SUM(returns)
              FROM ({_PER_FILE_STEP}) AS per GROUP BY sop_code, step_key"""
    return {(code, step): (int(timed or 0), int(ok or 0), int(returns or 0))
            for code, step, timed, ok, returns in _run(sql, agency_id, start, end, sop_code)}


def with_applicant(agency_id: int, start, end, sop_code: str = ""):
    """{(code, returning step): (corrections, median, p90)} of the time files spent with
    the applicant after that step sent them back."""
    base = """SELECT sop_code AS k0, returned_from AS k1, minutes AS m FROM "task_timing"
              WHERE {period} AND returned_from IS NOT NULL"""
    return ranked(base, 2, agency_id, start, end, sop_code)


def officials(agency_id: int, start, end, sop_code: str = ""):
    """{(user id,): (tasks decided, median, p90)} of the agency's tasks (not the
    applicant's), counted for whoever decided, in whatever capacity."""
    base = """SELECT decided_by_id AS k0, minutes AS m FROM "task_timing"
              WHERE {period} AND NOT applicant AND decided_by_id IS NOT NULL"""
    return ranked(base, 1, agency_id, start, end, sop_code)


def week_days(agency_id: int, start, end, sop_code: str, offset: dt.timedelta):
    """[(local date, timed tasks, within their due time)] of the agency's tasks per day;
    ``offset``: the agency's UTC offset (Indonesian zones keep one all year)."""
    seconds = int(offset.total_seconds())
    database = TaskTiming._meta.database
    if isinstance(getattr(database, "obj", database), SqliteDatabase):  # through the proxy
        day = f"date(decided_at, '{seconds:+d} seconds')"
    else:  # PostgreSQL
        day = f"CAST(decided_at + INTERVAL '{seconds} seconds' AS DATE)"
    sql = f"""SELECT {day} AS day, COUNT(*), SUM(CASE WHEN on_time THEN 1 ELSE 0 END)
              FROM "task_timing"
              WHERE {{period}} AND NOT applicant AND returned_from IS NULL
                AND on_time IS NOT NULL
              GROUP BY {day}"""
    return [(d if isinstance(d, dt.date) else dt.date.fromisoformat(d), n, int(ok or 0))
            for d, n, ok in _run(sql, agency_id, start, end, sop_code)]


def file_totals(agency_ids, start, end, sop_code: str = ""):
    """[(code, agency minutes, applicant minutes)] of each file completed in the period by
    a decision of one of the agencies (all its tasks, those before the period too)."""
    database = TaskTiming._meta.database
    p = database.param
    agencies = ", ".join([p] * len(agency_ids))
    sql = f"""
        SELECT t.sop_code, SUM(CASE WHEN t.applicant THEN 0 ELSE t.minutes END),
               SUM(CASE WHEN t.applicant THEN t.minutes ELSE 0 END)
        FROM "task_timing" AS t
        WHERE t.application_id IN (
            SELECT c.application_id FROM "task_timing" AS c
            WHERE c.agency_id IN ({agencies}) AND c.decided_at >= {p} AND c.decided_at < {p}
              AND c.closes AND ({p} = '' OR c.sop_code = {p}))
        GROUP BY t.sop_code, t.application_id"""
    when = TaskTiming.decided_at.db_value
    rows = database.execute_sql(sql, (*agency_ids, when(start), when(end), sop_code,
                                      sop_code)).fetchall()
    return [(code, float(a or 0), float(b or 0)) for code, a, b in rows]


# Through the partial index of open tasks (migration 0018): status = 'open' written literally.
_OPEN = """
    SELECT s.code, t.step_key, t.assignee_id IS NOT NULL, t.position_id, COUNT(*),
           SUM(CASE WHEN t.due_at < {p} THEN 1 ELSE 0 END)
    FROM "task" AS t
    JOIN "application" AS a ON a.id = t.application_id
    JOIN "sop_version" AS s ON s.id = a.sop_id
    WHERE t.status = 'open' AND a.agency_id = {p}
    GROUP BY s.code, t.step_key, t.assignee_id IS NOT NULL, t.position_id"""


def open_tasks(agency_id: int, now: dt.datetime):
    """[(code, step, applicant's?, position id, open, overdue)] of the agency's files now."""
    database = TaskTiming._meta.database
    rows = database.execute_sql(_OPEN.format(p=database.param),
                                (TaskTiming.decided_at.db_value(now), agency_id)).fetchall()
    return [(code, step, bool(applicant), position, n, int(late or 0))
            for code, step, applicant, position, n, late in rows]
