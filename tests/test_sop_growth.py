"""The SOP format where real SOPs need it: documents an official uploads at their step,
recorded values shown to later actors (and to the applicant where public) and usable in
letter templates as record.<step>.<field>, the public-service-standard components on the
service page, and time units in Bahasa Indonesia and English alike."""

from __future__ import annotations

import re

import pytest
from webclient import Browser, text

from portal.calendar.duration import DurationError, Unit, parse_duration
from portal.core.errors import ValidationError
from portal.modules.applications.models import Application, Decision, Document, Task
from portal.modules.audit.models import AuditEvent
from portal.modules.demo.data import DEMO_APPLICANT, sample_pdf, sample_png, walk
from portal.modules.letters.wording import check_letter_template, template_variables
from portal.modules.sops.registry import seed_files
from portal.modules.sops.spec import SopError, load_sop, load_sop_file

PASSWORD = "demo-test-password"
SEEDS = {path.stem: path for path in seed_files()}
SIK = "sik-perekam-medis"
TIM = "tim.teknis@dinkes-malang.absah.test"
PETUGAS = "petugas.perekonomian@dpmptsp-malang.absah.test"
RECOMMENDATION = "Rekomendasi Teknis Dinas Kesehatan"


def _sik_source() -> str:
    return SEEDS[SIK].read_text(encoding="utf-8")


def _issues(source: str) -> list[str]:
    with pytest.raises(SopError) as caught:
        load_sop(source, "sop.yaml")
    return [issue.format("sop.yaml") for issue in caught.value.issues]


# -- time units ------------------------------------------------------------------------------

@pytest.mark.parametrize(("text_", "amount", "unit"), [
    ("12 working_days", 12, Unit.WORKING_DAYS), ("12 working days", 12, Unit.WORKING_DAYS),
    ("1 working day", 1, Unit.WORKING_DAYS), ("2 hari kerja", 2, Unit.WORKING_DAYS),
    ("2 Hari Kerja", 2, Unit.WORKING_DAYS), ("3 jam", 3, Unit.HOURS), ("3 hours", 3, Unit.HOURS),
    ("15 menit", 15, Unit.MINUTES), ("15 minutes", 15, Unit.MINUTES), ("2 hari", 2, Unit.DAYS),
    ("2 days", 2, Unit.DAYS), ("1 bulan", 1, Unit.MONTHS), ("1 month", 1, Unit.MONTHS),
])
def test_units_read_alike_in_both_languages(text_, amount, unit):
    duration = parse_duration(text_)
    assert (duration.amount, duration.unit) == (amount, unit)


def test_an_unknown_unit_lists_both_languages_units():
    with pytest.raises(DurationError) as caught:
        parse_duration("2 minggu")
    message = str(caught.value)
    assert "unknown unit 'minggu'" in message
    for indonesian, english in [("menit", "minutes"), ("jam", "hours"),
                                ("hari kerja", "working days"), ("hari", "days"),
                                ("bulan", "months")]:
        assert f"{indonesian} / {english}" in message
    # every unit the message names is accepted, as written there
    assert parse_duration("3 working_days").unit is Unit.WORKING_DAYS


def test_the_sop_check_names_the_line_and_both_languages_for_a_bad_time():
    source = _sik_source().replace("time: 1 working day\n", "time: 1 pekan\n", 1)
    line = next(i for i, row in enumerate(source.splitlines(), 1) if "1 pekan" in row)
    issues = _issues(source)
    assert any(i.startswith(f"sop.yaml:{line}: steps[1].time: unknown unit 'pekan'")
               and "hari kerja / working days" in i and "jam / hours" in i for i in issues)


def test_a_seed_written_with_working_days_as_the_message_names_them_loads():
    source = _sik_source().replace("total_time: 7 working days", "total_time: 7 working_days")
    assert load_sop(source).header.total_time == parse_duration("7 hari kerja")


# -- the format: officials' documents, public records, service standard -----------------------

def test_the_seed_declares_the_documents_its_officials_upload():
    spec = load_sop_file(SEEDS[SIK])
    assert [(d.key, d.step, d.public) for d in spec.official_documents] == [
        ("technical_recommendation", "technical_verification", False),
        ("sik_scan", "publish", True)]
    assert "technical_recommendation" not in {d.key for d in spec.requirements}
    assert spec.header.product == ("Surat Izin Kerja Perekam Medis",)
    practice = load_sop_file(SEEDS["registrasi-praktek-mandiri"])
    assert practice.step("ministry_code").record[0].public is True


