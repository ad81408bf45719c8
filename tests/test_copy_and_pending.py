"""Issue 13 (7, 8): the interface speaks Bahasa Indonesia without English verbs and English
in English mode, durations read as people say them, registers show labels not codes; and
work waiting for an approver is in their inbox, with what the SOP says they check."""

from __future__ import annotations

import re

import pytest
from test_queries import counting
from webclient import Browser, text

from portal.calendar.duration import Duration, Unit, parse_duration
from portal.modules.accounts import approvals
from portal.modules.agencies.models import Agency
from portal.modules.applications.models import Task
from portal.modules.applications.timeline import timeline
from portal.modules.demo.data import DEMO_APPLICANT, walk
from portal.modules.sops.registry import SEEDS_DIR
from portal.modules.sops.spec import load_sop_file

PASSWORD = "demo-test-password"
BANGKA_ADMIN = "admin@dinkes-bangka.absah.test"
SDMK_ADMIN = "sdmk.admin@dinkes-bangka.absah.test"  # activates accounts in rekom-nakes
KASI_SDMK = "kasi.sdmk@dinkes-bangka.absah.test"
MALANG_PTSP_ADMIN = "admin@dpmptsp-malang.absah.test"
ENGLISH_VERBS = re.compile(r"\b(approve|approved|reject|submit|upload|mengapprove|mengupload)\b",
                           re.IGNORECASE)


def _browser(app, email, language="id"):
    browser = Browser(app)
    if language != "id":
        browser.get(f"/lang/{language}")
    browser.login(email, PASSWORD)
    return browser


