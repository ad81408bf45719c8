"""signing/: render a letter, sign it, read it back, validate, tamper, validate again.

Imports name the submodules (``signing.keys``...) rather than the package, so that the tests do
not depend on how the package was installed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import io
import os
import shutil
import socket
import stat
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from asn1crypto import cms, tsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.keys.internal import (
    translate_pyca_cryptography_cert_to_asn1,
    translate_pyca_cryptography_key_to_asn1,
)
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name, pdf_string
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.signers import Signer
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko.stamp import TextStamp, TextStampStyle

from signing import verify
from signing.errors import InvalidConfig, KeyUnavailable, SigningError
from signing.keys import CA_COMMON_NAME, DevCA, SignerIdentity
from signing.pkcs11 import Pkcs11Config, load_pkcs11_identity
from signing.render import LetterContent, Paraf, SignatureBlock, render_letter
from signing.sign import reserved_bytes, sign_letter, stamp_lines
from signing.verdict import Accepted, Outcome, judge

WIB = ZoneInfo("Asia/Jakarta")
SIGNED_AT = dt.datetime(2026, 11, 23, 14, 5, 30, tzinfo=WIB)
URL = "https://portal.test/v/q8Zk2vT0bW4mHc7LxN1pRa"
CHECK_LETTER = Path("/work/shared/tools/check-letter")


def issued(pdf: bytes) -> list[Accepted]:
    """What the portal's records would hold for ``pdf`` had it issued it."""
    return [Accepted(hashlib.sha256(pdf).hexdigest(), len(pdf))]


def judge_issued(pdf: bytes, roots: list[bytes]):
    """The one verdict (signing.verdict.judge) on a file the portal issued as it is."""
    return judge(pdf, roots, issued(pdf))


# -- fixtures: one CA and signer per module (RSA key generation is the slow part) --------------

@pytest.fixture(scope="module")
def ca_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("keys")


@pytest.fixture(scope="module")
def ca(ca_dir) -> DevCA:
    return DevCA.ensure(ca_dir)


@pytest.fixture(scope="module")
def kadinkes(ca) -> SignerIdentity:
    return ca.signer_identity("kadinkes", "dr. Hj. Ratna Sari Dewi, M.Kes.", "197001012000032001",
                              "Kepala Dinas Kesehatan", "Dinas Kesehatan Kabupaten Bangka")


@pytest.fixture
def make_content():
    """A factory of letters; keyword arguments replace fields."""

    def make(**changes) -> LetterContent:
        fields = dict(
            letterhead=("PEMERINTAH KABUPATEN BANGKA", "DINAS KESEHATAN",
                        "Jl. Jend. Sudirman No. 1, Sungailiat 33215"),
            title="SURAT REKOMENDASI",
            number="440/123/DINKES/XI/2026",
            place_date="Sungailiat, 23 November 2026",
            subject="Rekomendasi Izin Praktik Bidan",
            body=(
                "Yang bertanda tangan di bawah ini memberikan rekomendasi kepada:",
                "Nama: Ni Luh Putu Ayu & <Sari> Siregar\nNIK: -\n"
                "Tempat praktik: Klinik \"Sehat & Sejahtera\" <Sungailiat>",
                "untuk mengajukan Surat Izin Praktik Bidan sesuai ketentuan yang berlaku.",
            ),
            signature=SignatureBlock(position="Kepala Dinas Kesehatan",
                                     name="dr. Hj. Ratna Sari Dewi, M.Kes.",
                                     nip="197001012000032001", capacity="a.n. Bupati Bangka"),
            paraf=(Paraf("Kasi SDMK", "Budi Santoso", "23-11-2026 10:02 WIB"),),
            footer_note=f"Dokumen ini ditandatangani secara elektronik. Verifikasi: {URL}",
        )
        fields.update(changes)
        return LetterContent(**fields)

    return make


@pytest.fixture
def sign(kadinkes):
    """Sign a rendered letter the way the portal does (certified, QR of URL)."""

    def do(rendered, identity=None, url=URL, **kwargs) -> bytes:
        identity = identity or kadinkes
        return sign_letter(rendered.pdf, identity, rendered.signature_box, url,
                           stamp_lines(identity.common_name, SIGNED_AT), SIGNED_AT, **kwargs)

    return do


