"""The public verification page (/v/<token>) and `letters verify` on the same files: they
agree on every case; the record's status and the verdict on an uploaded file stay apart (no
forgery under a green banner); the page gives a stranger what a paper copy is judged by."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import re

import pytest
from test_verdict import (
    annotation,
    craft,
    stranger_identity,
    trailing_whitespace,
    with_validation_data,
)
from webclient import Browser, text

import signing
from portal.modules.audit.models import AuditEvent
from portal.modules.demo.data import walk
from portal.modules.letters import operations
from portal.modules.letters.models import Letter
from portal.modules.letters.pages import PAGE_BUDGET, LetterPage

GZIP = {"Accept-Encoding": "gzip"}
VERDICT = re.compile(r'data-verdict="([a-z_]+)"')
OUTCOME = re.compile(r"^outcome: ([a-z_]+)$", re.M)


@pytest.fixture
def app_config():
    # Every case below is checked on the page; the per-client limit is not what is tested.
    return {"RATELIMITS": "verify_check=1000 per minute;verify_view=1000 per minute"}


def _page(app, token: str, pdf: bytes):
    browser = Browser(app)
    browser.get(f"/v/{token}")
    return browser.post(f"/v/{token}", {"file": (io.BytesIO(pdf), "surat.pdf")},
                        content_type="multipart/form-data")


def _cli(runner, tmp_path, pdf: bytes, *extra: str):
    path = tmp_path / "presented.pdf"
    path.write_bytes(pdf)
    return runner.invoke(args=["letters", "verify", str(path), *extra])


def _cases(app, storage, tmp_path):
    """(name, file, the letter whose page it is shown on, page verdict, CLI verdict)."""
    issued = {lt.letter_key: lt for lt in walk("kso-lms", storage)[0].letters}
    letter, other = issued["kso"], issued["invoice"]
    pdf, other_pdf = storage.read(letter.storage_key), storage.read(other.storage_key)
    revoked = {lt.letter_key: lt for lt in walk("rekom-nakes", storage)[0].letters}["rekomendasi"]
    revoked_pdf = storage.read(revoked.storage_key)
    from portal.modules.accounts.models import User

    operations.revoke_letter(User.by_email("admin@dinkes-bangka.absah.test"), revoked,
                             "Data STR keliru")
    forged_link = signing.sign_letter(  # a forger's own letter whose QR points at `letter`
        signing.render_letter(signing.LetterContent(
            letterhead=("Poltekkes",), number=letter.number, place_date="Surakarta",
            title="PERJANJIAN KERJA SAMA", body=("Penyelenggara: Budi Pemalsu",),
            signature=signing.SignatureBlock(position="Direktur", name=letter.signer_name))).pdf,
        stranger_identity(tmp_path, letter.signer_name), (0, 300, 80, 560, 140),
        f"http://portal.test/v/{letter.token}", [letter.signer_name], dt.datetime.now(dt.UTC))
    cases = [
        ("exact", pdf, letter, "valid", "valid"),
        ("trailing_whitespace", trailing_whitespace(pdf), letter, "valid", "valid"),
        ("validation_data_and_timestamp", with_validation_data(pdf), letter, "valid", "valid"),
        ("annotation", annotation(pdf), letter, "changed", "changed"),
        *[(name, craft(name, pdf, app, tmp_path), letter, "changed", "changed")
          for name in ("in_place", "overlay", "form_field", "untrusted_second_signature",
                       "object_listed_twice",
                       "page_tree_rebuilt", "byte_range_removed", "byte_range_zero",
                       "byte_range_rewritten_by_update")],
        ("another_letter_s_file", other_pdf, letter, "other_letter", "valid"),
        ("another_letter_changed", annotation(other_pdf), letter, "changed", "changed"),
        ("forgery_linking_this_token", forged_link, letter, "untrusted", "untrusted"),
        ("forgery_of_a_letter_on_another_s_page", annotation(pdf), other, "changed", "changed"),
        ("revoked_exact_file", revoked_pdf, revoked, "revoked", "revoked"),
    ]
    # the insider's re-signature needs the holder's name, which the rekomendasi prints
    cases.append(("insider_resignature",
                  craft("insider_resignature", revoked_pdf, app, tmp_path), revoked,
                  "changed", "changed"))
    return cases


def test_the_page_and_the_cli_agree_on_every_case(app, demo, storage, runner, tmp_path):
    for name, pdf, letter, page_kind, cli_kind in _cases(app, storage, tmp_path):
        page = _page(app, letter.token, pdf)
        body = text(page)
        assert page.status_code == 200, name
        assert VERDICT.findall(body) == [page_kind], (name, VERDICT.findall(body))
        result = _cli(runner, tmp_path, pdf)
        assert OUTCOME.findall(result.output) == [cli_kind], (name, result.output)
        valid = page_kind == "valid"
        assert (result.exit_code == 0) is (cli_kind == "valid"), (name, result.output)
        assert ("VERDICT: genuine, unaltered and valid" in result.output) is (cli_kind == "valid")
        if not valid:
            # the upload result is red, and no green banner sits anywhere on the page
            assert 'class="verdict ok"' not in body, name
            assert "Hasil pemeriksaan berkas Anda" in body
        if page_kind == "changed":
            assert "DIUBAH SETELAH DITANDATANGANI" in body and "Yang ditemukan:" in body, name
            assert "found: " in result.output, name
        if page_kind == "other_letter":  # named only because the file is that letter exactly
            other = Letter.get(Letter.sha256 == __import__("hashlib").sha256(pdf).hexdigest())
            assert other.number in body and other.id != letter.id
        if name in ("forgery_linking_this_token", "forgery_of_a_letter_on_another_s_page"):
            assert "surat lain (nomor" not in body, name  # never from the forger's QR link
    checked = AuditEvent.select().where(AuditEvent.action == "letter.verified").count()
    assert checked >= 17


def test_a_revoked_letter_s_exact_file_was_genuine_and_is_not_valid(app, demo, storage, runner,
                                                                    tmp_path):
    letter = walk("rekom-nakes", storage)[0].letters[0]
    pdf = storage.read(letter.storage_key)
    from portal.modules.accounts.models import User

    operations.revoke_letter(User.by_email("admin@dinkes-bangka.absah.test"), letter,
                             "Data STR keliru")
    body = text(_page(app, letter.token, pdf))
    assert "pernah sah" in body and "Data STR keliru" in body and "Tidak berlaku" in body
    assert 'class="verdict ok"' not in body and "Sama persis" in body
    result = _cli(runner, tmp_path, pdf)
    assert result.exit_code == 1
    assert "Was genuine; revoked on" in result.output and "Data STR keliru" in result.output


def test_a_replaced_letter_s_exact_file_points_to_its_replacement(app, demo, storage, runner,
                                                                 tmp_path):
    letter = walk("rekom-nakes", storage)[0].letters[0]
    pdf = storage.read(letter.storage_key)
    from portal.modules.accounts.models import User

    operations.revoke_letter(User.by_email("admin@dinkes-bangka.absah.test"), letter,
                             "Salah ketik nama", replace=True)
    new = Letter.get_by_id(letter.id).replaced_by
    body = text(_page(app, letter.token, pdf))
    assert VERDICT.findall(body) == ["replaced"] and new.number in body
    assert 'class="verdict ok"' not in body
    result = _cli(runner, tmp_path, pdf)
    assert result.exit_code == 1 and "outcome: replaced" in result.output
    assert f"by letter {new.number}" in result.output
    fresh = _cli(runner, tmp_path, storage.read(new.storage_key))
    assert fresh.exit_code == 0 and new.number in fresh.output


def test_a_genuine_upload_sits_under_the_green_record_and_a_forgery_does_not(app, demo, storage):
    letter = walk("rekom-nakes", storage)[0].letters[0]
    pdf = storage.read(letter.storage_key)
    genuine = text(_page(app, letter.token, pdf))
    assert genuine.count('class="verdict ok"') == 2  # the verdict and the record
    forged = text(_page(app, letter.token, annotation(pdf)))
    assert 'data-status="valid"' in forged and 'class="verdict ok"' not in forged
    verdict_at, record_at = forged.index("data-verdict"), forged.index("record-heading")
    assert verdict_at < record_at  # the verdict on the file first, the record after it


def test_cli_at_checks_certificates_as_of_another_date(demo, storage, runner, tmp_path):
    letter = walk("registrasi-praktek-mandiri", storage)[0].letters[0]
    pdf = storage.read(letter.storage_key)
    recorded = _cli(runner, tmp_path, pdf)
    assert recorded.exit_code == 0 and "(recorded)" in recorded.output
    on_the_day = _cli(runner, tmp_path, pdf, "--at", f"{letter.issued_at:%Y-%m-%d}")
    assert on_the_day.exit_code == 0 and "(requested)" in on_the_day.output
    expired = _cli(runner, tmp_path, pdf, "--at",
                   f"{letter.issued_at + dt.timedelta(days=3 * 365):%Y-%m-%d}")
    assert expired.exit_code == 1 and "outcome: untrusted" in expired.output
    bad = runner.invoke(args=["letters", "verify", "--at", "kemarin", str(tmp_path / "x.pdf")])
    assert bad.exit_code == 2 and "Traceback" not in bad.output
    # the last day of the calendar is refused, not reported as a tampered signature
    last = _cli(runner, tmp_path, pdf, "--at", "9999-12-31")
    assert last.exit_code == 2 and "changed" not in last.output and "--at" in last.output


def test_a_validator_failure_reads_as_cannot_be_checked_on_the_page_and_in_the_cli(
        app, demo, storage, runner, tmp_path, monkeypatch):
    """pyHanko's validation raising is the checker's failure: "tidak dapat diperiksa" on the
    page and "cannot be checked" in the CLI, never "changed" or a tampered signature."""
    letter = walk("rekom-nakes", storage)[0].letters[0]
    pdf = storage.read(letter.storage_key)

    async def broken(*args, **kwargs):
        raise RuntimeError("validator exploded")

    monkeypatch.setattr(signing.verify, "async_validate_pdf_signature", broken)
    body = text(_page(app, letter.token, pdf))
    assert VERDICT.findall(body) == ["unchecked"]
    result_panel = body[body.index("data-verdict"):body.index("</section>",
                                                              body.index("data-verdict"))]
    assert "TIDAK DAPAT DIPERIKSA" in result_panel and "tidak dapat diperiksa" in result_panel
    assert "DIUBAH" not in result_panel and "dirusak" not in result_panel
    assert 'class="verdict ok"' not in result_panel
    result = _cli(runner, tmp_path, pdf)
    assert result.exit_code == 1 and OUTCOME.findall(result.output) == ["unchecked"]
    assert "cannot be checked" in result.output and "intact=False" not in result.output
    assert "tampered" not in result.output and "Changed after signing" not in result.output


def test_the_page_shows_what_a_stranger_needs_to_judge_a_paper_copy(app, demo, storage):
    issued = {lt.letter_key: lt for lt in walk("sik-perekam-medis", storage)[0].letters}
    sik = issued["sik"]
    form = sik.application.form_data
    # the person the SIK is about is the one named in the form, not the account holder
    assert sik.holder_name == form["full_name"] != sik.application.applicant.name
    body = text(Browser(app).get(f"/v/{sik.token}"))
    masked = " ".join(w[0] + "*" * (len(w) - 1) for w in form["full_name"].split())
    assert masked in body and form["full_name"] not in body
    assert form["nik"] not in body
    assert sik.number in body and sik.subject and sik.subject in body
    assert sik.signer_name in body and sik.signed_as in body
    assert "Bandingkan gambar berikut dengan surat kertas" in body
    images = LetterPage.of(sik)
    assert images and all(p.size <= PAGE_BUDGET for p in images)
    tags = re.findall(r"<img [^>]*>", body)
    assert len(tags) == len(images)
    for tag, page in zip(tags, images, strict=True):
        assert 'loading="lazy"' in tag and f'width="{page.width}"' in tag
        assert f'height="{page.height}"' in tag
    client = app.test_client()  # no account
    src = re.search(r'src="([^"]+)"', tags[0]).group(1)
    image = client.get(src)
    data = image.get_data()
    image.close()  # send_file's open file
    assert image.status_code == 200 and image.mimetype == "image/jpeg"
    assert data[:2] == b"\xff\xd8" and len(data) <= PAGE_BUDGET
    assert client.get(f"/v/{sik.token}/pages/{len(images)}.jpg").status_code == 404
    assert client.get("/v/not-a-token/pages/0.jpg").status_code == 404
    assert AuditEvent.select().where(AuditEvent.action == "letter.pages_viewed").count() == 1


def _body_size(response) -> int:
    size = len(response.get_data())
    response.close()
    return size


def test_the_verification_page_stays_light_on_a_phone(app, demo, storage, capsys):
    letter = walk("rekom-nakes", storage)[0].letters[0]
    client = app.test_client()
    page = client.get(f"/v/{letter.token}", headers=GZIP)
    html = gzip.decompress(page.get_data()).decode()
    assets = sum(_body_size(client.get(url, headers=GZIP))
                 for url in re.findall(r'(?:href|src)="(/static/[^"]+)"', html))
    images = sum(_body_size(client.get(url)) for url in re.findall(r'src="(/v/[^"]+\.jpg)"', html))
    total = len(page.get_data()) + assets + images
    with capsys.disabled():
        print(f"\n  verification page, 1-page letter: HTML {len(page.get_data()):,} B gzip, "
              f"assets {assets:,} B, page images {images:,} B, total {total:,} B")
    assert len(page.get_data()) <= 6_000 and images <= PAGE_BUDGET
    assert total <= 60_000


SEED = """
import json, sys
from pathlib import Path
from wsgi import app
from portal.storage import current_storage
from portal.modules.demo.data import walk

