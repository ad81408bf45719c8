"""Verify a signed letter with pyHanko: intact? trusted? modified after signing? who signed?

Validation never touches the network (``allow_fetching=False``): trust comes only from the roots
given, and revocation is not checked (the development CA publishes no revocation data; a
production CA's CRL/OCSP would be embedded at signing time instead). Any input, even garbage,
yields a :class:`LetterReport`; nothing here raises for a bad file.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass

from asn1crypto import x509 as asn1_x509
from pyhanko.keys import load_certs_from_pemder_data
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.validation import (
    EmbeddedPdfSignature,
    SignatureCoverageLevel,
    async_validate_pdf_signature,
    async_validate_pdf_timestamp,
)
from pyhanko_certvalidator import ValidationContext

from .errors import InvalidConfig

__all__ = ["LetterReport", "SignatureReport", "verify_letter"]

_COVERAGE = {
    SignatureCoverageLevel.ENTIRE_FILE: "whole file",
    SignatureCoverageLevel.ENTIRE_REVISION: "not whole file (updates appended after signing)",
    SignatureCoverageLevel.CONTIGUOUS_BLOCK_FROM_START: "not whole file (partial)",
    SignatureCoverageLevel.UNCLEAR: "unclear",
}
_CERTIFICATION = {
    MDPPerm.NO_CHANGES: "no changes permitted",
    MDPPerm.FILL_FORMS: "form filling permitted",
    MDPPerm.ANNOTATE: "annotations permitted",
}


@dataclass(frozen=True)
class SignatureReport:
    """What validation found for one signature (or document timestamp) of a letter."""

    field_name: str
    """Name of the signature field, e.g. ``Signature1``."""

    signer: str
    """Common name of the signer's certificate (the TSA's, for a document timestamp)."""

    signer_position: str
    """Title (position) in the signer's certificate, ``""`` when absent."""

    signer_organisation: str
    """Organisation in the signer's certificate, ``""`` when absent."""

    intact: bool
    """The signed bytes hash to the value in the signature: nothing inside them changed."""

    valid: bool
    """The cryptographic signature over that hash is correct."""

    trusted: bool
    """Valid, intact, and the signer's certificate chains to one of the given trust roots."""

    coverage: str
    """``"whole file"``, or why not (updates appended, partial coverage, unclear)."""

    whole_file: bool
    """The signature covers every byte of the file."""

    signed_at: dt.datetime | None
    """Signing time: the trusted timestamp if there is one, else the signer's own claim."""

    timestamped: bool
    """A timestamp from a trusted TSA backs ``signed_at``."""

    certification: str | None
    """DocMDP level of a certification signature (``"no changes permitted"``), else None."""

    modification: str | None
    """pyHanko's judgement of changes made after this signature: ``none``, ``form_filling``,
    ``annotations``, ``other``; None when it could not tell."""

    problem: str
    """Why this signature is not fine (empty when it is)."""

    @property
    def ok(self) -> bool:
        """Intact, valid, trusted, covering the whole file."""
        return self.intact and self.valid and self.trusted and self.whole_file


@dataclass(frozen=True)
class LetterReport:
    """The verdict on one file, for the public verification page and ``letters verify``."""

    is_pdf: bool
    """The input is a readable PDF file."""

    signatures: tuple[SignatureReport, ...]
    """One entry per signature, in signing order."""

    modified_after_signing: bool
    """Something (an annotation, text, a page) was appended after the last signature."""

    intact: bool
    """Every signature intact and valid, and the last one covers the whole file."""

    trusted: bool
    """Every signature chains to a trust root."""

    qr_urls: tuple[str, ...]
    """Verification URLs linked over the signature stamps in the signed revision (the QR code's
    content, read from the link annotation placed over it, without decoding the image)."""

    verdict_id: str
    """One sentence for the public, in Indonesian."""

    verdict_en: str
    """The same sentence in English."""

    @property
    def ok(self) -> bool:
        """Signed, intact, trusted and unmodified: the letter is what its signer issued."""
        return bool(self.signatures) and self.intact and self.trusted


