"""E-mail through the transactional outbox, delivered to a real SMTP server on loopback."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading

import pytest
from webclient import verdicts

from portal.core.db import db
from portal.core.errors import OperationError
from portal.core.model import utcnow
from portal.mail import outbox
from portal.mail.models import OutboxMessage
from portal.mail.transport import deliver
from portal.modules.accounts.models import Position
from portal.modules.agencies.models import Agency
from portal.modules.applications import operations
from portal.modules.applications.models import Application, Task
from portal.modules.audit.models import AuditEvent
from portal.modules.demo.data import DEMO_APPLICANT, _email, walk
from portal.modules.sla.reminders import send_reminders
from portal.modules.sops.models import SopVersion
from portal.modules.sops.registry import seed_files
from portal.modules.sops.spec import ActorKind, load_sop_file

SEEDS = {path.stem: load_sop_file(path) for path in seed_files()}


@pytest.fixture
def app_config(smtp):
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port,
            "MAIL_DEFAULT_SENDER": "Absah <no-reply@absah.test>"}


def _expected_messages(spec, form):
    """What the SOP says: the applicant's receipt, then whoever acts next at every step,
    then the applicant once the file is complete."""
    def address(actor_key):
        actor = spec.actor(actor_key)
        if actor.kind is ActorKind.EXTERNAL:
            actor = spec.actor(actor.recorded_by)
        if actor.kind is ActorKind.APPLICANT:
            return DEMO_APPLICANT
        return _email(actor.office or spec.agency, actor.key)

    initiator = address(spec.application_steps[0].actor)
    expected = [("application_received", initiator)]
    steps = [s for s in spec.application_steps if s.when is None or s.when.holds(form)]
    for decided, following in zip(steps, [*steps[1:], None], strict=True):
        for letter in spec.letters_issued_at(decided.key):
            event = ("letter_ready_for_collection" if letter.notice == "collection"
                     else "letter_issued")
            expected.append((event, initiator))
        if following is not None:
            expected.append(("task_assigned", address(following.actor)))
    expected.append(("application_completed", initiator))
    return expected


@pytest.mark.parametrize("code", sorted(SEEDS))
def test_each_seed_walk_tells_each_next_actor_and_the_applicant(demo, storage, smtp, code):
    application, _path = walk(code, storage)
    report = deliver()
    assert report.failed == 0 and report.retried == 0
    assert smtp.received() == _expected_messages(application.sop.spec, application.form_data)
    assert OutboxMessage.select().where(OutboxMessage.status != "sent").count() == 0


def test_messages_carry_links_and_no_personal_data(demo, storage, smtp):
    application, _ = walk("sik-perekam-medis", storage)
    deliver()
    spec = application.sop.spec
    personal = [application.form_data[f.key] for f in spec.fields
                if f.personal and f.key in application.form_data]
    receipt = smtp.messages[0][1]
    body = smtp.text_of(receipt)
    assert application.registration_number in receipt["Subject"]
    assert f"http://portal.test/applications/{application.id}" in body
    task_mail = smtp.text_of(smtp.messages[1][1])
    assert "http://portal.test/tasks/" in task_mail
    for _rcpts, message in smtp.messages:
        text = smtp.text_of(message)
        assert all(value not in text for value in personal)


def test_a_return_tells_the_applicant_the_reason_per_document(demo, storage, smtp):
    from portal.modules.accounts.models import User
    from portal.modules.demo.data import sample_form, sample_uploads

    spec = SopVersion.current("rekom-nakes").spec
    form = sample_form(spec, dt.date.today())
    application = operations.submit_application(
        User.by_email(DEMO_APPLICANT), "rekom-nakes", form,
        sample_uploads(spec, "submit", form), storage)
    task = Task.open_for(application)
    admin = Position.get(Position.key == "sdmk_admin").assignments[0].user
    operations.decide(task.id, admin, "incomplete", note="Berkas belum lengkap",
                      verdicts={"str": {"complete": False, "note": "STR sudah kedaluwarsa"}})
    deliver()
    event, to = smtp.received()[-1]
    assert (event, to) == ("application_returned", DEMO_APPLICANT)
    text = smtp.text_of(smtp.messages[-1][1])
    assert "Berkas belum lengkap" in text and "STR sudah kedaluwarsa" in text


def test_smtp_down_the_decision_commits_and_the_message_arrives_once_later(demo, storage,
                                                                           smtp):
    smtp.stop()
    application, _ = walk("info-kompetensi-teknis", storage)
    assert Application.get_by_id(application.id).status == "completed"
    total = OutboxMessage.select().count()
    first = deliver()
    assert first.sent == 0 and first.retried == 1  # the server is down: the round stops
    tried = OutboxMessage.get(OutboxMessage.attempts == 1)
    assert tried.status == "pending" and "ServerUnavailable" in tried.last_error
    assert OutboxMessage.select().where(OutboxMessage.attempts == 0).count() == total - 1
    smtp.start()
    assert deliver().sent == total - 1  # the untried ones at once; the tried one backs off
    later = deliver_at(utcnow() + dt.timedelta(minutes=5))
    assert later.sent == 1
    assert len(smtp.messages) == total  # each exactly once
    assert deliver_at(utcnow() + dt.timedelta(hours=1)).sent == 0


def deliver_at(now):
    from portal.mail.transport import _transport

    return outbox.deliver_pending(_transport, now=now)


def test_a_failed_decision_sends_nothing(demo, storage, smtp):
    from portal.modules.accounts.models import User
    from portal.modules.demo.data import sample_form, sample_uploads

    spec = SopVersion.current("rekom-nakes").spec
    form = sample_form(spec, dt.date.today())
    application = operations.submit_application(
        User.by_email(DEMO_APPLICANT), "rekom-nakes", form,
        sample_uploads(spec, "submit", form), storage)
    deliver()
    before = len(smtp.messages)
    admin = Position.get(Position.key == "sdmk_admin").assignments[0].user
    # The next step's position disappears: the decision cannot hand the file on.
    Position.delete().where(Position.key == "kasi_sdmk").execute()
    with pytest.raises(OperationError):
        check = Task.open_for(application)
        operations.decide(check.id, admin, "complete", verdicts=verdicts(check))
    assert Application.get_by_id(application.id).current_step == "check"
    assert deliver().sent == 0 and len(smtp.messages) == before


def test_a_message_fails_for_good_after_the_last_attempt_and_can_be_resent(demo, storage,
                                                                           smtp):
    walk("registrasi-praktek-mandiri", storage)
    message = OutboxMessage.select().order_by(OutboxMessage.id).first()
    OutboxMessage.update(attempts=outbox.MAX_ATTEMPTS - 1).where(
        OutboxMessage.id == message.id).execute()
    smtp.stop()
    report = deliver()
    assert report.failed == 1
    failed = OutboxMessage.get_by_id(message.id)
    assert failed.status == "failed" and "Error" in failed.last_error
    smtp.start()
    outbox.resend(failed)
    deliver()
    assert OutboxMessage.get_by_id(message.id).status == "sent"
    assert AuditEvent.select().where(AuditEvent.action == "outbox.resend").count() == 1


def test_two_senders_at_once_deliver_each_message_exactly_once(app, demo, storage, smtp):
    for _ in range(3):
        walk("sik-perekam-medis", storage)
    total = OutboxMessage.select().count()
    assert total >= 40
    db.close()
    reports = []

    def sender():
        with app.app_context():
            reports.append(deliver(limit=1000))
            db.close()

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sum(r.sent for r in reports) == total
    ids = [m["X-Absah-Message"] for _r, m in smtp.messages]
    assert len(ids) == total and len(set(ids)) == total


def test_without_smtp_messages_are_kept_and_the_cli_says_so(app, demo, storage, runner):
    app.extensions["portal.config"] = dataclasses.replace(app.extensions["portal.config"],
                                                          mail_server="")
    walk("rekom-nakes", storage)
    kept = OutboxMessage.select().where(OutboxMessage.status == "pending").count()
    assert kept > 0
    result = runner.invoke(args=["outbox", "send"])
    assert result.exit_code == 1 and f"{kept} message(s) kept" in result.output
    assert OutboxMessage.select().where(OutboxMessage.status == "pending").count() == kept


def test_cli_outbox_send_drains_once(demo, storage, smtp, runner):
    walk("rekom-nakes", storage)
    result = runner.invoke(args=["outbox", "send"])
    assert result.exit_code == 0 and f"sent {len(smtp.messages)}," in result.output
    assert len(smtp.messages) == OutboxMessage.select().count()


def _overdue_file(storage):
    from portal.modules.accounts.models import User
    from portal.modules.demo.data import sample_form, sample_uploads

    spec = SopVersion.current("rekom-nakes").spec
    form = sample_form(spec, dt.date.today())
    long_ago = utcnow() - dt.timedelta(days=10)
    return operations.submit_application(User.by_email(DEMO_APPLICANT), "rekom-nakes", form,
                                         sample_uploads(spec, "submit", form), storage,
                                         now=long_ago)


def test_sla_remind_twice_sends_each_reminder_once(demo, storage, smtp, runner):
    Agency.update(supervisor_position="kasi_sdmk").where(
        Agency.code == "dinkes-bangka").execute()
    _overdue_file(storage)
    deliver()
    smtp.messages.clear()
    first = runner.invoke(args=["sla", "remind"])
    assert first.exit_code == 0 and "1 overdue" in first.output
    assert sorted(smtp.received()) == [
        ("sla_overdue", "kasi.sdmk@dinkes-bangka.absah.test"),
        ("sla_overdue", "sdmk.admin@dinkes-bangka.absah.test"),
    ]
    second = runner.invoke(args=["sla", "remind"])
    assert second.exit_code == 0 and "0 overdue" in second.output
    assert len(smtp.messages) == 2


def test_near_due_reminder_then_overdue_reminder(demo, storage, smtp):
    application = _overdue_file(storage)
    task = Task.open_for(application)
    now = task.due_at - dt.timedelta(minutes=1)
    assert send_reminders(now).near_due == 1
    assert send_reminders(now).near_due == 0
    assert send_reminders(task.due_at + dt.timedelta(minutes=1)).overdue == 1
    deliver()
    assert [e for e, _ in smtp.received()].count("sla_near_due") == 1
    assert [e for e, _ in smtp.received()].count("sla_overdue") == 1


def test_messages_are_delivered_right_after_the_request_that_queued_them(app, demo, smtp):
    from portal.modules.accounts.models import User

    @app.post("/_test/queue")
    def queue_one():
        with db.atomic():
            outbox.queue("application_completed", [User.by_email(DEMO_APPLICANT)],
                         {"service": "Uji", "agency": "Uji", "registration_number": "R-1",
                          "link": "http://portal.test/"})
        return "ok"

    app.extensions["portal.config"] = dataclasses.replace(app.extensions["portal.config"],
                                                          outbox_deliver_after_request=True)
    app.config["WTF_CSRF_ENABLED"] = False  # a test-only route; CSRF is tested elsewhere
    response = app.test_client().post("/_test/queue")
    response.close()  # the WSGI server closes the response once it is sent
    assert smtp.received() == [("application_completed", DEMO_APPLICANT)]
