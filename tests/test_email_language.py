"""E-mails in the recipient's language: Bahasa Indonesia by default, English for whoever
chose English when registering or later while logged in; read back from a real SMTP server."""

from __future__ import annotations

import datetime as dt
from email.header import decode_header, make_header

import pytest
from jinja2 import Environment, meta, nodes
from webclient import Browser, text, verdicts

from portal.core.db import MIGRATIONS_DIR, migrate, pending_migrations
from portal.core.model import utcnow
from portal.mail import outbox
from portal.mail.transport import deliver
from portal.modules.accounts import approvals
from portal.modules.accounts import operations as accounts_operations
from portal.modules.accounts.models import Position, User
from portal.modules.agencies.models import Agency
from portal.modules.applications import operations as applications_operations
from portal.modules.applications.models import Application, Task
from portal.modules.audit.models import AuditEvent
from portal.modules.demo.data import (
    DEMO_APPLICANT,
    _holder,
    sample_form,
    sample_uploads,
    sample_values,
    walk,
)
from portal.modules.letters.operations import revoke_letter
from portal.modules.sla.reminders import send_reminders
from portal.modules.sops.models import SopVersion
from portal.modules.sops.spec import Effect

EVENTS = sorted(path.stem for path in outbox.TEMPLATES.glob("*.txt"))
BLOCKS = {"subject", "text", "html"}
BANGKA_ADMIN = "admin@dinkes-bangka.absah.test"
PASSWORD = "rahasia-sekali-1"
# The salutation every template opens with, and nothing else does.
GREETING = {"id": "Yth. ", "en": "Dear "}


@pytest.fixture
def app_config(smtp):
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port}


def _source(event: str, language: str) -> str:
    folder = outbox.TEMPLATES / "en" if language == "en" else outbox.TEMPLATES
    return (folder / f"{event}.txt").read_text(encoding="utf-8")


# -- the templates -----------------------------------------------------------------------------


def test_there_are_twenty_events_each_with_an_english_template():
    assert len(EVENTS) == 20
    english = sorted(path.stem for path in (outbox.TEMPLATES / "en").glob("*.txt"))
    assert english == EVENTS


@pytest.mark.parametrize("event", EVENTS)
def test_the_english_template_has_the_same_blocks_and_variables(event):
    env = Environment(autoescape=False)
    parsed = {lang: env.parse(_source(event, lang)) for lang in ("id", "en")}
    blocks = {lang: {b.name for b in tree.find_all(nodes.Block)} for lang, tree in parsed.items()}
    assert blocks["id"] == blocks["en"] == BLOCKS
    assert (meta.find_undeclared_variables(parsed["en"])
            == meta.find_undeclared_variables(parsed["id"]))


def test_an_unknown_language_falls_back_to_indonesian():
    context = {"link": "http://portal.test/verify/x", "recipient": {"name": "Rina"}}
    assert outbox.render("account_verify", context, "jv") == outbox.render("account_verify",
                                                                           context)
    assert outbox.render("account_verify", context, "en")[0] == (
        "Confirm your e-mail address at Absah")


@pytest.fixture
def rendered(monkeypatch):
    """Every (event, context) the outbox renders while the test runs."""
    seen = []
    real = outbox.render

    def recording(event, context, language="id"):
        seen.append((event, context))
        return real(event, context, language)

    monkeypatch.setattr(outbox, "render", recording)
    return seen


def _to_step(spec, application, step_key, storage):
    """Decide the first forward outcome at each step until the file reaches ``step_key``."""
    today = dt.date.today()
    while application.current_step != step_key:
        task = Task.open_for(application)
        step = spec.step(task.step_key)
        actor = task.assignee if task.assignee_id else _holder(task.position.agency,
                                                               task.position.key)
        uploads = sample_uploads(spec, step.key, application.form_data)  # officials' too
        forward = next(o.key for o in step.outcomes if o.effect is Effect.FORWARD)
        applications_operations.decide(task.id, actor, forward, uploads=uploads, storage=storage,
                                       verdicts=verdicts(task),
                                       record=sample_values(step.record, today))
        application = Application.get_by_id(application.id)
    return Task.open_for(application)