def test_wrong_uses_of_the_new_keys_are_refused_with_line_and_reason():
    source = _sik_source()
    source = source.replace(  # public on the applicant's own document
        "  - {key: str_copy, label: Fotokopi STR yang masih berlaku dan dilegalisir}",
        "  - {key: str_copy, label: Fotokopi STR yang masih berlaku dan dilegalisir, "
        "public: true}")
    source = source.replace(  # an official's document judged at a check
        "      - first_sik\n", "      - first_sik\n      - technical_recommendation\n")
    source = source.replace(  # at a signing step
        "    step: publish\n", "    step: sign\n")
    source = source.replace(  # public on a form field
        "  - {key: str_number, label: Nomor STR}", "  - {key: str_number, label: Nomor STR, "
        "public: true}")
    source = source.replace(  # blank service-standard components
        "  product: Surat Izin Kerja Perekam Medis",
        "  product: Surat Izin Kerja Perekam Medis\n  cost: ''\n  complaints: []")
    issues = "\n".join(_issues(source))
    assert "documents[0].public: only a document an official uploads at their step" in issues
    assert re.search(r"steps\[1\]\.documents\[6\]: 'technical_recommendation' is uploaded by "
                     r"an official", issues)
    assert "documents[7].step: 'sign' is a signing step" in issues
    assert "fields[2].public: unknown key 'public'" in issues
    assert "header.cost: empty" in issues and "header.complaints: empty" in issues


def test_a_wrong_kind_of_service_standard_value_is_named_once_not_also_empty():
    source = _sik_source().replace(
        "  product: Surat Izin Kerja Perekam Medis",
        "  product: {a: b}\n  cost: [a, b]\n  service_hours: true\n  complaints: [[x]]")
    issues = _issues(source)
    assert sorted(i for i in issues if "header." in i) == [
        "sop.yaml:63: header.product: expected a list of texts, got a mapping",
        "sop.yaml:64: header.cost: expected text, got a list",
        "sop.yaml:65: header.service_hours: expected text, got bool",
        "sop.yaml:66: header.complaints[0]: expected text, got a list"]


def test_service_standard_components_are_read_as_text_or_lists():
    source = _sik_source().replace(
        "  product: Surat Izin Kerja Perekam Medis",
        "  product: Surat Izin Kerja Perekam Medis\n  cost: Tidak dipungut biaya\n"
        "  service_hours: Senin-Jumat 08.00-15.00 WIB\n"
        "  complaints:\n    - SP4N-LAPOR! (lapor.go.id)\n    - 'WhatsApp 0812-0000-0000'")
    header = load_sop(source).header
    assert header.cost == "Tidak dipungut biaya"
    assert header.service_hours == "Senin-Jumat 08.00-15.00 WIB"
    assert header.complaints == ("SP4N-LAPOR! (lapor.go.id)", "WhatsApp 0812-0000-0000")
    bad = source.replace("  service_hours: Senin-Jumat 08.00-15.00 WIB",
                         "  service_hours: {senin: 08-15}")
    assert any("header.service_hours: expected text" in i for i in _issues(bad))


def test_the_service_page_shows_the_service_standard(client, demo, runner, tmp_path):
    source = _sik_source().replace("version: 1\n", "version: 2\n", 1).replace(
        "  product: Surat Izin Kerja Perekam Medis",
        "  product: Surat Izin Kerja Perekam Medis\n  cost: Tidak dipungut biaya\n"
        "  service_hours: Senin-Jumat 08.00-15.00 WIB\n"
        "  complaints: [SP4N-LAPOR! (lapor.go.id), Kotak pengaduan di loket DPMPTSP]")
    path = tmp_path / "sik-v2.yaml"
    path.write_text(source, encoding="utf-8")
    result = runner.invoke(args=["sop", "import", str(path)])
    assert result.exit_code == 0, result.output
    page = text(client.get(f"/services/{SIK}"))
    for shown in ("Biaya/tarif", "Tidak dipungut biaya", "Produk layanan",
                  "Surat Izin Kerja Perekam Medis", "Jam pelayanan", "Senin-Jumat 08.00-15.00 WIB",
                  "Pengaduan", "SP4N-LAPOR! (lapor.go.id)", "Kotak pengaduan di loket DPMPTSP"):
        assert shown in page
    # officials' documents are not requirements of the applicant
    assert RECOMMENDATION not in page
    assert RECOMMENDATION not in text(client.get("/"))


# -- an official uploads at their step ------------------------------------------------------

def _official(app, email, htmx=False) -> Browser:
    browser = Browser(app, htmx=htmx)
    browser.login(email, PASSWORD)
    return browser