@pytest.fixture
def signed(make_content, sign) -> bytes:
    return sign(render_letter(make_content()))


def _container_sizes(pdf: bytes) -> tuple[int, int]:
    """The last signature's container: DER bytes used, hex characters reserved in the file."""
    contents = PdfFileReader(io.BytesIO(pdf)).embedded_signatures[-1].pkcs7_content
    return len(cms.ContentInfo.load(contents).dump()), 2 * len(contents)


# -- keys -------------------------------------------------------------------------------------

def test_dev_ca_is_created_once_and_reloaded(ca_dir, ca):
    again = DevCA.ensure(ca_dir)
    assert again.certificate == ca.certificate
    assert again.certificate_pem == ca.certificate_pem
    assert ca.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        CA_COMMON_NAME)
    assert ca.certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    usage = ca.certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign
    assert stat.S_IMODE(os.stat(ca_dir / "ca-key.pem").st_mode) == 0o600
    assert (ca_dir / "ca.pem").read_bytes() == ca.certificate_pem


def test_signer_certificate_is_issued_once_and_reused(ca_dir, kadinkes):
    reloaded = DevCA.ensure(ca_dir).signer_identity(
        "kadinkes", "dr. Hj. Ratna Sari Dewi, M.Kes.", "197001012000032001",
        "Kepala Dinas Kesehatan", "Dinas Kesehatan Kabupaten Bangka")
    assert reloaded.certificate.serial_number == kadinkes.certificate.serial_number
    subject = kadinkes.certificate.subject.native
    assert subject["common_name"] == "dr. Hj. Ratna Sari Dewi, M.Kes."
    assert subject["title"] == "Kepala Dinas Kesehatan"
    assert subject["organization_name"] == "Dinas Kesehatan Kabupaten Bangka"
    assert subject["serial_number"] == "197001012000032001"
    assert stat.S_IMODE(os.stat(ca_dir / "kadinkes-key.pem").st_mode) == 0o600


def test_signer_certificate_is_reissued_when_the_position_changes(tmp_path):
    ca = DevCA.ensure(tmp_path)
    first = ca.signer_identity("kabid", "Siti Aminah", None, "Kabid Yankes", "Dinkes Bangka")
    second = DevCA.ensure(tmp_path).signer_identity(
        "kabid", "Siti Aminah", None, "Plt. Sekretaris", "Dinkes Bangka")
    assert second.certificate.serial_number != first.certificate.serial_number
    assert second.certificate.subject.native["title"] == "Plt. Sekretaris"
    assert "serial_number" not in second.certificate.subject.native


def test_signer_key_name_must_be_a_plain_file_name(ca):
    with pytest.raises(InvalidConfig, match="signer key"):
        ca.signer_identity("../evil", "A", None, "B", "C")


def _write_pkcs12(path: Path, ca: DevCA, identity_key: str, passphrase: bytes) -> None:
    ca.signer_identity(identity_key, "Budi Santoso", None, "Kasi SDMK", "Dinkes Bangka")
    key = serialization.load_pem_private_key(
        (ca.directory / f"{identity_key}-key.pem").read_bytes(), None)
    cert = x509.load_pem_x509_certificate((ca.directory / f"{identity_key}.pem").read_bytes())
    path.write_bytes(pkcs12.serialize_key_and_certificates(
        b"kasi", key, cert, [ca.certificate], serialization.BestAvailableEncryption(passphrase)))


def test_pkcs12_with_the_right_passphrase_signs_a_trusted_letter(
        tmp_path, ca, make_content, sign):
    path = tmp_path / "kasi.p12"
    _write_pkcs12(path, ca, "kasi-p12", b"rahasia-benar")
    identity = SignerIdentity.from_pkcs12(path, "rahasia-benar")
    verdict = judge_issued(sign(render_letter(make_content()), identity), [ca.certificate_pem])
    assert verdict.ok and verdict.outcome is Outcome.GENUINE, verdict
    assert verdict.signer.signer == "Budi Santoso" and verdict.signer.ok


