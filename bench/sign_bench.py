"""Benchmark letter rendering and signing against pyHanko's defaults, in one run.

    .venv/bin/python bench/sign_bench.py [--iterations 100]

Rows (median / p95 in ms, after a warm-up):
  render only            signing.render.render_letter
  sign only (ours)       signing.sign.sign_letter: key kept loaded, bytes_reserved, cached
                         signing-certificate attribute, fixed QR mask
  render + sign (ours)   both, as the portal issues a letter
  pyHanko, key kept parsed + bytes_reserved
                         stock pyHanko CMS attributes and QR stamp (mask search), over a key that
                         is parsed once (what DESIGN.md calls "key kept loaded")
  pyHanko SimpleSigner once + bytes_reserved
                         SimpleSigner loaded once; it still re-parses and re-checks the RSA key
                         (about 50 ms here) at every signature
  pyHanko defaults       SimpleSigner.load_pkcs12 at every signature, no bytes_reserved (pyHanko
                         signs a dummy first to size the container), stock QR stamp
  verify                 signing.verdict.judge of one issued letter (the page's verdict)
  issue B-B / issue B-LT render + sign as the portal issues a letter (signing.ltv.sign_long_term),
                         with a signer of the test PKI (tests/pki/certomancer.yml): without a
                         TSA (B-B), and with the local certomancer animator (a separate process
                         on loopback) as TSA, OCSP responder and CRL source (B-LT: timestamp,
                         then the DSS with the OCSP response and CRLs); fewer iterations for
                         B-LT, whose HTTP round trips dominate
Every variant signs the same rendered bytes with the same key, stamp text, PAdES and DocMDP
certification. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import importlib.metadata
import io
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent / "tests"))

import reportlab  # noqa: E402
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.serialization import pkcs12  # noqa: E402
from pki_support import TestPki  # noqa: E402
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter  # noqa: E402
from pyhanko.sign.fields import MDPPerm, SigFieldSpec, SigSeedSubFilter  # noqa: E402
from pyhanko.sign.signers import (  # noqa: E402
    PdfSignatureMetadata,
    PdfSigner,
    Signer,
    SimpleSigner,
)
from pyhanko.stamp import QRStampStyle  # noqa: E402

from signing import ltv  # noqa: E402
from signing.keys import DevCA, SignerIdentity, _LoadedKeySigner  # noqa: E402
from signing.render import LetterContent, Paraf, SignatureBlock, render_letter  # noqa: E402
from signing.sign import _stamp_style, reserved_bytes, sign_letter, stamp_lines  # noqa: E402
from signing.verdict import Accepted, judge  # noqa: E402

URL = "https://absah.bangkakab.go.id/v/q8Zk2vT0bW4mHc7LxN1pRa"
NOW = dt.datetime(2026, 11, 23, 14, 5, tzinfo=ZoneInfo("Asia/Jakarta"))
CONTENT = LetterContent(
    letterhead=("PEMERINTAH KABUPATEN BANGKA", "DINAS KESEHATAN",
                "Jl. Jend. Sudirman No. 1, Sungailiat 33215, Telp. (0717) 92001"),
    title="SURAT REKOMENDASI",
    number="440/123/DINKES/XI/2026",
    place_date="Sungailiat, 23 November 2026",
    subject="Rekomendasi Izin Praktik Bidan",
    body=(
        "Yang bertanda tangan di bawah ini, Kepala Dinas Kesehatan Kabupaten Bangka, "
        "memberikan rekomendasi kepada:",
        "Nama: Ni Luh Putu Ayu Sari\nNomor STR: 1234567890\n"
        "Tempat praktik: Klinik Sehat & Sejahtera, Jl. Merdeka No. 5, Sungailiat",
        "untuk mengajukan Surat Izin Praktik Bidan (SIPB) sesuai ketentuan peraturan "
        "perundang-undangan yang berlaku. Demikian rekomendasi ini dibuat untuk dipergunakan "
        "sebagaimana mestinya.",
    ),
    signature=SignatureBlock(position="Kepala Dinas Kesehatan", name="dr. Hj. Ratna Sari Dewi",
                             nip="197001012000032001", capacity="a.n. Bupati Bangka"),
    paraf=(Paraf("Kasi SDMK", "Budi Santoso", "23-11-2026 10:02 WIB"),
           Paraf("Kabid Yankes", "Siti Aminah", "23-11-2026 11:40 WIB")),
    footer_note=f"Dokumen ini ditandatangani secara elektronik. Verifikasi: {URL}",
)


class _StockAttributesSigner(_LoadedKeySigner):
    """Our kept-parsed key, but pyHanko's own (rebuilt every time) signed attributes."""

    signed_attrs = Signer.signed_attrs


