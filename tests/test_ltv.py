"""Timestamps and long-term validation, for real and offline: certomancer's animator (a test
PKI with a TSA, an OCSP responder and CRLs, tests/pki/certomancer.yml) runs as a separate
process on a loopback port; letters are signed against it (B-T, B-LT), extended with document
timestamps (B-LTA) and checked with pyHanko's own AdES validator at a moment after the
signer's certificate expired. A TSA outage costs a level, never a letter."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import io

import pytest
from asn1crypto import crl as asn1_crl
from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from pki_support import TestPki
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESIndeterminate, AdESPassed
from pyhanko.sign.validation import DocumentSecurityStore
from pyhanko.sign.validation.ades import ades_lta_validation
from pyhanko.sign.validation.policy_decl import (
    LocalKnowledge,
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
from pyhanko_certvalidator.policy_decl import REQUIRE_REVINFO, CertRevTrustPolicy
from pyhanko_certvalidator.registry import SimpleTrustManager
from pyhanko_certvalidator.revinfo.archival import CRLContainer
from webclient import Browser, text

import signing
from signing import ltv
from signing.render import LetterContent, SignatureBlock, render_letter

URL = "https://absah.test/v/Zq8k2vT0bW4mHc7LxN1pRa"
TEN_YEARS = dt.timedelta(days=3653)
PASSWORD = "demo-test-password"


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    """The test PKI's animator, one process for the whole run."""
    server = TestPki.start(tmp_path_factory.mktemp("pki"))
    yield server
    server.close()


@pytest.fixture
def running_pki(pki):
    """The session PKI, guaranteed running (a test that stops it starts it again)."""
    pki.restart()
    ltv.forget_outages()
    yield pki
    pki.restart()
    ltv.forget_outages()


@pytest.fixture(scope="session")
def letter_pdf():
    """A rendered (unsigned) letter and its signature box."""
    rendered = render_letter(LetterContent(
        letterhead=("PEMERINTAH KABUPATEN BANGKA", "DINAS KESEHATAN"),
        title="SURAT REKOMENDASI", number="440/7/DINKES/XI/2026",
        place_date="Sungailiat, 29 November 2026", subject="Rekomendasi Izin Praktik",
        body=("Yang bertanda tangan di bawah ini memberikan rekomendasi kepada:",
              "Nama: Ni Luh Putu Ayu Sari"),
        signature=SignatureBlock(position="Kepala Dinas Kesehatan", name="Penanda Tangan Uji",
                                 nip="197001012000032001"),
        footer_note=f"Dokumen ini ditandatangani secara elektronik. Verifikasi: {URL}"))
    return rendered.pdf, rendered.signature_box


def _settings(pki, **changes) -> ltv.LtvSettings:
    return ltv.LtvSettings(**{"tsa_url": pki.tsa_url, "trust_roots": (pki.root_pem,),
                              "timeout": 5.0, **changes})


def _sign(pki, letter_pdf, settings, when=None) -> ltv.LongTermResult:
    pdf, box = letter_pdf
    when = when or dt.datetime.now(dt.UTC)
    return ltv.sign_long_term(pdf, pki.signer_identity(), box, URL,
                              signing.stamp_lines("Penanda Tangan Uji", when), when, settings)


def lta_validation(pdf: bytes, roots: list[bytes], at: dt.datetime, crls=()):
    """pyHanko's AdES long-term validation of the letter's signature as of ``at``, without
    fetching anything: what the file carries, plus ``crls`` (current revocation data of the
    newest timestamp's TSA, which a validator at ``at`` obtains then)."""
    trust = [asn1_x509.Certificate.load(der) for root in roots
             for _kind, _headers, der in pem.unarmor(root, multiple=True)]
    spec = PdfSignatureValidationSpec(SignatureValidationSpec(
        cert_validation_policy=CertValidationPolicySpec(
            trust_manager=SimpleTrustManager.build(trust_roots=trust),
            revinfo_policy=CertRevTrustPolicy(REQUIRE_REVINFO)),
        revinfo_gathering_policy=RevocationInfoGatheringSpec(
            RevinfoOnlineFetchingRule.LOCAL_ONLY),
        local_knowledge=LocalKnowledge(
            known_crls=[CRLContainer(asn1_crl.CertificateList.load(c)) for c in crls])))
    timing = ValidationTimingInfo(validation_time=at, best_signature_time=at,
                                  point_in_time_validation=False)
    signature = PdfFileReader(io.BytesIO(pdf)).embedded_regular_signatures[0]
    return asyncio.run(ades_lta_validation(signature, spec, timing_info=timing))


# -- the signing library, with a signer of the test PKI ---------------------------------------