def test_pkcs12_wrong_passphrase_or_missing_file_is_key_unavailable(tmp_path, ca):
    path = tmp_path / "kasi.p12"
    _write_pkcs12(path, ca, "kasi-p12-wrong", b"rahasia-benar")
    with pytest.raises(KeyUnavailable, match="wrong passphrase"):
        SignerIdentity.from_pkcs12(path, "salah")
    with pytest.raises(KeyUnavailable, match="cannot read"):
        SignerIdentity.from_pkcs12(tmp_path / "missing.p12", "x")


def test_pkcs11_config_rejects_unknown_keys_and_hides_the_pin():
    config = Pkcs11Config.from_config({"library": "/usr/lib/softhsm/libsofthsm2.so",
                                       "token_label": "absah", "key_label": "kadinkes",
                                       "pin": "123456"})
    assert "123456" not in repr(config)
    with pytest.raises(InvalidConfig, match="'slot'"):
        Pkcs11Config.from_config({"library": "x", "token_label": "t", "key_label": "k",
                                  "pin": "1", "slot": 0})


def test_pkcs11_without_python_pkcs11_or_token_is_key_unavailable(tmp_path):
    config = Pkcs11Config(library=str(tmp_path / "libmissing.so"), token_label="absah",
                          key_label="kadinkes", pin="123456")
    with pytest.raises(KeyUnavailable, match="python-pkcs11|not found"):
        load_pkcs11_identity(config)


@pytest.mark.skipif(shutil.which("softhsm2-util") is None,
                    reason="SoftHSM (softhsm2-util) is not installed: PKCS#11 signing untested")
def test_pkcs11_token_signs_a_trusted_letter(tmp_path, monkeypatch, ca, make_content, sign):
    pkcs11 = pytest.importorskip("pkcs11", reason="python-pkcs11 (pyHanko[pkcs11]) missing")
    library = next((p for p in ("/usr/lib/softhsm/libsofthsm2.so",
                                "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so")
                    if os.path.exists(p)), None)
    if library is None:
        pytest.skip("softhsm2-util found but not libsofthsm2.so")
    (tmp_path / "tokens").mkdir()
    (tmp_path / "softhsm2.conf").write_text(f"directories.tokendir = {tmp_path / 'tokens'}\n")
    monkeypatch.setenv("SOFTHSM2_CONF", str(tmp_path / "softhsm2.conf"))
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", "absah",
                    "--pin", "123456", "--so-pin", "654321"], check=True)
    ca.signer_identity("hsm", "Kepala Badan", None, "Kepala Badan", "BPMPTSP Bangka")
    subprocess.run(["softhsm2-util", "--import", str(ca.directory / "hsm-key.pem"), "--token",
                    "absah", "--label", "hsm", "--id", "01", "--pin", "123456"], check=True)
    cert = x509.load_pem_x509_certificate((ca.directory / "hsm.pem").read_bytes())
    cert_der = cert.public_bytes(serialization.Encoding.DER)
    token = pkcs11.lib(library).get_token(token_label="absah")
    with token.open(rw=True, user_pin="123456") as session:
        session.create_object({
            pkcs11.Attribute.CLASS: pkcs11.ObjectClass.CERTIFICATE,
            pkcs11.Attribute.CERTIFICATE_TYPE: pkcs11.CertificateType.X_509,
            pkcs11.Attribute.TOKEN: True, pkcs11.Attribute.LABEL: "hsm",
            pkcs11.Attribute.ID: b"\x01", pkcs11.Attribute.VALUE: cert_der,
            # SoftHSM refuses a certificate object without its subject (TemplateIncomplete)
            pkcs11.Attribute.SUBJECT: cert.subject.public_bytes()})
    identity = load_pkcs11_identity(Pkcs11Config(
        library=library, token_label="absah", key_label="hsm", pin="123456",
        chain_file=str(ca.directory / "ca.pem")))
    verdict = judge_issued(sign(render_letter(make_content()), identity), [ca.certificate_pem])
    assert verdict.ok, verdict
    with pytest.raises(KeyUnavailable, match="cannot open PKCS#11 token"):
        load_pkcs11_identity(Pkcs11Config(library=library, token_label="absah",
                                          key_label="hsm", pin="000000"))


# -- render -----------------------------------------------------------------------------------

