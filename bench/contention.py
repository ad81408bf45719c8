"""Contention bench (PostgreSQL): does anything wait on a global lock?

    .venv/bin/python bench/contention.py --duration 10   # needs PORTAL_BENCH_DATABASE_URL
                                                         # or PORTAL_TEST_DATABASE_URL

1. QR scans under load: gunicorn (2 sync workers, rate limits lifted with
   PORTAL_RATELIMIT_ENABLED=0) and wrk on GET /v/<token> of one issued letter, first alone,
   then while uploads with previews run (UPLOADS_PER_S drafts a second, each with a
   2,000 x 2,500 PNG and a PDF, through operations.save_draft against the same database,
   previews rendered in their capped process). Reported: scans/s of each, the share
   (target: >= 80%), and how often a sampler of pg_stat_activity (every 20 ms) saw a
   backend waiting on a lock. On 2 cores the uploads' own CPU (decoding, rendering) is
   taken from the scans too: `--uploads-per-s 0` runs them back to back.
2. Decisions at once: 20 officials (each its own thread and database connection) decide
   different files' tasks at the same step through operations.decide; decisions/s over
   the whole burst, and that the audit trail verifies afterwards.

A fresh schema in the named database, dropped afterwards. `bench/run.py` runs this as its
section "contention" (skip it with --skip contention).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import io
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "demo-bench-password"
SECRET = "bench-secret-key-" + "1" * 32
AUDIT_KEY = "bench-audit-key-" + "2" * 32
OFFICIALS = 20
UPLOADS_PER_S = [1.0]  # --uploads-per-s; 0: back to back
TASKS_EACH = 5
SOP = "rekom-nakes"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] contention: {message}", file=sys.stderr, flush=True)


def _admin(url: str, statement: str) -> None:
    from portal.core.db import make_database, release

    database = make_database(url)
    database.connect()
    try:
        database.execute_sql(statement)
    finally:
        release(database)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wrk(url: str, seconds: int) -> dict:
    out = subprocess.run(["wrk", "-t1", "-c4", f"-d{seconds}s", "--latency", url],
                         capture_output=True, text=True, check=True).stdout
    total = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "requests": total, "non_2xx": int(bad.group(1)) if bad else 0,
            "p50": p50.group(1) if p50 else "?", "p99": p99.group(1) if p99 else "?"}


def _http_load(url: str, seconds: int, connections: int = 4) -> dict:
    """The bench's own load generator when wrk is missing: keep `connections` requests in
    flight for `seconds`."""
    stop = time.monotonic() + seconds
    counts = [0] * connections
    errors = [0] * connections
    latencies: list[float] = []

    def worker(i):
        while time.monotonic() < stop:
            began = time.perf_counter()
            try:
                with urllib.request.urlopen(url, timeout=30) as response:
                    response.read()
                    ok = response.status == 200
            except OSError:
                ok = False
            latencies.append(time.perf_counter() - began)
            counts[i] += 1
            errors[i] += 0 if ok else 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    latencies.sort()
    return {"rps": sum(counts) / elapsed, "requests": sum(counts), "non_2xx": sum(errors),
            "p50": f"{latencies[len(latencies) // 2] * 1000:.1f}ms" if latencies else "?",
            "p99": f"{latencies[int(len(latencies) * 0.99)] * 1000:.1f}ms" if latencies else "?"}


def _load(url: str, seconds: int) -> dict:
    return _wrk(url, seconds) if shutil.which("wrk") else _http_load(url, seconds)


class Setup:
    """A migrated schema with the demo data, one issued letter, and OFFICIALS x TASKS_EACH
    files waiting at the same official step, each official holding that step's position."""

    def __init__(self, base_url: str, workdir: Path):
        from portal import create_app
        from portal.core.db import migrate

        self.schema = f"bench_locks_{uuid.uuid4().hex[:10]}"
        _admin(base_url, f'CREATE SCHEMA "{self.schema}"')
        joiner = "&" if "?" in base_url else "?"
        self.url = f"{base_url}{joiner}options=-c%20search_path%3D{self.schema}"
        self.base_url = base_url
        self.workdir = workdir
        self.instance = workdir / "instance"
        self.storage_dir = workdir / "files"
        self.ca_dir = workdir / "ca"
        self.app = create_app({
            "DATABASE_URL": self.url, "STORAGE_DIR": str(self.storage_dir),
            "SIGNING_CA_DIR": str(self.ca_dir), "SECRET_KEY": SECRET, "AUDIT_KEY": AUDIT_KEY,
            "BASE_URL": "http://portal.bench", "MAIL_SERVER": "",
            "OUTBOX_DELIVER_AFTER_REQUEST": False, "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            "DB_POOL_SIZE": OFFICIALS + 4,  # a connection for each official at once
        })
        migrate(self.app.extensions["database"])

    def drop(self) -> None:
        from portal.core.db import release

        release(self.app.extensions["database"])
        _admin(self.base_url, f'DROP SCHEMA "{self.schema}" CASCADE')

    def env(self) -> dict[str, str]:
        return {"PORTAL_DATABASE_URL": self.url, "PORTAL_INSTANCE_DIR": str(self.instance),
                "PORTAL_STORAGE_DIR": str(self.storage_dir),
                "PORTAL_SIGNING_CA_DIR": str(self.ca_dir), "PORTAL_SECRET_KEY": SECRET,
                "PORTAL_AUDIT_KEY": AUDIT_KEY, "PORTAL_RATELIMIT_ENABLED": "0",
                "PORTAL_OUTBOX_AFTER_REQUEST": "0", "PORTAL_MAIL_SERVER": ""}

    def seed(self) -> tuple[str, list[tuple[int, list[int]]]]:
        """(a letter's token, [(official id, [task ids])])."""
        from portal.core.db import db
        from portal.modules.accounts.models import Assignment, User
        from portal.modules.applications import operations
        from portal.modules.applications.models import Task
        from portal.modules.demo.data import (
            DEMO_APPLICANT,
            load_demo,
            sample_form,
            sample_uploads,
            walk,
        )
        from portal.modules.sops.models import SopVersion
        from portal.storage import current_storage

        with self.app.app_context():
            load_demo(PASSWORD)
            storage = current_storage()
            letter = list(walk(SOP, storage)[0].letters)[0]
            version = SopVersion.current(SOP)
            spec = version.spec
            form = sample_form(spec, version.agency.today())
            applicant = User.by_email(DEMO_APPLICANT)
            uploads = {key: dataclasses.replace(upload, previews=())  # no renders: setup
                       for key, upload in sample_uploads(
                           spec, spec.application_steps[0].key, form).items()}
            tasks = []
            for _ in range(OFFICIALS * TASKS_EACH):
                application = operations.submit_application(applicant, SOP, form, uploads,
                                                            storage)
                tasks.append(Task.open_for(application))
            position = tasks[0].position
            officials = []
            with db.atomic():
                for n in range(OFFICIALS):
                    user = User.create(email=f"petugas{n}@bench.absah.test",
                                       name=f"Petugas Bench {n}", password_hash="!",
                                       email_verified_at=dt.datetime.now(dt.UTC))
                    Assignment.create(user=user, position=position)
                    officials.append(user.id)
            plan = [(official, [t.id for t in tasks[i::OFFICIALS]])
                    for i, official in enumerate(officials)]
            return letter.token, plan


