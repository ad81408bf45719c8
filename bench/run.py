"""Absah bench: how the portal behaves with 100,000 files, under load, and when it signs.

    .venv/bin/python bench/run.py            # SQLite; PostgreSQL too when
                                             # PORTAL_TEST_DATABASE_URL is set
    .venv/bin/python bench/run.py --db postgresql --duration 5

Needs `wrk` for the load part (Debian: `apt-get install -y wrk`); without it that part says
"not measured". Not part of `make test`; `make bench` runs it. About 5-6 minutes for both
databases on an idle 2-core machine (the 2G browser test alone takes a minute); longer when
other work shares the cores, which each figure's "other load" column reports.

For each database (a SQLite file in a temp dir; a fresh PostgreSQL schema, as tests/conftest.py
makes them) and each size N (100 and 100,000):
  1. migrate, load the demo, walk one rekom-nakes file to get one real signed letter, then
     seed N files with bulk inserts (multi-row INSERTs of 500-1000 rows, one transaction per
     table): files over the five SOPs, one task each (most done with
     their decision, about 3% open across positions, with due times), letters for about a
     third of the done files (all pointing at the real letter's stored PDF, each with its own
     token and number). The measured official (sdmk.admin@dinkes-bangka) has the same 40
     open tasks at every N: an inbox is bounded by open work, not by history.
  2. latency through the app in-process (Flask test client, after a warm-up), both sizes in
     alternating batches so that other load on the machine falls on both alike: median and
     p95 of GET /inbox (logged in as the official) and GET /v/<token> (anonymous, as a QR
     scan), the CPU time per request, the SQL statements of each request (count, repeats,
     median time each) and the plan of the inbox's slowest statement.
  3. at the largest N: gunicorn, 2 sync workers, and wrk for --duration seconds each against
     a bare Flask hello app (bench/hello_app.py), GET /healthz (the portal's smallest route)
     and the logged-in inbox.
  4. letter issuance through operations.decide on rekom-nakes' numbering step (the step that
     numbers, renders, signs and stores the letter), for --issue files.
Once per run: bench/sign_bench.py (render + sign against pyHanko's defaults, in one run),
plus storing the signed bytes; the page weights (tests/test_weight.py); the 2G figures
(tests/test_browser.py, when it exists and Chromium is installed).

Writes bench/results-<date>-<db>.md per database and prints a summary table.
"""

from __future__ import annotations

import abc
import argparse
import contextlib
import datetime as dt
import http.cookiejar
import importlib.metadata
import os
import platform
import random
import re
import secrets
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from collections import Counter as Tally
from dataclasses import dataclass
from html import unescape
from pathlib import Path

from portal.modules.applications import operations

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

OFFICIAL = "sdmk.admin@dinkes-bangka.absah.test"
PASSWORD = "demo-bench-password"
SECRET = "bench-secret-key-" + "0" * 32
USER_AGENT = "absah-bench"  # the same at login and under wrk (flask-login's session id)
OFFICIAL_OPEN = 40  # open tasks in the measured official's inbox, at every N
OPEN_SHARE = 0.03  # share of the other files still open somewhere
LETTER_SHARE = 0.35  # share of done files (of SOPs that issue letters) with a letter
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
GZIP = {"Accept-Encoding": "gzip"}

LOAD_AT_START = ["?"]
TARGET_INBOX_RATIO = 1.5
TARGET_LOAD_RATIO = 0.35  # the first bench's target (2026-11-23)
FLOOR_LOAD_RATIO = 0.25  # what the restructuring must keep (issue 10), SQLite


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class CpuWatch:
    """How much of the machine other processes used while we measured.

    The machine is shared (other people's test runs): a figure taken while something else
    kept the cores busy is flagged in the report instead of being silently low.
    """

    HZ = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def __init__(self):
        self.start_busy = self._busy()
        self.start = time.monotonic()

    @staticmethod
    def _busy() -> int | None:
        try:
            fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        except (OSError, ValueError):
            return None
        return sum(fields[:8]) - fields[3] - fields[4]  # all but idle and iowait

    def foreign_share(self, own_cpu_seconds: float) -> float | None:
        """Share of all cores used by other processes since start (0..1), or None."""
        end = self._busy()
        if end is None or self.start_busy is None:
            return None
        elapsed = time.monotonic() - self.start
        busy = (end - self.start_busy) / self.HZ
        return max(0.0, busy - own_cpu_seconds) / (elapsed * (os.cpu_count() or 1))


WAIT_IDLE = [0.0]  # --wait-idle: seconds to wait, at most, for the machine to be quiet


def wait_idle(threshold: float = 0.25) -> None:
    """Before a measured section: wait (at most --wait-idle seconds) until other processes
    use less than `threshold` of the cores over a second. A shared machine's bursts (someone
    else's test run) otherwise land in the figures."""
    deadline = time.monotonic() + WAIT_IDLE[0]
    while time.monotonic() < deadline:
        watch, own = CpuWatch(), time.process_time()
        time.sleep(1)
        other = watch.foreign_share(time.process_time() - own)
        if other is None or other < threshold:
            return
    if WAIT_IDLE[0]:
        log(f"the machine did not become idle within {WAIT_IDLE[0]:.0f} s; measuring anyway")


def proc_cpu(pids) -> float:
    """User + system CPU seconds of these processes so far (Linux /proc)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total / CpuWatch.HZ


def children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


# -- databases --------------------------------------------------------------------------------


class Backend(abc.ABC):
    """Makes empty databases of one kind and drops them afterwards."""

    name = ""

    @abc.abstractmethod
    def new_url(self, workdir: Path, label: str) -> str:
        """A URL to a new, empty database."""

    def cleanup(self) -> None:  # noqa: B027 (optional: files in a temp dir need nothing)
        """Drop what new_url made (nothing for files in a temp dir)."""

    @abc.abstractmethod
    def version(self) -> str:
        """The database server's version, for the report."""


class SqliteBackend(Backend):
    name = "sqlite"

    def new_url(self, workdir, label):
        return f"sqlite:///{workdir / f'bench-{label}.db'}"

    def version(self):
        return f"SQLite {sqlite3.sqlite_version}"


class PostgresBackend(Backend):
    """A fresh schema per database, named in the URL's search_path (as tests/conftest.py)."""

    name = "postgresql"

    def __init__(self, url: str):
        self.url = url
        self.schemas: list[str] = []

    def _admin(self, statement: str):
        from portal.core.db import make_database

        database = make_database(self.url)
        database.connect()
        try:
            cursor = database.execute_sql(statement)
            return cursor.fetchone() if cursor.description else None
        finally:
            database.close()

    def new_url(self, workdir, label):
        schema = f"bench_{label}_{uuid.uuid4().hex[:10]}"
        self._admin(f'CREATE SCHEMA "{schema}"')
        self.schemas.append(schema)
        joiner = "&" if "?" in self.url else "?"
        return f"{self.url}{joiner}options=-c%20search_path%3D{schema}"

    def cleanup(self):
        for schema in self.schemas:
            try:
                self._admin(f'DROP SCHEMA "{schema}" CASCADE')
            except Exception as exc:  # noqa: BLE001 (report, keep going)
                log(f"could not drop schema {schema}: {exc}")
        self.schemas.clear()

    def version(self):
        return "PostgreSQL " + str(self._admin("SHOW server_version")[0])


# -- seeding ----------------------------------------------------------------------------------


@dataclass
class Seeded:
    """One database ready to measure."""

    n: int
    url: str
    app: object
    database: object
    instance: Path
    storage_dir: Path
    tokens: list[str]
    counts: dict[str, int]
    seconds: float


