"""Officials see small page images of uploads instead of downloading multi-megabyte scans."""

from __future__ import annotations

import datetime as dt

from webclient import Browser, text

from portal.modules.accounts.models import User
from portal.modules.applications import operations
from portal.modules.applications.models import Document, Task
from portal.modules.applications.previews import make_previews
from portal.modules.demo.data import (
    DEMO_APPLICANT,
    sample_form,
    sample_pdf,
    sample_png,
    sample_uploads,
)
from portal.modules.sops.models import SopVersion

PASSWORD = "demo-test-password"


def test_pdf_and_image_previews_are_small_jpegs():
    pages = make_previews(sample_pdf("Ijazah"), "application/pdf")
    assert len(pages) == 1 and pages[0].startswith(b"\xff\xd8") and len(pages[0]) < 60_000
    image = make_previews(sample_png(1200, 1600), "image/png")
    assert len(image) == 1 and image[0].startswith(b"\xff\xd8")


def test_a_phone_photo_of_a_document_previews_in_tens_of_kilobytes():
    import io
    import random

    from PIL import Image, ImageDraw, ImageFilter

    random.seed(7)
    photo = Image.new("RGB", (3000, 4000), (226, 222, 210))  # paper under room light
    draw = ImageDraw.Draw(photo)
    for y in range(250, 3800, 70):  # lines of "text"
        x = 250
        while x < 2700:
            width = random.randint(25, 140)
            shade = random.randint(15, 80)
            draw.rectangle((x, y, x + width, y + 34), fill=(shade, shade, shade + 10))
            x += width + 30
    photo = photo.filter(ImageFilter.GaussianBlur(1.2))
    original = io.BytesIO()
    photo.save(original, "JPEG", quality=95)
    assert original.tell() > 1_000_000
    [preview] = make_previews(original.getvalue(), "image/jpeg")
    assert len(preview) < 100_000
    print(f"photo {original.tell():,} B -> preview {len(preview):,} B")


def test_a_broken_pdf_is_kept_without_a_preview():
    assert make_previews(b"%PDF-1.4\nnot really a pdf", "application/pdf") == []


def test_the_official_opens_previews_and_strangers_do_not(app, demo, storage, make_applicant):
    spec = SopVersion.current("rekom-nakes").spec
    form = sample_form(spec, dt.date.today())
    application = operations.submit_application(
        User.by_email(DEMO_APPLICANT), "rekom-nakes", form,
        sample_uploads(spec, "submit", form), storage)
    doc = Document.get((Document.application == application) & (Document.requirement == "str"))
    assert len(doc.previews) == 1
    official = Browser(app)
    official.login("sdmk.admin@dinkes-bangka.absah.test", PASSWORD)
    page = text(official.get(f"/tasks/{Task.open_for(application).id}"))
    url = f"/documents/{doc.id}/pages/0.jpg"
    assert url in page and 'loading="lazy"' in page
    image = official.get(url)
    assert image.status_code == 200 and image.mimetype == "image/jpeg"
    assert image.data.startswith(b"\xff\xd8")
    stranger = make_applicant()
    stranger.password_hash = User.by_email(DEMO_APPLICANT).password_hash
    stranger.save()
    other = Browser(app)
    other.login(stranger.email, PASSWORD)
    assert other.get(url).status_code == 404
    assert official.get(f"/documents/{doc.id}/pages/7.jpg").status_code == 404
