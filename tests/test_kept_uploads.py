"""An official's good upload survives a refused decision: kept in storage without a Document
row, carried by the re-rendered form as a signed reference bound to the task and the
official, and recorded by the next decision without being sent again."""

from __future__ import annotations

import hashlib
import re

import pytest
from webclient import Browser, text

from portal.modules.accounts.models import User
from portal.modules.applications import kept
from portal.modules.applications.models import Decision, Document, Task
from portal.modules.demo.data import sample_pdf, sample_png, walk

PASSWORD = "demo-test-password"
SIK = "sik-perekam-medis"
TIM = "tim.teknis@dinkes-malang.absah.test"
DOC = "technical_recommendation"
KEPT = re.compile(r'name="kept_technical_recommendation" value="([^"]+)"')


def _official(app, email, htmx=False) -> Browser:
    browser = Browser(app, htmx=htmx)
    browser.login(email, PASSWORD)
    return browser


def _decide(browser, task, data, files=None):
    """Post the task's decision form with its files, as a browser (or htmx) sends it."""
    return browser.post_files(f"/tasks/{task.id}/decide", data,
                              {f"doc_{key}": file for key, file in (files or {}).items()})


def _recommendations(application):
    return Document.select().where((Document.application == application)
                                   & (Document.requirement == DOC))


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_a_refused_decision_keeps_the_good_upload_for_the_next_try(app, demo, storage, htmx):
    application, _path = walk(SIK, storage, until="technical_verification")
    task = Task.open_for(application)
    tim = _official(app, TIM, htmx)
    pdf = sample_pdf("Rekomendasi disetujui")

    # A return without its reason is refused; the recommendation sent with it is kept.
    refused = _decide(tim, task, {"outcome": "invalid"}, {DOC: (pdf, "rekomendasi-teknis.pdf")})
    page = text(refused)
    assert refused.status_code == 422 and "Alasan wajib diisi." in page
    assert "rekomendasi-teknis.pdf (sudah diunggah)" in page and ">ganti</label>" in page
    assert 'name="doc_technical_recommendation" type="file"' in page  # still replaceable
    if htmx:
        assert "<html" not in page and 'id="panel"' in page
    assert not _recommendations(application).exists()  # stored by content, no row yet
    reference = KEPT.search(page).group(1)

    # Refused again without choosing the file: still kept.
    again = _decide(tim, task, {"outcome": "invalid", "kept_" + DOC: reference})
    assert again.status_code == 422 and "rekomendasi-teknis.pdf (sudah diunggah)" in text(again)
    reference = KEPT.search(text(again)).group(1)

    done = _decide(tim, task, {"outcome": "approved", "kept_" + DOC: reference})
    assert done.status_code == (200 if htmx else 303), text(done)[:1500]
    document = _recommendations(application).get()
    assert document.sha256 == hashlib.sha256(pdf).hexdigest()
    assert document.filename == "rekomendasi-teknis.pdf" and document.media_type == \
        "application/pdf" and document.uploaded_by.email == TIM and document.previews
    assert Decision.get(Decision.task == task).data["documents"] == {DOC: document.id}


def test_a_refused_file_is_not_kept_and_a_new_choice_replaces_a_kept_one(app, demo, storage):
    application, _path = walk(SIK, storage, until="technical_verification")
    task = Task.open_for(application)
    tim = _official(app, TIM)
    wrong = _decide(tim, task, {"outcome": "invalid"}, {DOC: (sample_png(), "foto.pdf")})
    # refused for its missing reason, and the wrong file is told too
    assert wrong.status_code == 422 and "Alasan wajib diisi." in text(wrong)
    assert "harus berupa berkas PDF" in text(wrong)
    assert "sudah diunggah" not in text(wrong) and KEPT.search(text(wrong)) is None

    first = _decide(tim, task, {"outcome": "invalid"}, {DOC: (sample_pdf("lama"), "lama.pdf")})
    reference = KEPT.search(text(first)).group(1)
    newer = sample_pdf("baru")
    done = _decide(tim, task, {"outcome": "approved", "kept_" + DOC: reference},
                   {DOC: (newer, "baru.pdf")})
    assert done.status_code == 303
    document = _recommendations(application).get()
    assert document.sha256 == hashlib.sha256(newer).hexdigest() and document.filename == "baru.pdf"


def test_a_forged_tampered_or_expired_reference_is_ignored_and_told(app, demo, storage,
                                                                      monkeypatch):
    application, _path = walk(SIK, storage, until="technical_verification")
    other, _path = walk(SIK, storage, until="technical_verification")
    task, other_task = Task.open_for(application), Task.open_for(other)
    tim = _official(app, TIM)
    pdf = sample_pdf("Rekomendasi")
    page = text(_decide(tim, other_task, {"outcome": "invalid"}, {DOC: (pdf, "r.pdf")}))
    foreign_task = KEPT.search(page).group(1)
    digest = hashlib.sha256(pdf).hexdigest()
    stranger = User.get(User.email != TIM)
    foreign_user = kept._serializer().dumps({
        "task": task.id, "user": stranger.id, "doc": DOC, "storage_key": f"{digest[:2]}/{digest}",
        "sha256": digest, "name": "r.pdf", "size": len(pdf)})
    own = text(_decide(tim, task, {"outcome": "invalid"}, {DOC: (pdf, "r.pdf")}))
    genuine = KEPT.search(own).group(1)
    payload, rest = genuine.split(".", 1)
    tampered = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + rest

    for reference in (foreign_task, foreign_user, tampered):
        answer = _decide(tim, task, {"outcome": "approved", "kept_" + DOC: reference})
        assert answer.status_code == 422
        assert "Berkas yang sudah diunggah tadi tidak dapat dipakai; pilih berkasnya lagi." \
            in text(answer)
        assert "sudah diunggah)" not in text(answer)  # nothing is shown as kept
        assert Task.get_by_id(task.id).status == "open"
    monkeypatch.setattr(kept, "MAX_AGE", -1)
    expired = _decide(tim, task, {"outcome": "approved", "kept_" + DOC: genuine})
    assert expired.status_code == 422 and "kedaluwarsa" in text(expired)
    assert not _recommendations(application).exists()
    assert Task.get_by_id(task.id).status == "open"
