"""Confirming the e-mail address (issue 13, items 5 and 6): the demo mailbox, the banner
with "kirim ulang tautan", a submission before confirmation kept as a draft, and /register
answering htmx with its panel only."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from webclient import Browser, text

from portal.config import Config
from portal.mail.models import OutboxMessage
from portal.modules.accounts.models import User
from portal.modules.applications.models import Application, Document
from portal.modules.audit.models import AuditEvent
from portal.modules.demo.data import sample_form, sample_pdf, sample_png
from portal.modules.sops.models import SopVersion

PASSWORD = "rahasia-sekali-1"
APPLICANT_PASSWORD = "x" * 12  # make_applicant's


def _register(app, email, htmx=False):
    browser = Browser(app, htmx=htmx)
    browser.get("/register")
    response = browser.post("/register", {"name": "Rina Pemohon", "email": email,
                                          "password": PASSWORD})
    return browser, response


# ---------------------------------------------------------------------------------------------
# The demo mailbox

@pytest.fixture
def mailbox_on(app):
    """The same app with the demo mailbox on (as `make run` starts it)."""
    import dataclasses

    config = app.extensions["portal.config"]
    app.extensions["portal.config"] = dataclasses.replace(config, demo_mailbox=True)
    app.jinja_env.globals["demo_mailbox"] = True
    return app


def test_the_flag_comes_from_the_environment_and_is_off_by_default(tmp_path):
    assert Config.from_environ({}, tmp_path).demo_mailbox is False
    assert Config.from_environ({"PORTAL_DEMO_MAILBOX": "1"}, tmp_path).demo_mailbox is True
    assert Config.from_environ({"PORTAL_DEMO_MAILBOX": "0"}, tmp_path).demo_mailbox is False


def test_the_make_run_target_turns_the_mailbox_on_and_prints_its_address():
    from pathlib import Path

    makefile = (Path(__file__).resolve().parents[1] / "Makefile").read_text()
    assert "run: export PORTAL_DEMO_MAILBOX ?= 1" in makefile
    assert "/dev/mailbox" in makefile


def test_without_the_flag_the_mailbox_is_not_there(app):
    _register(app, "rina@contoh.test")
    message = OutboxMessage.get()
    browser = Browser(app)
    assert browser.get("/dev/mailbox").status_code == 404
    assert browser.get(f"/dev/mailbox/{message.id}").status_code == 404
    assert "/dev/mailbox" not in text(browser.get("/register/sent"))


def test_the_mailbox_shows_the_confirmation_link_and_following_it_confirms(mailbox_on):
    app = mailbox_on
    browser, response = _register(app, "rina@contoh.test")
    assert response.status_code == 303
    sent = browser.get(response.headers["Location"])
    assert "/dev/mailbox" in text(sent)  # the newcomer is told where the e-mail is
    _register(app, "budi@contoh.test")

    visitor = Browser(app)  # no login needed: the newcomer is not confirmed yet
    listing = visitor.get("/dev/mailbox")
    assert listing.status_code == 200
    page = text(listing)
    assert page.index("budi@contoh.test") < page.index("rina@contoh.test")  # newest first
    rina = OutboxMessage.get(OutboxMessage.to_address == "rina@contoh.test")
    assert rina.status == "pending"  # no SMTP server: kept in the outbox
    assert f'href="/dev/mailbox/{rina.id}"' in page

    shown = visitor.get(f"/dev/mailbox/{rina.id}")
    assert shown.status_code == 200
    assert rina.subject in text(shown)
    link = re.search(r'<a class="hash" href="(http://portal\.test/verify/[^"]+)"', text(shown))
    assert link, text(shown)
    assert User.by_email("rina@contoh.test").email_verified_at is None
    confirmed = browser.get(link.group(1).removeprefix("http://portal.test"))
    assert confirmed.status_code == 303
    assert User.by_email("rina@contoh.test").email_verified_at is not None
    assert visitor.get("/dev/mailbox/999999").status_code == 404


def test_the_mailbox_escapes_the_text_and_links_only_web_addresses():
    from portal.mail.mailbox import linkify

    html = str(linkify("Halo <b>Rina</b>,\nbuka http://portal.test/verify/abc.\njavascript:x"))
    assert "&lt;b&gt;Rina&lt;/b&gt;" in html
    assert '<a class="hash" href="http://portal.test/verify/abc">' in html
    assert "abc</a>." in html and 'href="javascript' not in html


# ---------------------------------------------------------------------------------------------
# /register with and without htmx

def test_registering_with_htmx_swaps_the_register_panel_only(app):
    browser, refused = _register(app, "bukan-alamat", htmx=True)
    assert refused.status_code == 422
    body = text(refused)
    assert "<main" not in body and "<html" not in body and "<header" not in body
    assert body.lstrip().startswith('<div id="register">') and 'hx-target="#register"' in body

    browser, response = _register(app, "rina@contoh.test", htmx=True)
    assert response.status_code == 200
    body = text(response)
    assert "<main" not in body and "<html" not in body and "<footer" not in body
    assert body.count('id="register"') == 1 and "Periksa e-mail" in body
    assert "rina@contoh.test" in body and "<form" not in body


def test_registering_without_javascript_redirects_to_check_your_e_mail(app):
    browser, response = _register(app, "rina@contoh.test")
    assert response.status_code == 303 and response.headers["Location"] == "/register/sent"
    page = browser.get("/register/sent")
    assert page.status_code == 200 and "Periksa e-mail" in text(page)
    assert "rina@contoh.test" in text(page) and text(page).count("<main") == 1
    assert Browser(app).get("/register/sent").status_code == 302  # nothing registered here


# ---------------------------------------------------------------------------------------------
# The banner and "kirim ulang tautan"

def _logged_in(app, user):
    browser = Browser(app)
    browser.login(user.email, APPLICANT_PASSWORD)
    return browser


def test_an_unconfirmed_applicant_sees_the_banner_on_every_page(app, demo, make_applicant):
    unconfirmed = _logged_in(app, make_applicant(verified=False))
    for url in ("/applications", "/", "/services/rekom-nakes"):
        page = unconfirmed.get(url)
        assert page.status_code == 200, url
        assert 'id="unconfirmed"' in text(page) and "Kirim ulang tautan" in text(page), url
    confirmed = _logged_in(app, make_applicant())
    assert 'id="unconfirmed"' not in text(confirmed.get("/applications"))


def test_the_banner_disappears_once_confirmed_even_from_a_cached_page(app, make_applicant):
    from portal.modules.accounts import operations

    user = make_applicant(verified=False)
    browser = _logged_in(app, user)
    first = browser.get("/applications")
    assert 'id="unconfirmed"' in text(first)
    operations.verify_email(user)
    etag = first.headers.get("ETag")
    again = browser.get("/applications", headers={"If-None-Match": etag} if etag else {})
    assert again.status_code == 200 and 'id="unconfirmed"' not in text(again)


def test_resending_the_link_queues_it_once_a_minute(app, make_applicant, monkeypatch):
    from portal.modules.accounts import operations

    user = make_applicant(verified=False)
    browser = _logged_in(app, user)
    browser.get("/applications")
    sent = browser.post("/account/confirm/resend", {"back": "/applications"})
    assert sent.status_code == 303 and sent.headers["Location"] == "/applications"
    assert "Tautan konfirmasi baru dikirim" in text(browser.get("/applications"))
    queued = OutboxMessage.select().where((OutboxMessage.recipient == user)
                                          & (OutboxMessage.event == "account_verify"))
    assert queued.count() == 1 and "/verify/" in queued.get().body_text
    resent = AuditEvent.select().where(AuditEvent.action == "account.verification_resent")
    assert resent.count() == 1

    refused = browser.post("/account/confirm/resend", {"back": "/applications"})
    assert refused.status_code == 429
    assert "coba lagi dalam satu menit" in text(refused)
    assert "Kirim ulang tautan" in text(refused)
    assert queued.count() == 1

    later = operations.utcnow() + dt.timedelta(minutes=1, seconds=5)
    monkeypatch.setattr(operations, "utcnow", lambda: later)
    assert browser.post("/account/confirm/resend", {"back": "/applications"}).status_code == 303
    assert queued.count() == 2


def test_resending_needs_the_form_token_and_a_login(app, make_applicant):
    browser = _logged_in(app, make_applicant(verified=False))
    assert browser.post("/account/confirm/resend", csrf=False).status_code == 400
    assert Browser(app).post("/account/confirm/resend").status_code == 302  # to login
    assert OutboxMessage.select().count() == 0


def test_resending_goes_back_only_to_this_site(app, make_applicant):
    browser = _logged_in(app, make_applicant(verified=False))
    response = browser.post("/account/confirm/resend", {"back": "//evil.test/x"})
    assert response.status_code == 303 and response.headers["Location"] == "/account/confirm"


def test_a_confirmed_account_has_nothing_to_resend(app, make_applicant):
    browser = _logged_in(app, make_applicant())
    response = browser.post("/account/confirm/resend", {"back": "/applications"})
    assert response.status_code == 303
    assert OutboxMessage.select().count() == 0
    assert "sudah terkonfirmasi" in text(browser.get("/applications"))


def test_resending_after_registration_waits_a_minute(app):
    from portal.modules.accounts import operations
    from portal.modules.accounts.operations import ResendTooSoon

    user = operations.register_applicant("rina@contoh.test", "Rina", PASSWORD)
    with pytest.raises(ResendTooSoon):
        operations.resend_verification(user)


# ---------------------------------------------------------------------------------------------
# Submitting before confirming: the work is kept as a draft

def _apply_data(browser, code):
    spec = SopVersion.current(code).spec
    form_page = browser.get(f"/services/{code}/apply")
    assert form_page.status_code == 200
    key = re.search(r'name="submission_key" value="([^"]+)"', text(form_page)).group(1)
    values = sample_form(spec, dt.date.today())
    opening = spec.application_steps[0].key
    data = {**values, "submission_key": key, "action": "submit"}
    for doc in spec.documents:
        if (doc.step or opening) == opening and doc.applies(values):
            data[f"doc_{doc.key}"] = ((io.BytesIO(sample_pdf(doc.label)), f"{doc.key}.pdf")
                                      if "pdf" in doc.media
                                      else (io.BytesIO(sample_png()), f"{doc.key}.png"))
    return values, data


@pytest.mark.parametrize("with_files", [True, False])
def test_submitting_before_confirming_keeps_a_draft_and_says_what_to_do(
        app, demo, make_applicant, with_files):
    from portal.modules.accounts import operations

    code = "rekom-nakes"
    user = make_applicant(verified=False)
    browser = _logged_in(app, user)
    values, data = _apply_data(browser, code)
    if not with_files:
        data = {k: v for k, v in data.items() if not k.startswith("doc_")}
    response = browser.post(f"/services/{code}/apply", data, content_type="multipart/form-data")
    assert response.status_code == 303, text(response)[:2000]
    draft = Application.get(Application.applicant == user)
    assert draft.status == "draft" and draft.registration_number is None
    assert draft.form_data == {k: v for k, v in values.items() if k in draft.form_data}
    assert Document.select().where(Document.application == draft).exists() == with_files
    draft_url = f"/services/{code}/apply?draft={draft.id}"
    assert response.headers["Location"].startswith("/account/confirm?next=")

    page = browser.get(response.headers["Location"])
    assert page.status_code == 200
    body = text(page)
    assert "Konfirmasi alamat e-mail Anda terlebih dahulu" in body
    assert "disimpan sebagai draf" in body and "Kirim ulang tautan" in body
    assert f'href="{draft_url}"' in body
    assert user.email in body
    assert browser.get(draft_url).status_code == 200  # the draft is reachable
    assert browser.get(f"/applications/{draft.id}").headers["Location"] == draft_url
    assert f"/applications/{draft.id}" in text(browser.get("/applications"))

    # Sending the link again from that page, then confirming and submitting the draft.
    resent = browser.post("/account/confirm/resend",
                          {"back": response.headers["Location"], "next": draft_url})
    assert resent.status_code == 303
    operations.verify_email(user)
    assert "Lanjutkan draf" in text(browser.get(response.headers["Location"]))
    if not with_files:
        return
    final = {k: v for k, v in data.items() if not k.startswith("doc_")}
    final["draft"] = str(draft.id)
    submitted = browser.post(f"/services/{code}/apply", final,
                             content_type="multipart/form-data")
    assert submitted.status_code == 303, text(submitted)[:2000]
    assert Application.get_by_id(draft.id).status != "draft"