def _visible(page: str) -> str:
    """The words of a page, without its markup (attribute values are not copy)."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"<[^>]+>", " ", page)


# ---------------------------------------------------------------------------------------------
# Copy


@pytest.mark.parametrize("path", sorted(SEEDS_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_no_seed_offers_an_english_verb_to_click_or_read(path):
    spec = load_sop_file(path)
    for step in spec.steps:
        assert not ENGLISH_VERBS.search(step.title), step.title
        for outcome in step.outcomes:
            assert not ENGLISH_VERBS.search(outcome.label), (step.key, outcome.label)


def test_the_outcome_keys_stay_while_the_labels_are_indonesian():
    spec = load_sop_file(SEEDS_DIR / "rekom-nakes.yaml")
    assert spec.step("check").outcome("complete").label == "Lengkap (setujui)"
    assert spec.step("approve_kasi").outcome("approved").label == "Setujui"
    assert spec.step("sign").outcome("signed").label == "Setujui dan tandatangani"
    assert spec.step("activate").outcome("approved").label == "Setujui data pemohon"


def test_an_approval_step_page_has_no_approve(app, demo, storage):
    application, _path = walk("rekom-nakes", storage, until="approve_kasi")
    task = Task.open_for(application)
    assert task.step_key == "approve_kasi"
    official = _browser(app, KASI_SDMK)
    page = _visible(text(official.get(f"/tasks/{task.id}")))
    assert "Setujui" in page
    assert "Approve" not in page and "approve" not in page.lower().replace("approved", "")
    tracking = _visible(text(official.get(f"/applications/{application.id}")))
    assert "Approve" not in tracking and "Lengkap (setujui)" in tracking


def test_durations_read_as_people_say_them_in_both_languages():
    assert parse_duration("2985 minutes").label("id") == "49 jam 45 menit"
    assert parse_duration("2985 minutes").label("en") == "49 hours 45 minutes"
    assert parse_duration("2 working days").label("id") == "2 hari kerja"
    assert parse_duration("2 working days").label("en") == "2 working days"
    assert parse_duration("1 working day").label("en") == "1 working day"
    assert parse_duration("60 minutes").label("en") == "1 hour"
    assert parse_duration("1 month").label("en") == "1 month"
    assert Duration(0, Unit.WORKING_DAYS).label("id") == "tanpa waktu standar"
    assert Duration(0, Unit.WORKING_DAYS).label("en") == "no standard time"
    spec = load_sop_file(SEEDS_DIR / "info-kompetensi-teknis.yaml")
    assert spec.total_label() == "49 jam 45 menit"
    assert spec.total_label("en") == "49 hours 45 minutes"


def test_service_pages_show_human_durations_in_each_language(app, demo):
    browser = Browser(app)
    page = _visible(text(browser.get("/services/info-kompetensi-teknis")))
    assert "49 jam 45 menit" in page and "2985" not in page
    catalogue = _visible(text(browser.get("/")))
    assert "49 jam 45 menit" in catalogue and "7 hari kerja" in catalogue
    assert "SOP 1 " not in catalogue and "SOP nomor 1, versi 1" in catalogue
    browser.get("/lang/en")
    english = _visible(text(browser.get("/services/info-kompetensi-teknis")))
    assert "49 hours 45 minutes" in english and "menit" not in english
    english = _visible(text(browser.get("/services/sik-perekam-medis")))
    assert "7 working days" in english and "hari kerja" not in english
    catalogue = _visible(text(browser.get("/")))
    assert "49 hours 45 minutes" in catalogue and "menit" not in catalogue


def test_a_step_without_a_standard_time_says_so(app, demo, storage):
    application, _path = walk("sik-perekam-medis", storage, until="check")
    rows = {r.key: r for r in timeline(application, "id")}
    assert rows["submit"].standard == "tanpa waktu standar"  # "0 working days" in the SOP
    assert rows["register_handover"].standard == "standar 2 jam"
    english = {r.key: r for r in timeline(application, "en")}
    assert english["register_handover"].standard == "standard 2 hours"
    applicant = _browser(app, DEMO_APPLICANT)
    page = _visible(text(applicant.get(f"/applications/{application.id}")))
    assert "standar 0" not in page and "tanpa waktu standar" in page
    applicant.get("/lang/en")
    page = _visible(text(applicant.get(f"/applications/{application.id}")))
    assert "standard 2 hours" in page and " jam" not in page and "menit" not in page


def test_the_letters_register_shows_labels_and_status_words(app, demo, storage):
    application, _path = walk("sik-perekam-medis", storage)
    admin = _browser(app, MALANG_PTSP_ADMIN)
    page = _visible(text(admin.get("/letters")))
    assert "ktp_copy" not in page and "(applicant" not in page
    assert "Pemohon sendiri" in page and "Fotokopi KTP" in page
    assert "berlaku" in page and re.search(r"\bvalid\b", page) is None
    letter_page = admin.get("/letters")
    letter_id = re.search(r'href="/letters/(\d+)"', text(letter_page)).group(1)
    assert "berlaku" in _visible(text(admin.get(f"/letters/{letter_id}")))
    admin.get("/lang/en")
    english = _visible(text(admin.get("/letters")))
    assert re.search(r"\bvalid\b", english) and "berlaku" not in english


# ---------------------------------------------------------------------------------------------
# Pending work


def _bangka() -> Agency:
    return Agency.get(Agency.code == "dinkes-bangka")


def test_an_approvers_inbox_shows_the_waiting_accounts_and_changes_when_one_arrives(
        app, demo, make_applicant):
    approver = _browser(app, SDMK_ADMIN)
    first = approver.get("/inbox")
    assert "Persetujuan akun menunggu" not in text(first)
    etag = first.headers["ETag"]
    assert approver.get("/inbox", headers={"If-None-Match": etag}).status_code == 304

    approvals.request_approval(make_applicant(approved=False), _bangka())
    changed = approver.get("/inbox", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert "Persetujuan akun menunggu (1)" in text(changed)
    assert 'href="/admin/approvals"' in text(changed)

    etag = changed.headers["ETag"]
    approvals.request_approval(make_applicant(approved=False), _bangka())
    again = approver.get("/inbox", headers={"If-None-Match": etag})
    assert again.status_code == 200 and "Persetujuan akun menunggu (2)" in text(again)


def test_officials_who_do_not_approve_see_no_approvals_in_their_inbox(app, demo,
                                                                       make_applicant):
    approvals.request_approval(make_applicant(approved=False), _bangka())
    page = text(_browser(app, KASI_SDMK).get("/inbox"))
    assert "Persetujuan akun menunggu" not in page


def test_the_inbox_asks_one_count_more_only_of_approvers(app, demo, make_applicant):
    approvals.request_approval(make_applicant(approved=False), _bangka())
    for email, expected in ((SDMK_ADMIN, 1), (KASI_SDMK, 0)):
        browser = _browser(app, email)
        browser.get("/inbox")
        with counting() as statements:
            browser.get("/inbox")
        asked = [s for s in statements if "account_approval" in s and "COUNT" in s.upper()]
        assert len(asked) == expected, (email, asked)


def test_the_approval_page_shows_the_sops_activation_check_and_registration(app, demo,
                                                                           make_applicant):
    applicant = make_applicant(approved=False, verified=False)
    applicant.phone = "081234567890"
    applicant.save()
    approvals.request_approval(applicant, _bangka())
    page = _visible(text(_browser(app, BANGKA_ADMIN).get("/admin/approvals")))
    assert "Yang diperiksa menurut SOP" in page
    assert "Seksi SDMK (Admin) akan menyetujui data pemohon" in page  # rekom-nakes, row 3
    assert "langkah 3" in page
    assert applicant.name in page and applicant.email in page and "081234567890" in page
    assert "Terdaftar" in page and "belum dikonfirmasi" in page
    english = _browser(app, SDMK_ADMIN, "en")
    page = _visible(text(english.get("/admin/approvals")))
    assert "What the SOP says to check" in page and "Registered" in page