def test_with_a_tsa_a_letter_is_b_lt_with_revocation_data_in_its_dss(running_pki, letter_pdf):
    before = dt.datetime.now(dt.UTC)
    result = _sign(running_pki, letter_pdf, _settings(running_pki))
    assert result.level == "B-LT" and result.problem == ""
    assert before - dt.timedelta(seconds=5) <= result.timestamped_at <= dt.datetime.now(dt.UTC)
    assert result.timestamp_expires_at == running_pki.certificate_end("tsa")
    dss = DocumentSecurityStore.read_dss(PdfFileReader(io.BytesIO(result.pdf)))
    # the signer's OCSP response, the CRL covering the issuing CA and the TSA, their certs
    assert len(list(dss.ocsps)) >= 1 and len(list(dss.crls)) >= 1
    assert ltv.inspect(result.pdf).level == "B-LT"
    # validated today by pyHanko: intact, trusted, the timestamp its signing time
    today = lta_validation(result.pdf, [running_pki.root_pem], dt.datetime.now(dt.UTC))
    assert today.api_status.bottom_line, today.api_status.summary()
    assert abs(today.best_signature_time - result.timestamped_at) < dt.timedelta(seconds=1)


def test_a_b_lta_letter_still_validates_ten_years_on_when_its_signer_certificate_is_long_expired(
        running_pki, letter_pdf):
    signed = _sign(running_pki, letter_pdf, _settings(running_pki))
    extended = ltv.extend(signed.pdf, _settings(running_pki))
    assert extended.level == "B-LTA" and extended.pdf.startswith(signed.pdf)
    renewed = ltv.extend(extended.pdf, _settings(running_pki))  # the chain renewed once more
    assert renewed.pdf.startswith(extended.pdf)
    assert ltv.inspect(renewed.pdf).document_timestamps == 2

    later = dt.datetime.now(dt.UTC) + TEN_YEARS
    assert running_pki.certificate_end("signer") < later  # expired years before
    # A validator in ten years gets the TSA's CRL of that day (no fetching: handed over here).
    fresh = [running_pki.crl_at("root", later)]
    for pdf in (extended.pdf, renewed.pdf):
        result = lta_validation(pdf, [running_pki.root_pem], later, crls=fresh)
        assert result.ades_subindic is AdESPassed.OK, result.api_status.summary()
        assert result.api_status.bottom_line
        # proven to exist at its signing, not merely at the newest timestamp
        assert abs(result.best_signature_time - signed.timestamped_at) < dt.timedelta(seconds=1)


def test_a_b_b_letter_fails_ten_years_on_and_the_validator_says_why(running_pki, letter_pdf):
    plain = _sign(running_pki, letter_pdf, None)
    assert plain.level == "B-B" and plain.timestamped_at is None
    later = dt.datetime.now(dt.UTC) + TEN_YEARS
    result = lta_validation(plain.pdf, [running_pki.root_pem], later,
                            crls=[running_pki.crl_at("root", later)])
    assert result.ades_subindic is not AdESPassed.OK
    assert not result.api_status.bottom_line
    # the explanation: the signer's certificate is outside its validity period and nothing
    # proves the letter existed before it ended
    assert result.api_status.trust_problem_indic is AdESIndeterminate.OUT_OF_BOUNDS_NO_POE
    details = result.api_status.pretty_print_details()
    assert "No available information about the signing time" in details
    assert "The signature is judged INVALID" in details
    # the same file validates today: B-B is fine until the certificate ends
    today = lta_validation(plain.pdf, [running_pki.root_pem], dt.datetime.now(dt.UTC),
                           crls=[running_pki.crl_at("interm", dt.datetime.now(dt.UTC))])
    assert today.api_status.valid


def test_a_tsa_outage_costs_a_level_not_the_letter_and_extend_catches_up(running_pki,
                                                                         letter_pdf):
    running_pki.stop()
    down = _sign(running_pki, letter_pdf, _settings(running_pki))
    assert down.level == "B-B"
    assert "timestamp server" in down.problem and running_pki.tsa_url in down.problem
    # while the TSA is still down, extend fails with the reason and writes nothing
    with pytest.raises(signing.TimestampUnavailable, match="timestamp server"):
        ltv.extend(down.pdf, _settings(running_pki))
    running_pki.restart()
    extended = ltv.extend(down.pdf, _settings(running_pki))
    assert extended.level == "B-LTA"
    # the signature timestamp went into the room reserved for it, outside the signed bytes:
    # a file of the same length, which the B-LTA file continues
    copy = extended.timestamped_copy
    assert copy.level == "B-T" and len(copy.pdf) == len(down.pdf) != copy.pdf
    assert extended.pdf.startswith(copy.pdf)
    byte_range = PdfFileReader(io.BytesIO(down.pdf)).embedded_signatures[0].byte_range
    signed = slice(0, byte_range[1]), slice(byte_range[2], byte_range[2] + byte_range[3])
    assert all(down.pdf[part] == copy.pdf[part] for part in signed)
    later = dt.datetime.now(dt.UTC) + TEN_YEARS
    result = lta_validation(extended.pdf, [running_pki.root_pem], later,
                            crls=[running_pki.crl_at("root", later)])
    assert result.ades_subindic is AdESPassed.OK, result.api_status.summary()