def _submit(code, storage, user=None, now=None):
    spec = SopVersion.current(code).spec
    form = sample_form(spec, dt.date.today())
    opening = spec.application_steps[0].key
    return spec, applications_operations.submit_application(
        user or User.by_email(DEMO_APPLICANT), code, form,
        sample_uploads(spec, opening, form), storage, now=now)


def _every_event(storage, make_applicant):
    """The real operations that make each of the twenty events at least once."""
    from portal.modules.agencies.operations import create_agency
    from portal.modules.feedback import complaints
    from portal.modules.feedback import notify as feedback_notify

    create_agency(None, "dinkes-contoh", "Dinas Kesehatan Contoh", "WIB", "admin@contoh.test")
    bangka = Agency.get(Agency.code == "dinkes-bangka")
    admin = User.by_email(BANGKA_ADMIN)
    user = accounts_operations.register_applicant("budi@contoh.test", "Budi Santoso", PASSWORD)
    accounts_operations.request_password_reset(user.email)
    approvals.decide_approval(admin, approvals.request_approval(user, bangka), True)
    declined = approvals.request_approval(make_applicant(approved=False), bangka)
    approvals.decide_approval(admin, declined, False, reason="Nama tidak sesuai KTP")
    walk("sik-perekam-medis", storage)  # a letter to collect at the office
    application, _ = walk("rekom-nakes", storage)  # a letter to download; the applicant acts
    revoke_letter(admin, application.letters[0], "Data STR keliru")
    spec, returned = _submit("rekom-nakes", storage)
    applications_operations.decide(Task.open_for(returned).id, _holder(bangka, "sdmk_admin"),
                                   "incomplete", note="Berkas belum lengkap",
                                   verdicts={"str": {"complete": False,
                                                     "note": "STR sudah kedaluwarsa"}})
    spec, rejected = _submit("kso-lms", storage)
    task = _to_step(spec, rejected, "inform_result", storage)
    applications_operations.decide(task.id, _holder(task.position.agency, task.position.key),
                                   "rejected", note="Kuota kolegium penuh")
    Agency.update(supervisor_position="kasi_sdmk").where(Agency.id == bangka.id).execute()
    _spec, late = _submit("rekom-nakes", storage, now=utcnow() - dt.timedelta(days=10))
    task = Task.open_for(late)
    send_reminders(task.due_at - dt.timedelta(minutes=1))
    send_reminders(task.due_at + dt.timedelta(minutes=1))
    # Complaints (to the handlers, a receipt to the complainant, the answer) and the survey
    # invitation of the files completed above.
    complaint = complaints.file_complaint(None, "rekom-nakes", {
        "name": "Siti Pelapor", "email": "siti@contoh.test",
        "body": "Berkas saya belum diproses lebih dari seminggu."})
    complaints.answer_complaint(admin, complaint.id, "Berkas Anda sudah kami proses hari ini.")
    assert feedback_notify.invite_completed() >= 1


def _variants(event, context):
    """The recorded context, and one with each branch of the templates taken the other way
    (a flag flipped, no deadline, the applicant's own task, no documents listed)."""
    yield context
    for flag in ("for_applicant", "replaced", "as_supervisor"):
        if flag in context:
            yield {**context, flag: not context[flag]}
    if event == "task_assigned":
        yield {**context, "due": None}
    if event == "sla_overdue":
        yield {**context, "as_supervisor": True, "holder_position": None}
    if event == "application_returned":
        yield {**context, "documents": []}
    if event == "account_invited":
        yield from ({**context, "role": role} for role in ("platform", "official"))


def _values(context):
    """The data an e-mail carries: the context's strings, the names, the document notes."""
    found = [v for k, v in context.items() if isinstance(v, str) and k != "base_url"]
    found.append(context["recipient"].name)
    for doc in context.get("documents") or []:
        found += [doc["label"], doc["note"]]
    return [v for v in found if v]