def measure(fn, iterations: int) -> tuple[float, float]:
    """Median and 95th percentile of ``fn``'s wall time, in ms, after a warm-up."""
    for _ in range(max(3, iterations // 10)):
        fn()
    samples = []
    for _ in range(iterations):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(0.95 * len(samples)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=100)
    n = parser.parse_args().iterations

    with tempfile.TemporaryDirectory() as tmp:
        ca = DevCA.ensure(tmp)
        identity = ca.signer_identity("kadinkes", "dr. Hj. Ratna Sari Dewi", "197001012000032001",
                                      "Kepala Dinas Kesehatan", "Dinas Kesehatan Kab. Bangka")
        # the same key and chain as a passphrase-protected PKCS#12, as production keys come
        p12 = Path(tmp) / "kadinkes.p12"
        p12.write_bytes(pkcs12.serialize_key_and_certificates(
            b"kadinkes",
            serialization.load_pem_private_key((Path(tmp) / "kadinkes-key.pem").read_bytes(),
                                               None),
            x509.load_pem_x509_certificate((Path(tmp) / "kadinkes.pem").read_bytes()),
            [ca.certificate], serialization.BestAvailableEncryption(b"rahasia")))

        rendered = render_letter(CONTENT)
        pdf, box = rendered.pdf, rendered.signature_box
        lines = stamp_lines(identity.common_name, NOW)
        style, text = _stamp_style(lines, box.x2 - box.x1, box.y2 - box.y1)
        stock_style = QRStampStyle(**{f: getattr(style, f) for f in (
            "stamp_text", "text_box_style", "qr_position", "innsep", "border_width",
            "background")})
        loaded = SimpleSigner.load_pkcs12(str(p12), passphrase=b"rahasia")
        key = serialization.load_pem_private_key((Path(tmp) / "kadinkes-key.pem").read_bytes(),
                                                 None)
        kept = _StockAttributesSigner(key, identity.certificate, identity.chain)
        assert isinstance(identity, SignerIdentity)

        def pyhanko_sign(signer, bytes_reserved):
            meta = PdfSignatureMetadata(
                field_name="Signature1", md_algorithm="sha256", subfilter=SigSeedSubFilter.PADES,
                certify=True, docmdp_permissions=MDPPerm.NO_CHANGES)
            spec = SigFieldSpec("Signature1", on_page=box.page, box=tuple(box[1:]))
            PdfSigner(meta, signer, stamp_style=stock_style, new_field_spec=spec).sign_pdf(
                IncrementalPdfFileWriter(io.BytesIO(pdf)), bytes_reserved=bytes_reserved,
                appearance_text_params={"url": URL, "stamp": text})

        def ours():
            return sign_letter(pdf, identity, box, URL, lines, NOW)

        signed = ours()
        accepted = [Accepted(hashlib.sha256(signed).hexdigest(), len(signed))]
        assert judge(signed, [ca.certificate_pem], accepted).ok
        rows = [
            ("render only", measure(lambda: render_letter(CONTENT), n)),
            ("sign only (ours)", measure(ours, n)),
            ("render + sign (ours)", measure(
                lambda: sign_letter((r := render_letter(CONTENT)).pdf, identity, r.signature_box,
                                    URL, lines, NOW), n)),
            ("pyHanko, key kept parsed + bytes_reserved", measure(
                lambda: pyhanko_sign(kept, reserved_bytes(identity)), n)),
            ("pyHanko SimpleSigner once + bytes_reserved", measure(
                lambda: pyhanko_sign(loaded, reserved_bytes(identity)), n)),
            ("pyHanko defaults (load_pkcs12 each)", measure(
                lambda: pyhanko_sign(SimpleSigner.load_pkcs12(str(p12), passphrase=b"rahasia"),
                                     None), n)),
            ("verify", measure(lambda: judge(signed, [ca.certificate_pem], accepted), n)),
        ]
        rows += measure_levels(Path(tmp), n)

    print(f"machine: {platform.platform()}, {platform.machine()}, "
          f"{os.cpu_count()} CPU(s), {platform.processor() or 'unknown processor'}")
    print(f"python {platform.python_version()}, pyHanko {importlib.metadata.version('pyHanko')}, "
          f"reportlab {reportlab.Version}; {n} iterations per row, after a warm-up")
    print(f"signed letter: {len(signed):,} bytes, {rendered.page_count} page(s)\n")
    print(f"{'':44} {'median ms':>10} {'p95 ms':>10}")
    for label, (median, p95) in rows:
        print(f"{label:44} {median:10.2f} {p95:10.2f}")
    medians = dict((label, median) for label, (median, _) in rows)
    defaults = medians["pyHanko defaults (load_pkcs12 each)"]
    print(f"\ndefaults / ours, signing:          {defaults / medians['sign only (ours)']:.1f}x")
    print(f"defaults + render / render + sign: "
          f"{(defaults + medians['render only']) / medians['render + sign (ours)']:.1f}x")
    print(f"issuance per second: B-B {1000 / medians['issue B-B']:.1f}/s, "
          f"B-LT {1000 / medians['issue B-LT (local TSA, OCSP, CRL)']:.1f}/s "
          "(local certomancer TSA, same run)")


def measure_levels(workdir: Path, n: int) -> list[tuple[str, tuple[float, float]]]:
    """Render + sign at B-B and at B-LT against the local certomancer animator."""
    pki = TestPki.start(workdir / "pki")
    try:
        identity = pki.signer_identity()
        settings = ltv.LtvSettings(tsa_url=pki.tsa_url, trust_roots=(pki.root_pem,))
        lines = stamp_lines(identity.common_name, NOW)

        def issue(level_settings, expected):
            rendered = render_letter(CONTENT)
            result = ltv.sign_long_term(rendered.pdf, identity, rendered.signature_box, URL,
                                        lines, dt.datetime.now(dt.UTC), level_settings)
            if result.level != expected:
                raise SystemExit(f"expected {expected}, got {result.level}: {result.problem}")

        return [("issue B-B", measure(lambda: issue(None, "B-B"), n)),
                ("issue B-LT (local TSA, OCSP, CRL)",
                 measure(lambda: issue(settings, "B-LT"), max(10, n // 4)))]
    finally:
        pki.close()


if __name__ == "__main__":
    main()
