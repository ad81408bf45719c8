"""The five seed SOPs load, check out, and say what their originals say."""

from pathlib import Path

import pytest

from portal.calendar.duration import Duration, Unit
from portal.modules.sops.spec import ActionKind, ActorKind, Effect, SopSpec, load_sop_file

SEEDS = Path(__file__).resolve().parents[1] / "portal" / "modules" / "sops" / "seeds"

# code -> (agency, all steps, application steps, refs in order)
EXPECTED = {
    "kso-lms": (
        "poltekkes-surakarta", 10, 10,
        ["1", "2", "3", "4", "5", "6", "6b", "7", "8", "9"],
    ),
    "rekom-nakes": (
        "dinkes-bangka", 11, 8,
        ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11"],
    ),
    "sik-perekam-medis": (
        "dpmptsp-malang", 13, 13,
        [str(n) for n in range(1, 14)],
    ),
    "info-kompetensi-teknis": (
        "bpsdm-kalbar", 6, 6,
        ["1", "2", "3", "4", "5", "6"],
    ),
    "registrasi-praktek-mandiri": (
        "dinkes-muba", 9, 5,
        ["1", "2", "3", "4", "5", "6a", "6b", "6c", "7"],
    ),
}


def load(code: str) -> SopSpec:
    return load_sop_file(SEEDS / f"{code}.yaml")


def document(spec: SopSpec, key: str):
    return next(d for d in spec.documents if d.key == key)


def outcome(spec: SopSpec, step: str, key: str):
    found = spec.step(step).outcome(key)
    assert found is not None, f"{step} has no outcome {key}"
    return found


def test_the_seed_folder_holds_the_five_seeds():
    assert set(EXPECTED) <= {p.stem for p in SEEDS.glob("*.yaml")}


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_seed_loads_under_its_code_and_agency(code):
    spec = load(code)
    assert spec.code == code
    assert spec.agency == EXPECTED[code][0]
    assert spec.version == 1


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_seed_has_one_step_per_row_of_the_original(code):
    _, steps, application_steps, refs = EXPECTED[code]
    spec = load(code)
    assert len(spec.steps) == steps
    assert len(spec.application_steps) == application_steps
    assert [s.ref for s in spec.steps] == refs


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_every_external_actor_is_recorded_by_a_position(code):
    spec = load(code)
    for actor in spec.actors:
        if actor.kind is ActorKind.EXTERNAL:
            assert actor.recorded_by is not None
            assert spec.actor(actor.recorded_by).kind is ActorKind.POSITION


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_every_step_without_a_standard_time_says_why(code):
    for step in load(code).steps:
        if step.time is None:
            assert step.note or step.until_field


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_every_letter_is_produced_by_some_step(code):
    spec = load(code)
    produced = {key for step in spec.steps for key in step.letters}
    assert produced == {letter.key for letter in spec.letters}


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_every_return_goes_back_to_an_earlier_step(code):
    spec = load(code)
    order = [s.key for s in spec.steps]
    for step in spec.steps:
        for o in step.outcomes:
            if o.effect is Effect.RETURN:
                assert order.index(o.to) < order.index(step.key)


# -- stated totals ----------------------------------------------------------------------------

def test_malang_steps_add_up_to_seven_working_days():
    spec = load("sik-perekam-medis")
    assert spec.header.total_time == Duration(7, Unit.WORKING_DAYS)
    assert spec.total_minutes == 3360
    assert spec.total_label() == "7 hari kerja"


def test_kalbar_steps_add_up_to_2985_minutes_with_two_calendar_days():
    spec = load("info-kompetensi-teknis")
    assert spec.header.total_time == Duration(2985, Unit.MINUTES)
    assert spec.total_minutes == 2985
    assert spec.step("distribute").time == Duration(2, Unit.DAYS)


def test_seeds_without_a_stated_total_declare_none():
    for code in ("kso-lms", "rekom-nakes", "registrasi-praktek-mandiri"):
        assert load(code).header.total_time is None


# -- who opens a file, and accounts -----------------------------------------------------------

def test_kalbar_letter_is_opened_by_a_position_without_any_applicant():
    spec = load("info-kompetensi-teknis")
    assert spec.initiator.key == "jft_pkt"
    assert spec.initiator.kind is ActorKind.POSITION
    assert all(a.kind is not ActorKind.APPLICANT for a in spec.actors)
    assert spec.account_steps == ()


def test_bangka_applicant_needs_the_admin_to_activate_the_account():
    spec = load("rekom-nakes")
    assert spec.requires_account_approval
    assert [s.action for s in spec.account_steps] == [
        ActionKind.REGISTER, ActionKind.LOGIN, ActionKind.ACTIVATE]
    assert spec.step("activate").actor == "sdmk_admin"
    assert spec.initiator.kind is ActorKind.APPLICANT


