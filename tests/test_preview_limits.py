"""Uploads cannot stall the portal: an image larger than the pixel limit is refused from its
header; previews render in a separate process with capped memory, before the database
transaction; a QR scan does not wait behind an upload whose transaction is still open."""

from __future__ import annotations

import io
import logging
import struct
import threading
import zlib

import pytest
from conftest import BACKENDS
from PIL import Image
from webclient import Browser, text
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from portal.core.db import db
from portal.modules.applications import documents, operations, previews
from portal.modules.applications.documents import Upload
from portal.modules.applications.models import Document
from portal.modules.audit import trail
from portal.modules.audit.models import AuditEvent


def blank_png(width: int, height: int) -> bytes:
    """A blank RGBA PNG written row by row (never the whole image in memory): 12,500 x
    12,500 compresses to about 600 KB and would take 625 MB decoded."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body)))

    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + width * 4)
    parts = [compressor.compress(row * 100) for _ in range(height // 100)]
    parts += [compressor.compress(row * (height % 100)), compressor.flush()]
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"".join(parts))
            + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return blank_png(12_500, 12_500)


@pytest.fixture
def renders(monkeypatch):
    """Every upload render, with whether a database transaction was open at the time."""
    calls = []
    real = documents.make_upload_previews

    def spy(data, media_type, max_bytes=None):
        calls.append((media_type, db.in_transaction()))
        return real(data, media_type, max_bytes)

    monkeypatch.setattr(documents, "make_upload_previews", spy)
    return calls


def _jpeg(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(out, "JPEG")
    return out.getvalue()


def test_image_sizes_come_from_the_header(bomb):
    assert len(bomb) < 1_000_000
    assert previews.image_size(bomb, "image/png") == (12_500, 12_500)
    assert previews.image_size(_jpeg(1234, 567), "image/jpeg") == (1234, 567)
    assert previews.image_size(b"\xff\xd8\xff\xe0garbage", "image/jpeg") is None


def test_a_12500_pixel_png_is_refused_with_a_clear_message(app, demo, bomb, renders):
    from portal.modules.demo.data import DEMO_APPLICANT

    browser = Browser(app)
    browser.login(DEMO_APPLICANT, app.config["DEMO_PASSWORD"])
    browser.get("/services/rekom-nakes/apply")
    # Encoded here, in memory: the test client would spool a body over 500 KB to a temporary
    # file it never closes.
    boundary, body = encode_multipart({
        "csrf_token": browser.token, "action": "draft",
        "doc_photo": FileStorage(io.BytesIO(bomb), "foto.png", content_type="image/png")})
    response = browser.client.post("/services/rekom-nakes/apply", data=body,
                                   content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 422
    page = text(response)
    assert "12500×12500 piksel terlalu besar" in page
    assert "paling banyak 50 juta piksel" in page
    assert renders == []  # refused from the header: never decoded, never rendered
    assert not Document.select().where(Document.requirement == "photo").exists()


def test_an_image_over_the_limit_gets_no_preview_even_if_screened_elsewhere(app, storage, bomb,
                                                                            renders):
    prepared = documents.with_previews({"photo": Upload("foto.png", bomb)}, storage)
    assert prepared["photo"].previews == ()
    assert renders == []


def test_the_renderer_process_has_a_memory_cap(monkeypatch, caplog):
    monkeypatch.setattr(previews, "MEMORY_LIMIT_MB", 120)
    small = io.BytesIO()
    Image.new("RGB", (300, 400), "white").save(small, "PNG")
    assert len(previews.make_upload_previews(small.getvalue(), "image/png")) == 1
    # 7,000 x 7,000 RGBA: under the pixel limit, but 196 MB decoded.
    with caplog.at_level(logging.WARNING, logger=previews.__name__):
        assert previews.make_upload_previews(blank_png(7000, 7000), "image/png") == []
    assert "out of memory" in caplog.text
    monkeypatch.setattr(previews, "MEMORY_LIMIT_MB", 768)
    pages = previews.make_upload_previews(blank_png(7000, 7000), "image/png")
    assert len(pages) == 1 and pages[0].startswith(b"\xff\xd8")
    with Image.open(io.BytesIO(pages[0])) as image:
        assert image.size == (previews.WIDTH, previews.WIDTH)


def test_previews_are_made_before_the_transaction(app, demo, storage, renders):
    from portal.modules.accounts.models import User
    from portal.modules.demo.data import DEMO_APPLICANT, sample_pdf
    from portal.modules.sops.models import SopVersion

    user = User.get(User.email == DEMO_APPLICANT)
    spec = SopVersion.current("rekom-nakes").spec
    png = io.BytesIO()
    Image.new("RGB", (800, 1000), "white").save(png, "PNG")
    uploads = {"photo": Upload("foto.png", png.getvalue()),
               "str": Upload("str.pdf", sample_pdf("STR"))}
    assert {d.key for d in spec.documents} >= set(uploads)
    draft, errors = operations.save_draft(user, "rekom-nakes", {}, uploads, storage)
    assert errors == {}
    assert sorted(renders) == [("application/pdf", False), ("image/png", False)]
    stored = Document.latest_for(draft)
    assert len(stored["photo"].previews) == 1 and len(stored["str"].previews) >= 1
    assert storage.read(stored["photo"].previews[0]).startswith(b"\xff\xd8")

POSTGRESQL = BACKENDS[1]


# Row locks are PostgreSQL's (SQLite has one writer at a time): PostgreSQL only.
@pytest.mark.parametrize("database_url", [POSTGRESQL], indirect=True)
def test_a_qr_scan_does_not_wait_behind_an_open_upload_transaction(app, demo, storage,
                                                                    database_url, monkeypatch):
    """An upload holds its transaction open (after writing its audit events); a QR scan of an
    unrelated letter, which records an event too, completes meanwhile."""
    from portal.modules.accounts.models import User
    from portal.modules.demo.data import DEMO_APPLICANT, sample_pdf, walk

    letter = list(walk("rekom-nakes", storage)[0].letters)[0]
    last_before = AuditEvent.select().order_by(AuditEvent.id.desc()).first().id
    user = User.get(User.email == DEMO_APPLICANT)
    inside, release = threading.Event(), threading.Event()
    real_store = operations.store_uploads

    def store_then_hold(*args, **kwargs):
        real_store(*args, **kwargs)  # the documents and their audit events are written
        inside.set()
        release.wait(60)

    monkeypatch.setattr(operations, "store_uploads", store_then_hold)
    results = {}

    def upload():
        try:
            with app.app_context():
                results["draft"] = operations.save_draft(
                    user, "rekom-nakes", {}, {"str": Upload("str.pdf", sample_pdf("STR"))},
                    storage)[0]
        except Exception as exc:  # noqa: BLE001 (reported by the assertion below)
            results["draft"] = exc
        finally:
            db.close()

    def scan():
        try:
            with app.app_context():
                response = app.test_client().get(f"/v/{letter.token}")
                results["scan"] = response.status_code
        finally:
            db.close()

    uploader = threading.Thread(target=upload)
    uploader.start()
    try:
        assert inside.wait(60), "the upload never reached its transaction"
        scanner = threading.Thread(target=scan)
        scanner.start()
        scanner.join(60)
        assert not scanner.is_alive(), "the QR scan waited behind the upload's transaction"
        assert uploader.is_alive() and not release.is_set()  # the upload is still open
        assert results["scan"] == 200
        scanned = AuditEvent.get((AuditEvent.action == "letter.viewed_public")
                                 & (AuditEvent.object_id == str(letter.id)))
        assert scanned.seq is not None  # recorded and sealed while the upload holds its rows
        assert not AuditEvent.select().where(AuditEvent.id > scanned.id).exists()
    finally:
        release.set()
        uploader.join(60)
    assert not isinstance(results["draft"], Exception), results["draft"]
    uploaded = AuditEvent.get((AuditEvent.action == "document.uploaded")
                              & (AuditEvent.id > last_before))
    assert uploaded.seq is None  # committed after the scan's seal: the next seal links it
    trail.seal(wait=True)
    assert AuditEvent.get_by_id(uploaded.id).seq > scanned.seq
    assert trail.verify_chain().ok