def make_app(url: str, instance: Path, storage_dir: Path, ca_dir: Path):
    from portal import create_app

    return create_app({
        "DATABASE_URL": url,
        "STORAGE_DIR": str(storage_dir),
        "SIGNING_CA_DIR": str(ca_dir),
        "SECRET_KEY": SECRET,
        "BASE_URL": "http://portal.bench",
        "DEMO_PASSWORD": PASSWORD,
        "MAIL_SERVER": "",
        "OUTBOX_DELIVER_AFTER_REQUEST": False,
    })


def _bulk(model, rows: list[dict], batch: int) -> None:
    """Multi-row INSERTs, `batch` rows a statement, in one transaction.

    The same statement peewee's ``insert_many`` sends, but written here from the model's
    metadata: peewee builds its SQL value by value (about 25 us each), which made 100,000
    files take a minute; each value still goes through its field's ``db_value``.
    """
    from portal.core.db import db

    if not rows:
        return
    names = list(rows[0])
    defaults = {}  # the model's defaults for the columns the rows leave out (once per call)
    for f in model._meta.sorted_fields:
        if f.name not in names and f.default is not None and not f.primary_key:
            defaults[f.name] = f.default() if callable(f.default) else f.default
    names += list(defaults)
    rows = [{**defaults, **row} for row in rows] if defaults else rows
    fields = [model._meta.fields[name] for name in names]
    database = db.obj
    columns = ", ".join(f'"{f.column_name}"' for f in fields)
    one = "(" + ", ".join([database.param] * len(fields)) + ")"
    table = f'"{model._meta.table_name}"'
    with db.atomic():
        for start in range(0, len(rows), batch):
            chunk = rows[start:start + batch]
            params = [f.db_value(row[f.name]) for row in chunk for f in fields]
            db.execute_sql(f"INSERT INTO {table} ({columns}) VALUES "
                           + ", ".join([one] * len(chunk)), params)


def _position_steps(spec, today):
    """(step, position, a holder, first forward outcome) for each application step that a
    position acts in."""
    from portal.modules.accounts.models import Assignment, Position
    from portal.modules.agencies.models import Agency
    from portal.modules.sops import engine
    from portal.modules.sops.spec import ActorKind, Effect

    out = []
    for step in spec.application_steps:
        _key, acting = engine.actor_of(spec, step.key)
        actor = spec.actor(acting)
        if actor.kind is not ActorKind.POSITION:
            continue
        position = (Position.select().join(Agency)
                    .where((Agency.code == (actor.office or spec.agency))
                           & (Position.key == actor.key)).get())
        holders = Assignment.holders(position, today)
        outcome = next(o for o in step.outcomes if o.effect is Effect.FORWARD)
        out.append((step, position, holders[0][0], outcome))
    return out