def _page_text(pdf: bytes, page: int = 0) -> bytes:
    reader = PdfFileReader(io.BytesIO(pdf))
    contents = reader.root["/Pages"]["/Kids"][page].get_object()["/Contents"]
    streams = contents if isinstance(contents, generic.ArrayObject) else [contents]
    return b"".join(s.get_object().data for s in streams)


def test_markup_characters_and_indonesian_names_print_as_text(make_content):
    rendered = render_letter(make_content())
    text = _page_text(rendered.pdf)
    assert b"Ni Luh Putu Ayu & <Sari> Siregar" in text
    assert b"Klinik \"Sehat & Sejahtera\" <Sungailiat>" in text
    assert b"Rekomendasi Izin Praktik Bidan" in text
    assert rendered.page_count == 1


def test_long_letter_spans_pages_with_the_stamp_box_on_the_last(make_content, sign, ca):
    body = tuple(f"Paragraf {i}: " + "isi surat yang panjang sekali " * 12 for i in range(40))
    rendered = render_letter(make_content(body=body))
    assert rendered.page_count > 1
    page, x1, y1, x2, y2 = rendered.signature_box
    assert page == rendered.page_count - 1
    assert x2 - x1 >= 80 and y2 - y1 >= 28 / 25.4 * 72  # the QR gets at least 28 mm
    assert judge_issued(sign(rendered), [ca.certificate_pem]).ok


def test_letter_content_from_config_rejects_unknown_keys(make_content):
    config = {"letterhead": ["DINAS"], "number": "1", "place_date": "Sungailiat",
              "signature": {"position": "Kepala", "name": "A"}, "tembusan": ["x"]}
    with pytest.raises(InvalidConfig, match="'tembusan'"):
        LetterContent.from_config(config)
    del config["tembusan"]
    content = LetterContent.from_config(config)
    assert content.signature.name == "A" and content.letterhead == ("DINAS",)
    with pytest.raises(InvalidConfig, match="'jabatan'"):
        LetterContent.from_config({**config, "signature": {"jabatan": "x", "name": "A"}})



def test_the_pdf_is_dated_at_the_letter_s_time_and_stays_deterministic(make_content, sign):
    """created_at is the PDF's CreationDate and ModDate (in its own offset): the same content
    and time give the same bytes; a naive time is refused; signing keeps the date, and the
    signed revision's ModDate is the signing time, not the machine's clock."""
    moment = dt.datetime(2026, 11, 23, 10, 2, 5, tzinfo=ZoneInfo("Asia/Jakarta"))
    first = render_letter(make_content(created_at=moment))
    assert first.pdf == render_letter(make_content(created_at=moment)).pdf
    later = render_letter(make_content(created_at=moment + dt.timedelta(seconds=1)))
    assert later.pdf != first.pdf
    meta = PdfFileReader(io.BytesIO(first.pdf)).document_meta_view
    assert meta.created == moment and meta.last_modified == moment
    undated = PdfFileReader(io.BytesIO(render_letter(make_content()).pdf)).document_meta_view
    assert undated.created.year == 2000  # reportlab's invariant date when none is given
    with pytest.raises(InvalidConfig, match="created_at"):
        make_content(created_at=dt.datetime(2026, 11, 23, 10, 2, 5))
    meta = PdfFileReader(io.BytesIO(sign(first))).document_meta_view
    assert meta.created == moment and meta.last_modified == SIGNED_AT


# -- sign + verify ----------------------------------------------------------------------------

def test_signed_letter_is_intact_trusted_and_covers_the_whole_file(signed, ca, kadinkes):
    verdict = judge_issued(signed, [ca.certificate_pem])
    assert verdict.ok and verdict.exact and verdict.findings == (), verdict
    assert not verdict.validation_data_added and not verdict.trailing_whitespace
    (sig,) = verdict.signatures
    assert sig.ok and sig.checked and not sig.problem
    assert sig.intact and sig.valid and sig.trusted and sig.whole_file
    assert sig.coverage == "whole file"
    assert sig.signer == "dr. Hj. Ratna Sari Dewi, M.Kes."
    assert sig.signer_position == "Kepala Dinas Kesehatan"
    assert sig.certification == "no changes permitted"
    assert sig.signed_at == SIGNED_AT.replace(microsecond=0)
    assert verdict.qr_urls == (URL,)
    assert verdict.en.startswith("Genuine: this is the issued letter, unaltered")
    used, reserved = _container_sizes(signed)
    assert reserved == reserved_bytes(kadinkes) >= 2 * used  # signed once, no fallback