def _decide(browser, task, data, files=None):
    """Post the task's decision form with its files, as a browser (or htmx) sends it."""
    return browser.post_files(f"/tasks/{task.id}/decide", data,
                              {f"doc_{key}": file for key, file in (files or {}).items()})


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_the_technical_team_uploads_its_recommendation_with_the_decision(app, demo, storage,
                                                                          htmx):
    application, _path = walk(SIK, storage, until="technical_verification")
    task = Task.open_for(application)
    tim = _official(app, TIM, htmx)
    page = text(tim.get(f"/tasks/{task.id}"))
    assert 'name="doc_technical_recommendation"' in page and 'accept="application/pdf"' in page
    assert 'enctype="multipart/form-data"' in page and 'hx-encoding="multipart/form-data"' in page
    forward = {"outcome": "approved"}

    missing = _decide(tim, task, forward)
    assert missing.status_code == 422
    assert f"{RECOMMENDATION} wajib diunggah." in text(missing)
    not_pdf = _decide(tim, task, forward, {"technical_recommendation": (sample_png(),
                                                                        "rekomendasi.pdf")})
    assert not_pdf.status_code == 422 and "harus berupa berkas PDF" in text(not_pdf)
    too_big = _decide(tim, task, forward, {"technical_recommendation": (
        sample_pdf("besar") + b"0" * (5 * 1024 * 1024), "besar.pdf")})
    assert too_big.status_code == 422 and "melebihi 5 MB" in text(too_big)
    stray = _decide(tim, task, forward, {"technical_recommendation": (sample_pdf("r"), "r.pdf"),
                                         "str_copy": (sample_pdf("x"), "x.pdf")})
    assert stray.status_code == 422 and "tidak diminta pada langkah ini" in text(stray)
    assert Task.get_by_id(task.id).status == "open" and not Document.select().where(
        Document.requirement == "technical_recommendation").exists()

    done = _decide(tim, task, forward, {"technical_recommendation": (
        sample_pdf("Rekomendasi disetujui"), "rekomendasi-teknis.pdf")})
    assert done.status_code == (200 if htmx else 303), text(done)[:1500]
    if htmx:
        assert "Keputusan tersimpan" in text(done) and "<html" not in text(done)
    document = Document.get(Document.requirement == "technical_recommendation")
    assert document.uploaded_by.email == TIM and document.media_type == "application/pdf"
    assert document.previews  # previewed like every other document
    decision = Decision.get(Decision.task == task)
    assert decision.data["documents"] == {"technical_recommendation": document.id}
    event = AuditEvent.get((AuditEvent.action == "document.uploaded")
                           & (AuditEvent.object_id == str(document.id)))
    assert event.data["requirement"] == "technical_recommendation"

    # The next official sees it, with its preview, above the rest of the file.
    petugas = _official(app, PETUGAS)
    following = Task.open_for(application)
    assert following.step_key == "verify_and_draft"
    page = text(petugas.get(f"/tasks/{following.id}"))
    assert "Hasil langkah sebelumnya" in page and RECOMMENDATION in page
    assert f"/documents/{document.id}" in page and f"/documents/{document.id}/pages/0.jpg" in page
    assert petugas.get(f"/documents/{document.id}").status_code == 200
    assert petugas.get(f"/documents/{document.id}/pages/0.jpg").status_code == 200

    # The applicant does not: it is not marked public.
    applicant = _official(app, DEMO_APPLICANT)
    tracking = text(applicant.get(f"/applications/{application.id}"))
    assert RECOMMENDATION not in tracking and f"/documents/{document.id}" not in tracking
    assert applicant.get(f"/documents/{document.id}").status_code == 404
    assert applicant.get(f"/documents/{document.id}/pages/0.jpg").status_code == 404
    own = Document.get((Document.application == application)
                       & (Document.requirement == "str_copy"))
    assert applicant.get(f"/documents/{own.id}").status_code == 200


