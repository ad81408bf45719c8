"""Issue 12's "done when": a new agency and its own service put on the portal with nothing
but the product's command line and its pages, as an agency would do it. No model call and
no SQL: every step is a `flask --app wsgi` command (through the CLI runner) or an HTTP
request, every e-mail is read from a real SMTP server, and the signed letter is judged by
the independent `check-letter` script and by pdftotext.

The agency is created with `agency create`, its administrator sets a password from the
invitation e-mail and fills in the settings page (a real PNG logo, the address, office
hours); `agency staff` imports the officials from a CSV file and they set their passwords
the same way; `sop import` loads an SOP written for the agency (tests/fixtures/onboarding)
in which the field team uploads its inspection report and records a recommendation; the
administrator saves the permit's wording, a misspelt variable refused first with its name
and line; an applicant registers and applies; each official decides from the task page;
the head of office, who signs, sees the report and the recommendation first; the
applicant downloads the permit, which passes check-letter and whose first page prints the
agency's address and the recorded recommendation."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from html import unescape
from pathlib import Path

import pytest
from PIL import Image
from test_letters import CHECK_LETTER, TOOLS
from webclient import Browser, text
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from portal.modules.demo.data import sample_pdf

FIXTURES = Path(__file__).parent / "fixtures" / "onboarding"
SOP = FIXTURES / "izin-klinik-pratama.yaml"
STAFF = FIXTURES / "staff.csv"
CODE = "izin-klinik-pratama"
AGENCY = "dinkes-tanjung"
ADMIN = "admin@tanjung.test"
APPLICANT = "rina@pemohon.test"
PASSWORD = "kata-sandi-kuat-1"
ADDRESS = "Jl. Merdeka No. 17, Tanjung"
RECOMMENDATION = "Klinik layak diberi izin operasional"
TEMPLATE = """title: IZIN OPERASIONAL KLINIK PRATAMA
---
Berdasarkan permohonan nomor registrasi {{ application.registration_number }}, {{ agency.name }}
memberikan izin operasional kepada {{ form.clinic_name }}.

Hasil pemeriksaan lapangan: {{ record.inspect.recomendation }}

Demikian izin ini diberikan untuk dipergunakan sebagaimana mestinya.
"""


@pytest.fixture
def app_config(smtp):
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port}


def _cli(runner, *args) -> str:
    result = runner.invoke(args=list(args))
    assert result.exit_code == 0, f"{args}: {result.output}"
    return result.output


def _link(smtp, recipient: str, path: str) -> str:
    """The newest link to ``path`` the SMTP server received for this recipient."""
    for rcpts, message in reversed(smtp.messages):
        if recipient in rcpts:
            found = re.search(rf"http://portal\.test({path}[A-Za-z0-9_.\-]+)",
                              smtp.text_of(message))
            if found:
                return found.group(1)
    raise AssertionError(f"no e-mail to {recipient} with a link to {path}")


def _accept_invitation(app, smtp, email: str) -> Browser:
    """Open the invitation link of the e-mail, choose a password, log in."""
    browser = Browser(app)
    page = browser.get(_link(smtp, email, "/invite/"), follow_redirects=True)
    assert page.status_code == 200
    action = re.search(r'<form[^>]*action="(/invite/[^"]+)"', text(page)).group(1)
    assert browser.post(action, {"password": PASSWORD}).status_code == 303
    browser.login(email, PASSWORD)
    return browser


def _png_logo() -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", (600, 600), (255, 255, 255))
    for x in range(100, 500):
        for y in range(250, 350):
            image.putpixel((x, y), (0, 120, 60))
    image.save(out, format="PNG")
    return out.getvalue()


def _multipart(browser: Browser, url: str, fields: dict, files: dict | None = None):
    """A multipart form post with the session's CSRF token (files as (bytes, name))."""
    if browser.token is None:
        browser.get("/login")
    data = {**fields, "csrf_token": browser.token}
    for name, (content, filename) in (files or {}).items():
        data[name] = FileStorage(io.BytesIO(content), filename=filename)
    boundary, body = encode_multipart(data)
    response = browser.client.post(url, data=body, headers=browser._headers(),
                                   content_type=f"multipart/form-data; boundary={boundary}")
    browser._remember(response)
    return response


