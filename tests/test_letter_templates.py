"""Letter templates cannot silently lose data: a variable the SOP does not provide is refused
at save time with its name and line, the edit page previews the letter with the SOP's sample
values before it is saved, and every shipped template passes the same check."""

from __future__ import annotations

import datetime as dt

import pytest
from webclient import Browser, text

from portal.modules.audit.models import AuditEvent
from portal.modules.demo.data import walk
from portal.modules.letters import issuance, wording
from portal.modules.letters.models import LetterTemplate
from portal.modules.sops.registry import seed_files
from portal.modules.sops.spec import load_sop_file

PASSWORD = "demo-test-password"
SEEDS = {path.stem: load_sop_file(path) for path in seed_files()}
SIK = "sik-perekam-medis"
URL = f"/admin/letter-templates/{SIK}/sik"
ADMIN = "admin@dpmptsp-malang.absah.test"


def _admin(app) -> Browser:
    admin = Browser(app)
    admin.login(ADMIN, PASSWORD)
    return admin


def _nothing_stored():
    assert LetterTemplate.select().count() == 0
    assert AuditEvent.select().where(AuditEvent.action == "letter_template.saved").count() == 0


def test_a_misspelt_form_field_is_refused_with_its_name_and_line(app, demo):
    admin = _admin(app)
    source = ("title: SURAT IZIN KERJA\n---\nNama: {{ form.full_name }}\n"
              "Tempat kerja: {{ form.facilty_name }}\n")
    for action in ("save", "preview"):
        refused = admin.post(URL, {"action": action, "source": source})
        assert refused.status_code == 422
        page = text(refused)
        assert "Baris 4: form.facilty_name tidak disediakan layanan ini." in page
        assert "Tempat kerja: {{ form.facilty_name }}\n</textarea>" in page  # kept to correct
    _nothing_stored()
    # A close name is suggested; subscripts are checked as attributes are.
    near = admin.post(URL, {"action": "save", "source": "---\n\n{{ form['workplace_nam'] }}\n"})
    assert near.status_code == 422
    assert "Baris 3: form.workplace_nam tidak disediakan layanan ini (maksud Anda " \
           "form.workplace_name?)." in text(near)
    _nothing_stored()


def test_an_unknown_top_level_name_is_refused(app, demo):
    admin = _admin(app)
    refused = admin.post(URL, {"action": "save", "source": (
        "title: X\n---\nUntuk {{ applicant.name }}.\n\n{{ nomor_surat }} {{ servise }}\n")})
    assert refused.status_code == 422
    page = text(refused)
    assert "Baris 5: nomor_surat tidak disediakan layanan ini." in page
    assert "Baris 5: servise tidak disediakan layanan ini (maksud Anda service?)." in page
    _nothing_stored()
    bad_key = admin.post(URL, {"action": "save", "source": "---\n{{ agency.adress }}\n"})
    assert bad_key.status_code == 422 and "agency.adress" in text(bad_key)
    _nothing_stored()


def test_a_valid_template_is_previewed_with_sample_data_then_saved(app, demo):
    admin = _admin(app)
    page = text(admin.get(URL))  # the shipped wording, previewed, and the variables listed
    assert "Pratinjau dengan data contoh" in page and "SURAT IZIN KERJA PEREKAM MEDIS" in page
    assert "{{ form.workplace_name }}" in page and "{{ recorded.collected_by }}" in page
    assert "Pemohon sendiri" in page  # a recorded choice's sample is its first label
    assert "docs/letter-templates.md" in page
    source = ("title: IZIN KHUSUS\nsubject: Izin kerja\n---\n"
              "{% for key, value in form.items() if key != 'nik' %}{{ loop.index }}. {{ value }}\n"
              "{% endfor %}\n"
              "Diberikan kepada {{ form.full_name|upper }} di {{ agency.city }} "
              "pada {{ date }}.\n")
    preview = admin.post(URL, {"action": "preview", "source": source})
    assert preview.status_code == 200
    page = text(preview)
    assert "IZIN KHUSUS" in page and "Perihal: Izin kerja" in page
    assert "Diberikan kepada &lt;NAMA LENGKAP&gt;" in page  # the SOP's sample value
    assert "belum disimpan" in page and "{{ form.full_name|upper }}" in page
    _nothing_stored()
    saved = admin.post(URL, {"action": "save", "source": source})
    assert saved.status_code == 303
    row = LetterTemplate.get()
    assert row.sop_code == SIK and row.letter_key == "sik" and "IZIN KHUSUS" in row.source
    assert "IZIN KHUSUS" in text(admin.get(URL + "?saved=1"))


def test_the_list_marks_a_stored_template_that_no_longer_passes(app, demo):
    from portal.modules.accounts.models import User

    LetterTemplate.create(agency=User.by_email(ADMIN).agency, sop_code=SIK, letter_key="sik",
                          source="---\n{{ form.facilty_name }}\n",
                          updated_by=User.by_email(ADMIN))
    admin = _admin(app)
    assert "perlu diperbaiki" in text(admin.get("/admin/letter-templates"))
    page = text(admin.get(URL))  # the stored text, with what is wrong with it
    assert "form.facilty_name tidak disediakan" in page


@pytest.mark.parametrize("code", sorted(SEEDS))
def test_every_shipped_template_passes_the_check(code):
    spec = SEEDS[code]
    for letter in spec.letters:
        source = wording.shipped_source(code, letter.key)
        assert wording.unknown_variables(source, wording.sample_context(spec, letter)) == []
        stored, headers, body = wording.check_letter_template(spec, letter, source)
        assert body, (code, letter.key)


def test_every_shipped_template_file_belongs_to_a_seed_letter():
    for path in sorted(wording.TEMPLATES.glob("*/*.txt")):
        spec = SEEDS.get(path.parent.name)
        assert spec is not None and path.stem in {lt.key for lt in spec.letters}, path


def test_the_sample_values_have_the_shape_of_an_issued_letter_s(app, demo, storage):
    """What the check allows is what issuance gives: the same names, form and recorded
    values a subset of the SOP's fields."""
    application, _ = walk(SIK, storage)
    spec = application.sop.spec
    letter = spec.letters[0]
    issued = issuance._context(application, spec, letter, "1/2026",
                               dt.datetime(2026, 11, 23, 9))
    sample = wording.sample_context(spec, letter, application.agency)
    assert set(issued) == set(sample)
    for key, value in issued.items():
        if key in ("form", "recorded"):
            assert set(value) <= set(sample[key]), key
        elif isinstance(value, dict):
            assert set(value) == set(sample[key]), key
    # A recorded choice prints as its label, as a form choice does.
    choices = dict(next(f.choices for s in spec.steps for f in s.record
                        if f.key == "collected_by"))
    assert issued["recorded"]["collected_by"] in choices.values()