def measure_decisions(setup: Setup, plan) -> dict:
    """OFFICIALS threads, each its own connection, deciding its own tasks at once."""
    from portal.core.db import db
    from portal.modules.accounts.models import User
    from portal.modules.applications import documents, operations
    from portal.modules.applications.models import Task
    from portal.modules.demo.data import sample_uploads, sample_values
    from portal.modules.sops.spec import Effect
    from portal.storage import current_storage

    with setup.app.app_context():
        storage = current_storage()
    barrier = threading.Barrier(len(plan) + 1)
    done, failed = [], []

    def official(user_id: int, task_ids: list[int]) -> None:
        with setup.app.app_context():
            try:
                user = User.get_by_id(user_id)
                work = []
                for task_id in task_ids:
                    task = Task.get_by_id(task_id)
                    application = task.application
                    spec = application.sop.spec
                    step = spec.step(task.step_key)
                    outcome = next(o for o in step.outcomes if o.effect is Effect.FORWARD)
                    uploads = {k: dataclasses.replace(u, previews=()) for k, u in
                               sample_uploads(spec, step.key, application.form_data).items()}
                    work.append((task_id, outcome.key, documents.all_complete(
                        spec, step, application.form_data), uploads,
                        sample_values(step.record, dt.date.today())))
                barrier.wait(120)
                for task_id, outcome, verdicts, uploads, record in work:
                    try:
                        operations.decide(task_id, user, outcome, verdicts=verdicts,
                                          uploads=uploads, storage=storage, record=record)
                        done.append(time.perf_counter())
                    except Exception as exc:  # noqa: BLE001 (counted and reported)
                        failed.append(f"{type(exc).__name__}: {exc}")
            except Exception as exc:  # noqa: BLE001 (preparing failed: stop the others too)
                failed.append(f"{type(exc).__name__}: {exc}")
                barrier.abort()
            finally:
                db.close()

    threads = [threading.Thread(target=official, args=item) for item in plan]
    for thread in threads:
        thread.start()
    try:
        barrier.wait(120)
    except threading.BrokenBarrierError:
        pass  # reported through `failed`
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = (max(done) if done else time.perf_counter()) - began
    with setup.app.app_context():
        from portal.modules.audit.trail import seal, verify_chain

        seal(wait=True)
        report = verify_chain()
    return {"officials": len(plan), "decisions": len(done), "failed": len(failed),
            "first_failure": failed[0] if failed else "", "seconds": elapsed,
            "per_s": len(done) / elapsed if elapsed else 0.0,
            "audit": "intact" if report.ok else f"BROKEN: {report.reason}",
            "audit_events": report.events}