def _report(is_pdf: bool, verdict_id: str, verdict_en: str) -> LetterReport:
    return LetterReport(is_pdf=is_pdf, signatures=(), modified_after_signing=False, intact=False,
                        trusted=False, qr_urls=(), verdict_id=verdict_id, verdict_en=verdict_en)


def _trust_roots(trust_roots: Iterable[bytes]) -> list[asn1_x509.Certificate]:
    roots = []
    for item in trust_roots:
        if isinstance(item, asn1_x509.Certificate):
            roots.append(item)
            continue
        try:
            roots.extend(load_certs_from_pemder_data(bytes(item)))
        except (ValueError, TypeError) as e:
            raise InvalidConfig(f"trust root is not a PEM/DER certificate: {e}") from None
    return roots


def _name_part(cert: asn1_x509.Certificate, key: str) -> str:
    value = cert.subject.native.get(key, "")
    return ", ".join(value) if isinstance(value, list) else str(value or "")


async def _validate_one(embedded: EmbeddedPdfSignature, context: ValidationContext,
                        ts_context: ValidationContext | None = None) -> SignatureReport:
    """One signature (or document timestamp): its certificate checked in ``context``, its
    timestamps in ``ts_context`` (default: the same)."""
    name = embedded.field_name or ""
    ts_context = ts_context or context
    try:
        if embedded.sig_object_type == "/DocTimeStamp":
            status = await async_validate_pdf_timestamp(embedded, validation_context=ts_context)
            signed_at, timestamped = status.timestamp, status.trusted
            certification = None
        else:
            status = await async_validate_pdf_signature(embedded, context, ts_context)
            ts = status.timestamp_validity
            timestamped = bool(ts is not None and ts.trusted)
            signed_at = ts.timestamp if timestamped else status.signer_reported_dt
            level = embedded.docmdp_level
            certification = _CERTIFICATION.get(level) if level is not None else None
    except Exception as e:  # malformed signatures fail in many ways; report, never raise
        return SignatureReport(
            field_name=name, signer="", signer_position="", signer_organisation="",
            intact=False, valid=False, trusted=False, coverage="unclear", whole_file=False,
            signed_at=None, timestamped=False, certification=None, modification=None,
            problem=f"signature cannot be validated: {e}")
    cert = status.signing_cert
    coverage = status.coverage
    modification = getattr(status, "modification_level", None)
    problems = []
    if not status.intact:
        problems.append("the signed content was altered")
    elif not status.valid:
        problems.append("the cryptographic signature is wrong")
    elif not status.trusted:
        indication = status.trust_problem_indic
        reason = indication.name.lower().replace("_", " ") if indication else "no trusted path"
        problems.append(f"the signer's certificate is not trusted ({reason})")
    if coverage != SignatureCoverageLevel.ENTIRE_FILE:
        problems.append("the file was changed after this signature")
    if getattr(status, "docmdp_ok", None) is False:
        problems.append("the changes break the letter's certification (no changes permitted)")
    return SignatureReport(
        field_name=name,
        signer=_name_part(cert, "common_name"),
        signer_position=_name_part(cert, "title"),
        signer_organisation=_name_part(cert, "organization_name"),
        intact=bool(status.intact),
        valid=bool(status.valid),
        trusted=bool(status.trusted),
        coverage=_COVERAGE.get(coverage, "unclear"),
        whole_file=coverage == SignatureCoverageLevel.ENTIRE_FILE,
        signed_at=signed_at,
        timestamped=timestamped,
        certification=certification,
        modification=modification.name.lower() if modification is not None else None,
        problem="; ".join(problems),
    )


def _linked_urls(reader: PdfFileReader, revision: int) -> tuple[str, ...]:
    """URIs of link annotations laid over signature widgets, as of ``revision``."""
    root = reader.get_historical_root(revision)
    urls: list[str] = []
    pages = [root["/Pages"]]
    while pages:
        node = pages.pop()
        if node.get("/Type") == "/Pages":
            pages.extend(kid.get_object() for kid in node.get("/Kids", ()))
            continue
        annotations = [a.get_object() for a in node.get("/Annots", ())]
        widgets = [_rect(a) for a in annotations
                   if a.get("/Subtype") == "/Widget" and a.get("/FT") == "/Sig"]
        for annot in annotations:
            action = annot.get("/A")
            if annot.get("/Subtype") != "/Link" or not isinstance(action, generic.DictionaryObject):
                continue
            uri, rect = action.get("/URI"), _rect(annot)
            if uri is not None and any(_overlaps(rect, w) for w in widgets):
                urls.append(str(uri))
    return tuple(dict.fromkeys(urls))


