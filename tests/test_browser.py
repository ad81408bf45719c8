"""Two seed SOPs walked end to end in a real browser, by what a person sees: labels, button
texts, link texts. The portal runs the way ``make run`` runs it (migrate, demo data, a real
WSGI server) on a free loopback port; Chromium is Debian's, driven by Playwright. Each walk
runs with JavaScript (htmx swaps fragments) and without (plain forms), one browser context
per person. Two smaller tests try the application form's secondary buttons; the last one
measures approvals on an emulated 2G line and prints the figures.

Screenshots of the key pages go to test-artifacts/browser/<test name>/."""

from __future__ import annotations

import contextlib
import hashlib
import re
import time
from pathlib import Path

import pytest
from browser_support import Portal, artifact_dir, chromium_session, skip_reason

_REASON = skip_reason()
if _REASON:
    pytest.skip(_REASON, allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402

from portal.modules.demo.data import sample_pdf, sample_png  # noqa: E402

APPLICANT = "pemohon@absah.test"
TIMEOUT_MS = 15_000
expect.set_options(timeout=TIMEOUT_MS)

# Surat Izin Kerja Perekam Medis (DPMPTSP Kab. Malang, technical team at Dinkes Kab. Malang).
SIK = "Surat Izin Kerja Perekam Medis"
MALANG = "dpmptsp-malang.absah.test"
PETUGAS = f"petugas.perekonomian@{MALANG}"
SEKRETARIAT = f"petugas.sekretariat@{MALANG}"
SIK_FIELDS = {
    "Nama lengkap": "Rina Wulandari",
    "NIK": "3507010101900001",
    "Nomor STR": "PMIK 1234567890",
    "STR berlaku sampai dengan": "2030-12-31",
    "Nama fasilitas pelayanan kesehatan tempat bekerja": "RSUD Kanjuruhan",
    "Alamat fasilitas pelayanan kesehatan": "Jl. Panji No. 100, Kepanjen, Kab. Malang",
}
PHOTO = "Pas foto berwarna terbaru ukuran 4x6 cm"
SIK_DOCUMENTS = {
    "Fotokopi STR yang masih berlaku dan dilegalisir": "str.pdf",
    "Surat keterangan sehat dari dokter yang memiliki Surat Izin Praktik": "sehat.pdf",
    "Surat pernyataan memiliki tempat kerja di fasilitas pelayanan kesehatan atau surat "
    "keterangan dari pimpinan fasilitas pelayanan kesehatan": "pernyataan.pdf",
    PHOTO: "foto.png",
    "Rekomendasi dari organisasi profesi (PORMIKI)": "pormiki.pdf",
}

# Penyampaian Informasi ... Kompetensi Teknis (BPSDM Prov. Kalimantan Barat): internal.
INFO = "Penyampaian Informasi Penyelenggaraan Kegiatan Pengembangan Kompetensi Teknis"
KALBAR = "bpsdm-kalbar.absah.test"
JFT = f"jft.pkt@{KALBAR}"
KABID = f"kabid.pkt@{KALBAR}"
INFO_FIELDS = {
    "Nama kegiatan pengembangan kompetensi teknis": "Pelatihan Pengadaan Barang/Jasa",
    "Tanggal mulai kegiatan": "2026-09-07",
    "Tanggal selesai kegiatan": "2026-09-11",
    "Tujuan surat (instansi/perangkat daerah)": "Seluruh perangkat daerah Prov. Kalimantan Barat",
}
INFO_DOCUMENTS = {
    "Agenda pelaksanaan kegiatan": "agenda.pdf",
    "Draf Surat Penawaran": "draf-surat-penawaran.pdf",
    "Draf Nota Dinas": "draf-nota-dinas.pdf",
}

NOTICES: list[str] = []  # what a person would trip over, printed at the end of the module


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    with Portal(tmp_path_factory.mktemp("browser") / "instance") as running:
        yield running


@pytest.fixture(scope="module")
def browser(portal):
    with chromium_session() as chromium:
        yield chromium


@pytest.fixture(scope="module", autouse=True)
def _notices(request):
    """At the end of the module, what a person tripped over (shown even without -s)."""
    yield
    if NOTICES:
        capture = request.config.pluginmanager.getplugin("capturemanager")
        with capture.global_and_fixture_disabled():
            print("\nBrowser tests, what a person ran into:")
            for notice in dict.fromkeys(NOTICES):
                print(f"  - {notice}")


@pytest.fixture
def files(tmp_path):
    """Sample uploads on disk, the way a person picks them in the file dialog."""
    folder = tmp_path / "uploads"
    folder.mkdir()
    for name in (*SIK_DOCUMENTS.values(), *INFO_DOCUMENTS.values()):
        path = folder / name
        path.write_bytes(sample_png() if name.endswith(".png")
                         else sample_pdf(f"Contoh {name.removesuffix('.pdf')}"))
    return folder


class Shots:
    """Numbered full-page screenshots under test-artifacts/browser/<test name>/."""

    def __init__(self, folder: Path):
        self.folder = folder
        for old in folder.glob("*.png"):
            old.unlink()
        self.count = 0

    def __call__(self, page, name: str) -> None:
        self.count += 1
        page.screenshot(path=self.folder / f"{self.count:02d}-{name}.png", full_page=True)


@pytest.fixture
def shots(request):
    return Shots(artifact_dir(request.node.name))


class Person:
    """One person at their own browser: a fresh context (cookies) and one tab."""

    def __init__(self, browser, portal: Portal, email: str, js: bool):
        self.email = email
        self.portal = portal
        self.js = js
        self.context = browser.new_context(java_script_enabled=js, base_url=portal.base_url,
                                           accept_downloads=True, locale="id-ID")
        self.context.set_default_timeout(TIMEOUT_MS)
        self.page = self.context.new_page()

    def log_in(self) -> Person:
        page = self.page
        page.goto("/login")
        page.get_by_label("E-mail").fill(self.email)
        page.get_by_label("Kata sandi").fill(self.portal.password)
        page.get_by_role("button", name="Masuk", exact=True).click()
        expect(page.get_by_role("button", name="Keluar")).to_be_visible()
        return self

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def people(browser, portal):
    """people(email, js) -> that person, logged in; one context each, closed at teardown."""
    opened: dict[tuple[str, bool], Person] = {}

    def person(email: str, js: bool) -> Person:
        if (email, js) not in opened:
            opened[(email, js)] = Person(browser, portal, email, js).log_in()
        return opened[(email, js)]

    yield person
    for each in opened.values():
        with contextlib.suppress(Exception):
            each.close()


# ---------------------------------------------------------------- what people do


def open_service(page, shots, title: str) -> None:
    """From the catalogue (the brand link) to the service's own page, by its title."""
    page.get_by_role("link", name="Absah", exact=True).click()
    expect(page.get_by_role("heading", name="Layanan", exact=True)).to_be_visible()
    if shots is not None:
        shots(page, "catalogue")
    page.get_by_role("link", name=title, exact=True).click()
    expect(page.get_by_role("heading", name=title, level=1)).to_be_visible()


def fill_form(page, js: bool, fields: dict[str, str], choices: dict[str, str],
              documents: dict[str, str], folder: Path) -> None:
    if js:
        page.wait_for_load_state()  # htmx (a deferred script) is in place before a choice
    for label, option in choices.items():
        select = page.get_by_label(label)
        if js and select.get_attribute("hx-get"):
            # The choice refreshes the conditional part of the form (an htmx swap): wait for
            # the swapped-in fields before typing into them.
            old = page.locator("#apply-fields").element_handle()
            select.select_option(label=option)
            old.wait_for_element_state("hidden")
            old.dispose()
        else:
            select.select_option(label=option)
    for label, value in fields.items():
        page.get_by_label(label).fill(value)
    for label, name in documents.items():
        page.get_by_label(label).set_input_files(folder / name)


def fact(page, term: str):
    """The value next to a term of a page's list of facts (Nomor registrasi, Status, ...)."""
    return page.locator("dt", has_text=term).locator("xpath=following-sibling::dd[1]")


def registration_number(page) -> str:
    number = fact(page, "Nomor registrasi")
    expect(number).not_to_be_empty()
    return number.inner_text().strip()


def go_to_inbox(page) -> None:
    page.get_by_role("link", name="Kotak masuk", exact=True).click()
    expect(page.get_by_role("heading", name="Kotak masuk", level=1)).to_be_visible()


def judge_the_rest_complete(page) -> None:
    """Checks start unmarked: tick "lengkap" for each document not judged yet."""
    for row in page.locator("fieldset.judgement").all():
        if not row.locator("input[type=radio]:checked").count():
            row.get_by_label("lengkap", exact=True).check()


def official_decides(official: Person, number: str, outcome: str, *, shots=None,
                     note: str | None = None, incomplete: dict[str, str] | None = None,
                     record: dict[str, str] | None = None,
                     record_choices: dict[str, str] | None = None, expect_text=None,
                     uploads: dict[str, Path] | None = None) -> None:
    """Inbox -> the task of this file -> (verdicts, record, uploads, note) -> the outcome
    button."""
    page = official.page
    go_to_inbox(page)
    if shots is not None:
        shots(page, "inbox")
    page.get_by_role("link", name=number, exact=True).click()
    button = page.get_by_role("button", name=outcome, exact=True)
    expect(button).to_be_visible()
    page.wait_for_load_state()  # with JavaScript: htmx (a deferred script) is in place
    if expect_text is not None:
        expect(page.get_by_text(expect_text).first).to_be_visible()
    for label, reason in (incomplete or {}).items():
        row = page.get_by_role("group", name=label)  # the document's fieldset and legend
        row.get_by_label("tidak lengkap", exact=True).check()
        row.get_by_label(f"Catatan untuk {label}").fill(reason)
    judge_the_rest_complete(page)
    for label, option in (record_choices or {}).items():
        page.get_by_label(label).select_option(label=option)
    for label, value in (record or {}).items():
        page.get_by_label(label).fill(value)
    for label, path in (uploads or {}).items():  # what the official produces at the step
        page.get_by_label(label).set_input_files(path)
    if note is not None:
        page.get_by_label("Catatan / alasan").fill(note)
    if shots is not None:
        shots(page, "task")
    task_url = page.url
    button.click()
    # A signing step asks once more, naming the letter: confirm with the same button.
    asked = page.get_by_text("Tandatangani surat?")
    expect(asked.or_(page.get_by_text("Keputusan tersimpan")).first).to_be_visible()
    if asked.is_visible():
        page.get_by_role("button", name=outcome, exact=True).click()
    expect(page.get_by_text("Keputusan tersimpan")).to_be_visible()
    expect(page.get_by_text("Diputuskan:")).to_be_visible()
    if official.js:  # the panel was swapped in place: no redirect to ?done=1
        assert page.url == task_url


def open_my_file(applicant: Person, number: str) -> None:
    page = applicant.page
    page.get_by_role("link", name="Beranda").click()
    expect(page.get_by_role("heading", name="Berkas saya")).to_be_visible()
    page.get_by_role("link", name=number, exact=True).click()
    expect(fact(page, "Nomor registrasi")).to_have_text(number)
    page.wait_for_load_state()  # with JavaScript: htmx (a deferred script) is in place


def download_letter(letter_row, folder: Path) -> Path:
    """Click "Unduh PDF" in this letter's row; the PDF as saved by the browser."""
    page = letter_row.page
    with page.expect_download() as info:
        letter_row.get_by_role("link", name="Unduh PDF").click()
    saved = folder / info.value.suggested_filename
    info.value.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF"), saved.read_bytes()[:20]
    return saved


def verify_letter(letter_row, saved: Path, shots) -> None:
    """The row's "verifikasi" link: the public page names the same SHA-256 as the download,
    and presenting the file there says it is the very letter issued."""
    page = letter_row.page
    letter_row.get_by_role("link", name="verifikasi").click()
    expect(page.get_by_role("heading", name="Verifikasi surat")).to_be_visible()
    expect(page.get_by_text("BERLAKU", exact=True)).to_be_visible()
    digest = hashlib.sha256(saved.read_bytes()).hexdigest()
    expect(fact(page, "SHA-256")).to_have_text(digest)
    page.get_by_label("Berkas PDF").set_input_files(saved)
    page.get_by_role("button", name="Periksa").click()
    expect(page.get_by_text("Sama persis", exact=True)).to_be_visible()
    shots(page, "verification")


# ---------------------------------------------------------------- the walks


def submit_sik(applicant: Person, js: bool, files: Path, shots=None) -> str:
    """The applicant applies for a SIK from the catalogue; returns the registration number."""
    page = applicant.page
    open_service(page, shots, SIK)
    page.get_by_role("link", name="Isi formulir permohonan").click()
    expect(page.get_by_role("button", name="Kirim permohonan")).to_be_visible()
    fill_form(page, js, SIK_FIELDS, {"Jenis permohonan": "SIK pertama"}, SIK_DOCUMENTS, files)
    if shots is not None:
        shots(page, "application-form")
    page.get_by_role("button", name="Kirim permohonan").click()
    expect(page.get_by_text("Permohonan terkirim")).to_be_visible()
    return registration_number(page)


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_sik_perekam_medis_walk(people, js, files, shots, tmp_path):
    applicant = people(APPLICANT, js)
    number = submit_sik(applicant, js, files, shots)
    page = applicant.page
    expect(fact(page, "Status")).to_contain_text("Petugas Bidang Perekonomian")

    # Completeness check: the photo is not acceptable; the file goes back with a reason.
    petugas = people(PETUGAS, js)
    note = "Berkas belum lengkap: pas foto perlu diganti."
    reason = "Pas foto buram dan bukan latar merah; mohon unggah ulang."
    official_decides(petugas, number, "Tidak lengkap: kembalikan ke pemohon", shots=shots,
                     note=note, incomplete={PHOTO: reason})

    # The applicant sees why, replaces the photo and sends the file back.
    open_my_file(applicant, number)
    expect(page.get_by_text("perlu perbaikan").first).to_be_visible()
    expect(page.get_by_text(f"Alasan: {note}")).to_be_visible()
    expect(page.get_by_text(reason, exact=True)).to_be_visible()
    expect(page.get_by_text(f"{PHOTO} · perlu diganti")).to_be_visible()
    shots(page, "correction")
    page.get_by_label(PHOTO).set_input_files(files / "foto.png")
    page.get_by_role("button", name="Unggah berkas").click()
    expect(fact(page, "Status")).to_contain_text("Petugas Bidang Perekonomian")
    expect(page.get_by_role("button", name="Unggah berkas")).to_have_count(0)

    official_decides(petugas, number, "Lengkap: teruskan ke Tim Teknis Dinkes")
    tim = people("tim.teknis@dinkes-malang.absah.test", js)
    official_decides(tim, number, 'Valid: unggah rekomendasi "disetujui"',
                     uploads={"Rekomendasi Teknis Dinas Kesehatan": files / "str.pdf"})
    # The next official sees the recommendation the technical team uploaded.
    official_decides(petugas, number, "Disetujui: buat draf SIK",
                     expect_text="Rekomendasi Teknis Dinas Kesehatan: str.pdf")
    for position in ("analis.muda", "analis.madya", "sekretaris"):
        official_decides(people(f"{position}@{MALANG}", js), number, "Paraf")
    sekretariat = people(SEKRETARIAT, js)
    official_decides(sekretariat, number, "Cetak")
    official_decides(people(f"kadin@{MALANG}", js), number, "Tandatangani")
    official_decides(petugas, number, "Beri nomor dan stempel")
    official_decides(petugas, number, "Unggah SIK dan kirim notifikasi",
                     uploads={"Pindaian Surat Izin Kerja bernomor dan berstempel":
                              files / "pernyataan.pdf"})

    # The handover register: the task names the ticket the system issued, next to the
    # decision; the official compares it with the ticket brought and types no number.
    go_to_inbox(sekretariat.page)
    sekretariat.page.get_by_role("link", name=number, exact=True).click()
    ticket = sekretariat.page.get_by_role("listitem").filter(
        has_text="Tiket Pengambilan Surat Izin Kerja").first
    ticket_number = ticket.inner_text().split("·")[1].strip()
    assert ticket_number
    panel = sekretariat.page.locator("#panel")
    expect(panel.get_by_text(f"Tiket: {ticket_number}")).to_be_visible()
    expect(panel.get_by_label("Nomor tiket pengambilan")).to_have_count(0)
    official_decides(sekretariat, number, "Catat penyerahan",
                     record={"Nama pengambil": "Rina Wulandari"},
                     record_choices={"Diambil oleh": "Pemohon sendiri",
                                     "Dokumen yang diserahkan": "Fotokopi KTP"})
    expect(sekretariat.page.locator("#panel").get_by_text(f"Tiket: {ticket_number}")) \
        .to_be_visible()

    # The applicant collects, then downloads the signed SIK and checks it publicly.
    open_my_file(applicant, number)
    page.get_by_role("button", name="Diambil sendiri").click()
    expect(page.get_by_text("selesai", exact=True)).to_be_visible()
    timeline = page.locator("ol.timeline")
    expect(timeline).to_contain_text("Lengkap: teruskan ke Tim Teknis Dinkes")
    expect(timeline).to_contain_text("Diambil sendiri")
    shots(page, "tracking")
    row = page.get_by_role("listitem").filter(has_text=SIK).filter(
        has=page.get_by_role("link", name="Unduh PDF"))
    verify_letter(row, download_letter(row, tmp_path), shots)


def blocked_by_browser_validation(page, button) -> bool:
    """Whether clicking this submit button would be stopped by the browser: the form has a
    required field still empty and the button does not say formnovalidate."""
    return (button.get_attribute("formnovalidate") is None
            and page.locator("#apply-form :invalid").count() > 0)


def open_sik_form(applicant: Person):
    page = applicant.page
    open_service(page, None, SIK)
    page.get_by_role("link", name="Isi formulir permohonan").click()
    expect(page.get_by_role("button", name="Kirim permohonan")).to_be_visible()
    page.wait_for_load_state()  # with JavaScript: htmx (a deferred script) is in place
    return page


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_second_sik_asks_for_the_first_sik(people, js, shots):
    """A conditional document: choosing "SIK kedua" adds the upload of the first SIK, at once
    with JavaScript, after "Perbarui formulir sesuai pilihan" without; nothing typed is lost."""
    page = open_sik_form(people(APPLICANT, js))
    first_sik = page.get_by_label(re.compile(r"^SIK pertama"))
    expect(first_sik).to_have_count(0)
    for label, value in SIK_FIELDS.items():
        page.get_by_label(label).fill(value)
    choice = page.get_by_label("Jenis permohonan")
    if js:
        # Choosing refreshes the fields at once (an htmx GET swapping #apply-fields): wait
        # for the old fields to go; the button stays for those without JavaScript.
        assert (choice.get_attribute("hx-get") or "").startswith("/"), choice.evaluate(
            "e => e.outerHTML")
        old = page.locator("#apply-fields").element_handle()
        choice.select_option(label="SIK kedua (tempat kerja kedua)")
        old.wait_for_element_state("hidden")
        old.dispose()
    else:
        choice.select_option(label="SIK kedua (tempat kerja kedua)")
        page.get_by_role("button", name="Perbarui formulir sesuai pilihan").click()
    expect(first_sik).to_be_visible()
    for label, value in SIK_FIELDS.items():
        expect(page.get_by_label(label)).to_have_value(value)
    expect(page.get_by_label("Jenis permohonan")).to_have_value("second")
    shots(page, "application-form-second-sik")


def test_half_filled_form_saves_as_draft(people, files, shots):
    """"Simpan draf" keeps what has been typed and uploaded so far, however little. (A plain
    form post with or without JavaScript: one run is enough.)"""
    page = open_sik_form(people(APPLICANT, False))
    page.get_by_label("Nama lengkap").fill("Rina Wulandari")
    page.get_by_label(PHOTO).set_input_files(files / "foto.png")
    save = page.get_by_role("button", name="Simpan draf")
    # Required fields are still empty: without formnovalidate the browser would stop the
    # click ("Please fill out this field") and nothing would reach the server.
    assert not blocked_by_browser_validation(page, save), "\"Simpan draf\" lacks formnovalidate"
    save.click()
    expect(page.get_by_text("Draf tersimpan")).to_be_visible()
    expect(page.get_by_label("Nama lengkap")).to_have_value("Rina Wulandari")
    expect(page.get_by_text("Sudah diunggah: foto.png")).to_be_visible()
    shots(page, "draft")


def test_a_refused_htmx_click_shows_why_in_the_alerts(people, files, shots):
    """A click the server refuses never vanishes: here the official's session ended in another
    tab, so the task page's form token no longer holds. The refusal (400) shows in the page's
    alert region, in view on a 360 px phone scrolled down to the button; the form stays."""
    number = submit_sik(people(APPLICANT, True), True, files)
    petugas = people(PETUGAS, True)
    page = petugas.page
    page.set_viewport_size({"width": 360, "height": 640})
    go_to_inbox(page)
    page.get_by_role("link", name=number, exact=True).click()
    button = page.get_by_role("button", name="Lengkap: teruskan ke Tim Teknis Dinkes")
    expect(button).to_be_visible()
    page.wait_for_load_state()  # htmx (a deferred script) is in place
    task_url = page.url

    other = petugas.context.new_page()
    other.goto("/inbox")
    other.get_by_role("button", name="Keluar").click()
    expect(other.get_by_role("link", name="Masuk", exact=True)).to_be_visible()
    other.close()

    button.click()
    alert = page.locator("#alerts").get_by_role("alert")
    expect(alert).to_contain_text("Sesi formulir kedaluwarsa atau tidak sah")
    expect(alert).to_be_in_viewport()
    expect(button).to_be_visible()  # only the alert was swapped in
    assert page.url == task_url
    shots(page, "refused-click")


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_an_unjudged_forward_is_refused_with_a_focused_summary(people, js, files, shots):
    """Checks start unmarked; forwarding before judging each document is refused with the
    error summary, which takes the focus (autofocus: on the page, and in htmx's swap)."""
    number = submit_sik(people(APPLICANT, js), js, files)
    page = people(PETUGAS, js).page
    go_to_inbox(page)
    page.get_by_role("link", name=number, exact=True).click()
    button = page.get_by_role("button", name="Lengkap: teruskan ke Tim Teknis Dinkes")
    expect(button).to_be_visible()
    page.wait_for_load_state()  # with JavaScript: htmx (a deferred script) is in place
    expect(page.locator("fieldset.judgement input[type=radio]:checked")).to_have_count(0)
    button.click()
    summary = page.locator(".error-summary")
    expect(summary).to_contain_text("Ada masalah")
    expect(summary).to_be_focused()
    links = summary.get_by_role("link")
    expect(links.first).to_contain_text("belum diperiksa")
    target = links.first.get_attribute("href")
    expect(page.locator(target)).to_have_attribute("type", "radio")
    shots(page, "unjudged-forward")


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_info_kompetensi_teknis_walk(people, js, files, shots, tmp_path):
    jft = people(JFT, js)
    page = jft.page
    expect(page.get_by_role("heading", name="Kotak masuk", level=1)).to_be_visible()
    open_service(page, shots, INFO)
    expect(page.get_by_text("Berkas layanan ini dimulai oleh petugas")).to_be_visible()
    page.get_by_role("link", name="Mulai berkas").click()
    expect(page.get_by_role("button", name="Kirim permohonan")).to_be_visible()
    fill_form(page, js, INFO_FIELDS, {}, INFO_DOCUMENTS, files)
    shots(page, "application-form")
    page.get_by_role("button", name="Kirim permohonan").click()
    expect(page.get_by_text("Permohonan terkirim")).to_be_visible()
    number = registration_number(page)
    tracking = page.url.split("?")[0]  # the file's address, without the receipt flag

    kabid = people(KABID, js)
    reason = "Tanggal kegiatan pada draf surat belum sesuai agenda; mohon diperbaiki."
    official_decides(kabid, number, "Kembalikan untuk diperbaiki", shots=shots, note=reason)

    # The drafter finds the file back in the inbox, marked as a correction, with the reason.
    go_to_inbox(page)
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=number, exact=True))
    expect(row).to_contain_text("perbaikan")
    page.get_by_role("link", name=number, exact=True).click()
    expect(page.get_by_text(reason).first).to_be_visible()
    shots(page, "correction-task")
    if page.locator("input[type=file]").count() == 0:
        NOTICES.append("info-kompetensi-teknis: the drafter's correction task (after the Kabid "
                       "returns the file) has no way to upload a corrected Draf Surat Penawaran "
                       "or Draf Nota Dinas; only the outcome button")
    official_decides(jft, number, "Kirim draf ke Kabid", expect_text=reason)

    official_decides(kabid, number, "Tandatangani Nota Dinas dan paraf surat")
    official_decides(people(f"sekretaris@{KALBAR}", js), number, "Paraf surat")
    official_decides(people(f"kaban@{KALBAR}", js), number, "Tandatangani surat")
    official_decides(people(f"arsiparis@{KALBAR}", js), number,
                     "Beri nomor dan teruskan ke bidang pengelola")
    official_decides(jft, number, "Surat didistribusikan dan diarsipkan")

    # The file's tracking page (the address of the receipt) shows it done, with the return.
    page.goto(tracking)
    expect(page.get_by_text("selesai", exact=True)).to_be_visible()
    expect(page.locator("ol.timeline")).to_contain_text("Surat didistribusikan dan diarsipkan")
    shots(page, "tracking")
    letter = page.get_by_role("listitem").filter(has_text="Surat Penawaran Penyelenggaraan")
    verify_letter(letter, download_letter(letter, tmp_path), shots)