def seed(n: int, real_letter, rng: random.Random, batch: int) -> dict[str, int]:
    """Bulk-insert n files with their tasks, decisions and letters; returns row counts."""
    from portal.modules.accounts.models import Position, User
    from portal.modules.applications.models import Application, Decision, Task
    from portal.modules.demo.data import sample_form
    from portal.modules.letters.models import Letter
    from portal.modules.sops.models import SopVersion

    now = dt.datetime.now(dt.UTC)
    today = now.date()
    official = User.by_email(OFFICIAL)
    official_positions = {p.id for p, _c in Position.held_by(official, today)}
    sops = []
    for version in SopVersion.select().where(SopVersion.active).order_by(SopVersion.code):
        spec = version.spec
        steps = _position_steps(spec, today)
        sops.append({
            "version": version, "spec": spec, "agency": version.agency,
            "form": sample_form(spec, today), "steps": steps,
            "others": [s for s in steps if s[1].id not in official_positions],
            "mine": [s for s in steps if s[1].id in official_positions],
            "final": steps[-1], "letter": spec.letters[0] if spec.letters else None,
        })
    rekom = next(s for s in sops if s["version"].code == "rekom-nakes")
    if not rekom["mine"]:
        raise SystemExit(f"{OFFICIAL} holds no position acting in rekom-nakes")

    applicants = max(50, min(2000, n // 50))
    _bulk(User, [{"email": f"bench-{i:05d}@pemohon.test", "name": f"Pemohon Bench {i}",
                  "password_hash": "!", "email_verified_at": now}
                 for i in range(applicants)], batch)
    applicant_ids = [u for u, in User.select(User.id).where(User.email.startswith("bench-"))
                     .tuples()]

    # The plan of every file: which SOP, open or done, and at which step.
    plans = []
    mine = min(OFFICIAL_OPEN, n)
    for i in range(n):
        if i < mine:
            step = rekom["mine"][0] if i % 5 else rekom["mine"][-1]  # check, some numbering
            plans.append((rekom, "open", step))
            continue
        sop = sops[i % len(sops)]
        if rng.random() < OPEN_SHARE and sop["others"]:
            plans.append((sop, "open", rng.choice(sop["others"])))
        else:
            plans.append((sop, "done", sop["final"]))

    app_rows = []
    for i, (sop, state, (step, _pos, _holder, _outcome)) in enumerate(plans):
        created = now - dt.timedelta(minutes=rng.uniform(60, 2 * 365 * 24 * 60))
        if state == "open" and i < mine:
            created = now - dt.timedelta(hours=rng.uniform(1, 72))
        app_rows.append({
            "sop": sop["version"].id, "agency": sop["agency"].id,
            "applicant": applicant_ids[i % len(applicant_ids)],
            "registration_number": f"{sop['agency'].code.upper()}/REG/B/{i:07d}",
            "tracking_code": f"bench{i:07d}{secrets.token_hex(4)}",
            "form_data": sop["form"],
            "status": "in_progress" if state == "open" else "completed",
            "current_step": step.key if state == "open" else None,
            "created_at": created, "submitted_at": created,
            "closed_at": None if state == "open" else created + dt.timedelta(days=3),
        })
    _bulk(Application, app_rows, batch)
    app_ids = dict(Application.select(Application.registration_number, Application.id)
                   .where(Application.registration_number.contains("/REG/B/")).tuples())

    task_rows = []
    for i, (_sop, state, (step, position, holder, outcome)) in enumerate(plans):
        created = app_rows[i]["created_at"]
        row = {"application": app_ids[app_rows[i]["registration_number"]],
               "step_key": step.key, "actor_key": position.key, "position": position.id,
               "kind": "step", "opened_at": created, "clock_started_at": created}
        if state == "open":
            if step.time is not None:
                # overdue, near due and later, as an inbox looks in real life
                row["due_at"] = now + dt.timedelta(minutes=rng.uniform(-3 * 1440, 5 * 1440))
            row["status"] = "open"
        else:
            decided = app_rows[i]["closed_at"]
            row.update(status="done", decided_at=decided, decided_by=holder.id,
                       outcome=outcome.key, due_at=created + dt.timedelta(days=2))
        task_rows.append(row)
    _bulk(Task, task_rows, batch)
    bench_app_ids = set(app_ids.values())
    task_ids = {a: t for t, a in Task.select(Task.id, Task.application)
                .where(Task.status == "done").tuples() if a in bench_app_ids}

    decision_rows, letter_rows = [], []
    for i, (sop, state, (step, position, holder, outcome)) in enumerate(plans):
        if state != "done":
            continue
        app_id = app_ids[app_rows[i]["registration_number"]]
        decided = app_rows[i]["closed_at"]
        decision_rows.append({
            "application": app_id, "task": task_ids[app_id], "step_key": step.key,
            "outcome": outcome.key, "effect": "forward", "actor": holder.id,
            "position": position.id, "capacity": "definitive", "note": "", "data": {},
            "decided_at": decided})
        letter = sop["letter"]
        if letter is not None and rng.random() < LETTER_SHARE:
            signer = next((s for s in sop["steps"] if letter.key in s[0].letters),
                          sop["final"])  # who decided the producing step
            letter_rows.append({
                "application": app_id, "agency": sop["agency"].id, "letter_key": letter.key,
                "title": letter.title, "number": f"{i}/{letter.key.upper()}/BENCH/{decided.year}",
                "series": "letter:bench", "seq": i, "year": decided.year,
                "token": secrets.token_urlsafe(24), "storage_key": real_letter.storage_key,
                "sha256": real_letter.sha256, "size": real_letter.size,
                "signer": signer[2].id, "signer_position": signer[1].id,
                "capacity": "definitive", "signer_name": signer[2].name,
                "signer_nip": signer[2].nip or "", "signer_title": signer[1].title,
                "holder_name": f"Pemohon Bench {i % applicants}", "issued_at": decided,
                "status": "valid"})
    _bulk(Decision, decision_rows, batch)
    _bulk(Letter, letter_rows, batch)
    opened = sum(1 for p in plans if p[1] == "open")
    return {"files": n, "tasks": len(task_rows), "open tasks": opened,
            "official's open tasks": mine, "decisions": len(decision_rows),
            "letters": len(letter_rows), "applicants": applicants}


def build(backend: Backend, n: int, workdir: Path, ca_dir: Path, seed_value: int) -> Seeded:
    """A fresh database with the demo, one real letter and n bulk files."""
    from portal.core.db import db, migrate
    from portal.modules.demo.data import load_demo, walk
    from portal.modules.letters.models import Letter
    from portal.storage.local import LocalStorage

    started = time.perf_counter()
    label = f"{n}"
    instance = workdir / f"instance-{backend.name}-{label}"
    storage_dir = instance / "files"
    url = backend.new_url(workdir, label)
    app = make_app(url, instance, storage_dir, ca_dir)
    database = app.extensions["database"]
    migrate(database)
    with app.app_context():
        db.connect(reuse_if_open=True)
        load_demo(PASSWORD)
        application, _path = walk("rekom-nakes", LocalStorage(storage_dir))
        real = Letter.get(Letter.application == application)
        counts = seed(n, real, random.Random(seed_value + n),
                      batch=500 if backend.name == "sqlite" else 1000)
        if backend.name == "postgresql":
            db.execute_sql("ANALYZE")  # what autovacuum would have done by now
        tokens = [t for t, in Letter.select(Letter.token).where(Letter.series == "letter:bench")
                  .tuples()] or [real.token]
    return Seeded(n, url, app, database, instance, storage_dir, tokens, counts,
                  time.perf_counter() - started)


# -- in-process latency -----------------------------------------------------------------------


class QueryLog:
    """Every statement the database runs while active, with its time (wraps execute_sql)."""

    def __init__(self, database):
        self.database = database
        self.statements: list[tuple[str, float]] = []
        self.params: list[tuple] = []

    def __enter__(self):
        original = type(self.database).execute_sql.__get__(self.database)

        def execute_sql(sql, params=None, *args, **kwargs):
            start = time.perf_counter()
            try:
                return original(sql, params, *args, **kwargs)
            finally:
                self.statements.append((sql, (time.perf_counter() - start) * 1000))
                self.params.append(tuple(params or ()))

        self.database.execute_sql = execute_sql
        return self

    def __exit__(self, *exc):
        del self.database.execute_sql

    def repeats(self) -> list[tuple[int, str]]:
        """Statements run more than once in the request (the N+1 suspects)."""
        tally = Tally(sql for sql, _ in self.statements)
        return sorted(((c, s) for s, c in tally.items() if c > 1), reverse=True)


def median_log(logs: list[QueryLog]) -> QueryLog:
    """One request's statements, each with its median time over several identical requests."""
    first = logs[0]
    same = [log for log in logs if [s for s, _ in log.statements] ==
            [s for s, _ in first.statements]]
    merged = QueryLog(first.database)
    merged.params = first.params
    merged.statements = [(sql, statistics.median(log.statements[i][1] for log in same))
                         for i, (sql, _ms) in enumerate(first.statements)]
    return merged


def query_plan(database, sql: str, params: tuple) -> list[str]:
    """The plan the database picks for a statement, as text lines."""
    from peewee import SqliteDatabase

    from portal.core.db import db

    prefix = "EXPLAIN QUERY PLAN " if isinstance(database, SqliteDatabase) \
        else "EXPLAIN (ANALYZE, BUFFERS OFF) "
    db.connect(reuse_if_open=True)
    try:
        rows = db.execute_sql(prefix + sql, params).fetchall()
    finally:
        db.close()
    return [" | ".join(str(x) for x in row) if len(row) > 1 else str(row[0]) for row in rows]


def login(client, email: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = unescape(CSRF.search(page).group(1))
    response = client.post("/login", data={"email": email, "password": PASSWORD,
                                           "csrf_token": token})
    if response.status_code != 303:
        raise SystemExit(f"login as {email} failed: {response.status_code}")


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


class Target:
    """One seeded database's app, with a logged-in official and an anonymous visitor."""

    def __init__(self, seeded: Seeded, rng: random.Random, requests: int):
        from portal.core.db import bind

        self.seeded = seeded
        bind(seeded.database)
        self.official = seeded.app.test_client()
        self.official.environ_base["HTTP_USER_AGENT"] = USER_AGENT
        login(self.official, OFFICIAL)
        self.anonymous = seeded.app.test_client()
        self.tokens = rng.sample(seeded.tokens, min(len(seeded.tokens), requests))
        self.count = self.visits = 0
        body = self.official.get("/inbox").get_data(as_text=True)
        self.rows = body.count('href="/tasks/')

    def activate(self):
        from portal.core.db import bind

        bind(self.seeded.database)

    def inbox(self):
        """A repeat visit: the browser revalidates the page it has (If-None-Match); an
        unchanged inbox is answered 304 without being rendered."""
        headers = {**GZIP, "If-None-Match": self.etag} if getattr(self, "etag", None) else GZIP
        response = self.official.get("/inbox", headers=headers)
        assert response.status_code in (200, 304), response.status_code
        self.etag = response.headers.get("ETag")
        response.get_data()

    def inbox_rendered(self):
        """A visit after something changed: a URL of its own each time, so the page is
        rendered (rows built, template, gzip) as when a task arrived or was decided."""
        self.visits += 1
        response = self.official.get(f"/inbox?visit={self.visits}", headers=GZIP)
        assert response.status_code == 200, response.status_code
        response.get_data()

    def verify(self):
        """The public page, as anyone who scans the QR code sees it (not logged in)."""
        token = self.tokens[self.count % len(self.tokens)]
        self.count += 1
        # a new client address each time: the page is rate-limited per address
        address = f"10.{self.count // 62500 % 250}.{self.count // 250 % 250}.{self.count % 250 + 1}"
        response = self.anonymous.get(f"/v/{token}", headers=GZIP,
                                      environ_overrides={"REMOTE_ADDR": address})
        assert response.status_code == 200, response.status_code
        response.get_data()


def measure_latency(small: Seeded, large: Seeded, requests: int, rounds: int = 10) -> dict:
    """Median/p95 of GET /inbox and GET /v/<token> at both sizes, in alternating batches (so
    other load on the machine falls on both alike), and the statements of each request."""
    targets = {"small": Target(small, random.Random(1), requests),
               "large": Target(large, random.Random(2), requests)}
    out = {label: {"rows": t.rows} for label, t in targets.items()}
    batch = max(1, requests // rounds)
    for name in ("inbox", "inbox_rendered", "verify"):
        wait_idle()
        for target in targets.values():  # warm-up
            target.activate()
            for _ in range(max(10, requests // 10)):
                getattr(target, name)()
        wall = {label: [] for label in targets}
        cpu = {label: [] for label in targets}
        own = {label: 0.0 for label in targets}
        foreign = {label: [] for label in targets}
        for r in range(rounds):
            order = list(targets.items()) if r % 2 == 0 else list(targets.items())[::-1]
            for label, target in order:
                target.activate()
                fn = getattr(target, name)
                watch, cpu_start = CpuWatch(), time.process_time()
                for _ in range(batch):
                    start, start_cpu = time.perf_counter(), time.process_time()
                    fn()
                    wall[label].append((time.perf_counter() - start) * 1000)
                    cpu[label].append((time.process_time() - start_cpu) * 1000)
                used = time.process_time() - cpu_start
                own[label] += used
                share_ = watch.foreign_share(used)
                if share_ is not None:
                    foreign[label].append(share_)
        for label, target in targets.items():
            out[label][name] = _percentiles(wall[label])
            out[label][f"{name}_cpu"] = _percentiles(cpu[label])
            out[label][f"{name}_foreign"] = (statistics.mean(foreign[label])
                                             if foreign[label] else None)
            target.activate()
            logs = []
            for _ in range(15):
                with QueryLog(target.seeded.database) as queries:
                    getattr(target, name)()
                logs.append(queries)
            out[label][f"{name}_queries"] = median_log(logs)
    # the plan of the inbox's slowest statement at the large size
    target = targets["large"]
    target.activate()
    log = out["large"]["inbox_queries"]
    slowest = max(range(len(log.statements)), key=lambda i: log.statements[i][1])
    sql = log.statements[slowest][0]
    out["large"]["inbox_plan"] = (sql, query_plan(target.seeded.database, sql,
                                                  log.params[slowest]))
    return out


# -- load with gunicorn and wrk ---------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """gunicorn with 2 sync workers on a free loopback port; stopped by its own pid."""

    def __init__(self, app_ref: str, chdir: Path, env: dict[str, str]):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.errors = tempfile.TemporaryFile()  # a file, not a pipe: a full pipe blocks
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", "2", "-k", "sync", "--chdir", str(chdir),
             "-b", f"127.0.0.1:{self.port}", "--log-level", "warning", app_ref],
            env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=self.errors)

    def wait(self, path: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.errors.seek(0)
                raise SystemExit(f"gunicorn exited: {self.errors.read().decode()[-2000:]}")
            try:
                with urllib.request.urlopen(self.base + path, timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise SystemExit(f"gunicorn did not answer {path} within {timeout} s")

    def pids(self) -> list[int]:
        """The master and its workers."""
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        except OSError:
            children = ""
        return [self.proc.pid, *(int(p) for p in children.split())]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.errors.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def server_session_cookie(base: str) -> str:
    """Log in over HTTP like a browser: the login page's csrf_token, then POST /login."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("User-Agent", USER_AGENT)]
    with opener.open(base + "/login") as response:
        token = unescape(CSRF.search(response.read().decode()).group(1))
    data = urllib.parse.urlencode({"email": OFFICIAL, "password": PASSWORD,
                                   "csrf_token": token}).encode()
    with opener.open(base + "/login", data=data) as response:
        response.read()
    # The first page after logging in adds the form token to the session (a new cookie,
    # which a browser keeps); wrk then sends the cookie a browser would.
    with opener.open(base + "/inbox") as response:
        if response.status != 200 or "/tasks/" not in response.read().decode():
            raise SystemExit("the session cookie does not open the inbox")
    cookie = next((c.value for c in jar if c.name == "session"), None)
    if cookie is None:
        raise SystemExit("no session cookie after logging in to gunicorn")
    request = urllib.request.Request(base + "/inbox", headers={
        "Cookie": f"session={cookie}", "User-Agent": USER_AGENT})
    with urllib.request.urlopen(request) as response:
        if response.status != 200 or response.headers.get("Set-Cookie"):
            raise SystemExit("the inbox does not open with a settled session cookie")
    return cookie


@dataclass
class WrkResult:
    rps: float
    p50: str
    p99: str
    errors: str
    foreign: float | None = None  # share of the cores other processes used meanwhile
    server_cpu_ms: float | None = None  # gunicorn's CPU per request (robust to other load)


# Each request a URL of its own: the inbox is rendered every time (no kept page).
UNIQUE_URLS_LUA = """
counter = 0
request = function()
  counter = counter + 1
  return wrk.format(nil, wrk.path .. "?visit=" .. counter)
end
"""


def etag_of(url: str, headers: dict[str, str]) -> str:
    """The ETag a first visit to a page gets, as a browser keeps it."""
    import urllib.request

    with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as response:
        return response.headers["ETag"]


def wrk(url: str, seconds: int, headers: dict[str, str], server: Server | None = None,
        script: Path | None = None) -> WrkResult:
    args = ["wrk", "-t1", "-c4", f"-d{seconds}s", "--latency"]
    if script is not None:
        args += ["-s", str(script)]
    for key, value in headers.items():
        args += ["-H", f"{key}: {value}"]
    wait_idle()
    pids = server.pids() if server else []
    server_start = proc_cpu(pids)
    here_start = children_cpu() + time.process_time()  # wrk (a reaped child) and this process
    watch = CpuWatch()
    out = subprocess.run(args + [url], capture_output=True, text=True, check=True).stdout
    server_cpu = proc_cpu(pids) - server_start
    foreign = watch.foreign_share(server_cpu + children_cpu() + time.process_time() - here_start)
    total = re.search(r"(\d+) requests in", out)
    cpu_ms = server_cpu * 1000 / int(total.group(1)) if pids and total and int(total.group(1)) \
        else None
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: (.*)", out)
    errors = ", ".join(x for x in (bad and f"{bad.group(1)} non-2xx",
                                   sock and f"socket errors {sock.group(1)}") if x) or "none"
    return WrkResult(rps, p50.group(1) if p50 else "?", p99.group(1) if p99 else "?", errors,
                     foreign, cpu_ms)


def measure_load(seeded: Seeded, backend: Backend, ca_dir: Path, seconds: int,
                 hello: bool) -> dict:
    if shutil.which("wrk") is None:
        return {"skipped": "wrk is not installed (Debian: apt-get install -y wrk)"}
    env = {"PORTAL_DATABASE_URL": seeded.url, "PORTAL_INSTANCE_DIR": str(seeded.instance),
           "PORTAL_STORAGE_DIR": str(seeded.storage_dir), "PORTAL_SIGNING_CA_DIR": str(ca_dir),
           "PORTAL_SECRET_KEY": SECRET, "PORTAL_DEMO_PASSWORD": PASSWORD,
           "PORTAL_OUTBOX_AFTER_REQUEST": "0", "PORTAL_MAIL_SERVER": ""}
    out = {}
    if hello:
        with Server("hello_app:app", BENCH, {}) as server:
            server.wait("/")
            wrk(server.base + "/", 2, {})  # warm-up
            out["hello"] = wrk(server.base + "/", seconds, {}, server)
    with Server("wsgi:app", ROOT, env) as server:
        server.wait("/healthz")
        cookie = server_session_cookie(server.base)
        inbox_headers = {"Cookie": f"session={cookie}", "User-Agent": USER_AGENT, **GZIP}
        wrk(server.base + "/healthz", 2, {})
        out["healthz"] = wrk(server.base + "/healthz", seconds, {}, server)
        # A browser revalidates the inbox it has: repeat visits send its ETag.
        repeat_headers = {**inbox_headers,
                          "If-None-Match": etag_of(server.base + "/inbox", inbox_headers)}
        wrk(server.base + "/inbox", 2, repeat_headers)
        out["inbox"] = wrk(server.base + "/inbox", seconds, repeat_headers, server)
        script = seeded.instance / "unique-urls.lua"
        script.write_text(UNIQUE_URLS_LUA, encoding="utf-8")
        out["inbox_rendered"] = wrk(server.base + "/inbox", seconds, inbox_headers, server,
                                    script)
    return out


# -- issuance through the portal --------------------------------------------------------------


def measure_issuance(seeded: Seeded, files: int) -> dict:
    """Bring `files` rekom-nakes files to the numbering step, then time each decision that
    numbers, renders, signs and stores the letter (operations.decide, one transaction)."""
    from portal.core.db import db
    from portal.modules.accounts.models import Assignment, User
    from portal.modules.applications import documents
    from portal.modules.applications.models import Task
    from portal.modules.demo.data import DEMO_APPLICANT, sample_form, sample_uploads, sample_values
    from portal.modules.letters.models import Letter
    from portal.modules.sops.models import SopVersion
    from portal.storage.local import LocalStorage

    if files <= 0:
        return {}
    from portal.core.db import bind

    storage = LocalStorage(seeded.storage_dir)
    bind(seeded.database)
    with seeded.app.app_context():
        db.connect(reuse_if_open=True)
        version = SopVersion.current("rekom-nakes")
        spec = version.spec
        today = version.agency.calendar().local(dt.datetime.now(dt.UTC)).date()
        form = sample_form(spec, today)
        applicant = User.by_email(DEMO_APPLICANT)
        issuing = spec.issuing_step(spec.letters[0].key).key
        ready = []
        started = time.perf_counter()
        for _ in range(files):
            application = operations.submit_application(
                applicant, "rekom-nakes", form, sample_uploads(spec, "submit", form), storage)
            while (task := Task.open_for(application)).step_key != issuing:
                step = spec.step(task.step_key)
                outcome = next(o for o in step.outcomes if o.effect.value == "forward")
                actor = Assignment.holders(task.position, today)[0][0]
                operations.decide(task.id, actor, outcome.key, storage=storage,
                                  uploads=sample_uploads(spec, step.key, form),
                                  verdicts=documents.all_complete(spec, step, form),
                                  record=sample_values(step.record, today))
            ready.append(task)
        prepare = time.perf_counter() - started
        wait_idle()
        before = Letter.select().count()
        samples = []
        queries = None
        for i, task in enumerate(ready):
            step = spec.step(task.step_key)
            outcome = next(o for o in step.outcomes if o.effect.value == "forward")
            actor = Assignment.holders(task.position, today)[0][0]
            log_this = i == len(ready) - 1  # the statements of the last one (not timed)
            with QueryLog(seeded.database) if log_this else contextlib.nullcontext() as log_:
                start = time.perf_counter()
                operations.decide(task.id, actor, outcome.key, storage=storage,
                                  uploads=sample_uploads(spec, step.key, form),
                                  verdicts=documents.all_complete(spec, step, form),
                                  record=sample_values(step.record, today))
                elapsed = (time.perf_counter() - start) * 1000
            if log_this and len(ready) > 1:
                queries = log_
            else:
                samples.append(elapsed)
        issued = Letter.select().count() - before
    median, p95 = _percentiles(samples)
    return {"files": files, "issued": issued, "median": median, "p95": p95,
            "per_s": 1000 / median, "step": issuing, "prepare_s": prepare, "queries": queries}


# -- signing, weights, 2G ---------------------------------------------------------------------


def measure_signing(iterations: int) -> dict:
    """bench/sign_bench.py in a subprocess, plus storing the signed bytes (Storage.put)."""
    from portal.storage.local import LocalStorage

    wait_idle()
    watch, own = CpuWatch(), children_cpu() + time.process_time()
    done = subprocess.run([sys.executable, str(BENCH / "sign_bench.py"),
                           "--iterations", str(iterations)],
                          capture_output=True, text=True, check=True, cwd=ROOT)
    foreign = watch.foreign_share(children_cpu() + time.process_time() - own)
    rows = {}
    size = 60000
    for line in done.stdout.splitlines():
        match = re.match(r"^(\S.*?)\s{2,}([\d.]+)\s+([\d.]+)$", line)
        if match:
            rows[match.group(1).strip()] = (float(match.group(2)), float(match.group(3)))
        found = re.search(r"signed letter: ([\d,]+) bytes", line)
        if found:
            size = int(found.group(1).replace(",", ""))
    with tempfile.TemporaryDirectory() as tmp:
        storage = LocalStorage(tmp)
        base = os.urandom(size)
        samples = []
        for i in range(max(30, iterations)):
            data = i.to_bytes(4, "big") + base  # new content each time: a real write
            start = time.perf_counter()
            storage.put(data)
            samples.append((time.perf_counter() - start) * 1000)
    store = _percentiles(samples)
    render = rows["render only"][0]
    ours = rows["render + sign (ours)"][0] + store[0]
    defaults = render + rows["pyHanko defaults (load_pkcs12 each)"][0] + store[0]
    # issuance per second at B-B and at B-LT (local certomancer TSA), same run
    levels = {level: 1000 / rows[label][0] for level, label in (
        ("B-B", "issue B-B"), ("B-LT", "issue B-LT (local TSA, OCSP, CRL)")) if label in rows}
    return {"rows": rows, "store": store, "ours_ms": ours, "defaults_ms": defaults,
            "levels": levels,
            "ours_per_s": 1000 / ours, "defaults_per_s": 1000 / defaults,
            "ratio": defaults / ours, "raw": done.stdout, "size": size, "foreign": foreign}


def run_pytest(args: list[str], timeout: int = 300) -> tuple[int, str]:
    done = subprocess.run([sys.executable, "-m", "pytest", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=timeout,
                          env={k: v for k, v in os.environ.items()
                               if k != "PORTAL_TEST_DATABASE_URL"})
    return done.returncode, done.stdout + done.stderr


def measure_weights() -> dict:
    code, out = run_pytest(["tests/test_weight.py", "-q", "-s", "-k", "sqlite",
                            "-p", "no:cacheprovider"])
    lines = [line.rstrip() for line in out.splitlines()
             if line.startswith("  ") or line.startswith("Bytes on the wire")]
    return {"ok": code == 0, "lines": lines, "tail": out.strip().splitlines()[-1:]}


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def measure_2g() -> dict:
    test = ROOT / "tests" / "test_browser.py"
    if not test.exists():
        return {"note": "not measured: tests/test_browser.py does not exist yet"}
    if _chromium() is None:
        return {"note": "not measured: Chromium is not installed"}
    for selection in ("slow", "2g"):  # the brief's name first, then the test's own name
        code, out = run_pytest([str(test.relative_to(ROOT)), "-q", "-s", "-k", selection,
                                "-p", "no:cacheprovider"], timeout=240)
        if code != 5:  # 5: nothing selected
            break
    lines = [line.rstrip() for line in out.splitlines() if line.strip()]
    start = next((i for i, line in enumerate(lines) if "2G line" in line), None)
    lines = lines[start:] if start is not None else lines[-40:]
    note = {0: "measured (tests/test_browser.py -k " + selection + ", passed)",
            5: "not measured: no 2G test selected in tests/test_browser.py"}.get(
        code, f"tests/test_browser.py -k {selection}: pytest exit {code}")
    if "skipped" in (lines[-1] if lines else "") and code == 0 and start is None:
        note = "not measured: " + lines[-1]
    return {"note": note, "lines": lines}


# -- report -----------------------------------------------------------------------------------


def machine(backend: Backend) -> list[str]:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    wrk_version = "not installed"
    if shutil.which("wrk"):
        probe = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
        wrk_version = (probe.stdout + probe.stderr).split("\n")[0].strip()
    versions = ", ".join(f"{p} {importlib.metadata.version(p)}"
                         for p in ("Flask", "peewee", "gunicorn", "pyHanko"))
    return [f"platform: {platform.platform()} ({platform.machine()})",
            f"CPU: {os.cpu_count()} x {cpu}",
            f"Python {platform.python_version()}; {versions}",
            f"database: {backend.version()}",
            f"wrk: {wrk_version}",
            f"load average at the start of the run / when this report was written: "
            f"{LOAD_AT_START[0]} / {loadavg()} (the machine is shared: see \"other load\" "
            "beside each figure; for PostgreSQL it includes the database server's own work)"]


def share(value) -> str:
    return "?" if value is None else f"{value:.0%}"


def fmt_ms(pair) -> str:
    return f"{pair[0]:.1f} / {pair[1]:.1f}"


def statement_table(queries: QueryLog, limit: int = 60) -> list[str]:
    lines = ["| # | ms | statement |", "|---:|---:|---|"]
    for i, (sql, ms) in enumerate(queries.statements[:limit], 1):
        short = " ".join(sql.split())
        short = short if len(short) <= 160 else short[:157] + "..."
        lines.append(f"| {i} | {ms:.2f} | `{short}` |")
    return lines


def report(backend: Backend, results: dict, common: dict, args) -> str:
    small, large = results["small"], results["large"]
    lat_s, lat_l = small["latency"], large["latency"]
    out = [f"# Absah bench, {dt.date.today().isoformat()}, {backend.name}", "",
           "Produced by `bench/run.py` (`make bench`). Machine:", ""]
    out += [f"- {line}" for line in machine(backend)]
    out += [f"- run: `bench/run.py --sizes {args.sizes} --requests {args.requests} --duration "
            f"{args.duration} --wait-idle {args.wait_idle:g}`"]
    out += ["", "## Data", "",
            "Bulk-seeded (multi-row INSERTs, one transaction per table) after migrating, loading "
            "the demo and walking one `rekom-nakes` file "
            "(whose signed PDF every bulk letter points at). One task per file; the measured "
            f"official `{OFFICIAL}` has the same {OFFICIAL_OPEN} open tasks at every N.", "",
            "| N | " + " | ".join(small["counts"]) + " | seed time |",
            "|---:|" + "---:|" * (len(small["counts"]) + 1)]
    for res in (small, large):
        out.append(f"| {res['counts']['files']:,} | "
                   + " | ".join(f"{v:,}" for v in res["counts"].values())
                   + f" | {res['seconds']:.1f} s |")
    ratio_inbox = lat_l["inbox"][0] / lat_s["inbox"][0]
    ratio_verify = lat_l["verify"][0] / lat_s["verify"][0]
    ratio_cpu = lat_l["inbox_cpu"][0] / lat_s["inbox_cpu"][0]
    ratio_rendered = lat_l["inbox_rendered"][0] / lat_s["inbox_rendered"][0]
    ratio_rendered_cpu = lat_l["inbox_rendered_cpu"][0] / lat_s["inbox_rendered_cpu"][0]
    out += ["", "## Latency in-process (Flask test client, logged in, after a warm-up)", "",
            f"{args.requests} requests each, the two sizes in alternating batches (so other load "
            "falls on both alike); gzip accepted, as browsers do; /v/&lt;token&gt; as an "
            "anonymous visitor (a new address each time: it is rate-limited). ms, median / p95 of "
            "wall time, and the median CPU time of the process (less sensitive to other load "
            "on the machine). \"Other load\": the share of both cores that other processes "
            "used meanwhile.", "",
            f"| request | N={small['counts']['files']:,} | N={large['counts']['files']:,} "
            "| ratio of medians | CPU ms, small / large | other load | target |",
            "|---|---:|---:|---:|---:|---:|---|",
            f"| GET /inbox ({lat_l['rows']} rows), repeat visit | {fmt_ms(lat_s['inbox'])} | "
            f"{fmt_ms(lat_l['inbox'])} | {ratio_inbox:.2f}x (CPU {ratio_cpu:.2f}x) | "
            f"{lat_s['inbox_cpu'][0]:.1f} / {lat_l['inbox_cpu'][0]:.1f} | "
            f"{share(lat_s['inbox_foreign'])} / {share(lat_l['inbox_foreign'])} | within "
            f"{TARGET_INBOX_RATIO}x: {'met' if ratio_inbox <= TARGET_INBOX_RATIO else 'NOT met'} |",
            f"| GET /inbox, rendered (a new URL each time) | {fmt_ms(lat_s['inbox_rendered'])} "
            f"| {fmt_ms(lat_l['inbox_rendered'])} | {ratio_rendered:.2f}x (CPU "
            f"{ratio_rendered_cpu:.2f}x) | {lat_s['inbox_rendered_cpu'][0]:.1f} / "
            f"{lat_l['inbox_rendered_cpu'][0]:.1f} | {share(lat_s['inbox_rendered_foreign'])} / "
            f"{share(lat_l['inbox_rendered_foreign'])} | within {TARGET_INBOX_RATIO}x: "
            f"{'met' if ratio_rendered <= TARGET_INBOX_RATIO else 'NOT met'} |",
            f"| GET /v/&lt;token&gt; | {fmt_ms(lat_s['verify'])} | {fmt_ms(lat_l['verify'])} | "
            f"{ratio_verify:.2f}x | {lat_s['verify_cpu'][0]:.1f} / {lat_l['verify_cpu'][0]:.1f} "
            f"| {share(lat_s['verify_foreign'])} / {share(lat_l['verify_foreign'])} | |", ""]
    iq, vq = lat_l["inbox_queries"], lat_l["verify_queries"]
    out += ["Statement times below are medians over 15 identical requests.", "",
            f"SQL statements per request at N={large['counts']['files']:,}: inbox "
            f"**{len(iq.statements)}** ({sum(ms for _, ms in iq.statements):.1f} ms in the "
            f"database), /v/&lt;token&gt; **{len(vq.statements)}**; at "
            f"N={small['counts']['files']:,}: inbox {len(lat_s['inbox_queries'].statements)}.",
            ""]
    if iq.repeats():
        out += ["Statements repeated within one inbox request (N+1 suspects):", ""]
        out += [f"- {c}x `{' '.join(s.split())[:200]}`" for c, s in iq.repeats()]
        out.append("")
    slowest = sorted(iq.statements, key=lambda x: -x[1])[:3]
    out += ["Slowest inbox statements: " + "; ".join(
        f"{ms:.2f} ms `{' '.join(s.split())[:120]}`" for s, ms in slowest), "",
        "<details><summary>Every statement of one inbox request (N="
        f"{large['counts']['files']:,})</summary>", ""]
    out += statement_table(iq) + ["", "</details>", ""]
    if lat_l.get("inbox_plan"):
        sql, plan = lat_l["inbox_plan"]
        out += [f"Plan of the slowest inbox statement at N={large['counts']['files']:,} "
                f"(`{' '.join(sql.split())[:90]}...`):", "", "```"] + plan + ["```", ""]
    out += [

                                  "<details><summary>Every statement of one /v/&lt;token&gt; "
                                  "request</summary>", ""]
    out += statement_table(vq) + ["", "</details>", ""]
    load = large.get("load", {})
    out += [f"## Under load: gunicorn, 2 sync workers, N={large['counts']['files']:,}", ""]
    if not load or "skipped" in load:
        out += [f"Not measured: {load.get('skipped', 'skipped (--skip load)')}.", ""]
    else:
        hello = load.get("hello") or common.get("hello")
        out += [f"wrk -t1 -c4, {args.duration} s per route after a 2 s warm-up, run from a "
                "second process on the same 2 cores. The portal has no hello route: "
                "`/healthz` (SELECT 1 and the migration status) is its minimal route; "
                "`bench/hello_app.py` is a bare Flask app under the same gunicorn, the floor.",
                "\"server CPU/req\": CPU time of the gunicorn master and workers per request "
                "answered, which other load on the machine barely changes; \"other load\": the "
                "share of both cores other processes used meanwhile.",
                "", "| route | req/s | p50 | p99 | errors | server CPU/req | other load |",
                "|---|---:|---:|---:|---|---:|---:|"]
        rows = [("bare Flask hello (bench/hello_app.py)", hello)] if hello else []
        rows += [("GET /healthz (minimal route)", load["healthz"]),
                 (f"GET /inbox, logged in, {lat_l['rows']} rows, gzip (repeat visits)",
                  load["inbox"])]
        if "inbox_rendered" in load:
            rows.append(("GET /inbox, the same, rendered each time (a new URL each time)",
                         load["inbox_rendered"]))
        for label, r in rows:
            cpu = "?" if r.server_cpu_ms is None else f"{r.server_cpu_ms:.2f} ms"
            out.append(f"| {label} | {r.rps:,.0f} | {r.p50} | {r.p99} | {r.errors} | {cpu} | "
                       f"{share(r.foreign)} |")
        out += [""]
        if hello:
            ratio = load["inbox"].rps / hello.rps
            out += [f"Logged-in inbox / bare hello, requests per second in the same run: "
                    f"**{ratio:.0%}** (target at least {TARGET_LOAD_RATIO:.0%}: "
                    f"{'met' if ratio >= TARGET_LOAD_RATIO else 'NOT met'}; floor "
                    f"{FLOOR_LOAD_RATIO:.0%}: "
                    f"{'kept' if ratio >= FLOOR_LOAD_RATIO else 'NOT kept'})."]
            if "inbox_rendered" in load:
                out[-1] += (" Rendered each time: "
                            f"{load['inbox_rendered'].rps / hello.rps:.0%} of hello.")
            if load["inbox"].server_cpu_ms and hello.server_cpu_ms:
                out[-1] += (" By server CPU per request: inbox / hello "
                            f"{hello.server_cpu_ms / load['inbox'].server_cpu_ms:.0%}.")
        out += [f"Inbox / /healthz: {load['inbox'].rps / load['healthz'].rps:.0%}."]
        out += [""]
    sign = common.get("sign")
    out += ["## Letter issuance", ""]
    if sign:
        out += [f"`bench/sign_bench.py --iterations {args.sign_iterations}` (ms, median / p95), "
                f"and storing the {sign['size']:,}-byte signed PDF (`Storage.put`, new content "
                "each time):", "", "| row | median ms | p95 ms |", "|---|---:|---:|"]
        out += [f"| {k} | {v[0]:.2f} | {v[1]:.2f} |" for k, v in sign["rows"].items()]
        out += [f"| store (Storage.put) | {sign['store'][0]:.2f} | {sign['store'][1]:.2f} |", "",
                f"Issuance (render + sign + store): **{sign['ours_per_s']:.1f} letters/s** "
                f"({sign['ours_ms']:.1f} ms) against pyHanko defaults "
                f"{sign['defaults_per_s']:.1f} letters/s ({sign['defaults_ms']:.1f} ms): "
                f"**{sign['ratio']:.1f}x**, same run (other load meanwhile: "
                f"{share(sign['foreign'])}).", ""]
        if sign.get("levels"):
            out += ["Issuance per second by PAdES level (render + sign, test-PKI signer; B-LT "
                    "against the local certomancer animator as TSA, OCSP responder and CRL "
                    "source, same run): "
                    + ", ".join(f"**{k} {v:.1f}/s**" for k, v in sign["levels"].items())
                    + ".", ""]
    issue = large.get("issuance")
    if issue:
        out += [f"Whole issuance in the portal (`operations.decide` on rekom-nakes' "
                f"`{issue['step']}` step, which numbers, renders, signs, stores, audits and "
                f"queues the e-mail in one transaction), {issue['files']} files at "
                f"N={large['counts']['files']:,}: median {issue['median']:.1f} ms, p95 "
                f"{issue['p95']:.1f} ms, **{issue['per_s']:.1f} letters/s** in one process "
                f"({issue['issued']} letters issued; preparing the files took "
                f"{issue['prepare_s']:.1f} s)."]
        q = issue.get("queries")
        if q is not None:
            out[-1] += (f" One such decision runs {len(q.statements)} SQL statements"
                        + ("; repeated ones: " + "; ".join(
                            f"{c}x `{' '.join(sql.split())[:110]}...`" for c, sql in q.repeats())
                           if q.repeats() else "") + ".")
        out += [""]
    weights = common.get("weights")
    out += ["## Page weights (tests/test_weight.py, SQLite)", ""]
    if weights:
        out += ["```"] + weights["lines"] + ["```", "",
                                             "within budget" if weights["ok"]
                                             else f"FAILED: {' '.join(weights['tail'])}", ""]
    two_g = common.get("2g", {})
    out += ["## 2G (tests/test_browser.py)", "", two_g.get("note", "not measured"), ""]
    if two_g.get("lines"):
        out += ["```"] + two_g["lines"] + ["```", ""]
    return "\n".join(out)


def summary_rows(backend_name: str, results: dict, common: dict) -> dict[str, str]:
    small, large = results["small"], results["large"]
    lat_s, lat_l = small["latency"], large["latency"]
    rows = {
        f"inbox median N={small['n']:,} / N={large['n']:,} (ms)":
            f"{lat_s['inbox'][0]:.1f} / {lat_l['inbox'][0]:.1f}",
        f"inbox ratio (target <= {TARGET_INBOX_RATIO}x)":
            f"{lat_l['inbox'][0] / lat_s['inbox'][0]:.2f}x",
        "inbox CPU ms, small / large N": f"{lat_s['inbox_cpu'][0]:.1f} / "
                                         f"{lat_l['inbox_cpu'][0]:.1f}",
        f"inbox rendered median N={small['n']:,} / N={large['n']:,} (ms)":
            f"{lat_s['inbox_rendered'][0]:.1f} / {lat_l['inbox_rendered'][0]:.1f}",
        f"inbox rendered ratio (target <= {TARGET_INBOX_RATIO}x)":
            f"{lat_l['inbox_rendered'][0] / lat_s['inbox_rendered'][0]:.2f}x",
        "inbox p95 at large N (ms)": f"{lat_l['inbox'][1]:.1f}",
        "SQL statements per inbox request": str(len(lat_l["inbox_queries"].statements)),
        f"/v/<token> median N={small['n']:,} / N={large['n']:,} (ms)":
            f"{lat_s['verify'][0]:.1f} / {lat_l['verify'][0]:.1f}",
        "SQL statements per /v/<token>": str(len(lat_l["verify_queries"].statements)),
    }
    load = large.get("load", {})
    if "skipped" not in load and load:
        hello = load.get("hello") or common.get("hello")
        if hello:
            rows["bare Flask hello req/s"] = f"{hello.rps:,.0f}"
        rows["/healthz req/s (minimal route)"] = f"{load['healthz'].rps:,.0f}"
        rows["inbox req/s (repeat visits)"] = f"{load['inbox'].rps:,.0f}"
        if "inbox_rendered" in load:
            rows["inbox req/s (rendered each time)"] = f"{load['inbox_rendered'].rps:,.0f}"
        if hello:
            rows[f"inbox / hello (target >= {TARGET_LOAD_RATIO:.0%})"] = \
                f"{load['inbox'].rps / hello.rps:.0%}"
        if load["inbox"].server_cpu_ms and load["healthz"].server_cpu_ms:
            rows["server CPU/req: healthz / inbox (ms)"] = \
                f"{load['healthz'].server_cpu_ms:.1f} / {load['inbox'].server_cpu_ms:.1f}"
        rows["other load during inbox wrk"] = share(load["inbox"].foreign)
    else:
        rows["load"] = "not measured"
    if large.get("issuance"):
        rows["portal issuance (decide, letters/s)"] = f"{large['issuance']['per_s']:.1f}"
        if large["issuance"].get("queries") is not None:
            rows["SQL statements per issuing decide"] = \
                str(len(large["issuance"]["queries"].statements))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    pg_url = os.environ.get("PORTAL_TEST_DATABASE_URL")
    parser.add_argument("--db", choices=("sqlite", "postgresql", "all"),
                        default="all" if pg_url else "sqlite",
                        help="default: sqlite, and postgresql when PORTAL_TEST_DATABASE_URL is set")
    parser.add_argument("--sizes", default="100,100000", help="two sizes N, small then large")
    parser.add_argument("--requests", type=int, default=200, help="in-process requests per route")
    parser.add_argument("--duration", type=int, default=10, help="wrk seconds per route")
    parser.add_argument("--sign-iterations", type=int, default=25)
    parser.add_argument("--issue", type=int, default=30, help="files issued through decide")
    parser.add_argument("--out", default=str(BENCH), help="where results-<date>-<db>.md go")
    parser.add_argument("--skip", default="",
                        help="comma list of: load,sign,weights,2g,issue,sla,contention")
    parser.add_argument("--wait-idle", type=float, default=0, metavar="SECONDS",
                        help="before each measured section, wait up to this long for other "
                        "processes to leave the cores mostly idle (a shared machine)")
    args = parser.parse_args()
    WAIT_IDLE[0] = args.wait_idle
    skip = set(filter(None, args.skip.split(",")))
    sizes = [int(s) for s in args.sizes.split(",")]
    if len(sizes) != 2:
        parser.error("--sizes takes two sizes")
    names = ["sqlite", "postgresql"] if args.db == "all" else [args.db]
    if "postgresql" in names and not pg_url:
        parser.error("PostgreSQL needs PORTAL_TEST_DATABASE_URL "
                     "(e.g. postgresql://postgres@127.0.0.1:5432/test)")
    if shutil.which("wrk") is None and "load" not in skip:
        log("wrk is not installed: the load part is skipped (Debian: apt-get install -y wrk)")

    began = time.perf_counter()
    LOAD_AT_START[0] = loadavg()
    workdir = Path(tempfile.mkdtemp(prefix="absah-bench-"))
    os.environ["PORTAL_INSTANCE_DIR"] = str(workdir / "instance")  # nothing under ./instance
    os.environ.setdefault("PORTAL_SECRET_KEY", SECRET)
    ca_dir = workdir / "ca"
    common: dict = {}
    all_results: dict[str, dict] = {}
    written = []
    try:
        for name in names:
            backend = SqliteBackend() if name == "sqlite" else PostgresBackend(pg_url)
            results = {}
            try:
                built = {}
                for label, n in (("small", sizes[0]), ("large", sizes[1])):
                    log(f"{name}: seeding N={n:,}")
                    built[label] = build(backend, n, workdir, ca_dir, seed_value=7)
                    built[label].database.close()
                    log(f"{name}: N={n:,} seeded in {built[label].seconds:.1f} s "
                        f"{built[label].counts}")
                log(f"{name}: latency in-process, N={sizes[0]:,} and N={sizes[1]:,} alternating")
                latency = measure_latency(built["small"], built["large"], args.requests)
                for label, seeded in built.items():
                    lat = latency[label]
                    log(f"{name}: N={seeded.n:,} inbox {fmt_ms(lat['inbox'])} ms, "
                        f"/v {fmt_ms(lat['verify'])} ms, "
                        f"{len(lat['inbox_queries'].statements)} statements per inbox")
                    results[label] = {"n": seeded.n, "counts": seeded.counts,
                                      "seconds": seeded.seconds, "latency": lat}
                large, res = built["large"], results["large"]
                if "load" not in skip:
                    log(f"{name}: load with gunicorn + wrk")
                    res["load"] = measure_load(large, backend, ca_dir, args.duration,
                                               hello="hello" not in common)
                    if res["load"].get("hello"):
                        common["hello"] = res["load"]["hello"]
                if "issue" not in skip:
                    log(f"{name}: issuing {args.issue} letters through decide")
                    res["issuance"] = measure_issuance(large, args.issue)
                for seeded in built.values():
                    seeded.database.close()
            finally:
                backend.cleanup()
            if "sign" not in skip and "sign" not in common:
                log("signing bench (bench/sign_bench.py)")
                common["sign"] = measure_signing(args.sign_iterations)
            if "weights" not in skip and "weights" not in common:
                log("page weights (tests/test_weight.py)")
                common["weights"] = measure_weights()
            if "2g" not in skip and "2g" not in common:
                log("2G figures (tests/test_browser.py)")
                common["2g"] = measure_2g()
            all_results[name] = results
            path = Path(args.out) / f"results-{dt.date.today().isoformat()}-{name}.md"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(report(backend, results, common, args) + "\n", encoding="utf-8")
            written.append(path)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    # the summary table
    columns = {name: summary_rows(name, res, common) for name, res in all_results.items()}
    keys = list(dict.fromkeys(k for rows in columns.values() for k in rows))
    width = max(len(k) for k in keys) + 2
    print()
    print(f"{'':{width}}" + "".join(f"{name:>16}" for name in columns))
    for key in keys:
        print(f"{key:{width}}" + "".join(f"{columns[n].get(key, '-'):>16}" for n in columns))
    sign = common.get("sign")
    if sign:
        print(f"\nletter issuance (render+sign+store): {sign['ours_per_s']:.1f}/s; pyHanko "
              f"defaults {sign['defaults_per_s']:.1f}/s; ratio {sign['ratio']:.1f}x (same run)")
        if sign.get("levels"):
            print("issuance per second by level (local certomancer TSA, same run): "
                  + ", ".join(f"{k} {v:.1f}/s" for k, v in sign["levels"].items()))
    weights = common.get("weights")
    if weights:
        print("\n" + "\n".join(weights["lines"]))
        print("page weights: " + ("within budget" if weights["ok"] else "OVER BUDGET / failed"))
    print("\n2G: " + common.get("2g", {}).get("note", "not measured"))
    if "sla" not in skip:  # the SLA report at both sizes (bench/sla_report.py, SQLite)
        subprocess.run([sys.executable, str(BENCH / "sla_report.py"), "--sizes", args.sizes],
                       check=False)
    if "contention" not in skip and pg_url:  # QR scans while uploads run; 20 deciding at once
        subprocess.run([sys.executable, str(BENCH / "contention.py"), "--duration",
                        str(args.duration)], check=False)
    print(f"\nresults: {', '.join(str(p) for p in written)} "
          f"({time.perf_counter() - began:.0f} s in all)")


if __name__ == "__main__":
    main()
