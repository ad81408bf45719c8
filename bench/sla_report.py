"""SLA report bench: how long the report takes with 100 and with 100,000 files of history,
and how many SQL statements a report page runs.

    .venv/bin/python bench/sla_report.py                 # SQLite
    .venv/bin/python bench/sla_report.py --sizes 100,20000

For each size N: a fresh SQLite database in a temp dir, migrated, the demo loaded, then N
files of rekom-nakes (Dinkes Bangka, eight steps) bulk-inserted with their tasks and
decisions: the newest 100 in the last 30 days (about 10 of them still open somewhere: open
work is today's, the same at every N), the others completed over the two years before;
5% of all returned once for correction at the check. Each decided task is then measured
once (`sla.timings.measure_new`, the cost a portal pays once per decision, timed apart).
Measured, in-process, after a warm-up, sizes alternating so that other load on the machine
falls on both alike:
  - the report of the last 30 days (the same 100 files at both sizes: does history slow it?)
  - the default report (the last 90 days), and the whole two years at the larger size
  - GET /admin/sla as the agency's administrator: median time and statements per request.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

from run import PASSWORD, SECRET, QueryLog, _bulk, _position_steps, login, make_app  # noqa: E402

ADMIN = "admin@dinkes-bangka.absah.test"
SOP = "rekom-nakes"
RECENT = 100  # files completed in the last 30 days, at every size
TARGET_RATIO = 2.0
TARGET_SECONDS = 1.0


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def seed(n: int, now: dt.datetime, rng: random.Random) -> dict[str, int]:
    """Bulk-insert n files with every task and decision of their path."""
    from portal.modules.accounts.models import User
    from portal.modules.applications.models import Application, Decision, Task
    from portal.modules.sops.models import SopVersion

    version = SopVersion.current(SOP)
    spec = version.spec
    agency = version.agency
    applicant = User.by_email("pemohon@absah.test")
    by_step = {step.key: (step, position, holder, outcome) for step, position, holder, outcome
               in _position_steps(spec, agency.today())}
    steps = spec.application_steps
    files, plans = [], []
    for i in range(n):
        recent = i >= n - RECENT
        days = rng.uniform(1, 29) if recent else rng.uniform(31, 760)
        start = now - dt.timedelta(days=days)
        # Open work is today's work: a few recent files, the same at every N.
        open_at = rng.randrange(1, len(steps)) if recent and rng.random() < 0.1 else None
        returned = rng.random() < 0.05
        files.append({"sop": version.id, "agency": agency.id, "applicant": applicant.id,
                      "registration_number": f"BENCH/{i:07d}",
                      "tracking_code": secrets.token_urlsafe(9), "form_data": {},
                      "status": "in_progress" if open_at is not None else "completed",
                      "current_step": steps[open_at].key if open_at is not None else None,
                      "created_at": start, "submitted_at": start, "closed_at": None})
        plans.append((start, open_at, returned))
    tasks, decisions = [], []
    for file_id, (start, open_at, returned) in enumerate(plans):
        at = start
        for index, step in enumerate(steps):
            rounds = 2 if returned and step.key == "check" else 1
            for attempt in range(rounds):
                if step.key in by_step:
                    _step, position, holder, outcome = by_step[step.key]
                    position_id, assignee, decider = position.id, None, holder.id
                else:
                    position_id, assignee, decider = None, applicant.id, applicant.id
                    outcome = step.outcomes[0]
                took = dt.timedelta(minutes=rng.choice((2, 5, 9, 14, 20, 45, 90, 240, 900)))
                due = at + dt.timedelta(minutes=step.time.nominal_minutes) if step.time else None
                is_open = open_at == index
                tasks.append({"application": file_id, "step_key": step.key,
                              "actor_key": step.actor, "position": position_id,
                              "assignee": assignee, "kind": "step", "opened_at": at,
                              "clock_started_at": at, "due_at": due,
                              "status": "open" if is_open else "done",
                              "decided_at": None if is_open else at + took,
                              "decided_by": None if is_open else decider,
                              "outcome": None if is_open else outcome.key})
                if is_open:
                    break
                effect = "return" if attempt == 0 and rounds == 2 else "forward"
                decisions.append({"application": file_id, "step_key": step.key,
                                  "outcome": "incomplete" if effect == "return" else outcome.key,
                                  "effect": effect, "actor": decider, "position": position_id,
                                  "capacity": "definitive" if position_id else None,
                                  "decided_at": at + took})
                at += took
                if effect == "return":  # a day with the applicant, then the check again
                    tasks.append({"application": file_id, "step_key": steps[0].key,
                                  "actor_key": steps[0].actor, "position": None,
                                  "assignee": applicant.id, "kind": "correction",
                                  "opened_at": at, "clock_started_at": at, "due_at": None,
                                  "status": "done", "decided_at": at + dt.timedelta(days=1),
                                  "decided_by": applicant.id, "outcome": "submitted"})
                    decisions.append({"application": file_id, "step_key": steps[0].key,
                                      "outcome": "submitted", "effect": "forward",
                                      "actor": applicant.id, "position": None,
                                      "capacity": None, "decided_at": at + dt.timedelta(days=1)})
                    at += dt.timedelta(days=1)
            if open_at == index:
                break
        if open_at is None:
            files[file_id]["closed_at"] = at
    _bulk(Application, files, 500)
    ids = [i for i, in Application.select(Application.id)
           .where(Application.registration_number.startswith("BENCH/"))
           .order_by(Application.id).tuples()]
    for row in tasks:
        row["application"] = ids[row["application"]]
    for row in decisions:
        row["application"] = ids[row["application"]]
    _bulk(Task, tasks, 500)
    done = [i for i, in Task.select(Task.id).where(Task.status == "done").order_by(Task.id)
            .tuples()]
    first_bench = Task.select(Task.id).join(Application).where(
        Application.registration_number.startswith("BENCH/")).order_by(Task.id).scalar()
    done = [i for i in done if i >= first_bench]
    assert len(done) == len(decisions), (len(done), len(decisions))
    for row, task_id in zip(decisions, done, strict=True):
        row["task"] = task_id
    _bulk(Decision, decisions, 500)
    return {"files": n, "tasks": len(tasks), "decisions": len(decisions)}


class Built:
    def __init__(self, n: int, workdir: Path, rng: random.Random, now: dt.datetime):
        from portal.core.db import migrate
        from portal.modules.demo.data import load_demo
        from portal.modules.sla import timings

        folder = workdir / f"n{n}"
        folder.mkdir()
        self.n = n
        self.app = make_app(f"sqlite:///{folder / 'bench.db'}", folder, folder / "files",
                            workdir / "ca")
        self.database = self.app.extensions["database"]
        migrate(self.database)
        with self.app.app_context():
            load_demo(PASSWORD)
            began = time.perf_counter()
            self.counts = seed(n, now, rng)
            self.seed_seconds = time.perf_counter() - began
            began = time.perf_counter()
            timings.measure_new()
            self.measure_seconds = time.perf_counter() - began
            self.database.execute_sql("ANALYZE")
        self.client = self.app.test_client()
        with self.app.app_context():
            login(self.client, ADMIN)
        self.database.close()


def _report_seconds(built: Built, since_days: int, now: dt.datetime) -> float:
    from portal.core.db import bind
    from portal.modules.agencies.models import Agency
    from portal.modules.sla import report as sla

    bind(built.database)
    with built.app.app_context():
        agency = Agency.get(Agency.code == "dinkes-bangka")
        today = agency.today()
        period = sla.Period(today - dt.timedelta(days=since_days - 1), today)
        began = time.perf_counter()
        sla.sla_report(agency, period, now=now)
        elapsed = time.perf_counter() - began
    built.database.close()
    return elapsed


def _page(built: Built, query: str) -> tuple[float, int]:
    from portal.core.db import bind

    bind(built.database)
    with QueryLog(built.database) as queries:
        began = time.perf_counter()
        response = built.client.get(f"/admin/sla{query}")
        elapsed = time.perf_counter() - began
    assert response.status_code == 200, response.status_code
    built.database.close()
    return elapsed, len(queries.statements)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,100000", help="two sizes N, small then large")
    parser.add_argument("--runs", type=int, default=15, help="measured runs per figure")
    args = parser.parse_args()
    small_n, large_n = (int(s) for s in args.sizes.split(","))
    workdir = Path(tempfile.mkdtemp(prefix="absah-sla-bench-"))
    os.environ["PORTAL_INSTANCE_DIR"] = str(workdir / "instance")
    os.environ.setdefault("PORTAL_SECRET_KEY", SECRET)
    now = dt.datetime.now(dt.UTC)
    try:
        built = {}
        for n in (small_n, large_n):
            log(f"seeding N={n:,}")
            built[n] = Built(n, workdir, random.Random(7), now)
            log(f"N={n:,}: {built[n].counts}, seeded in {built[n].seed_seconds:.1f} s, "
                f"tasks measured in {built[n].measure_seconds:.1f} s")
        since_30 = (now.date() - dt.timedelta(days=29)).isoformat()
        samples: dict[tuple[int, str], list[float]] = {}
        statements: dict[int, int] = {}
        for _ in range(2):  # warm-up
            for n in built:
                _report_seconds(built[n], 30, now)
                _page(built[n], f"?since={since_30}")
        for _ in range(args.runs):
            for n in built:  # alternating, so that other load falls on both sizes alike
                samples.setdefault((n, "30"), []).append(_report_seconds(built[n], 30, now))
                samples.setdefault((n, "90"), []).append(_report_seconds(built[n], 90, now))
                seconds, count = _page(built[n], f"?since={since_30}")
                samples.setdefault((n, "page"), []).append(seconds)
                statements[n] = count
        whole = [_report_seconds(built[large_n], 770, now) for _ in range(max(args.runs // 3,
                                                                                3))]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    def ms(key):
        return statistics.median(samples[key]) * 1000

    ratio = ms((large_n, "30")) / ms((small_n, "30"))
    page_ratio = ms((large_n, "page")) / ms((small_n, "page"))
    print(f"\nSLA report (SQLite), median of {args.runs} runs, in-process")
    print(f"{'':46}{'N=' + format(small_n, ','):>14}{'N=' + format(large_n, ','):>16}")
    rows = [("report, last 30 days (100 files at both N)", "30"),
            ("report, last 90 days (the page's default)", "90"),
            ("GET /admin/sla?since=30 days ago", "page")]
    for label, key in rows:
        print(f"{label:46}{ms((small_n, key)):>11.1f} ms{ms((large_n, key)):>13.1f} ms")
    print(f"{'SQL statements per /admin/sla request':46}{statements[small_n]:>14}"
          f"{statements[large_n]:>16}")
    print(f"{'report, the whole two years':46}{'':>14}"
          f"{statistics.median(whole) * 1000:>13.1f} ms")
    print(f"{'tasks measured once (seeding, not per view)':46}"
          f"{built[small_n].measure_seconds:>12.1f} s{built[large_n].measure_seconds:>14.1f} s")
    met = ratio <= TARGET_RATIO and ms((large_n, "30")) / 1000 < TARGET_SECONDS
    print(f"\nhistory {large_n:,} vs {small_n:,} files, same period: report {ratio:.2f}x, "
          f"page {page_ratio:.2f}x (target within {TARGET_RATIO:.0f}x and under "
          f"{TARGET_SECONDS:.0f} s at {large_n:,}): {'met' if met else 'NOT met'}")
    whole_ms = statistics.median(whole) * 1000
    print(f"the whole history at {large_n:,} files: {whole_ms:.0f} ms "
          f"({'under' if whole_ms < 1000 else 'OVER'} 1 s)")


if __name__ == "__main__":
    main()
