"""What operations refuse is said in the reader's language: each page shows the message in
Bahasa Indonesia by default and in English once English is chosen, never the other one."""

from __future__ import annotations

import datetime as dt

import pytest
from webclient import Browser, text, verdicts

from portal.core.errors import NotFound
from portal.core.i18n import LazyText
from portal.core.i18n import lazy_gettext as _l
from portal.modules.accounts.models import User
from portal.modules.agencies.models import Agency, DayOff
from portal.modules.applications import operations
from portal.modules.applications.models import Task
from portal.modules.demo.data import DEMO_APPLICANT, sample_form, sample_uploads, walk
from portal.modules.sops.models import SopVersion

PASSWORD = "demo-test-password"
BANGKA_ADMIN = "admin@dinkes-bangka.absah.test"
SDMK_ADMIN = "sdmk.admin@dinkes-bangka.absah.test"

# Each message as Bahasa Indonesia (the msgid) and English (the catalogue's translation).
SAYS = {
    "bad_email": ("Alamat e-mail tidak valid.", "Invalid e-mail address."),
    "short_password": ("Kata sandi minimal 10 karakter.",
                       "The password must be at least 10 characters long."),
    "login_refused": ("E-mail atau kata sandi salah.", "Wrong e-mail or password."),
    "position_key": ("Kunci hanya huruf, angka dan garis bawah (_), diawali huruf, maksimal "
                     "64 karakter.",
                     "The key may contain only letters, digits and underscores (_), must start "
                     "with a letter, and may be at most 64 characters long."),
    "day_off_twice": ("Tanggal ini sudah tercatat sebagai hari libur.",
                      "This date is already recorded as a day off."),
    "day_off_missing": ("Hari libur tidak ditemukan.", "Day off not found."),
    "note_required": ("Alasan wajib diisi.", "A reason is required."),
    "already_decided": ("Tugas ini sudah diputuskan oleh", "This task was already decided by"),
    "page_not_found": ("Halaman tidak ditemukan.", "Page not found."),
    "revoke_reason": ("Sebutkan alasan pencabutan.", "Give the reason for revoking."),
}
LANGS = ("id", "en")


def says(response, key: str, lang: str) -> None:
    """The page carries the message in ``lang``, and not in the other language."""
    indonesian, english = SAYS[key]
    expected, other = (indonesian, english) if lang == "id" else (english, indonesian)
    page = text(response)
    assert expected in page, f"{key}: {expected!r} missing from the {lang} page"
    assert other not in page, f"{key}: {other!r} on the {lang} page"
    assert f'<html lang="{lang}">' in page or "<html" not in page


def browser_in(app, lang: str, htmx: bool = False) -> Browser:
    """A browser whose pages are in ``lang`` (the footer's plain link switches it)."""
    browser = Browser(app, htmx=htmx)
    assert browser.get(f"/lang/{lang}?next=/login").status_code in (302, 303)
    return browser


def _next_working_day(agency: Agency) -> dt.date:
    calendar = agency.calendar()
    day = dt.date.today() + dt.timedelta(days=10)
    while not calendar.is_working_day(day):
        day += dt.timedelta(days=1)
    return day


# ---------------------------------------------------------------------------------------------
# Outside a request


def test_a_lazy_message_is_indonesian_outside_a_request_and_english_on_demand():
    message = _l("Kata sandi minimal %(n)s karakter.", n=10)
    assert isinstance(message, LazyText)
    assert str(message) == "Kata sandi minimal 10 karakter."
    assert message.in_language("en") == "The password must be at least 10 characters long."
    assert message.in_language("id") == "Kata sandi minimal 10 karakter."
    refused = NotFound(_l("Tugas tidak ditemukan."))
    assert str(refused) == "Tugas tidak ditemukan."  # what the CLI prints
    assert refused.message.in_language("en") == "Task not found."


# ---------------------------------------------------------------------------------------------
# Through the web, in both languages


