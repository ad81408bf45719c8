"""The SLA report, the public statistics and the feedback pages in Debian's Chromium: none
scrolls sideways at 360 px or 1280 px, none has a serious or critical axe-core violation,
with JavaScript on and off; a screenshot of each goes to test-artifacts/browser/<test>/.

The portal runs as ``make run`` runs it (browser_support.Portal); two files of rekom-nakes
are walked to the end by the demo officials, one complaint is filed and the applicant
answers the survey, so the pages show figures, charts and lists rather than empty states."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from browser_support import ROOT, Portal, artifact_dir, chromium_session, skip_reason

_REASON = skip_reason()
if _REASON:
    pytest.skip(_REASON, allow_module_level=True)

from test_phone import AXE, SIZES, STICKING_OUT, axe_violations, log_in  # noqa: E402

TIMEOUT_MS = 15_000
SOP = "rekom-nakes"
ADMIN = "admin@dinkes-bangka.absah.test"
APPLICANT = "pemohon@absah.test"

SEED = f"""
import json
from wsgi import app
from portal.storage import current_storage
from portal.modules.accounts.models import User
from portal.modules.demo.data import walk
from portal.modules.feedback import complaints, survey

with app.app_context():
    storage = current_storage()
    done = [walk({SOP!r}, storage)[0] for _ in range(2)]
    applicant = User.by_email({APPLICANT!r})
    survey.submit_response(applicant, done[0].id, {{f"u{{i}}": str(1 + i % 4)
                                                   for i in range(1, 10)}},
                           "Pelayanan cepat, tetapi syarat kurang jelas di laman.")
    complaint = complaints.file_complaint(None, {SOP!r}, {{
        "name": "Warga Dengan Nama Yang Cukup Panjang Sekali",
        "email": "warga.dengan.alamat.yang.panjang@contoh-domain-kabupaten.absah.test",
        "body": "Berkas belum ada kabar sejak minggu lalu; mohon penjelasan."}})
    print(json.dumps({{"done": done[1].id, "complaint": complaint.id,
                      "token": complaint.token}}))
"""


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    with Portal(tmp_path_factory.mktemp("statistik") / "instance") as running:
        yield running


@pytest.fixture(scope="module")
def seeded(portal) -> dict:
    result = subprocess.run([sys.executable, "-c", SEED], cwd=ROOT, env=portal.env,
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def browser(portal):
    with chromium_session() as chromium:
        yield chromium


def visits(ids: dict) -> list[tuple[str | None, list[str]]]:
    return [
        (None, ["/statistik", f"/services/{SOP}", f"/services/{SOP}/complaint",
                f"/complaints/t/{ids['token']}"]),
        (APPLICANT, [f"/applications/{ids['done']}", f"/applications/{ids['done']}/survey"]),
        (ADMIN, ["/admin/sla", f"/admin/sla?sop={SOP}", "/admin/sla?since=kemarin",
                 "/complaints", f"/complaints/{ids['complaint']}", "/admin/complaints"]),
    ]


def _name(path: str) -> str:
    if path.startswith("/complaints/t/"):
        return "complaint-status"  # not the private token
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in path.strip("/"))


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_report_and_statistics_fit_a_phone_and_pass_axe(browser, portal, seeded, js, request):
    if not AXE.is_file():
        pytest.fail("axe-core is not vendored: run `make assets` (npm) first")
    shots = artifact_dir(request.node.name)
    problems, measured = [], 0
    checking = browser.new_context(java_script_enabled=True, base_url=portal.base_url)
    checker = checking.new_page()
    for who, paths in visits(seeded):
        context = browser.new_context(java_script_enabled=js, base_url=portal.base_url,
                                      viewport=SIZES[0], locale="id-ID")
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        try:
            if who is not None:
                log_in(page, who, portal.password)
            for path in paths:
                page.set_viewport_size(SIZES[0])
                response = page.goto(path)
                expected = 422 if "kemarin" in path else 200
                assert response is not None and response.status == expected, (
                    who, path, response and response.status)
                page.wait_for_load_state()
                for size in SIZES:
                    page.set_viewport_size(size)
                    width = page.evaluate("document.scrollingElement.scrollWidth")
                    viewport = page.evaluate("window.innerWidth")
                    measured += 1
                    page.screenshot(path=shots / f"{size['width']}-{_name(path)}.png",
                                    full_page=size is SIZES[0])
                    if width > viewport:
                        problems.append(f"{path} as {who or 'visitor'} at {size['width']} px: "
                                        f"{width} px wide\n      "
                                        + "\n      ".join(page.evaluate(STICKING_OUT)))
                    for violation in axe_violations(page, checker):
                        problems.append(f"{path} as {who or 'visitor'} at {size['width']} px, "
                                        f"axe: {violation}")
        finally:
            context.close()
    checking.close()
    assert measured == 2 * sum(len(paths) for _who, paths in visits(seeded))
    assert not problems, "pages wider than the screen or failing axe:\n  " + "\n  ".join(
        problems)


def test_the_report_shows_its_charts_without_javascript(browser, portal, seeded):
    context = browser.new_context(java_script_enabled=False, base_url=portal.base_url,
                                  viewport=SIZES[0], locale="id-ID")
    try:
        page = context.new_page()
        log_in(page, ADMIN, portal.password)
        page.goto(f"/admin/sla?sop={SOP}")
        chart = page.locator("svg.chart").first
        box = chart.bounding_box()
        assert box is not None and 0 < box["width"] <= SIZES[0]["width"]
        assert page.get_by_role("img", name="Bagian tugas dalam waktu standar per minggu") \
            .count() == 1
        statistik = context.new_page()
        statistik.goto("/statistik")
        row = statistik.locator("#statistics tr", has_text="Rekomendasi")
        assert row.count() >= 1
        assert "Belum cukup berkas selesai" in row.first.inner_text()  # 2 files, not 5
    finally:
        context.close()
