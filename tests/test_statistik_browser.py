"""The SLA report, the public statistics and the feedback pages in Debian's Chromium: none
scrolls sideways at 360 px or 1280 px, none has a serious or critical axe-core violation,
with JavaScript on and off; a screenshot of each goes to test-artifacts/browser/<test>/.

The portal runs as ``make run`` runs it (browser_support.Portal); two files of rekom-nakes
are walked to the end by the demo officials, one complaint is filed and the applicant
answers the survey, so the pages show figures, charts and lists rather than empty states."""

from __future__ import annotations

import pytest
from browser_support import SIZES, artifact_dir, check_pages, module_fixtures, on_phone, skip_reason

_REASON = skip_reason()
if _REASON:
    pytest.skip(_REASON, allow_module_level=True)

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


portal, seeded, browser = module_fixtures("statistik", SEED, seed_timeout=300)


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
    shots = artifact_dir(request.node.name)
    problems, measured = check_pages(
        browser, portal.base_url, visits(seeded), js, portal.password,
        lambda _who, path, width: shots / f"{width}-{_name(path)}.png",
        expected_status=lambda path: 422 if "kemarin" in path else 200)
    assert measured == 2 * sum(len(paths) for _who, paths in visits(seeded))
    assert not problems, "pages wider than the screen or failing axe:\n  " + "\n  ".join(
        problems)


def test_the_report_shows_its_charts_without_javascript(browser, portal, seeded):
    with on_phone(browser, portal.base_url, ADMIN, portal.password) as page:
        page.goto(f"/admin/sla?sop={SOP}")
        chart = page.locator("svg.chart").first
        box = chart.bounding_box()
        assert box is not None and 0 < box["width"] <= SIZES[0]["width"]
        assert page.get_by_role("img", name="Bagian tugas dalam waktu standar per minggu") \
            .count() == 1
        statistik = page.context.new_page()
        statistik.goto("/statistik")
        row = statistik.locator("#statistics tr", has_text="Rekomendasi")
        assert row.count() >= 1
        assert "Belum cukup berkas selesai" in row.first.inner_text()  # 2 files, not 5
