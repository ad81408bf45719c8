"""Phones first (issue 13): no page of the walks scrolls sideways, at 360x740 as at 1280x800,
with JavaScript on and off. Each page is opened by the person who sees it (anonymous visitor,
applicant, official, administrators) and measured: ``document.scrollingElement.scrollWidth``
must not exceed ``window.innerWidth``. When it does, the message names the elements that stick
out, so the fix can start from the failure.

The portal runs the way ``make run`` runs it (browser_support.Portal: migrate, demo data, a real
WSGI server); a few files are then made with the demo's own operations (a completed file with
its issued letters, one waiting at the first check, one waiting for a paraf, an account waiting
for approval with a long e-mail address). One server and one browser serve the whole module.
Screenshots go to test-artifacts/phone/<js|nojs>-<width>-<page>.png.

Each page is also checked by axe-core (from npm, vendored into tests/vendor/ by `make assets`):
no serious or critical accessibility violation, at either size."""

from __future__ import annotations

import pytest
from browser_support import ROOT, SIZES, check_pages, module_fixtures, on_phone, skip_reason

_REASON = skip_reason()
if _REASON:
    pytest.skip(_REASON, allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402

SHOTS = ROOT / "test-artifacts" / "phone"
SIK = "sik-perekam-medis"
MALANG = "dpmptsp-malang.absah.test"
APPLICANT = "pemohon@absah.test"
PETUGAS = f"petugas.perekonomian@{MALANG}"
LONG_EMAIL = "pemohon.dengan.alamat.surel.yang.panjang.sekali@contoh-domain-kabupaten.absah.test"

# Run inside the portal's environment (same instance folder and database as the server):
# prints the ids the pages below need, as one JSON line.
SEED = f"""
import json
from wsgi import app
from portal.config import current_config
from portal.storage import current_storage
from portal.modules.accounts import approvals
from portal.modules.accounts.models import User
from portal.modules.agencies.models import Agency
from portal.modules.applications.models import Task
from portal.modules.demo.data import _holder, walk
from portal.modules.letters.models import Letter
from portal.modules.sops.models import SopVersion

with app.app_context():
    storage = current_storage()
    done, _path = walk({SIK!r}, storage)
    letter = done.letters.order_by(Letter.id).first()
    spec = SopVersion.current({SIK!r}).spec
    officials = spec.application_steps[1:]  # after the submission
    paraf = next(s for s in officials if any("paraf" in o.label.lower() for o in s.outcomes))
    # One file waiting at the first check, one waiting for the first paraf.
    waiting, _path = walk({SIK!r}, storage, until=officials[0].key)
    check = Task.open_for(waiting)
    initialled, _path = walk({SIK!r}, storage, until=paraf.key)
    task = Task.open_for(initialled)
    assert task.step_key == paraf.key, task.step_key
    holder = task.assignee or _holder(task.position.agency, task.position.key)
    waiting_account = User.create(email={LONG_EMAIL!r}, name="Bapak Pemohon Bernama Panjang",
                                  password_hash="!")
    approvals.request_approval(waiting_account, Agency.get(Agency.code == "dinkes-bangka"))
    print(json.dumps({{"done": done.id, "waiting": waiting.id, "check": check.id,
                      "paraf": task.id, "paraf_by": holder.email, "letter": letter.id,
                      "token": letter.token}}))
"""


portal, seeded, browser = module_fixtures("phone", SEED, seed_timeout=180)


def visits(ids: dict) -> list[tuple[str | None, list[str]]]:
    """(who, the pages they open): every page of the walks, by the person who sees it."""
    return [
        (None, ["/", f"/services/{SIK}", "/register", "/login", f"/v/{ids['token']}"]),
        (APPLICANT, [f"/services/{SIK}", f"/services/{SIK}/apply", "apply-with-errors",
                     f"/applications/{ids['done']}", f"/applications/{ids['waiting']}",
                     "/applications", "/account"]),
        (PETUGAS, ["/inbox", f"/tasks/{ids['check']}", f"/letters/{ids['letter']}",
                   "/account"]),
        (ids["paraf_by"], ["/inbox", f"/tasks/{ids['paraf']}"]),
        (f"admin@{MALANG}", ["/admin/", "/admin/users", "/admin/acting", "/admin/sops",
                             "/admin/days-off", "/admin/outbox", "/admin/letter-templates",
                             "/admin/signing-certificates", "/admin/settings", "/letters"]),
        ("admin@dinkes-bangka.absah.test", ["/admin/approvals"]),
    ]


def apply_with_errors(page) -> None:
    """The application form sent with a wrong NIK and nothing else: the server's errors (the
    browser's own checks are switched off, as an old phone browser would not have them)."""
    page.goto(f"/services/{SIK}/apply")
    page.wait_for_load_state()
    page.get_by_label("NIK").fill("123")
    page.locator("#apply-form").evaluate("form => form.noValidate = true")
    page.get_by_role("button", name="Kirim permohonan").click()
    expect(page.locator(".error").first).to_be_visible()
    page.wait_for_load_state()


def shot_name(path: str) -> str:
    if path.startswith("/v/"):
        return "verification"  # not the letter's token
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in path.strip("/")) or "catalogue"


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_no_page_scrolls_sideways_nor_fails_axe(browser, portal, seeded, js):
    SHOTS.mkdir(parents=True, exist_ok=True)
    mode = "js" if js else "nojs"
    for old in SHOTS.glob(f"{mode}-*.png"):
        old.unlink()

    def shot(who: str | None, path: str, width: int):
        return SHOTS / f"{mode}-{width}-{(who or 'visitor').split('@')[0]}-{shot_name(path)}.png"

    problems, measured = check_pages(browser, portal.base_url, visits(seeded), js,
                                     portal.password, shot,
                                     actions={"apply-with-errors": apply_with_errors})
    assert measured >= 50
    assert not problems, "pages wider than the screen or failing axe:\n  " + "\n  ".join(
        problems)


def test_service_page_puts_the_application_near_the_top(browser, portal, seeded):
    """"Ajukan" comes before the requirements and the step list: on a phone, within the
    first two screens, not 2,600 px down."""
    with on_phone(browser, portal.base_url, APPLICANT, portal.password) as page:
        page.goto(f"/services/{SIK}")
        button = page.get_by_role("link", name="Isi formulir permohonan")
        expect(button).to_be_visible()
        top = button.evaluate("e => e.getBoundingClientRect().top + window.scrollY")
        steps = page.get_by_role("heading", name="Alur layanan").evaluate(
            "e => e.getBoundingClientRect().top + window.scrollY")
        assert top < steps
        assert top < 2 * SIZES[0]["height"], top