def test_cached_signed_attributes_are_the_ones_pyhanko_builds(kadinkes):
    digest = bytes(range(32))

    async def both():
        ours = await kadinkes.signer.signed_attrs(digest, "sha256", use_pades=True)
        stock = await Signer.signed_attrs(kadinkes.signer, digest, "sha256", use_pades=True)
        return ours.dump(), stock.dump()

    ours, stock = asyncio.run(both())
    assert ours == stock


def test_byte_changed_inside_the_signed_range_breaks_integrity(signed, ca):
    reader = PdfFileReader(io.BytesIO(signed))
    byte_range = reader.embedded_signatures[0].byte_range
    start, length = int(byte_range[0]), int(byte_range[1])
    position = signed.index(b"(Absah)", start, start + length)  # the creator in /Info
    tampered = signed[:position] + b"(Absxh)" + signed[position + 7:]
    verdict = judge(tampered, [ca.certificate_pem], issued(signed))
    assert verdict.outcome is Outcome.CHANGED and not verdict.ok
    assert verdict.matched is None  # the altered file does not begin with the issued one
    assert not verdict.signatures[0].intact and verdict.signatures[0].checked
    assert [f.code for f in verdict.findings] == ["signed_bytes_altered"]
    assert verdict.en.startswith("Changed after signing: NOT valid")


def _add_annotation(pdf: bytes) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    page_ref, _ = writer.find_page_for_modification(0)
    writer.register_annotation(page_ref, writer.add_object(generic.DictionaryObject({
        pdf_name("/Type"): pdf_name("/Annot"),
        pdf_name("/Subtype"): pdf_name("/FreeText"),
        pdf_name("/Rect"): generic.ArrayObject([generic.FloatObject(v)
                                                for v in (72, 700, 300, 730)]),
        pdf_name("/Contents"): pdf_string("DIBATALKAN"),
        pdf_name("/DA"): pdf_string("/Helv 14 Tf 1 0 0 rg"),
    })))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _add_text(pdf: bytes) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    TextStamp(writer, TextStampStyle(stamp_text="Masa berlaku diperpanjang")).apply(0, 72, 650)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize(("change", "found"), [(_add_annotation, "annotation_added"),
                                               (_add_text, "content_changed")],
                         ids=["annotation", "text"])
def test_update_appended_after_signing_is_reported(signed, ca, change, found):
    changed = change(signed)
    # after the issued file, as the portal sees it, and on its own (no record of it)
    for accepted in (issued(signed), []):
        verdict = judge(changed, [ca.certificate_pem], accepted)
        assert verdict.outcome is Outcome.CHANGED and not verdict.ok, verdict
        assert found in [f.code for f in verdict.findings], verdict.findings
        (sig,) = verdict.signatures
        assert sig.intact and sig.valid and sig.trusted  # the signed revision itself is fine
        assert verdict.en.startswith("Changed after signing: NOT valid")
    # the signature's own report says it no longer covers the file
    assert not sig.whole_file and sig.coverage != "whole file" and not sig.ok
    assert "changed after this signature" in sig.problem


def test_letter_signed_by_another_ca_is_untrusted(tmp_path, make_content, sign, ca):
    stranger = DevCA.ensure(tmp_path / "other").signer_identity(
        "palsu", "dr. Hj. Ratna Sari Dewi, M.Kes.", None, "Kepala Dinas", "Dinkes Bangka")
    verdict = judge_issued(sign(render_letter(make_content()), stranger), [ca.certificate_pem])
    (sig,) = verdict.signatures
    assert sig.intact and sig.valid and not sig.trusted
    assert "not trusted" in sig.problem
    assert verdict.outcome is Outcome.UNTRUSTED and not verdict.ok
    assert verdict.en.startswith("Not valid: the signature is intact, but the signer's")