@pytest.mark.parametrize("lang", LANGS)
def test_registration_with_a_bad_address_and_a_short_password(app, lang):
    browser = browser_in(app, lang)
    browser.get("/register")
    response = browser.post("/register", {"email": "bukan-alamat", "name": "Budi",
                                          "password": "pendek"})
    assert response.status_code == 422
    says(response, "bad_email", lang)
    says(response, "short_password", lang)


@pytest.mark.parametrize("lang", LANGS)
def test_a_refused_login(app, demo, lang):
    browser = browser_in(app, lang)
    browser.get("/login")
    response = browser.post("/login", {"email": BANGKA_ADMIN, "password": "salah-sekali"})
    assert response.status_code == 422
    says(response, "login_refused", lang)


@pytest.mark.parametrize("lang", LANGS)
def test_a_position_with_a_bad_key(app, demo, lang):
    browser = browser_in(app, lang)
    browser.login(BANGKA_ADMIN, PASSWORD)
    response = browser.post("/admin/positions", {"key": "kasi sdmk!", "title": "Kasi"})
    assert response.status_code == 422
    says(response, "position_key", lang)


@pytest.mark.parametrize("lang", LANGS)
def test_a_day_off_added_twice_and_one_that_does_not_exist(app, demo, lang):
    browser = browser_in(app, lang)
    browser.login(BANGKA_ADMIN, PASSWORD)
    agency = Agency.get(Agency.code == "dinkes-bangka")
    day = _next_working_day(agency).isoformat()
    assert browser.post("/admin/days-off", {"day": day, "name": "Cuti bersama"}).status_code \
        == 303
    twice = browser.post("/admin/days-off", {"day": day, "name": "Lagi"})
    assert twice.status_code == 422
    says(twice, "day_off_twice", lang)
    missing_id = DayOff.select().order_by(DayOff.id.desc()).first().id + 1000
    missing = browser.post(f"/admin/days-off/{missing_id}/delete", {})
    assert missing.status_code == 404
    says(missing, "day_off_missing", lang)


@pytest.mark.parametrize("lang", LANGS)
def test_a_decision_without_its_reason_then_one_already_taken(app, demo, storage, lang):
    spec = SopVersion.current("rekom-nakes").spec
    form = sample_form(spec, dt.date.today())
    application = operations.submit_application(
        User.by_email(DEMO_APPLICANT), "rekom-nakes", form,
        sample_uploads(spec, spec.application_steps[0].key, form), storage)
    task = Task.open_for(application)
    browser = browser_in(app, lang)
    browser.login(SDMK_ADMIN, PASSWORD)
    assert browser.get(f"/tasks/{task.id}").status_code == 200
    without = browser.post(f"/tasks/{task.id}/decide", {"outcome": "incomplete"})
    assert without.status_code == 422
    says(without, "note_required", lang)

    # Someone else decides first: the late decision names who, in the reader's language.
    decider = User.by_email(SDMK_ADMIN)
    operations.decide(task.id, decider, "complete", verdicts=verdicts(task))
    late = browser.post(f"/tasks/{task.id}/decide", {"outcome": "incomplete", "note": "kurang"})
    assert late.status_code == 409
    says(late, "already_decided", lang)
    assert decider.name in text(late)


@pytest.mark.parametrize("lang", LANGS)
def test_a_task_that_does_not_exist(app, demo, lang):
    browser = browser_in(app, lang)
    browser.login(SDMK_ADMIN, PASSWORD)
    response = browser.get("/tasks/987654")
    assert response.status_code == 404
    says(response, "page_not_found", lang)


def test_revoking_a_letter_without_a_reason_in_both_languages(app, demo, storage):
    application, _path = walk("rekom-nakes", storage)
    letter = {lt.letter_key: lt for lt in application.letters}["rekomendasi"]
    browser = Browser(app)
    browser.login(BANGKA_ADMIN, PASSWORD)
    for lang in LANGS:
        browser.get(f"/lang/{lang}?next=/letters/{letter.id}")
        refused = browser.post(f"/letters/{letter.id}", {"action": "revoke"})
        assert refused.status_code == 422
        says(refused, "revoke_reason", lang)