def test_malang_applicant_already_has_an_account():
    spec = load("sik-perekam-medis")
    assert spec.account_steps == ()
    assert not spec.requires_account_approval
    assert spec.initiator.kind is ActorKind.APPLICANT


def test_muba_account_is_activated_by_the_district_before_registration():
    spec = load("registrasi-praktek-mandiri")
    assert spec.requires_account_approval
    assert [s.action for s in spec.account_steps] == [
        ActionKind.REGISTER, ActionKind.ACTIVATE, ActionKind.CONFIRM_EMAIL, ActionKind.LOGIN]
    assert spec.step("activate").actor == "user_dinkes"


# -- conditional documents --------------------------------------------------------------------

def test_bangka_puskesmas_letter_applies_only_to_private_practice():
    spec = load("rekom-nakes")
    letter = document(spec, "puskesmas_letter")
    assert letter.applies({"practice_type": "private"})
    assert not letter.applies({"practice_type": "facility"})
    assert not letter.applies({})
    assert "puskesmas_letter" in spec.step("check").documents


def test_bangka_asks_new_or_renewal_and_the_purpose():
    spec = load("rekom-nakes")
    fields = {f.key: f for f in spec.fields}
    assert dict(fields["application_type"].choices).keys() == {"new", "renewal"}
    assert fields["purpose"].type == "choice"


def test_malang_first_sik_is_required_only_for_a_second_permit():
    spec = load("sik-perekam-medis")
    first_sik = document(spec, "first_sik")
    assert first_sik.applies({"permit_order": "second"})
    assert not first_sik.applies({"permit_order": "first"})
    others = [d for d in spec.documents if d.key != "first_sik"]
    assert all(d.applies({"permit_order": "first"}) for d in others)


@pytest.mark.parametrize("code,key", [
    ("rekom-nakes", "ktp"),
    ("rekom-nakes", "health_certificate"),
    ("sik-perekam-medis", "health_certificate"),
])
def test_identity_and_health_documents_are_personal(code, key):
    assert document(load(code), key).personal


@pytest.mark.parametrize("code", ["rekom-nakes", "sik-perekam-medis",
                                  "registrasi-praktek-mandiri"])
def test_nik_fields_are_personal(code):
    fields = {f.key: f for f in load(code).fields}
    assert fields["nik"].personal


# -- returns and rejections as the originals state them ---------------------------------------

def test_kso_collegium_result_is_approved_or_rejected():
    spec = load("kso-lms")
    assert outcome(spec, "inform_result", "approved").effect is Effect.FORWARD
    assert outcome(spec, "inform_result", "rejected").effect is Effect.REJECT
    assert spec.actor("collegium").recorded_by == "upk_sdmk"
    assert spec.step("inform_result").time is None


def test_kso_event_is_due_on_its_scheduled_end_and_payment_proof_comes_at_payment():
    spec = load("kso-lms")
    event = spec.step("hold_event")
    assert event.time is None and event.until_field == "event_end_date"
    assert document(spec, "bukti_transfer").step == "pay"
    assert spec.step("submit").time == Duration(1, Unit.DAYS)


def test_bangka_incomplete_file_goes_back_to_the_applicant():
    spec = load("rekom-nakes")
    back = outcome(spec, "check", "incomplete")
    assert (back.effect, back.to, back.back_to) == (Effect.RETURN, "submit", None)
    assert spec.letter("rekomendasi").signer == "kadin"


def test_malang_returns_go_to_the_applicant():
    spec = load("sik-perekam-medis")
    for step, key in [("check", "incomplete"), ("technical_verification", "invalid"),
                      ("verify_and_draft", "not_approved")]:
        back = outcome(spec, step, key)
        assert (back.effect, back.to) == (Effect.RETURN, "submit")
    assert outcome(spec, "verify_and_draft", "not_approved").back_to == "technical_verification"
    assert spec.actor("tim_teknis").office == "dinkes-malang"


def test_kalbar_corrected_letter_comes_back_through_the_kabid():
    spec = load("info-kompetensi-teknis")
    assert outcome(spec, "review_kabid", "returned").to == "draft"
    for step in ("paraf_sekretaris", "sign_kaban"):
        back = outcome(spec, step, "returned")
        assert (back.effect, back.to, back.back_to) == (Effect.RETURN, "draft", "review_kabid")
    assert spec.letter("surat_penawaran").signer == "kaban"
    assert spec.letter("nota_dinas").signer == "kabid_pkt"


def test_muba_row_six_is_split_with_one_time_for_the_whole_row():
    spec = load("registrasi-praktek-mandiri")
    assert spec.step("validate").time == Duration(60, Unit.MINUTES)
    assert spec.step("forward_ministry").time is None
    assert spec.step("ministry_code").time is None
    assert spec.step("ministry_code").action is ActionKind.RECORD_EXTERNAL
    assert spec.actor("user_provinsi").office == "dinkes-sumsel"
    back = outcome(spec, "validate", "invalid")
    assert (back.effect, back.to) == (Effect.RETURN, "input_data")