def test_every_event_renders_in_both_languages_with_the_contexts_real_flows_build(
        demo, storage, make_applicant, rendered):
    _every_event(storage, make_applicant)
    assert sorted({event for event, _context in rendered}) == EVENTS
    for event, recorded in list(rendered):  # rendering below records too
        for context in _variants(event, recorded):
            id_subject, id_text, id_html = outbox.render(event, context, "id")
            subject, body, html = outbox.render(event, context, "en")
            assert subject and subject != id_subject, event
            assert body.startswith(GREETING["en"]) and GREETING["id"] not in body, event
            assert html.startswith(f"<p>{GREETING['en']}") and GREETING["id"] not in html
            assert id_text.startswith(GREETING["id"]), event
            # The English says everything the Indonesian says: the same data in each part.
            for value in _values(context):
                if value in id_text:
                    assert value in body, (event, value)
                if value in id_subject:
                    assert value in subject, (event, value)


def test_no_deadline_and_the_applicants_own_task_are_worded_in_each_language():
    recipient = {"name": "Rina"}
    task = {"service": "Layanan", "step": "Cetak", "registration_number": "R-1",
            "link": "http://portal.test/tasks/1", "for_applicant": True, "due": None,
            "recipient": recipient}
    assert "Deadline: no deadline" in outbox.render("task_assigned", task, "en")[1]
    assert "Batas waktu: tanpa batas waktu" in outbox.render("task_assigned", task, "id")[1]
    overdue = {**task, "due": "23-11-2026 14:05 WIB", "as_supervisor": True,
               "holder_position": None}
    assert '"Cetak" (applicant)' in outbox.render("sla_overdue", overdue, "en")[1]
    assert '"Cetak" (Pemohon)' in outbox.render("sla_overdue", overdue, "id")[1]


# -- through the web and a real SMTP server ----------------------------------------------------


def _subject(message) -> str:
    return str(make_header(decode_header(message["Subject"])))


def _to(smtp, address):
    return [m for rcpts, m in smtp.messages if rcpts == [address]]


def _language_of(smtp, message) -> str:
    body = smtp.text_of(message)
    found = [lang for lang, greeting in GREETING.items() if body.startswith(greeting)]
    assert len(found) == 1, body[:200]
    return found[0]


def _register(app, smtp, email, choose=None):
    """Register through the pages (choosing a language first if told) and confirm the address
    from the link in the e-mail; returns the browser, logged in."""
    browser = Browser(app)
    if choose:
        browser.get(f"/lang/{choose}")
    browser.get("/register")
    response = browser.post("/register", {"name": "Rina Pemohon", "email": email,
                                          "password": PASSWORD}, follow_redirects=True)
    assert response.status_code == 200
    deliver()
    (verification,) = _to(smtp, email)
    link = next(word for word in smtp.text_of(verification).split()
                if word.startswith("http://portal.test/verify/"))
    assert browser.get(link.removeprefix("http://portal.test")).status_code == 303
    browser.login(email, PASSWORD)
    return browser, verification


@pytest.mark.parametrize(("choose", "language", "subject"), [
    ("en", "en", "Confirm your e-mail address at Absah"),
    (None, "id", "Konfirmasi alamat e-mail Anda di Absah"),
    ("id", "id", "Konfirmasi alamat e-mail Anda di Absah"),
])
def test_an_applicant_gets_every_e_mail_in_the_language_chosen_when_registering(
        app, demo, storage, smtp, choose, language, subject):
    email = f"rina.{choose or 'default'}@contoh.test"
    _browser, verification = _register(app, smtp, email, choose)
    assert _subject(verification) == subject
    assert _language_of(smtp, verification) == language
    user = User.by_email(email)
    assert user.language == language
    bangka = Agency.get(Agency.code == "dinkes-bangka")
    approvals.decide_approval(User.by_email(BANGKA_ADMIN),
                              approvals.request_approval(user, bangka), True)
    application, _ = walk("rekom-nakes", storage, applicant_email=email)
    assert application.status == "completed"
    deliver()
    mine = _to(smtp, email)
    events = {m["X-Absah-Event"] for m in mine}
    assert {"account_verify", "account_approved", "application_received", "task_assigned",
            "letter_issued", "application_completed"} <= events
    assert {_language_of(smtp, m) for m in mine} == {language}
    # The officials told along the way chose nothing: Bahasa Indonesia.
    others = [m for rcpts, m in smtp.messages if rcpts != [email]]
    assert others and {_language_of(smtp, m) for m in others} == {"id"}