# ---------------------------------------------------------------- a 2G line

SLOW_LINE = {"offline": False, "latency": 300, "downloadThroughput": 50_000 / 8,
             "uploadThroughput": 20_000 / 8}


class Meter:
    """What the DevTools protocol saw since reset(): each request (each hop of a redirect)
    with its status and the bytes it took on the wire (``encodedDataLength``: headers and
    compressed body), and whether htmx sent it."""

    def __init__(self, cdp):
        self.requests: dict[str, dict] = {}
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.responseReceived", self._received)
        cdp.on("Network.loadingFinished", self._finished)
        cdp.on("Network.loadingFailed", self._failed)

    def _sent(self, event):
        key = event["requestId"]
        redirect = event.get("redirectResponse")
        if redirect is not None and key in self.requests:
            hop = self.requests.pop(key)
            hop.update(status=redirect["status"], bytes=redirect.get("encodedDataLength", 0))
            self.requests[f"{key}/{len(self.requests)}"] = hop
        request = event["request"]
        headers = {k.lower(): v for k, v in request.get("headers", {}).items()}
        self.requests[key] = {"method": request["method"], "url": request["url"],
                              "status": "", "bytes": 0,
                              "htmx": headers.get("hx-request") == "true"}

    def _received(self, event):
        if event["requestId"] in self.requests:
            self.requests[event["requestId"]]["status"] = event["response"]["status"]

    def _finished(self, event):
        if event["requestId"] in self.requests:
            self.requests[event["requestId"]]["bytes"] = event["encodedDataLength"]

    def _failed(self, event):
        if event["requestId"] in self.requests:
            self.requests[event["requestId"]]["status"] = event.get("errorText", "failed")

    def reset(self):
        self.requests = {}

    def report(self) -> list[dict]:
        return list(self.requests.values())