def _task_of(browser: Browser, number: str) -> str:
    """The task page of this file, found as an official finds it: in the inbox."""
    inbox = text(browser.get("/inbox"))
    found = re.search(rf'href="(/tasks/\d+)"[^>]*>\s*{re.escape(number)}', inbox) or \
        re.search(r'href="(/tasks/\d+)"', inbox)
    assert found and number in inbox, inbox[:3000]
    return found.group(1)


def _plain(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


@pytest.mark.skipif(not TOOLS or not CHECK_LETTER.exists() or not shutil.which("pdftotext"),
                    reason="needs poppler-utils, zbar-tools, libnss3-tools and check-letter")
def test_a_new_agency_runs_its_own_service_end_to_end_without_code_or_sql(app, runner, smtp,
                                                                          tmp_path):
    # 1. The agency and its administrator, from the command line.
    out = _cli(runner, "agency", "create", AGENCY, "--name", "Dinas Kesehatan Kota Tanjung",
               "--zone", "WITA", "--admin", ADMIN)
    assert f"created agency {AGENCY}" in out
    _cli(runner, "outbox", "send")
    admin = _accept_invitation(app, smtp, ADMIN)

    # 2. Its settings page: kop, a real PNG logo, the address, office hours.
    settings = {
        "letterhead_1": "PEMERINTAH KOTA TANJUNG", "letterhead_2": "DINAS KESEHATAN",
        "letterhead_3": "", "letterhead_4": "", "city": "Tanjung", "address": ADDRESS,
        "phone": "(0511) 123456", "email": "dinkes@tanjung.go.id",
        "website": "dinkes.tanjung.go.id", "timezone": "WITA", "supervisor_position": "",
        "hours_mon": "08:00-16:00", "hours_tue": "08:00-16:00", "hours_wed": "08:00-16:00",
        "hours_thu": "08:00-16:00", "hours_fri": "08:00-11:30", "hours_sat": "",
        "hours_sun": ""}
    bad = _multipart(admin, "/admin/settings", {**settings, "hours_mon": "16:00-08:00"},
                     {"logo": (b"not an image at all", "logo.png")})
    assert bad.status_code == 422
    saved = _multipart(admin, "/admin/settings", settings, {"logo": (_png_logo(), "logo.png")})
    assert saved.status_code == 303, text(saved)[:2000]
    page = text(admin.get("/admin/settings"))
    assert f'value="{ADDRESS}"' in page and 'value="08:00-11:30"' in page
    assert admin.get("/admin/settings/logo").headers["Content-Type"] == "image/png"

    # 3. Its staff from a CSV file; each official sets a password from the invitation.
    out = _cli(runner, "agency", "staff", AGENCY, str(STAFF))
    assert "created" in out
    assert "nothing changed" in _cli(runner, "agency", "staff", AGENCY, str(STAFF))
    _cli(runner, "outbox", "send")
    petugas = _accept_invitation(app, smtp, "petugas@tanjung.test")
    teknis = _accept_invitation(app, smtp, "teknis@tanjung.test")
    kadin = _accept_invitation(app, smtp, "kadin@tanjung.test")

    # 4. Its SOP, written for it.
    assert f"OK: {CODE} v1" in _cli(runner, "sop", "validate", str(SOP))
    _cli(runner, "sop", "import", str(SOP))
    assert CODE in _cli(runner, "sop", "list")
    service = _plain(text(admin.get(f"/services/{CODE}")))
    for shown in ("Tidak dipungut biaya", "Izin Operasional Klinik Pratama",
                  "SP4N-LAPOR! (lapor.go.id)", "Senin-Jumat 08.00-15.00 WITA", "4 hari kerja"):
        assert shown in service
    assert "Laporan pemeriksaan lapangan" not in service  # the officials' own document

    # 5. The permit's wording: a misspelt variable is refused with its name and line.
    url = f"/admin/letter-templates/{CODE}/izin"
    editor = text(admin.get(url))
    assert "record.inspect.recommendation" in editor  # the variables it may use
    refused = admin.post(url, {"action": "save", "source": TEMPLATE})
    assert refused.status_code == 422
    assert ("Baris 6: record.inspect.recomendation tidak disediakan layanan ini (maksud Anda "
            "record.inspect.recommendation?)") in _plain(text(refused))
    fixed = TEMPLATE.replace("recomendation", "recommendation")
    assert admin.post(url, {"action": "save", "source": fixed}).status_code == 303
    assert "milik instansi" in text(admin.get("/admin/letter-templates"))

    # 6. An applicant registers, confirms the e-mail and applies.
    applicant = Browser(app)
    applicant.get("/register")
    registered = applicant.post("/register", {"name": "Rina Wulandari", "email": APPLICANT,
                                              "password": PASSWORD})
    assert registered.status_code == 303
    _cli(runner, "outbox", "send")
    assert applicant.get(_link(smtp, APPLICANT, "/verify/")).status_code == 303
    applicant.login(APPLICANT, PASSWORD)
    form = text(applicant.get(f"/services/{CODE}/apply"))
    key = re.search(r'name="submission_key" value="([^"]+)"', form).group(1)
    submitted = _multipart(
        applicant, f"/services/{CODE}/apply",
        {"clinic_name": "Klinik Sehat Bersama", "clinic_address": "Jl. Mawar 3, Tanjung",
         "submission_key": key, "action": "submit"},
        {"doc_building_permit": (sample_pdf("PBG"), "pbg.pdf"),
         "doc_staff_list": (sample_pdf("Daftar tenaga"), "tenaga.pdf")})
    assert submitted.status_code == 303, text(submitted)[:2000]
    tracking_url = submitted.headers["Location"].split("?")[0]
    number = re.search(r"<strong>([A-Z0-9\-]+/REG/\d{4}/\d{5})</strong>",
                       text(applicant.get(tracking_url))).group(1)

    # 7. The officials decide from their task pages.
    task = _task_of(petugas, number)
    checked = petugas.post(f"{task}/decide", {
        "outcome": "complete", "judged": ["building_permit", "staff_list"],
        "verdict_building_permit": "complete", "verdict_staff_list": "complete"})
    assert checked.status_code == 303, text(checked)[:2000]

    task = _task_of(teknis, number)
    page = text(teknis.get(task))
    assert 'name="doc_inspection_report"' in page and "Rekomendasi tim teknis" in page
    without_report = _multipart(teknis, f"{task}/decide", {
        "outcome": "recommended", "record_recommendation": RECOMMENDATION,
        "record_inspected_on": "2026-03-02"})
    assert without_report.status_code == 422
    assert "Laporan pemeriksaan lapangan wajib diunggah." in text(without_report)
    inspected = _multipart(teknis, f"{task}/decide", {
        "outcome": "recommended", "record_recommendation": RECOMMENDATION,
        "record_inspected_on": "2026-03-02"},
        {"doc_inspection_report": (sample_pdf("Laporan pemeriksaan"), "laporan.pdf")})
    assert inspected.status_code == 303, text(inspected)[:2000]

    # The head of office sees the report and the recommendation before signing.
    task = _task_of(kadin, number)
    page = text(kadin.get(task))
    shown = _plain(page)
    assert "Hasil langkah sebelumnya" in shown and RECOMMENDATION in shown
    assert "Tanggal pemeriksaan 02-03-2026" in shown
    report = re.search(r'Laporan pemeriksaan lapangan: <a href="(/documents/\d+)"', page)
    assert report and kadin.get(report.group(1)).status_code == 200
    asked = kadin.post(f"{task}/decide", {"outcome": "signed"})
    assert asked.status_code == 200 and "Tandatangani surat?" in text(asked)
    signed = kadin.post(f"{task}/decide", {"outcome": "signed", "confirmed": "1"})
    assert signed.status_code == 303, text(signed)[:2000]

    # 8. The applicant sees the public results and downloads the permit.
    tracking = text(applicant.get(tracking_url))
    assert "selesai" in tracking and RECOMMENDATION in _plain(tracking)
    assert applicant.get(report.group(1)).status_code == 200  # the report is public
    pdf_url = re.search(r'href="(/letters/\d+\.pdf)"', tracking).group(1)
    pdf = applicant.get(pdf_url)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    letter = tmp_path / "izin.pdf"
    letter.write_bytes(pdf.data)
    ca = tmp_path / "ca.pem"
    ca.write_bytes(applicant.get("/ca.pem").data)

    checked = subprocess.run([str(CHECK_LETTER), str(letter), "--ca", str(ca),
                              "--expect-url", "http://portal.test/v/"],
                             capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0, f"{checked.stdout}\n{checked.stderr}"
    first_page = subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(letter), "-"],
                                capture_output=True, text=True, timeout=60, check=True).stdout
    words = " ".join(first_page.split())
    assert ADDRESS in words, words
    assert "Hasil pemeriksaan lapangan" in words and RECOMMENDATION in words, words
    assert "Klinik Sehat Bersama" in words and "PEMERINTAH KOTA TANJUNG" in words