def _switches():
    return list(AuditEvent.select().where(AuditEvent.action == "account.language")
                .order_by(AuditEvent.seq))


def test_switching_language_while_logged_in_changes_the_next_e_mail(app, demo, smtp,
                                                                    make_applicant):
    user = make_applicant()
    browser = Browser(app)
    browser.login(user.email, "x" * 12)
    browser.get("/lang/en")  # a plain link switches this browser, not the account
    assert User.get_by_id(user.id).language == "id"
    browser.get("/lang/id")
    assert browser.post("/lang/en", {"next": "/home"}).status_code == 303  # the footer's button
    assert User.get_by_id(user.id).language == "en"
    assert '<html lang="en">' in text(browser.get("/login"))
    browser.post("/lang/en")  # already English: nothing to store, nothing to record
    assert [(e.actor_id, e.object_id, e.data) for e in _switches()] == [
        (user.id, str(user.id), {"language": "en"})]

    accounts_operations.request_password_reset(user.email)
    deliver()
    assert _subject(smtp.messages[-1][1]) == "Reset your Absah password"

    browser.post("/lang/id")
    accounts_operations.request_password_reset(user.email)
    deliver()
    assert _subject(smtp.messages[-1][1]) == "Atur ulang kata sandi Absah"
    assert [e.data["language"] for e in _switches()] == ["en", "id"]


def test_switching_without_logging_in_or_to_an_unknown_language_stores_nothing(
        app, demo, make_applicant):
    user = make_applicant()
    Browser(app).post("/lang/en")
    assert User.get_by_id(user.id).language == "id"
    browser = Browser(app)
    browser.login(user.email, "x" * 12)
    browser.post("/lang/xx")
    assert browser.post("/lang/en", csrf=False).status_code == 400  # the form token is checked
    assert User.get_by_id(user.id).language == "id"
    assert _switches() == []


def test_an_official_an_english_speaking_admin_adds_gets_indonesian(demo):
    from portal.modules.accounts.staff import create_official

    admin = accounts_operations.set_language(User.by_email(BANGKA_ADMIN), "en")
    official = create_official(admin, "staf.baru@dinkes-bangka.absah.test", "Staf Baru",
                               password="sandi-awal-panjang")
    assert User.get_by_id(official.id).language == "id"


# -- the migration -----------------------------------------------------------------------------


def _language_column(database):
    return next((c for c in database.get_columns("user") if c.name == "language"), None)


def test_the_migration_adds_the_language_to_existing_accounts_and_reverts(app, demo):
    from playhouse.migrations import Runner

    database = app.extensions["database"]
    users = User.select().count()
    assert users > 0
    runner = Runner(database, str(MIGRATIONS_DIR))
    undone = []  # the later migrations first, down to 0007
    while "0007_user_language" not in undone:
        undone += runner.down()
    assert undone[-2:] == ["0008_user_session_nonce", "0007_user_language"]
    assert _language_column(database) is None
    assert pending_migrations(database) == undone[::-1]
    assert migrate(database) == undone[::-1]
    column = _language_column(database)
    assert column is not None and not column.null
    assert pending_migrations(database) == []
    assert User.select().count() == users
    assert {u.language for u in User.select()} == {"id"}
    kasi = Position.get(Position.key == "kasi_sdmk").assignments[0].user
    assert accounts_operations.set_language(kasi, "en").language == "en"
    assert User.get_by_id(kasi.id).language == "en"


def test_logging_in_on_a_new_browser_brings_back_the_account_s_language(app, demo,
                                                                        make_applicant):
    user = make_applicant()
    first = Browser(app)
    first.login(user.email, "x" * 12)
    first.post("/lang/en")
    elsewhere = Browser(app)  # nothing chosen in this browser
    elsewhere.login(user.email, "x" * 12)
    assert '<html lang="en">' in text(elsewhere.get("/home", follow_redirects=True))
    chosen = Browser(app)  # chosen here before logging in: this browser's choice wins
    chosen.get("/lang/id")
    chosen.login(user.email, "x" * 12)
    assert '<html lang="id">' in text(chosen.get("/home", follow_redirects=True))
