"""Two hosts behind one address: two gunicorn instances with separate instance directories
share PostgreSQL, the S3 store (moto's server), Redis (rate limits) and the signing CA
directory; each runs its own `outbox send --loop` worker. A document uploaded through A is
previewed and decided through B; the letter issued on B downloads and verifies on A; a
logout on A ends the session on B; the login limit counts across both; every e-mail is
delivered once."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import subprocess
import time
from pathlib import Path

import pytest
from services import PG_URL, Gunicorn, MotoS3, PgDatabase, Web, _tool, flask, portal_env
from webclient import verdict_form

pytestmark = [pytest.mark.postgres,
              pytest.mark.skipif(not PG_URL, reason="PostgreSQL part skipped: "
                                 "PORTAL_TEST_DATABASE_URL is not set")]

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "demo-absah-2026"
REDIS = "redis://127.0.0.1:6379/5"


def _redis_flush() -> None:
    subprocess.run(["redis-cli", "-n", "5", "FLUSHDB"], check=True, capture_output=True,
                   timeout=30)


def _reader(url: str, shared: dict):
    """An app bound to the shared database, for the test to read ids and states."""
    from portal import create_app

    return create_app({"DATABASE_URL": url, "STORAGE_URL": shared["PORTAL_STORAGE_URL"],
                       "SECRET_KEY": shared["PORTAL_SECRET_KEY"], "DB_POOL_SIZE": 2})


def _workers(envs):
    return [subprocess.Popen([_tool("flask"), "--app", "wsgi", "outbox", "send", "--loop",
                              "--interval", "0.5"], cwd=ROOT, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for env in envs]


def test_two_hosts_share_files_sessions_limits_and_the_outbox(tmp_path, smtp):
    _redis_flush()
    with MotoS3(tmp_path / "moto") as moto, PgDatabase("multihost") as url:
        shared = {"PORTAL_DATABASE_URL": url, "PORTAL_STORAGE_URL": moto.new_bucket(),
                  "PORTAL_RATELIMIT_STORAGE_URL": REDIS,
                  "PORTAL_SECRET_KEY": "one-secret-for-every-host",
                  "PORTAL_AUDIT_KEY": "one-audit-key-for-every-host",
                  "PORTAL_SIGNING_CA_DIR": str(tmp_path / "shared-ca"),
                  "PORTAL_BASE_URL": "http://absah.test",
                  "PORTAL_OUTBOX_AFTER_REQUEST": "0",
                  "PORTAL_MAIL_SERVER": "127.0.0.1", "PORTAL_MAIL_PORT": str(smtp.port)}
        env_a = portal_env(tmp_path / "host-a", **shared)
        env_b = portal_env(tmp_path / "host-b", **shared)
        flask(env_a, "db", "upgrade")
        flask(env_a, "demo")
        workers = _workers([env_a, env_b])
        reader = _reader(url, shared)
        try:
            with Gunicorn(env_a) as host_a, Gunicorn(env_b) as host_b:
                _walk_across_hosts(reader, host_a, host_b, env_a, tmp_path)
                _sessions_and_limits(host_a, host_b)
            _every_message_once(reader, smtp)
        finally:
            for worker in workers:
                worker.terminate()
                worker.wait(timeout=30)
            from portal.core.db import release

            release(reader.extensions["database"])
        assert "intact" in flask(env_b, "audit", "verify").stdout


def _apply_on(web: Web, reader, code: str):
    from portal.modules.demo.data import sample_form, sample_pdf, sample_png
    from portal.modules.sops.models import SopVersion

    with reader.app_context():
        spec = SopVersion.current(code).spec
    page = web.get(f"/services/{code}/apply")
    assert page.status_code == 200, page.text[:500]
    key = re.search(r'name="submission_key" value="([^"]+)"', page.text).group(1)
    values = sample_form(spec, dt.date.today())
    opening = spec.application_steps[0].key
    files = {}
    for doc in spec.documents:
        if (doc.step or opening) == opening and doc.applies(values):
            pdf = "pdf" in doc.media
            files[f"doc_{doc.key}"] = (f"{doc.key}.{'pdf' if pdf else 'png'}",
                                       sample_pdf(doc.label) if pdf else sample_png(),
                                       "application/pdf" if pdf else "image/png")
    response = web.post(f"/services/{code}/apply",
                        {**values, "submission_key": key, "action": "submit"}, files=files)
    assert response.status_code == 303, response.text[:2000]
    return spec, {k[4:]: v[1] for k, v in files.items()}


def _step_files(spec, step_key: str) -> dict:
    from portal.modules.demo.data import sample_pdf, sample_png

    files = {}
    for doc in spec.documents:
        if doc.step == step_key:
            pdf = "pdf" in doc.media
            files[f"doc_{doc.key}"] = (f"{doc.key}.{'pdf' if pdf else 'png'}",
                                       sample_pdf(doc.label) if pdf else sample_png(),
                                       "application/pdf" if pdf else "image/png")
    return files


def _walk_across_hosts(reader, host_a, host_b, env_a, tmp_path) -> None:
    from portal.modules.applications.models import Application, Document, Task
    from portal.modules.demo.data import _email, sample_values
    from portal.modules.letters.models import Letter
    from portal.modules.sops.spec import ActionKind, ActorKind, Effect

    applicant = Web(host_a.base_url)
    applicant.login("pemohon@absah.test", PASSWORD)
    spec, sent = _apply_on(applicant, reader, "rekom-nakes")
    with reader.app_context():
        application = Application.get(Application.status != "draft")
        documents = list(Document.select().where(Document.application == application))
    assert {d.requirement for d in documents} == set(sent)

    officials: dict[str, Web] = {}
    previewed = False
    for _ in range(len(spec.steps) * 3):
        with reader.app_context():
            task = Task.open_for(Application.get_by_id(application.id))
            if task is None:
                break
            step = spec.step(task.step_key)
            judged = verdict_form(task)
        forward = next(o for o in step.outcomes if o.effect is Effect.FORWARD)
        if task.assignee_id is not None:  # the applicant's own step, on A
            done = applicant.post(f"/applications/{application.id}/act",
                                  {"task": str(task.id), "outcome": forward.key},
                                  files=_step_files(spec, step.key))
            assert done.status_code == 303, done.text[:2000]
            continue
        actor = spec.actor(step.actor)
        if actor.kind is ActorKind.EXTERNAL:
            actor = spec.actor(actor.recorded_by)
        email = _email(actor.office or spec.agency, actor.key)
        if email not in officials:  # every official works on host B
            officials[email] = Web(host_b.base_url)
            officials[email].login(email, PASSWORD)
        official = officials[email]
        page = official.get(f"/tasks/{task.id}")
        assert page.status_code == 200
        if not previewed:  # the documents uploaded through A, seen through B
            for doc in documents:
                got = official.get(f"/documents/{doc.id}")
                assert got.status_code == 200 and got.content == sent[doc.requirement]
                preview = official.get(f"/documents/{doc.id}/pages/0.jpg")
                assert preview.status_code == 200 and preview.content[:3] == b"\xff\xd8\xff"
            previewed = True
        data = {"outcome": forward.key, **judged,
                **{f"record_{k}": v for k, v in sample_values(step.record,
                                                              dt.date.today()).items()}}
        if step.action is ActionKind.SIGN:
            data["confirmed"] = "1"
        decided = official.post(f"/tasks/{task.id}/decide", data)
        assert decided.status_code == 303, decided.text[:2000]
    assert previewed
    with reader.app_context():
        assert Application.get_by_id(application.id).status == "completed"
        letter = Letter.get(Letter.application == application)
    pdf = applicant.get(f"/letters/{letter.id}.pdf")  # on A
    assert pdf.status_code == 200 and hashlib.sha256(pdf.content).hexdigest() == letter.sha256
    (tmp_path / "letter.pdf").write_bytes(pdf.content)
    verdict = flask(env_a, "letters", "verify", str(tmp_path / "letter.pdf"))
    assert "genuine, unaltered and valid" in verdict.stdout
    page = Web(host_a.base_url).get(f"/v/{letter.token}")
    assert page.status_code == 200 and letter.number in page.text


def _sessions_and_limits(host_a, host_b) -> None:
    # A logout on A ends the session on B (the same cookie, as a load balancer sends it).
    on_a = Web(host_a.base_url)
    on_a.login("kasi.sdmk@dinkes-bangka.absah.test", PASSWORD)
    on_b = on_a.on(host_b.base_url)
    assert on_b.get("/inbox").status_code == 200
    old_cookies = on_a.session.cookies.copy()
    assert on_a.post("/logout").status_code in (302, 303)
    replay = Web(host_b.base_url)
    replay.session.cookies = old_cookies  # a cookie copied before the logout
    refused = replay.get("/inbox")
    assert refused.status_code in (302, 303) and "/login" in refused.headers["Location"]

    # The per-account login limit (5 attempts) counts attempts on both hosts together.
    statuses = []
    for attempt in range(6):
        web = Web((host_a if attempt % 2 == 0 else host_b).base_url)
        web.get("/login")
        statuses.append(web.post("/login", {"email": "admin@dinkes-muba.absah.test",
                                            "password": "wrong-password-1"}).status_code)
    assert 429 not in statuses[:5] and statuses[5] == 429, statuses


def _every_message_once(reader, smtp) -> None:
    from portal.mail.models import OutboxMessage

    deadline = time.monotonic() + 120
    with reader.app_context():
        while time.monotonic() < deadline:
            waiting = OutboxMessage.select().where(
                OutboxMessage.status.in_(("pending", "sending"))).count()
            if waiting == 0:
                break
            time.sleep(0.5)
        rows = list(OutboxMessage.select())
    time.sleep(1)  # a duplicate, if any, would arrive now
    delivered = [m["X-Absah-Message"] for _rcpts, m in smtp.messages]
    assert rows and all(row.status == "sent" for row in rows)
    assert sorted(map(int, delivered)) == sorted(row.id for row in rows)  # each once