def test_a_return_needs_no_upload_and_the_required_one_comes_with_every_forward(app, demo,
                                                                                storage):
    application, _path = walk(SIK, storage, until="technical_verification")
    task = Task.open_for(application)
    tim = _official(app, TIM)
    back = _decide(tim, task, {"outcome": "invalid", "note": "STR tidak sesuai"})
    assert back.status_code == 303
    assert Application.get_by_id(application.id).status == "returned"
    # The applicant sends it again; once checked, it is back with the technical team, whose
    # forward needs the recommendation (none came with the return).
    from portal.modules.applications import documents, operations
    from portal.modules.demo.data import _holder

    spec = application.sop.spec
    for _ in range(4):
        task = Task.open_for(application)
        if task.step_key == "technical_verification":
            break
        step = spec.step(task.step_key)
        actor = task.assignee or _holder(task.position.agency, task.position.key)
        forward = next(o for o in step.outcomes if o.effect.value == "forward")
        operations.decide(task.id, actor, forward.key, storage=storage,
                          verdicts=documents.all_complete(spec, step, application.form_data))
    assert task.step_key == "technical_verification" and task.kind != "correction"
    again = _decide(tim, task, {"outcome": "approved"})
    assert again.status_code == 422 and f"{RECOMMENDATION} wajib diunggah." in text(again)
    done = _decide(tim, task, {"outcome": "approved"}, {"technical_recommendation": (
        sample_pdf("Rekomendasi kedua"), "rekomendasi-2.pdf")})
    assert done.status_code == 303


def test_the_public_scan_and_the_public_record_reach_the_applicant(app, demo, storage):
    application, _path = walk(SIK, storage)
    scan = Document.get((Document.application == application)
                        & (Document.requirement == "sik_scan"))
    recommendation = Document.get((Document.application == application)
                                  & (Document.requirement == "technical_recommendation"))
    applicant = _official(app, DEMO_APPLICANT)
    tracking = text(applicant.get(f"/applications/{application.id}"))
    assert "Hasil dari petugas" in tracking
    assert "Pindaian Surat Izin Kerja bernomor dan berstempel" in tracking
    assert f"/documents/{scan.id}" in tracking and RECOMMENDATION not in tracking
    assert "Nama pengambil" not in tracking  # recorded at the handover, not public
    assert applicant.get(f"/documents/{scan.id}").status_code == 200
    assert applicant.get(f"/documents/{recommendation.id}").status_code == 404

    # Every official of the file sees every result, the handover register included.
    petugas = _official(app, PETUGAS)
    last = Task.select().where(Task.application == application).order_by(Task.id.desc()).get()
    page = text(petugas.get(f"/tasks/{last.id}"))
    assert RECOMMENDATION in page and "Nama pengambil" in page and "Fotokopi KTP" in page

    practice, _path = walk("registrasi-praktek-mandiri", storage)
    code = Decision.get((Decision.application == practice)
                        & (Decision.step_key == "ministry_code")).data["record"]["practice_code"]
    owner = _official(app, practice.applicant.email)
    tracking = text(owner.get(f"/applications/{practice.id}"))
    assert "Kode Praktek Mandiri" in tracking and code in tracking


def test_an_unknown_document_from_an_official_is_refused_not_a_500(app, demo, storage):
    application, _path = walk(SIK, storage, until="check")
    task = Task.open_for(application)
    petugas = _official(app, PETUGAS)
    answer = _decide(petugas, task, {"outcome": "complete"},
                     {"nothing_like_it": (sample_pdf("x"), "x.pdf")})
    assert answer.status_code == 422


# -- recorded values in letter templates ---------------------------------------------------

def test_letter_templates_read_record_step_field_and_misspellings_are_refused(demo):
    from portal.modules.agencies.models import Agency

    spec = load_sop_file(SEEDS[SIK])
    letter = spec.letter("sik")
    agency = Agency.get(Agency.code == "dpmptsp-malang")
    names = dict(template_variables(spec, letter, agency))
    assert "record.register_handover.collector_name" in names
    assert "recorded.collector_name" in names
    good = ("title: SIK\n---\nDiambil oleh {{ record.register_handover.collected_by }}, "
            "{{ record.register_handover.collector_name }}.\n")
    _stored, _headers, body = check_letter_template(spec, letter, good, agency)
    assert "Pemohon sendiri" in body[0] and "<Nama pengambil>" in body[0]
    for wrong, named in [
        ("{{ record.register_handover.colector_name }}",
         "record.register_handover.colector_name tidak disediakan layanan ini (maksud Anda "
         "record.register_handover.collector_name?)"),
        ("{{ record.register_handovr.collector_name }}",
         "record.register_handovr tidak disediakan layanan ini (maksud Anda "
         "record.register_handover?)"),
        ("{{ record.technical_verification.note }}",
         "record.technical_verification tidak disediakan layanan ini"),
    ]:
        with pytest.raises(ValidationError) as caught:
            check_letter_template(spec, letter, "title: SIK\n---\nBaris satu\n" + wrong + "\n",
                                  agency)
        assert f"Baris 4: {named}" in str(caught.value.errors["source"])