@pytest.mark.parametrize(("data", "outcome"), [
    (b"this is not a pdf", Outcome.NOT_PDF),
    (b"", Outcome.NOT_PDF),
    (b"%PDF-1.7\n garbage \x00\xff", Outcome.DAMAGED),
])
def test_garbage_gets_a_report_not_an_exception(data, outcome, ca):
    verdict = judge(data, [ca.certificate_pem])
    assert verdict.outcome is outcome
    assert not verdict.ok and verdict.signatures == ()


def test_unsigned_letter_is_reported_as_unsigned(make_content, ca):
    verdict = judge_issued(render_letter(make_content()).pdf, [ca.certificate_pem])
    assert verdict.outcome is Outcome.UNSIGNED and not verdict.ok
    assert "no electronic signature" in verdict.en


def test_the_signing_library_has_one_verdict_and_it_is_judge():
    """Nothing in signing/ but signing.verdict.judge says a file is genuine: the old loose
    file-level report (the last signature covers the file) is gone."""
    import signing

    assert not hasattr(verify, "verify_letter") and not hasattr(verify, "LetterReport")
    assert not hasattr(signing, "verify_letter") and not hasattr(signing, "LetterReport")
    assert signing.judge is judge and verify.__all__ == ["SignatureReport"]


def test_a_validator_failure_cannot_be_checked_and_is_not_tampering(signed, ca, monkeypatch):
    """An exception inside pyHanko's validation is the validator's failure: the signature is
    "not checked", and the verdict says the file cannot be checked, not that it was changed."""

    async def broken(*args, **kwargs):
        raise RuntimeError("validator exploded")

    monkeypatch.setattr(verify, "async_validate_pdf_signature", broken)
    verdict = judge_issued(signed, [ca.certificate_pem])
    assert verdict.outcome is Outcome.UNCHECKED and not verdict.ok, verdict
    assert [f.code for f in verdict.findings] == ["unchecked"]
    (sig,) = verdict.signatures
    assert not sig.checked and not sig.ok
    assert "cannot be checked" in sig.problem and "validator exploded" in sig.problem
    assert "tampered" not in verdict.en and "Changed" not in verdict.en
    assert verdict.en.startswith("Cannot be checked")
    assert "cannot be checked" in verdict.findings[0].en
    # a change found still outweighs the failure: an annotated file is "changed"
    changed = judge(_add_annotation(signed), [ca.certificate_pem], issued(signed))
    assert changed.outcome is Outcome.CHANGED
    assert {"unchecked", "annotation_added"} <= {f.code for f in changed.findings}


def test_a_signature_pyhanko_rejects_is_still_not_intact(signed, ca, monkeypatch):
    """What pyHanko raises for a bad signature (SignatureValidationError) stays a broken
    signature: only other exceptions are the validator's own failure."""
    from pyhanko.sign.validation.errors import SignatureValidationError

    async def rejects(*args, **kwargs):
        raise SignatureValidationError("malformed signer info")

    monkeypatch.setattr(verify, "async_validate_pdf_signature", rejects)
    verdict = judge_issued(signed, [ca.certificate_pem])
    assert verdict.outcome is Outcome.CHANGED
    assert [f.code for f in verdict.findings] == ["signature_dictionary"]
    assert verdict.signatures[0].checked and not verdict.signatures[0].intact


def test_sign_failures_are_signing_errors(make_content, kadinkes):
    rendered = render_letter(make_content())
    naive = SIGNED_AT.replace(tzinfo=None)
    with pytest.raises(SigningError, match="timezone-aware"):
        sign_letter(rendered.pdf, kadinkes, rendered.signature_box, URL, (), naive)
    with pytest.raises(SigningError, match="cannot sign"):
        sign_letter(b"not a pdf", kadinkes, rendered.signature_box, URL, (), SIGNED_AT)
    with pytest.raises(SigningError, match="page 5"):
        sign_letter(rendered.pdf, kadinkes, (4, 300, 300, 540, 396), URL, (), SIGNED_AT)