def _rect(annotation) -> tuple[float, ...]:
    try:
        x1, y1, x2, y2 = (float(v) for v in annotation["/Rect"])
    except (KeyError, TypeError, ValueError):
        return (0.0, 0.0, 0.0, 0.0)
    return min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)


def _overlaps(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _verdict(signatures: tuple[SignatureReport, ...], modified: bool) -> tuple[str, str]:
    last = signatures[-1]
    who = last.signer + (f", {last.signer_position}" if last.signer_position else "")
    if not all(s.intact and s.valid for s in signatures):
        return ("Tidak sah: isi dokumen telah diubah setelah ditandatangani, atau tanda "
                "tangannya rusak.",
                "Not valid: the document was altered after it was signed, or its signature "
                "is broken.")
    if not all(s.trusted for s in signatures):
        return ("Tidak terverifikasi: tanda tangan utuh, tetapi sertifikat penanda tangan "
                "tidak diterbitkan oleh penerbit yang dipercaya.",
                "Not verified: the signature is intact, but the signer's certificate was not "
                "issued by a trusted authority.")
    if modified:  # strict: only the issuer's own validation data may follow (signing.verdict)
        return ("Tidak sah: dokumen diubah setelah ditandatangani (ada tambahan setelah tanda "
                "tangan).",
                "Not valid: the document was changed after it was signed (something was "
                "appended after the signature).")
    return (f"Sah: dokumen asli dan tidak diubah sejak ditandatangani secara elektronik oleh "
            f"{who}.",
            f"Valid: the document is genuine and unaltered since it was electronically signed "
            f"by {who}.")


def verify_letter(pdf: bytes, trust_roots: Iterable[bytes],
                  validation_time: dt.datetime | None = None) -> LetterReport:
    """Validate every signature of ``pdf`` against ``trust_roots`` (PEM/DER certificates).

    ``validation_time`` (aware) checks certificates as of that moment instead of now, e.g. the
    signing time the portal recorded, so that letters stay verifiable after the signer's
    certificate expires.
    """
    roots = _trust_roots(trust_roots)
    if validation_time is not None and validation_time.utcoffset() is None:
        raise InvalidConfig("validation_time must be timezone-aware")
    if not isinstance(pdf, bytes | bytearray | memoryview) or b"%PDF-" not in bytes(pdf[:1024]):
        return _report(False, "Berkas ini bukan dokumen PDF.", "This file is not a PDF document.")
    try:
        reader = PdfFileReader(io.BytesIO(bytes(pdf)), strict=False)
        embedded = list(reader.embedded_signatures)
    except Exception:  # any parse failure: the file is damaged, not our bug
        return _report(True, "Berkas PDF ini rusak atau tidak dapat dibaca.",
                       "This PDF file is damaged or cannot be read.")
    if not embedded:
        return _report(True, "Dokumen ini tidak memiliki tanda tangan elektronik.",
                       "This document carries no electronic signature.")
    context = ValidationContext(trust_roots=roots, allow_fetching=False,
                                revocation_mode="soft-fail", moment=validation_time)

    async def validate_all():
        return tuple([await _validate_one(e, context) for e in embedded])

    signatures = asyncio.run(validate_all())
    last = signatures[-1]
    modified = not last.whole_file
    try:
        urls = _linked_urls(reader, embedded[-1].signed_revision)
    except Exception:  # the URLs are a convenience: a odd page tree must not sink the report
        urls = ()
    verdict_id, verdict_en = _verdict(signatures, modified)
    return LetterReport(
        is_pdf=True,
        signatures=signatures,
        modified_after_signing=modified,
        intact=all(s.intact and s.valid for s in signatures) and last.whole_file,
        trusted=all(s.trusted for s in signatures),
        qr_urls=urls,
        verdict_id=verdict_id,
        verdict_en=verdict_en,
    )