def test_after_a_tsa_failure_signing_does_not_wait_for_it_again_at_once(running_pki,
                                                                       letter_pdf):
    running_pki.stop()
    assert _sign(running_pki, letter_pdf, _settings(running_pki)).level == "B-B"
    running_pki.restart()
    paused = _sign(running_pki, letter_pdf, _settings(running_pki))
    assert paused.level == "B-B" and "not asked again yet" in paused.problem
    ltv.forget_outages()
    assert _sign(running_pki, letter_pdf, _settings(running_pki)).level == "B-LT"


def test_without_revocation_data_a_timestamped_letter_is_b_t_and_says_why(running_pki,
                                                                         letter_pdf):
    result = _sign(running_pki, letter_pdf, _settings(running_pki, allow_fetching=False))
    assert result.level == "B-T"
    assert "validation data unavailable" in result.problem
    assert "revocation" in result.problem.lower()
    extended = ltv.extend(result.pdf, _settings(running_pki))
    assert extended.level == "B-LTA"


def test_a_chain_outside_the_trust_roots_gives_no_b_lt(running_pki, letter_pdf, tmp_path):
    foreign = signing.DevCA.ensure(tmp_path / "ca").certificate_pem  # any root but the PKI's
    result = _sign(running_pki, letter_pdf, _settings(running_pki, trust_roots=(foreign,)))
    assert result.level == "B-T" and "validation data unavailable" in result.problem


def test_settings_reject_a_tsa_that_is_not_an_http_url():
    with pytest.raises(signing.InvalidConfig):
        ltv.LtvSettings(tsa_url="ftp://tsa.test")
    with pytest.raises(signing.InvalidConfig):
        ltv.LtvSettings(tsa_url="")


def test_inspect_refuses_a_file_that_is_not_a_signed_pdf(letter_pdf):
    with pytest.raises(signing.SigningError):
        ltv.inspect(b"not a pdf")
    with pytest.raises(signing.SigningError, match="no signature"):
        ltv.inspect(letter_pdf[0])


# -- the portal: issuance, the letter's page, `letters extend` ---------------------------------


@pytest.fixture
def app_config(pki, tmp_path):
    roots = tmp_path / "trust-roots.pem"
    roots.write_bytes(pki.root_pem)
    return {"SIGNING_TSA_URL": pki.tsa_url, "SIGNING_TRUST_ROOTS": str(roots)}


def _walked(storage, code="rekom-nakes"):
    from portal.modules.demo.data import walk

    application, _ = walk(code, storage)
    assert application.status == "completed"
    return next(iter(application.letters))


def test_the_portal_issues_b_lt_letters_and_the_page_says_so(app, demo, storage, running_pki):
    from portal.modules.demo.data import DEMO_APPLICANT
    from portal.modules.letters.models import LetterRevision

    letter = _walked(storage)
    assert letter.level == "B-LT"
    revisions = list(letter.revisions)
    assert [(r.seq, r.level, r.sha256) for r in revisions] == [(1, "B-LT", letter.sha256)]
    assert revisions[0].timestamp_expires_at == running_pki.certificate_end("tsa")
    assert LetterRevision.accepted_digests(letter) == {letter.sha256}
    owner = Browser(app)
    owner.login(DEMO_APPLICANT, PASSWORD)
    page = text(owner.get(f"/letters/{letter.id}"))
    assert "Jangka panjang (PAdES B-LT)" in page


