"""Signature-level validation with pyHanko, for :mod:`signing.verdict`: one
:class:`SignatureReport` per signature (or document timestamp): intact? cryptographically valid?
trusted? what does it cover? who signed, and when?

Nothing here says whether a *file* is genuine: that is :func:`signing.verdict.judge`'s one
strict verdict alone (which revision the issuer accepted, what was appended after it). A
signature report is evidence it weighs, not a verdict.

Validation never touches the network (the caller's contexts have ``allow_fetching=False``):
trust comes only from the roots given, and revocation only from the data those contexts hold,
which :mod:`signing.verdict` reads from the file's document security store. Revocation data
does exist now: the development CA's signer certificates name a CRL distribution point, the
portal publishes the CA's CRL at ``/ca.crl``, and B-LT signing and ``letters extend``
(:mod:`signing.ltv`) embed CRLs or OCSP responses in the letter. A file without any is checked
"soft-fail": no revocation data is not a revocation.

A signature pyHanko rejects as malformed is reported as not intact. A failure of the validator
itself (any other exception) is reported as *not checked* (:attr:`SignatureReport.checked`),
which the verdict says as "cannot be checked", never as tampering.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from asn1crypto import x509 as asn1_x509
from pyhanko.keys import load_certs_from_pemder_data
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.validation import (
    EmbeddedPdfSignature,
    SignatureCoverageLevel,
    async_validate_pdf_signature,
    async_validate_pdf_timestamp,
)
from pyhanko.sign.validation.errors import (
    CMSAlgorithmProtectionError,
    SignatureValidationError,
)
from pyhanko_certvalidator import ValidationContext

from .errors import InvalidConfig

__all__ = ["SignatureReport"]

# What pyHanko raises for a signature it rejects (malformed, disallowed, inconsistent): the
# signature is bad. Any other exception is a failure of the validator, not of the signature.
_REJECTED = (SignatureValidationError, CMSAlgorithmProtectionError, PdfError)

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

    checked: bool = True
    """Validation ran to its end. False when the validator itself failed (an unexpected
    error, see ``problem``): then nothing is known about the signature, neither that it is
    intact nor that it was tampered with; ``intact``, ``valid`` and ``trusted`` are False
    only because nothing was shown."""

    @property
    def ok(self) -> bool:
        """Intact, valid, trusted, covering the whole file: this *signature* is fine (whether
        the file is the letter is :func:`signing.verdict.judge`'s question)."""
        return self.checked and self.intact and self.valid and self.trusted and self.whole_file


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
    except _REJECTED as e:  # pyHanko rejects the signature itself: report, never raise
        return _unvalidated(name, f"signature cannot be validated: {e}")
    except Exception as e:  # noqa: BLE001 (the validator failed, not the signature)
        return _unvalidated(name, f"the signature cannot be checked (validator error: "
                                  f"{type(e).__name__}: {e})", checked=False)
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


def _unvalidated(name: str, problem: str, checked: bool = True) -> SignatureReport:
    return SignatureReport(
        field_name=name, signer="", signer_position="", signer_organisation="",
        intact=False, valid=False, trusted=False, coverage="unclear", whole_file=False,
        signed_at=None, timestamped=False, certification=None, modification=None,
        problem=problem, checked=checked)


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
