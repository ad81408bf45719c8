"""Values typed into an SOP's form: the same number on another keyboard is the same number,
an end date may not precede its start, and no field takes an essay."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from webclient import Browser, text

from portal.core.errors import ValidationError
from portal.modules.applications import operations
from portal.modules.applications.models import Application
from portal.modules.demo.data import sample_form, sample_pdf, sample_uploads
from portal.modules.sops.models import SopVersion
from portal.modules.sops.spec import SopError, load_sop

EXAMPLE = (Path(__file__).parent / "fixtures" / "sop" / "valid.yaml").read_text()
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def _form(code):
    spec = SopVersion.current(code).spec
    return spec, sample_form(spec, dt.date(2026, 12, 1))


def test_a_nik_typed_in_arabic_indic_digits_is_stored_in_ascii(demo, make_applicant, storage):
    spec, form = _form("sik-perekam-medis")
    form["nik"] = "3507010101900001".translate(ARABIC_INDIC)
    application = operations.submit_application(
        make_applicant(), "sik-perekam-medis", form, sample_uploads(spec, "submit", form),
        storage)
    assert Application.get_by_id(application.id).form_data["nik"] == "3507010101900001"


def test_an_end_date_before_its_start_is_refused_next_to_the_end_date(demo, make_applicant,
                                                                       storage):
    spec, form = _form("kso-lms")
    form["event_start_date"], form["event_end_date"] = "2026-12-10", "2026-12-09"
    with pytest.raises(ValidationError) as refused:
        operations.submit_application(make_applicant(), "kso-lms", form,
                                      sample_uploads(spec, "submit", form), storage)
    assert set(refused.value.errors) == {"event_end_date"}
    assert "sebelum tanggal mulai" in str(refused.value.errors["event_end_date"])
    form["event_end_date"] = "2026-12-10"  # one day is a valid event
    operations.submit_application(make_applicant(), "kso-lms", form,
                                  sample_uploads(spec, "submit", form), storage)


def test_an_overlong_value_is_refused_on_the_page_and_the_draft_keeps_the_rest(
        app, demo, make_applicant):
    applicant = make_applicant()
    browser = Browser(app)
    browser.login(applicant.email, "x" * 12)
    spec, form = _form("sik-perekam-medis")
    form["full_name"] = "N" * 5000
    files = {key: (io.BytesIO(sample_pdf(key)), f"{key}.pdf")
             for key in sample_uploads(spec, "submit", form)}
    response = browser.post("/services/sik-perekam-medis/apply",
                            data={**form, **files, "action": "submit"},
                            content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Terlalu panjang" in text(response)
    assert Application.select().where(Application.applicant == applicant).count() <= 1


def test_not_before_must_name_another_date_field():
    source = EXAMPLE.replace("  - {key: nik, label: NIK, type: nik}\n",
                             "  - {key: nik, label: NIK, type: nik}\n"
                             "  - {key: start, label: Mulai, type: date}\n"
                             "  - {key: end, label: Selesai, type: date, not_before: %s}\n")
    load_sop(source % "start")
    for wrong in ("nik", "end", "mulai"):
        with pytest.raises(SopError) as refused:
            load_sop(source % wrong)
        assert "not_before" in str(refused.value)


def test_a_draft_keeps_a_value_too_long_for_its_field_whole(demo, make_applicant, storage):
    spec, form = _form("sik-perekam-medis")
    form["full_name"] = "N" * 3000  # more than a name holds, less than the request guard
    draft, _errors = operations.save_draft(make_applicant(), "sik-perekam-medis", form, {},
                                           storage)
    assert Application.get_by_id(draft.id).form_data["full_name"] == "N" * 3000