def test_a_tsa_outage_at_issuance_then_letters_extend_after_it_is_back(app, demo, storage,
                                                                       runner, running_pki):
    from portal.modules.audit.models import AuditEvent
    from portal.modules.demo.data import DEMO_APPLICANT
    from portal.modules.letters.models import Letter, LetterRevision

    running_pki.stop()
    letter = _walked(storage)  # the letter is issued all the same
    assert letter.status == "valid" and letter.level == "B-B"
    issued = AuditEvent.get((AuditEvent.action == "letter.issued")
                            & (AuditEvent.object_id == str(letter.id)))
    assert issued.data["level"] == "B-B" and "timestamp server" in issued.data["level_problem"]
    owner = Browser(app)
    owner.login(DEMO_APPLICANT, PASSWORD)
    assert "Tanpa cap waktu (PAdES B-B)" in text(owner.get(f"/letters/{letter.id}"))

    # cron while the TSA is still down: nothing changes, the command says why and fails
    down = runner.invoke(args=["letters", "extend"])
    assert down.exit_code == 1
    assert "stopped: timestamp server" in down.output and "0 letter(s) extended" in down.output
    assert Letter.get_by_id(letter.id).level == "B-B"
    assert LetterRevision.select().where(LetterRevision.letter == letter).count() == 1

    running_pki.restart()
    done = runner.invoke(args=["letters", "extend"])
    assert done.exit_code == 0, done.output
    assert f"extended: {letter.number}" in done.output and "B-B -> B-LTA" in done.output
    letter = Letter.get_by_id(letter.id)
    assert letter.level == "B-LTA"
    # the issued file, the same with its signature timestamp written in, then the B-LTA file
    first, second, third = LetterRevision.select().where(
        LetterRevision.letter == letter).order_by(LetterRevision.seq)
    assert [(r.seq, r.level) for r in (first, second, third)] == \
        [(1, "B-B"), (2, "B-T"), (3, "B-LTA")]
    assert first.sha256 == letter.sha256  # the issued file stays what it was
    assert LetterRevision.accepted_digests(letter) == {first.sha256, second.sha256,
                                                       third.sha256}
    assert LetterRevision.letters_for_digests([third.sha256]) == [letter]
    event = AuditEvent.get((AuditEvent.action == "letter.extended")
                           & (AuditEvent.object_id == str(letter.id)))
    assert (event.data["level_before"], event.data["level"], event.data["seq"]) == \
        ("B-B", "B-LTA", 3)

    # downloads serve the newest revision, which continues the timestamped file byte for byte
    download = owner.get(f"/letters/{letter.id}.pdf")
    assert hashlib.sha256(download.data).hexdigest() == third.sha256
    assert download.data.startswith(storage.read(second.storage_key))
    assert ltv.inspect(download.data).level == "B-LTA"
    assert "Arsip jangka panjang (PAdES B-LTA)" in text(owner.get(f"/letters/{letter.id}"))

    # nothing is due any more: a second run does nothing and succeeds
    again = runner.invoke(args=["letters", "extend"])
    assert again.exit_code == 0 and "0 letter(s) extended, 0 left of 0 due" in again.output


def test_extend_renews_timestamps_that_are_old_or_whose_tsa_certificate_ends_soon(
        app, demo, storage, running_pki):
    from portal.modules.letters.extend import RENEW_BEFORE_TSA_END, extend_due
    from portal.modules.letters.models import LetterRevision

    letter = _walked(storage)
    assert letter.level == "B-LT"
    now = dt.datetime.now(dt.UTC)
    assert extend_due(now=now).due == 0  # fresh, and its TSA certificate has years left
    # a year and a day on, the timestamp is older than PORTAL_SIGNING_EXTEND_AFTER_DAYS
    year_on = now + dt.timedelta(days=366)
    assert [r.letter_id for r in LetterRevision.due_for_extension(
        renew_before=year_on - dt.timedelta(days=365),
        expiring_before=year_on + RENEW_BEFORE_TSA_END)] == [letter.id]
    # within RENEW_BEFORE_TSA_END of the TSA certificate's end it is due, however fresh
    near_end = running_pki.certificate_end("tsa") - RENEW_BEFORE_TSA_END + dt.timedelta(days=1)
    assert [r.letter_id for r in LetterRevision.due_for_extension(
        renew_before=now - dt.timedelta(days=365),
        expiring_before=near_end + RENEW_BEFORE_TSA_END)] == [letter.id]
    assert not list(LetterRevision.due_for_extension(
        renew_before=now - dt.timedelta(days=365),
        expiring_before=near_end - dt.timedelta(days=2) + RENEW_BEFORE_TSA_END))
    run = extend_due(now=year_on)
    assert run.ok and [(lt.id, a, b) for lt, a, b in run.extended] == \
        [(letter.id, "B-LT", "B-LTA")]


def test_letters_extend_without_a_tsa_says_letters_wait_for_one(app, demo, storage, runner):
    import dataclasses

    config = app.extensions["portal.config"]
    app.extensions["portal.config"] = dataclasses.replace(config, signing_tsa_url="")
    try:
        letter = _walked(storage)
        assert letter.level == "B-B"
        result = runner.invoke(args=["letters", "extend"])
    finally:
        app.extensions["portal.config"] = config
    assert result.exit_code == 1
    assert "no timestamp authority configured" in result.output