def _approve(page, number: str, first: bool) -> None:
    """/inbox -> the task -> the forward outcome -> 'Keputusan tersimpan'."""
    if first:
        page.goto("/inbox")
    else:
        go_to_inbox(page)
    page.get_by_role("link", name=number, exact=True).click()
    button = page.get_by_role("button", name="Lengkap: teruskan ke Tim Teknis Dinkes")
    expect(button).to_be_visible()
    # htmx is a deferred script: on this line it arrives seconds after the button shows. A
    # click before it would be a plain form post (which works too, with a redirect); this
    # measures the htmx path, so wait for it.
    page.wait_for_load_state("load")
    judge_the_rest_complete(page)
    button.click()
    expect(page.get_by_text("Keputusan tersimpan")).to_be_visible(timeout=60_000)


def test_approval_on_a_2g_line(browser, people, portal, files, shots, capsys):
    runs = ["empty cache", "cached assets"]
    applicant = people(APPLICANT, True)
    numbers = [submit_sik(applicant, True, files) for _ in runs]

    # Log in on a fast line, then carry only the cookies into a new context: empty cache.
    signed_in = people(PETUGAS, True).context.storage_state()
    context = browser.new_context(java_script_enabled=True, base_url=portal.base_url,
                                  storage_state=signed_in)
    figures = []
    try:
        context.set_default_timeout(60_000)
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.clearBrowserCache")
        cdp.send("Network.emulateNetworkConditions", SLOW_LINE)
        meter = Meter(cdp)
        for index, (name, number) in enumerate(zip(runs, numbers, strict=True)):
            meter.reset()
            start = time.perf_counter()
            _approve(page, number, first=index == 0)
            seconds = time.perf_counter() - start
            page.evaluate("0")  # let the last protocol events arrive
            figures.append((name, seconds, meter.report()))
            shots(page, f"approval-{index + 1}")
        cdp.detach()
    finally:
        context.close()

    def decided_by(requests):
        posts = [r for r in requests if r["method"] == "POST"]
        return "htmx swap" if posts and all(r["htmx"] for r in posts) else "form + 303"

    with capsys.disabled():
        print("\n2G line (latency 300 ms, 50 kbit/s down, 20 kbit/s up), JavaScript on: "
              "/inbox -> task -> forward outcome -> 'Keputusan tersimpan'")
        print(f"  {'run':<16} {'seconds':>7} {'KB':>6} {'requests':>8}  decided by")
        for name, seconds, requests in figures:
            kb = sum(r["bytes"] for r in requests) / 1024
            print(f"  {name:<16} {seconds:>7.1f} {kb:>6.1f} {len(requests):>8}  "
                  f"{decided_by(requests)}")
        for name, _seconds, requests in figures:
            print(f"  {name}:")
            for r in requests:
                path = r["url"].removeprefix(portal.base_url)
                print(f"    {r['method']:<4} {str(r['status'])[:16]:<16} "
                      f"{r['bytes'] / 1024:>5.1f} KB  {path[:60]}")
    kilobytes = [sum(r["bytes"] for r in requests) / 1024 for _n, _s, requests in figures]
    for (_name, seconds, _requests), kb in zip(figures, kilobytes, strict=True):
        assert seconds < 60
        assert kb < 200
    for _name, _seconds, requests in figures:
        assert decided_by(requests) == "htmx swap"  # a fragment, not a page