class Uploader(threading.Thread):
    """Saves drafts with a photo and a PDF in a loop (previews rendered each time) until
    stopped; counts them."""

    def __init__(self, setup: Setup):
        super().__init__(daemon=True)
        self.setup = setup
        self.stop = threading.Event()
        self.count = 0
        self.errors: list[str] = []

    def run(self):
        from PIL import Image

        from portal.core.db import db
        from portal.modules.accounts.models import User
        from portal.modules.applications import operations
        from portal.modules.applications.documents import Upload
        from portal.modules.demo.data import DEMO_APPLICANT, sample_pdf
        from portal.storage import current_storage

        photo = io.BytesIO()
        # A photo-like PNG (smooth, about 1 MB), not noise: a 15 MB noise PNG is no upload.
        Image.effect_mandelbrot((2000, 2500), (-2.0, -1.5, 1.0, 1.5), 60).convert(
            "RGB").save(photo, "PNG")
        photo_bytes = photo.getvalue()
        rate = UPLOADS_PER_S[0]
        with self.setup.app.app_context():
            storage = current_storage()
            user = User.by_email(DEMO_APPLICANT)
            try:
                while not self.stop.is_set():
                    began = time.monotonic()
                    uploads = {"photo": Upload("foto.png", photo_bytes),
                               "str": Upload("str.pdf", sample_pdf(f"STR {self.count}"))}
                    try:
                        operations.save_draft(user, SOP, {}, uploads, storage)
                        self.count += 1
                        if rate:
                            self.stop.wait(max(0.0, 1 / rate - (time.monotonic() - began)))
                    except Exception as exc:  # noqa: BLE001 (reported)
                        self.errors.append(f"{type(exc).__name__}: {exc}")
                        self.stop.wait(0.5)
            finally:
                db.close()