with app.app_context():
    letter = walk("rekom-nakes", current_storage())[0].letters[0]
    Path(sys.argv[1]).write_bytes(current_storage().read(letter.storage_key))
    print(json.dumps({"token": letter.token}))
"""


@pytest.mark.skipif(__import__("browser_support").skip_reason() is not None,
                    reason=str(__import__("browser_support").skip_reason()))
def test_a_phone_without_javascript_checks_a_paper_copy_and_an_upload(tmp_path):
    """At 360 px, JavaScript off, on a real server: the page fits the screen, the page image
    keeps its proportions, and an uploaded forgery gets the red verdict above the record."""
    import json
    import subprocess
    import sys

    from browser_support import AXE, ROOT, Portal, artifact_dir, axe_violations, chromium_session

    with Portal(tmp_path / "instance") as portal, chromium_session() as chromium:
        issued = tmp_path / "issued.pdf"
        seeded = subprocess.run([sys.executable, "-c", SEED, str(issued)], cwd=ROOT,
                                env=portal.env, capture_output=True, text=True, timeout=180)
        assert seeded.returncode == 0, seeded.stderr[-3000:]
        token = json.loads(seeded.stdout.strip().splitlines()[-1])["token"]
        context = chromium.new_context(java_script_enabled=False, base_url=portal.base_url,
                                       viewport={"width": 360, "height": 740}, locale="id-ID")
        page = context.new_page()
        try:
            page.goto(f"/v/{token}")
            image = page.locator("img.preview").first
            image.scroll_into_view_if_needed()
            page.wait_for_function("() => document.querySelector('img.preview').complete")
            box = image.bounding_box()
            natural = image.evaluate("i => [i.naturalWidth, i.naturalHeight]")
            assert natural[0] > 0 and box["width"] <= 360
            assert abs(box["height"] / box["width"] - natural[1] / natural[0]) < 0.02
            assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
            forged = tmp_path / "forged.pdf"
            forged.write_bytes(annotation(issued.read_bytes()))
            page.set_input_files("#f-file", str(forged))
            page.get_by_role("button", name="Periksa").click()
            page.wait_for_load_state()
            verdict = page.locator("[data-verdict]")
            assert verdict.get_attribute("data-verdict") == "changed"
            assert "DIUBAH SETELAH DITANDATANGANI" in verdict.inner_text()
            assert page.locator(".verdict.ok").count() == 0
            assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
            page.screenshot(path=artifact_dir("verify-page") / "changed-360-nojs.png",
                            full_page=True)
            if AXE.is_file():  # no serious or critical accessibility violation
                checking = chromium.new_context(java_script_enabled=True,
                                                base_url=portal.base_url)
                try:
                    assert axe_violations(page, checking.new_page()) == []
                finally:
                    checking.close()
        finally:
            context.close()
