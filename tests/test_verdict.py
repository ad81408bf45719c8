"""The one strict verdict (signing.verdict.judge) on files crafted from genuinely issued letters:
only the issued bytes plus validation data and document timestamps are the letter; every other
change after signing is named. The helpers that craft the attacks are shared with
test_verify_page.py, which runs the page and the CLI on the same files."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import shutil
import subprocess
import zlib

import pytest
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name, pdf_string
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import SigFieldSpec
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner, PdfTimeStamper
from pyhanko.sign.timestamps import DummyTimeStamper
from pyhanko.sign.validation.dss import DocumentSecurityStore

import signing
from portal.modules.demo.data import walk
from portal.modules.letters.keys import trust_roots
from signing.verdict import Accepted, Outcome, candidate_digests, judge

HOLDER = "Siti Pemohon"  # the demo applicant, printed in the rekomendasi
FORGED = ("Budi Pemalsu", "Sisi Sisisis", "Siti Pemohoo", "Xiti Pemohon")


# -- the attacks: each an edit of a genuinely issued letter, as a forger would make it --------

def _written(writer: IncrementalPdfFileWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _page_streams(page: generic.DictionaryObject) -> list[generic.IndirectObject]:
    contents = page.raw_get("/Contents")
    resolved = contents.get_object() if isinstance(contents, generic.IndirectObject) else contents
    return list(resolved) if isinstance(resolved, generic.ArrayObject) else [contents]


def replace_name(pdf: bytes, old: str = HOLDER, new: str = FORGED[0]) -> bytes:
    """An incremental update that rewrites the page content with another name in it."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    page_ref, _ = writer.find_page_for_modification(0)
    for ref in _page_streams(page_ref.get_object()):
        stream = ref.get_object()
        if old.encode() in stream.data:
            writer.update_container(stream)
            stream._data = stream.data.replace(old.encode(), new.encode())
            stream._encoded_data = None
            writer.mark_update(ref)
            return _written(writer)
    raise AssertionError(f"{old!r} is not in the page")


class _DefiantSigner(PdfSigner):
    """What a patched tool does: sign although the certification forbids all changes."""

    def _enforce_certification_constraints(self, reader):
        return None


def add_signature(pdf: bytes, identity: signing.SignerIdentity,
                  field: str = "Persetujuan") -> bytes:
    """A second (approval) signature appended by ``identity``."""
    signer = _DefiantSigner(PdfSignatureMetadata(field_name=field, md_algorithm="sha256"),
                            identity.signer,
                            new_field_spec=SigFieldSpec(field, on_page=0, box=(72, 40, 300, 90)))
    return signer.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf))).getvalue()


def insider_resignature(pdf: bytes, official: signing.SignerIdentity) -> bytes:
    """The holder's name changed, then an approval signature by another portal official."""
    return add_signature(replace_name(pdf), official)


def overlay(pdf: bytes) -> bytes:
    """A new content stream painted over the page: a white box and other words."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    page_ref, _ = writer.find_page_for_modification(0)
    page = page_ref.get_object()
    paint = writer.add_object(generic.StreamObject(
        stream_data=b"q 1 1 1 rg 60 600 400 60 re f Q BT /F1 20 Tf 70 620 Td (DIBATALKAN) Tj ET"))
    page[pdf_name("/Contents")] = generic.ArrayObject([*_page_streams(page), paint])
    writer.mark_update(page_ref)
    return _written(writer)


def form_field(pdf: bytes) -> bytes:
    """A new filled-in text field on the page."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    page_ref, _ = writer.find_page_for_modification(0)
    field = writer.add_object(generic.DictionaryObject({
        pdf_name("/Type"): pdf_name("/Annot"), pdf_name("/Subtype"): pdf_name("/Widget"),
        pdf_name("/FT"): pdf_name("/Tx"), pdf_name("/T"): pdf_string("Catatan"),
        pdf_name("/V"): pdf_string("Berlaku sampai 2099"), pdf_name("/P"): page_ref,
        pdf_name("/Rect"): generic.ArrayObject([generic.FloatObject(v)
                                                for v in (72, 700, 300, 720)])}))
    writer.register_annotation(page_ref, field)
    form = writer.root.raw_get("/AcroForm")
    form.get_object()["/Fields"].append(field)
    if isinstance(form, generic.IndirectObject):
        writer.mark_update(form)
    else:
        writer.update_root()
    return _written(writer)


