"""Nobody initials or signs a letter they have not seen: the draft letter at paraf, approve
and sign steps, and a confirmation before signing."""

from __future__ import annotations

import re

import pypdfium2
from webclient import Browser, text

from portal.modules.applications.models import Application, Task
from portal.modules.audit.models import AuditEvent
from portal.modules.demo.data import DEMO_APPLICANT, walk
from portal.modules.letters.drafts import PAGE_BUDGET
from portal.modules.letters.models import Letter, LetterTemplate
from portal.modules.sops.spec import Effect

PASSWORD = "demo-test-password"
KASI = "kasi.sdmk@dinkes-bangka.absah.test"


def _file_at(step_key: str, storage) -> Application:
    """A rekom-nakes file walked by its officials to ``step_key``."""
    return walk("rekom-nakes", storage, until=step_key)[0]


def _official(app, task, htmx=False) -> Browser:
    browser = Browser(app, htmx=htmx)
    browser.login(task.position.assignments[0].user.email, PASSWORD)
    return browser


def _pdf_text(data: bytes) -> str:
    pdf = pypdfium2.PdfDocument(data)
    try:
        return "\n".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    finally:
        pdf.close()


def test_an_approving_official_sees_the_draft_as_light_images_and_as_pdf(app, demo, storage):
    application = _file_at("approve_kasi", storage)
    task = Task.open_for(application)
    official = _official(app, task)
    page = text(official.get(f"/tasks/{task.id}"))
    assert "Draf surat" in page
    image = official.get(f"/tasks/{task.id}/draft/rekomendasi/0.jpg")
    assert image.status_code == 200 and image.mimetype == "image/jpeg"
    assert len(image.data) <= PAGE_BUDGET and image.data.startswith(b"\xff\xd8")
    assert "private" in image.headers["Cache-Control"]
    pdf = official.get(f"/tasks/{task.id}/draft/rekomendasi.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
    words = _pdf_text(pdf.data)
    assert "DRAF" in words and "(nomor)" in words
    assert application.applicant.name in words  # the person the letter is about
    assert AuditEvent.select().where(AuditEvent.action == "letter.draft_viewed").count() == 2


def test_no_draft_at_a_checking_step_nor_for_the_applicant(app, demo, storage):
    application = _file_at("check", storage)
    task = Task.open_for(application)
    official = _official(app, task)
    assert "Draf surat" not in text(official.get(f"/tasks/{task.id}"))
    assert official.get(f"/tasks/{task.id}/draft/rekomendasi.pdf").status_code == 404
    later = Task.open_for(_file_at("approve_kasi", storage))
    applicant = Browser(app)
    applicant.login(DEMO_APPLICANT, PASSWORD)
    assert applicant.get(f"/tasks/{later.id}/draft/rekomendasi.pdf").status_code == 404
    assert _official(app, later).get(
        f"/tasks/{later.id}/draft/no-such-letter.pdf").status_code == 404


def test_signing_asks_once_more_naming_the_letter_and_the_person(app, demo, storage):
    application = _file_at("sign", storage)
    task = Task.open_for(application)
    spec = application.sop.spec
    forward = next(o for o in spec.step("sign").outcomes if o.effect is Effect.FORWARD)
    for htmx in (False, True):
        official = _official(app, task, htmx=htmx)
        asked = official.post(f"/tasks/{task.id}/decide", {"outcome": forward.key})
        assert asked.status_code == 200
        page = text(asked)
        assert "Tandatangani surat?" in page and "Rekomendasi" in page
        assert application.applicant.name in page
        assert ("<html" in page) is not htmx  # a page without JavaScript, the panel with it
        assert Task.get_by_id(task.id).status == "open"
    done = official.post(f"/tasks/{task.id}/decide", {"outcome": forward.key, "confirmed": "1"})
    assert done.status_code == 200 and "Keputusan tersimpan" in text(done)
    assert Task.get_by_id(task.id).status == "done"
    assert Letter.select().where(Letter.application == application).count() <= 1


def test_a_paraf_shows_the_letter_it_initials_not_the_pickup_ticket(app, demo, storage):
    application = walk("sik-perekam-medis", storage, until="paraf_analis_muda")[0]
    task = Task.open_for(application)
    official = _official(app, task)
    page = text(official.get(f"/tasks/{task.id}"))
    drafts = set(re.findall(r"/draft/([a-z_]+)\.pdf", page))
    assert drafts and "tiket_pengambilan" not in drafts
    assert official.get(
        f"/tasks/{task.id}/draft/tiket_pengambilan.pdf").status_code == 404


def test_the_task_page_puts_number_deadline_and_decision_before_the_long_step_text(
        app, demo, storage):
    application = walk("rekom-nakes", storage, until="approve_kasi")[0]
    task = Task.open_for(application)
    step = application.sop.spec.step(task.step_key)
    page = text(_official(app, task).get(f"/tasks/{task.id}"))
    heading = re.search(r"<h1>(.*?)</h1>", page, re.S).group(1).strip()
    assert heading == step.heading and len(heading.split()) <= 9
    assert page.index(application.registration_number) < page.index('id="panel"')
    assert "Batas waktu:" in page[:page.index('id="panel"')]
    assert page.index('id="panel"') < page.index("Draf surat")  # the decision first
    if step.heading != step.title:
        assert "Langkah SOP selengkapnya" in page and step.title in page


def test_a_broken_stored_wording_says_so_instead_of_breaking_the_task_page(app, demo, storage):
    """A wording stored before the save-time check (or broken by a new SOP version)."""
    application = _file_at("approve_kasi", storage)
    task = Task.open_for(application)
    LetterTemplate.create(agency=application.agency, sop_code="rekom-nakes",
                          letter_key="rekomendasi", source="{{ form.items( }}\n")
    official = _official(app, task)
    page = official.get(f"/tasks/{task.id}")
    assert page.status_code == 200 and "Draf tidak dapat dibuat" in text(page)
    assert official.get(f"/tasks/{task.id}/draft/rekomendasi.pdf").status_code == 404
