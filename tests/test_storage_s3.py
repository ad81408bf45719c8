"""Files in an S3-compatible store: the storage contract on the local disk and on moto's
standalone S3 server (a separate process started here), and the portal's document and
letter flows served from a bucket (upload, preview, download, letter download, /v/)."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re

import pytest
from services import MotoS3
from webclient import Browser, text

from portal.modules.applications.models import Application, Document
from portal.modules.backup.files import sweep
from portal.modules.demo.data import sample_form, sample_pdf, sample_png, walk
from portal.modules.letters.models import Letter
from portal.modules.sops.models import SopVersion
from portal.storage import Staged, StorageError, current_storage, key_for, open_storage
from portal.storage.local import LocalStorage
from portal.storage.s3 import S3Storage

PASSWORD = "demo-test-password"


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    server = MotoS3(tmp_path_factory.mktemp("moto")).start()
    yield server
    server.stop()


@pytest.fixture(params=["local", "s3"])
def any_storage(request, tmp_path, moto, monkeypatch):
    if request.param == "local":
        return open_storage("", str(tmp_path / "files"))
    for name, value in {"AWS_ACCESS_KEY_ID": "absah-test", "AWS_SECRET_ACCESS_KEY": "x",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    return open_storage(moto.new_bucket(), "")


def test_a_url_names_the_backend_and_a_wrong_one_is_refused(tmp_path):
    assert isinstance(open_storage("", str(tmp_path)), LocalStorage)
    assert isinstance(open_storage(f"file://{tmp_path}", ""), LocalStorage)
    s3 = open_storage("s3://letters?endpoint=http://127.0.0.1:9&region=ap-southeast-3", "")
    assert isinstance(s3, S3Storage) and s3.bucket == "letters"
    for wrong in ("ftp://x", "s3://?endpoint=http://h", "s3://b?endpont=http://h"):
        with pytest.raises(StorageError, match="PORTAL_STORAGE_URL"):
            open_storage(wrong, "")


def test_content_is_stored_once_under_its_hash(any_storage):
    key, digest = any_storage.put(b"%PDF-1.7 surat")
    assert digest == hashlib.sha256(b"%PDF-1.7 surat").hexdigest() and key == key_for(digest)
    assert any_storage.put(b"%PDF-1.7 surat") == (key, digest)
    assert any_storage.read(key) == b"%PDF-1.7 surat" and any_storage.exists(key)
    assert list(any_storage.keys()) == [key]
    with pytest.raises(ValueError):
        any_storage.read("../etc/passwd")
    with pytest.raises(FileNotFoundError):
        any_storage.read(key_for("0" * 64))


def test_a_staged_object_is_no_key_until_promoted(any_storage):
    staged = any_storage.stage(b"signed letter")
    assert not any_storage.exists(staged.key) and list(any_storage.keys()) == []
    assert [s.name for s in any_storage.staged()] == [staged.name]
    any_storage.promote(staged)
    any_storage.promote(staged)  # twice (two hosts, or the sweep after the hook): fine
    assert any_storage.read(staged.key) == b"signed letter"
    assert list(any_storage.staged()) == []


def test_reading_a_committed_key_promotes_its_staging_copy(any_storage):
    staged = any_storage.stage(b"committed, not yet promoted")
    assert any_storage.read(staged.key) == b"committed, not yet promoted"
    assert list(any_storage.staged()) == [] and any_storage.exists(staged.key)


def test_the_sweep_deletes_stale_staging_without_a_record_and_keeps_young_ones(app,
                                                                               any_storage):
    stale = any_storage.stage(b"rolled back long ago")
    report = sweep(any_storage, now=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1))
    assert report.kept == [stale.name] and report.deleted == []
    report = sweep(any_storage, now=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
    assert report.deleted == [stale.name]
    assert list(any_storage.staged()) == [] and not any_storage.exists(stale.key)
    assert Staged.parse("staging/../../x") is None


@pytest.fixture
def app_config(moto, monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "absah-test", "AWS_SECRET_ACCESS_KEY": "x",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    return {"STORAGE_URL": moto.new_bucket()}


def _apply_with_uploads(app, code):
    browser = Browser(app)
    browser.login("pemohon@absah.test", PASSWORD)
    spec = SopVersion.current(code).spec
    page = browser.get(f"/services/{code}/apply")
    key = re.search(r'name="submission_key" value="([^"]+)"', text(page)).group(1)
    values = sample_form(spec, dt.date.today())
    opening = spec.application_steps[0].key
    data = {**values, "submission_key": key, "action": "submit"}
    sent = {}
    for doc in spec.documents:
        if (doc.step or opening) == opening and doc.applies(values):
            body = sample_pdf(doc.label) if "pdf" in doc.media else sample_png()
            sent[doc.key] = body
            data[f"doc_{doc.key}"] = (io.BytesIO(body),
                                      f"{doc.key}.{'pdf' if 'pdf' in doc.media else 'png'}")
    response = browser.post(f"/services/{code}/apply", data,
                            content_type="multipart/form-data")
    assert response.status_code == 303, text(response)[:1000]
    return browser, Application.get(Application.status != "draft"), sent


def test_documents_upload_preview_and_download_from_the_bucket(app, demo, moto, tmp_path):
    browser, application, sent = _apply_with_uploads(app, "rekom-nakes")
    objects = moto.objects(app.extensions["portal.config"].storage_url)
    documents = list(Document.select().where(Document.application == application))
    assert documents and len(documents) == len(sent)
    for doc in documents:
        assert objects[doc.storage_key] == sent[doc.requirement]  # in the bucket, whole
        got = browser.get(f"/documents/{doc.id}")
        assert got.status_code == 200 and got.get_data() == sent[doc.requirement]
        assert doc.previews, doc.requirement
        preview = browser.get(f"/documents/{doc.id}/pages/0.jpg")
        assert preview.status_code == 200 and preview.get_data()[:3] == b"\xff\xd8\xff"
    assert not (tmp_path / "files").exists()  # nothing went to the local disk


def test_a_letter_issued_into_the_bucket_downloads_and_verifies(app, demo, moto, tmp_path):
    application, _path = walk("rekom-nakes", current_storage())
    letter = Letter.get(Letter.application == application)
    objects = moto.objects(app.extensions["portal.config"].storage_url)
    assert hashlib.sha256(objects[letter.storage_key]).hexdigest() == letter.sha256
    assert not [name for name in objects if name.startswith("staging/")]
    browser = Browser(app)
    browser.login("pemohon@absah.test", PASSWORD)
    pdf = browser.get(f"/letters/{letter.id}.pdf")
    assert pdf.status_code == 200
    assert hashlib.sha256(pdf.get_data()).hexdigest() == letter.sha256
    checked = Browser(app).post(f"/v/{letter.token}",
                                {"file": (io.BytesIO(pdf.get_data()), "surat.pdf")},
                                content_type="multipart/form-data")
    assert checked.status_code == 200 and letter.number in text(checked)
    assert not (tmp_path / "files").exists()