def annotation(pdf: bytes) -> bytes:
    """A FreeText annotation: "DIBATALKAN" across the letter."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    page_ref, _ = writer.find_page_for_modification(0)
    writer.register_annotation(page_ref, writer.add_object(generic.DictionaryObject({
        pdf_name("/Type"): pdf_name("/Annot"), pdf_name("/Subtype"): pdf_name("/FreeText"),
        pdf_name("/Rect"): generic.ArrayObject([generic.FloatObject(v)
                                                for v in (72, 700, 300, 730)]),
        pdf_name("/Contents"): pdf_string("DIBATALKAN"),
        pdf_name("/DA"): pdf_string("/Helv 14 Tf 1 0 0 rg")})))
    return _written(writer)


def rebuild_pages(pdf: bytes, old: str = HOLDER, new: str = FORGED[0]) -> bytes:
    """The incremental-saving attack: a new page tree whose page carries other content, the
    signed pages left in the file but no longer reachable."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    pages = writer.root["/Pages"]
    kids = generic.ArrayObject()
    tree = writer.add_object(generic.DictionaryObject({
        pdf_name("/Type"): pdf_name("/Pages"), pdf_name("/Count"): pages["/Count"],
        pdf_name("/Kids"): kids}))
    for kid in pages["/Kids"]:
        page = kid.get_object()
        copy = generic.DictionaryObject({k: v for k, v in page.items()
                                         if k not in ("/Parent", "/Contents")})
        data = b"".join(ref.get_object().data for ref in _page_streams(page))
        copy[pdf_name("/Contents")] = writer.add_object(
            generic.StreamObject(stream_data=data.replace(old.encode(), new.encode())))
        copy[pdf_name("/Parent")] = tree
        kids.append(writer.add_object(copy))
    writer.root[pdf_name("/Pages")] = tree
    writer.update_root()
    return _written(writer)


def in_place(pdf: bytes, old: str = HOLDER) -> bytes:
    """The name changed inside the signed bytes, every offset kept: the page's compressed
    stream deflated again (padded to its length), so viewers show the forged name."""
    reader = PdfFileReader(io.BytesIO(pdf))
    page = reader.root["/Pages"]["/Kids"][0].get_object()
    for ref in _page_streams(page):
        stream = ref.get_object()
        if old.encode() not in stream.data:
            continue
        raw = stream.encoded_data
        for new in FORGED:
            text = stream.data.replace(old.encode(), new.encode())
            fresh = min((_deflate(text, level, memory) for level in range(1, 10)
                         for memory in (1, 8, 9)), key=len)
            if len(fresh) <= len(raw):
                at = pdf.index(raw)
                return pdf[:at] + fresh + b"\0" * (len(raw) - len(fresh)) + pdf[at + len(raw):]
    raise AssertionError("no forged name fits in place")


def _deflate(data: bytes, level: int, memory: int) -> bytes:
    compressor = zlib.compressobj(level, zlib.DEFLATED, 15, memory)
    return compressor.compress(data) + compressor.flush()


def byte_range_removed(pdf: bytes) -> bytes:
    """The signature dictionary's /ByteRange blanked out (same length, offsets kept)."""
    match = re.search(rb"/ByteRange \[[^\]]*\]", pdf)
    return pdf[:match.start()] + b" " * (match.end() - match.start()) + pdf[match.end():]