class LockSampler(threading.Thread):
    """Counts, every 20 ms, the backends of the database waiting on a lock."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.url = url
        self.stop = threading.Event()
        self.samples = 0
        self.waiting = 0

    def run(self):
        from portal.core.db import make_database, release

        database = make_database(self.url, 1)
        database.connect()
        try:
            while not self.stop.is_set():
                (count,) = database.execute_sql(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()").fetchone()
                self.samples += 1
                self.waiting += 1 if count else 0
                self.stop.wait(0.02)
        finally:
            release(database)


def _gunicorn(setup: Setup):
    port = _free_port()
    errors = tempfile.TemporaryFile()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "2", "-k", "sync", "--chdir", str(ROOT),
         "-b", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"],
        env={**os.environ, **setup.env()}, stdout=subprocess.DEVNULL, stderr=errors)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            errors.seek(0)
            raise SystemExit(f"gunicorn exited: {errors.read().decode()[-2000:]}")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2):
                return proc, base, errors
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    raise SystemExit("gunicorn did not start")


def measure_scans(setup: Setup, token: str, seconds: int) -> dict:
    proc, base, errors = _gunicorn(setup)
    try:
        url = f"{base}/v/{token}"
        _load(url, 2)  # warm-up
        alone = _load(url, seconds)
        uploader = Uploader(setup)
        uploader.start()
        while uploader.count == 0 and not uploader.errors and uploader.is_alive():
            time.sleep(0.1)  # uploads under way before measuring
        started = uploader.count
        sampler = LockSampler(setup.url)
        sampler.start()
        loaded = _load(url, seconds)
        sampler.stop.set()
        sampler.join(10)
        during = uploader.count - started
        uploader.stop.set()
        uploader.join(60)
    finally:
        proc.terminate()
        proc.wait(15)
        errors.close()
    with setup.app.app_context():
        from portal.modules.audit.trail import seal, verify_chain

        seal(wait=True)
        report = verify_chain()
    return {"alone": alone, "with_uploads": loaded, "uploads": during,
            "lock_samples": sampler.samples, "lock_waits": sampler.waiting,
            "upload_errors": uploader.errors[:1],
            "share": loaded["rps"] / alone["rps"] if alone["rps"] else 0.0,
            "tool": "wrk -t1 -c4" if shutil.which("wrk") else "own load generator, 4 threads",
            "audit": "intact" if report.ok else f"BROKEN: {report.reason}",
            "audit_events": report.events}


def run(database_url: str, seconds: int) -> dict:
    """Both measurements on a fresh schema of the database; the figures as a dict."""
    workdir = Path(tempfile.mkdtemp(prefix="absah-contention-"))
    setup = Setup(database_url, workdir)
    try:
        log("seeding (demo, one letter, "
            f"{OFFICIALS * TASKS_EACH} files for {OFFICIALS} officials)")
        token, plan = setup.seed()
        log(f"QR scans under wrk, {seconds} s alone and {seconds} s with uploads")
        scans = measure_scans(setup, token, seconds)
        log(f"{OFFICIALS} officials deciding at once")
        decisions = measure_decisions(setup, plan)
        return {"scans": scans, "decisions": decisions}
    finally:
        setup.drop()
        shutil.rmtree(workdir, ignore_errors=True)


def report_lines(result: dict) -> list[str]:
    """Markdown lines for bench/run.py's report and this script's output."""
    scans, decisions = result["scans"], result["decisions"]
    alone, loaded = scans["alone"], scans["with_uploads"]
    verdict = "met" if scans["share"] >= 0.8 else "NOT met"
    rate = f"{UPLOADS_PER_S[0]:g}/s" if UPLOADS_PER_S[0] else "back to back"
    return [
        "## Contention (PostgreSQL): QR scans while uploads run; decisions at once", "",
        f"Uploads: {rate}, each a 2,000 x 2,500 PNG and a PDF with previews.", "",
        f"Load: {scans['tool']}, gunicorn 2 sync workers, rate limits lifted.", "",
        "| measure | figure |", "|---|---|",
        f"| GET /v/<token>, no uploads | {alone['rps']:.0f} req/s (p50 {alone['p50']}, "
        f"p99 {alone['p99']}, non-2xx {alone['non_2xx']}) |",
        f"| GET /v/<token>, uploads with previews running | {loaded['rps']:.0f} req/s (p50 "
        f"{loaded['p50']}, p99 {loaded['p99']}, non-2xx {loaded['non_2xx']}); "
        f"{scans['uploads']} uploads meanwhile |",
        f"| samples with a backend waiting on a lock, during uploads | "
        f"{scans['lock_waits']} of {scans['lock_samples']} |",
        f"| share (target >= 80%) | {scans['share']:.0%} ({verdict}) |",
        f"| decisions/s, {decisions['officials']} officials at once (operations.decide, "
        f"own connection each) | {decisions['per_s']:.1f}/s ({decisions['decisions']} in "
        f"{decisions['seconds']:.2f} s, {decisions['failed']} failed) |",
        f"| audit trail afterwards | {decisions['audit']}, {decisions['audit_events']} "
        "events |", ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="load seconds per run")
    parser.add_argument("--uploads-per-s", type=float, default=UPLOADS_PER_S[0],
                        help="uploads a second while scans run (0: back to back)")
    args = parser.parse_args()
    UPLOADS_PER_S[0] = args.uploads_per_s
    url = os.environ.get("PORTAL_BENCH_DATABASE_URL") or os.environ.get("PORTAL_TEST_DATABASE_URL")
    if not url:
        parser.error("needs PORTAL_BENCH_DATABASE_URL (or PORTAL_TEST_DATABASE_URL): PostgreSQL")
    os.environ.setdefault("PORTAL_INSTANCE_DIR", tempfile.mkdtemp(prefix="absah-contention-"))
    result = run(url, args.duration)
    print("\n".join(report_lines(result)))
    if result["decisions"]["first_failure"]:
        print(f"first failed decision: {result['decisions']['first_failure']}")
    if result["scans"]["upload_errors"]:
        print(f"upload error: {result['scans']['upload_errors'][0]}")


if __name__ == "__main__":
    main()