def test_stamp_lines_label_the_agency_zone():
    moment = dt.datetime(2026, 11, 23, 7, 5, tzinfo=dt.UTC)
    assert stamp_lines("A", moment.astimezone(WIB))[2] == "23-11-2026 14:05 WIB"
    assert stamp_lines("A", moment.astimezone(ZoneInfo("Asia/Makassar")))[2].endswith("WITA")
    assert stamp_lines("A", moment.astimezone(ZoneInfo("Asia/Jayapura")))[2] == (
        "23-11-2026 16:05 WIT")
    assert stamp_lines("A", moment, zone_label="UTC")[1] == "Ditandatangani secara elektronik"


# -- timestamps (RFC 3161) against a local TSA ------------------------------------------------

def _tsa_certificates():
    """A throw-away TSA root and a TSA certificate (extended key usage timeStamping)."""
    now = dt.datetime.now(dt.UTC)
    start, end = now - dt.timedelta(days=1), now + dt.timedelta(days=30)
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test TSA Root")])
    root = (x509.CertificateBuilder().subject_name(root_name).issuer_name(root_name)
            .public_key(root_key.public_key()).serial_number(1)
            .not_valid_before(start).not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(root_key, hashes.SHA256()))
    tsa = (x509.CertificateBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test TSA")]))
           .issuer_name(root_name).public_key(tsa_key.public_key()).serial_number(2)
           .not_valid_before(start).not_valid_after(end)
           .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
           .sign(root_key, hashes.SHA256()))
    return root, tsa, tsa_key


@pytest.fixture(scope="module")
def tsa():
    """A local RFC 3161 server answering with pyHanko's DummyTimeStamper; yields (url, root)."""
    root, cert, key = _tsa_certificates()
    stamper = DummyTimeStamper(tsa_cert=translate_pyca_cryptography_cert_to_asn1(cert),
                               tsa_key=translate_pyca_cryptography_key_to_asn1(key))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            request = tsp.TimeStampReq.load(self.rfile.read(int(self.headers["Content-Length"])))
            body = asyncio.run(stamper.async_request_tsa_response(request)).dump()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", root.public_bytes(
        serialization.Encoding.PEM)
    server.shutdown()
    server.server_close()
    thread.join()


def test_timestamped_letter_carries_a_trusted_timestamp(tsa, make_content, sign, ca, kadinkes):
    url, tsa_root = tsa
    signed = sign(render_letter(make_content()), timestamper_url=url)
    verdict = judge_issued(signed, [ca.certificate_pem, tsa_root])
    assert verdict.ok, verdict
    assert verdict.signatures[0].timestamped and verdict.time_source == "timestamp"
    used, reserved = _container_sizes(signed)
    assert reserved == reserved_bytes(kadinkes, with_timestamp=True) >= 2 * used


def test_unreachable_timestamp_server_is_a_signing_error(make_content, sign):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(SigningError, match="timestamp server"):
        sign(render_letter(make_content()), timestamper_url=f"http://127.0.0.1:{port}/")


# -- the independent check: poppler's pdfsig (NSS) and zbarimg --------------------------------

def _check_letter(tmp_path: Path, pdf: bytes, ca: DevCA) -> subprocess.CompletedProcess:
    missing = [t for t in ("pdfsig", "pdftoppm", "zbarimg", "certutil") if not shutil.which(t)]
    if missing or not CHECK_LETTER.exists():
        pytest.skip(f"independent check unavailable: missing {missing or CHECK_LETTER}")
    (tmp_path / "letter.pdf").write_bytes(pdf)
    (tmp_path / "ca.pem").write_bytes(ca.certificate_pem)
    return subprocess.run(
        [str(CHECK_LETTER), str(tmp_path / "letter.pdf"), "--ca", str(tmp_path / "ca.pem"),
         "--expect-url", "https://portal.test/v/"],
        capture_output=True, text=True, timeout=60)


def test_check_letter_accepts_a_signed_letter(tmp_path, signed, ca):
    result = _check_letter(tmp_path, signed, ca)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "check-letter: OK" in result.stdout
    assert f"QR codes: {URL}" in result.stdout


def test_check_letter_rejects_a_letter_changed_after_signing(tmp_path, signed, ca):
    result = _check_letter(tmp_path, _add_annotation(signed), ca)
    assert result.returncode == 1
    assert "does not cover the whole file" in result.stdout