def byte_range_zero(pdf: bytes) -> bytes:
    """/ByteRange [0 0 0 0]: a signature that claims to cover nothing."""
    match = re.search(rb"/ByteRange \[[^\]]*\]", pdf)
    zero = b"/ByteRange [0 0 0 0]"
    return (pdf[:match.start()] + zero + b" " * (match.end() - match.start() - len(zero))
            + pdf[match.end():])


def byte_range_rewritten(pdf: bytes) -> bytes:
    """An incremental update that rewrites the signature dictionary with /ByteRange
    [0 0 0 0], the signed revision left as it was."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    ref = writer.root["/AcroForm"]["/Fields"][0].get_object().raw_get("/V")
    ref.get_object()[pdf_name("/ByteRange")] = generic.ArrayObject([generic.NumberObject(0)] * 4)
    writer.mark_update(ref)
    return _written(writer)


def listed_twice(pdf: bytes, old: str = HOLDER, new: str = FORGED[0],
                 forged_first: bool = True) -> bytes:
    """An update whose cross-reference table lists the page's content stream twice: once at
    a forged copy, once at the signed original. pyHanko keeps the last entry, poppler (and
    the viewers built on it) the first, so each is shown a different letter."""
    reader = PdfFileReader(io.BytesIO(pdf))
    page = reader.root["/Pages"]["/Kids"][0].get_object()
    ref = next(r for r in _page_streams(page) if old.encode() in r.get_object().data)
    number = ref.reference.idnum
    original = pdf.index(b"\n%d 0 obj" % number) + 1
    data = ref.get_object().data.replace(old.encode(), new.encode())
    out = bytearray(pdf if pdf.endswith(b"\n") else pdf + b"\n")
    forged = len(out)
    out += (b"%d 0 obj\n<< /Length %d >>\nstream\n" % (number, len(data)) + data
            + b"\nendstream\nendobj\n")
    entries = [b"%d 1\n%010d 00000 n \n" % (number, at) for at in (forged, original)]
    trailer = reader.trailer
    ids = b"".join(b"<%s>" % v.original_bytes.hex().encode() for v in trailer["/ID"])
    xref = len(out)
    out += (b"xref\n0 1\n0000000000 65535 f \n" + b"".join(entries[::1 if forged_first else -1])
            + b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R /Prev %d /ID [%s] >>\n"
            % (int(trailer["/Size"]), trailer.raw_get("/Root").idnum,
               trailer.raw_get("/Info").idnum, reader.xrefs.get_startxref_for_revision(
                   reader.xrefs.total_revisions - 1), ids)
            + b"startxref\n%d\n%%%%EOF\n" % xref)
    return bytes(out)


def trailing_whitespace(pdf: bytes) -> bytes:
    return pdf + b"\r\n  \n"


def stranger_identity(tmp_path, name="dr. Hj. Ratna Sari Dewi, M.Kes."):
    """A signer certified by a CA nobody configured (a forger's own)."""
    return signing.DevCA.ensure(tmp_path / "stranger-ca").signer_identity(
        "forger", name, None, "Kepala Dinas Kesehatan", "Dinas Kesehatan")


def other_official(app, user_id: int = 3) -> signing.SignerIdentity:
    """Another official's key from the portal's own development CA (trusted)."""
    from portal.modules.letters.keys import _dev_ca

    return _dev_ca(app.extensions["portal.config"].signing_ca_dir).signer_identity(
        key=f"official-{user_id}", name="Pejabat Lain", nip="198001012005011001",
        position="Kepala Seksi", organisation="Dinas Lain")


def tsa() -> DummyTimeStamper:
    """An in-process timestamp authority (real RSA signatures, its own certificate)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Uji TSA")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]),
                           critical=True)
            .sign(key, hashes.SHA256()))
    return DummyTimeStamper(
        tsa_cert=asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
        tsa_key=asn1_keys.PrivateKeyInfo.load(key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption())))


def with_validation_data(pdf: bytes) -> bytes:
    """What the issuer (or anyone) may add: a DSS with the certificates, then a document
    timestamp (PAdES B-LTA style)."""
    reader = PdfFileReader(io.BytesIO(pdf))
    embedded = reader.embedded_signatures[0]
    out = io.BytesIO(pdf)
    DocumentSecurityStore.add_dss(out, embedded.pkcs7_content,
                                  certs=[embedded.signer_cert, *embedded.other_embedded_certs])
    writer = IncrementalPdfFileWriter(io.BytesIO(out.getvalue()))
    return PdfTimeStamper(tsa()).timestamp_pdf(writer, "sha256").getvalue()


# -- tests -----------------------------------------------------------------------------------

@pytest.fixture
def issued(app, demo, storage):
    """A rekomendasi issued by the seed walk: (letter, its PDF, what the portal accepted)."""
    application, _ = walk("rekom-nakes", storage)
    letter = application.letters[0]
    pdf = storage.read(letter.storage_key)
    return letter, pdf, [Accepted(letter.sha256, letter.size, letter.issued_at, letter.id)]


def _words(pdf: bytes) -> str:
    import pypdfium2

    document = pypdfium2.PdfDocument(pdf)
    try:
        return "\n".join(document[i].get_textpage().get_text_range()
                         for i in range(len(document)))
    finally:
        document.close()


def test_the_issued_file_is_genuine_byte_for_byte(issued):
    letter, pdf, accepted = issued
    verdict = judge(pdf, trust_roots(), accepted)
    assert verdict.outcome is Outcome.GENUINE and verdict.ok and verdict.exact
    assert verdict.matched.key == letter.id and verdict.findings == ()
    assert verdict.time_source == "recorded" and verdict.validated_at == letter.issued_at
    assert verdict.signer.certification == "no changes permitted" and verdict.signer.trusted
    assert verdict.qr_urls == (f"http://portal.test/v/{letter.token}",)
    assert verdict.en.startswith("Genuine")


# (attack, finding codes that must be reported, what the forged file shows)
ATTACKS = {
    "insider_resignature": (None, {"signature_added", "content_changed"}, FORGED[0]),
    "in_place": (in_place, {"signed_bytes_altered"}, None),
    "overlay": (overlay, {"content_changed"}, None),
    "form_field": (form_field, {"form_field_added"}, None),
    "annotation": (annotation, {"annotation_added"}, None),
    "untrusted_second_signature": (None, {"signature_added"}, None),
    "page_tree_rebuilt": (rebuild_pages, {"pages_changed"}, FORGED[0]),
    "byte_range_removed": (byte_range_removed, {"signature_dictionary"}, None),
    "byte_range_zero": (byte_range_zero, {"signature_dictionary"}, None),
    "byte_range_rewritten_by_update": (byte_range_rewritten, {"signature_dictionary"}, None),
    "object_listed_twice": (listed_twice, {"listed_twice"}, None),
}


def craft(name: str, pdf: bytes, app, tmp_path) -> bytes:
    """The attack ``name`` applied to ``pdf``."""
    if name == "insider_resignature":
        return insider_resignature(pdf, other_official(app))
    if name == "untrusted_second_signature":
        return add_signature(pdf, stranger_identity(tmp_path))
    return ATTACKS[name][0](pdf)


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_every_change_after_signing_is_changed_and_says_what_was_found(issued, app, tmp_path,
                                                                       name):
    letter, pdf, accepted = issued
    forged = craft(name, pdf, app, tmp_path)
    shows = ATTACKS[name][2]
    if shows:  # the forgery is real: a viewer shows the forged name
        assert shows in _words(forged) and HOLDER not in _words(forged)
    verdict = judge(forged, trust_roots(), accepted)
    assert verdict.outcome is Outcome.CHANGED and not verdict.ok, verdict
    codes = {f.code for f in verdict.findings}
    assert ATTACKS[name][1] <= codes, codes
    assert verdict.en.startswith("Changed after signing: NOT valid")


def test_an_in_place_change_shows_the_forged_name_and_breaks_the_signature(issued):
    _letter, pdf, accepted = issued
    forged = in_place(pdf)
    assert len(forged) == len(pdf) and HOLDER not in _words(forged)
    verdict = judge(forged, trust_roots(), accepted)
    assert verdict.matched is None and not verdict.signatures[0].intact


def test_the_insider_s_second_signature_is_named_even_though_its_key_is_trusted(issued, app):
    _letter, pdf, accepted = issued
    verdict = judge(insider_resignature(pdf, other_official(app)), trust_roots(), accepted)
    added = [f for f in verdict.findings if f.code == "signature_added"]
    assert added and "Pejabat Lain" in added[0].detail
    assert "not from a trusted issuer" not in added[0].detail  # trusted, and still not valid


def test_an_object_listed_twice_is_changed_whichever_entry_a_reader_keeps(issued):
    _letter, pdf, accepted = issued
    for forged_first in (True, False):
        forged = listed_twice(pdf, forged_first=forged_first)
        verdict = judge(forged, trust_roots(), accepted)
        assert verdict.outcome is Outcome.CHANGED, (forged_first, verdict.findings)
        assert [f.code for f in verdict.findings] == ["listed_twice"]
        assert "object " in verdict.findings[0].detail
    if shutil.which("pdftotext"):  # poppler keeps the first entry: the forged name
        shown = subprocess.run(["pdftotext", "-", "-"], input=listed_twice(pdf),
                               capture_output=True, check=True).stdout.decode()
        assert FORGED[0] in shown and HOLDER not in shown


def test_validation_data_and_document_timestamps_keep_the_letter_genuine(issued):
    _letter, pdf, accepted = issued
    extended = with_validation_data(pdf)
    verdict = judge(extended, trust_roots(), accepted)
    assert verdict.outcome is Outcome.GENUINE, verdict.findings
    assert verdict.validation_data_added and not verdict.exact
    # ... but nothing may follow them
    assert judge(annotation(extended), trust_roots(), accepted).outcome is Outcome.CHANGED


def test_a_later_revision_the_portal_stored_is_accepted_too(issued):
    letter, pdf, accepted = issued
    stored = with_validation_data(pdf)
    revision = Accepted(hashlib.sha256(stored).hexdigest(), len(stored), letter.issued_at,
                        letter.id)
    verdict = judge(stored, trust_roots(), [*accepted, revision])
    assert verdict.ok and verdict.exact and verdict.matched == revision
    assert judge(form_field(stored), trust_roots(), [*accepted, revision]).outcome \
        is Outcome.CHANGED


def test_whitespace_after_the_end_is_genuine_with_a_note_and_nothing_else_is(issued):
    _letter, pdf, accepted = issued
    verdict = judge(trailing_whitespace(pdf), trust_roots(), accepted)
    assert verdict.ok and not verdict.exact and verdict.trailing_whitespace == 5
    assert "whitespace" in verdict.en
    garbage = judge(pdf + b"\n% a comment\n", trust_roots(), accepted)
    assert garbage.outcome is Outcome.CHANGED


def test_a_file_no_accepted_revision_begins_is_not_issued_even_when_signed_by_us(issued):
    _letter, pdf, _accepted = issued
    verdict = judge(pdf, trust_roots(), [])
    assert verdict.outcome is Outcome.NOT_ISSUED and verdict.matched is None


def test_a_forger_s_own_ca_is_untrusted(issued, tmp_path):
    _letter, pdf, accepted = issued
    forged = signing.sign_letter(
        signing.render_letter(signing.LetterContent(
            letterhead=("Dinas Kesehatan",), number="445/1/SDMK/XI/2026",
            place_date="Sungailiat, 1 November 2026", title="SURAT REKOMENDASI",
            body=("Nama: Budi Pemalsu",),
            signature=signing.SignatureBlock(position="Kepala Dinas", name="dr. Palsu"))).pdf,
        stranger_identity(tmp_path), (0, 300, 80, 560, 140), "http://portal.test/v/x",
        ["dr. Palsu"], dt.datetime.now(dt.UTC))
    verdict = judge(forged, trust_roots(), accepted)
    assert verdict.outcome is Outcome.UNTRUSTED and verdict.qr_urls == ("http://portal.test/v/x",)


def test_signatures_are_checked_at_the_recorded_issuance_or_the_requested_moment(issued):
    letter, pdf, accepted = issued
    later = letter.issued_at + dt.timedelta(days=3 * 365)  # the signer's certificate expired
    assert judge(pdf, trust_roots(), accepted).ok
    expired = judge(pdf, trust_roots(), accepted, at=later)
    assert expired.outcome is Outcome.UNTRUSTED and expired.time_source == "requested"
    assert expired.validated_at == later
    assert judge(pdf, trust_roots(), accepted, at=letter.issued_at).ok


def test_a_trusted_signature_timestamp_sets_the_validation_moment(app, tmp_path):
    identity = stranger_identity(tmp_path, name="Penanda Tangan Uji")
    proven = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=30)).replace(microsecond=0)
    authority = tsa()
    authority.fixed_dt = proven
    rendered = signing.render_letter(signing.LetterContent(
        letterhead=("Dinas",), number="1", place_date="Kota, 1 Januari 2026", title="SURAT",
        body=("Isi.",), signature=signing.SignatureBlock(position="Kepala", name="Uji")))
    stamped = PdfSigner(PdfSignatureMetadata(field_name="Signature1", md_algorithm="sha256"),
                        identity.signer, timestamper=authority).sign_pdf(
        IncrementalPdfFileWriter(io.BytesIO(rendered.pdf))).getvalue()
    ca = (tmp_path / "stranger-ca" / "ca.pem").read_bytes()
    accepted = [Accepted(hashlib.sha256(stamped).hexdigest(), len(stamped),
                         proven + dt.timedelta(days=1), "x")]
    trusted = judge(stamped, [ca, authority.tsa_cert.dump()], accepted)
    assert trusted.ok and trusted.time_source == "timestamp"
    assert trusted.validated_at == proven  # the timestamp's moment, not the recorded one
    untrusted_tsa = judge(stamped, [ca], accepted)
    assert untrusted_tsa.ok and untrusted_tsa.time_source == "recorded"


@pytest.mark.parametrize(("data", "outcome"), [
    (b"not a pdf", Outcome.NOT_PDF), (b"", Outcome.NOT_PDF),
    (b"%PDF-1.7\n garbage \x00\xff", Outcome.DAMAGED)])
def test_garbage_gets_a_verdict_not_an_exception(data, outcome, app):
    assert judge(data, trust_roots(), []).outcome is outcome


def test_candidate_digests_include_the_issued_revision_of_a_longer_file(issued):
    letter, pdf, _accepted = issued
    assert letter.sha256 in candidate_digests(annotation(pdf))
    assert letter.sha256 in candidate_digests(trailing_whitespace(pdf))


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="needs poppler-utils")
def test_the_page_tree_attack_fools_a_plain_viewer(issued):
    _letter, pdf, _accepted = issued
    shown = subprocess.run(["pdftotext", "-", "-"], input=rebuild_pages(pdf),
                           capture_output=True, check=True).stdout.decode()
    assert FORGED[0] in shown and HOLDER not in shown


def test_a_huge_hostile_upload_is_judged_quickly(issued):
    import time

    _letter, pdf, accepted = issued
    for hostile in (pdf + b"x" * 18_000_000, pdf + b"\n%%EOF\n" * 2_000_000,
                    pdf[:-8] + b"\n" * 18_000_000):
        started = time.perf_counter()
        verdict = judge(hostile, trust_roots(), accepted)
        assert not verdict.ok and time.perf_counter() - started < 3
        started = time.perf_counter()
        assert len(candidate_digests(hostile)) < 1000 and time.perf_counter() - started < 1
