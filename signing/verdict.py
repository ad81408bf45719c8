"""One strict verdict on a presented file, for the verification page and ``letters verify``.

A file *is a letter* only when it begins with a revision the issuer accepted (the issued file,
or a later revision the issuer stored itself, e.g. with timestamps or validation data), byte for
byte, and everything appended after that revision is validation data (DSS/VRI) and document
timestamps: pyHanko's difference analysis at :attr:`ModificationLevel.LTA_UPDATES`, so the
certification (DocMDP "no changes") stays intact. Anything else appended (an annotation, a form
field, new or changed content, a page tree rebuilt, a second signature even by a trusted key, a
rewritten signature dictionary) makes the file "changed after signing", and the verdict says
what was found.

Which revisions were accepted is the caller's knowledge (its records): they come in as
:class:`Accepted` (SHA-256 and size, and the time the issuer recorded). :func:`candidate_digests`
gives the digests worth looking up. Signatures are validated at the moment the file proves (a
trusted signature timestamp), else at the recorded issuance time of the accepted revision, else
now; or at a moment the caller asks for (an auditor's ``--at``). Nothing here raises for a bad
file: every input gets a :class:`FileVerdict`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import hashlib
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from pyhanko.pdf_utils import generic, misc
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.xref import (
    XRefSectionType,
    parse_xref_stream,
    parse_xref_table,
    read_object_header,
)
from pyhanko.sign.diff_analysis import DEFAULT_DIFF_POLICY, ModificationLevel
from pyhanko.sign.diff_analysis.policy_api import DiffResult
from pyhanko.sign.fields import MDPPerm, enumerate_sig_fields
from pyhanko.sign.validation import EmbeddedPdfSignature, generic_cms
from pyhanko.sign.validation.dss import DocumentSecurityStore, NoDSSFoundError
from pyhanko_certvalidator import ValidationContext

from .errors import InvalidConfig
from .verify import SignatureReport, _linked_urls, _trust_roots, _validate_one

__all__ = ["Accepted", "FileVerdict", "Finding", "Outcome", "candidate_digests", "judge"]

_WHITESPACE = b" \t\r\n\x00\x0c"
_EOF = re.compile(rb"%%EOF")
MAX_BOUNDARIES = 256  # a letter has a few revisions; more are no letter of ours
MAX_ADDED_OBJECTS = 50_000  # validation data adds tens of objects, not a table of millions


class Outcome(enum.StrEnum):
    """What a presented file is, from the strictest check that fails first."""

    GENUINE = "genuine"
    """An accepted revision, plus nothing but validation data and document timestamps (or
    whitespace after its end), its signature intact and trusted."""

    CHANGED = "changed"
    """Changed after signing: signed bytes altered, or something other than validation data
    appended, or the signature itself tampered with. Not valid."""

    UNCHECKED = "unchecked"
    """Nothing found changed, but a signature could not be checked: the validator itself
    failed on it. Neither genuine nor shown to be tampered with; not valid."""

    UNTRUSTED = "untrusted"
    """Signed and unchanged, but the signer's certificate does not chain to a trust root."""

    NOT_ISSUED = "not_issued"
    """Signed, unchanged and trusted, but no revision the issuer accepted: not one of its
    letters (for instance a key used outside the portal)."""

    UNSIGNED = "unsigned"
    """A PDF without any electronic signature."""

    DAMAGED = "damaged"
    """A PDF that cannot be read."""

    NOT_PDF = "not_pdf"
    """Not a PDF at all."""


@dataclass(frozen=True)
class Accepted:
    """A revision of a letter the issuer produced and stored (the issued file, or a later
    revision of it), as the caller's records know it."""

    sha256: str
    """Hex SHA-256 of the revision's bytes."""

    size: int
    """Its length in bytes."""

    recorded_at: dt.datetime | None = None
    """When the issuer issued the letter (aware): the validation moment for a signature that
    carries no trusted timestamp."""

    key: object = None
    """The caller's handle on it (e.g. the letter's id), returned in :attr:`FileVerdict.matched`."""


_FINDINGS_EN = {
    "signed_bytes_altered": "bytes inside the signed part of the file were altered",
    "signature_dictionary": "the signature itself was tampered with ({detail})",
    "signature_added": "another signature was added after the letter was signed ({detail})",
    "annotation_added": "an annotation was added on top of the letter ({detail})",
    "form_field_added": "a form field was added or filled in ({detail})",
    "content_changed": "the page content was changed or overlaid",
    "pages_changed": "the pages of the letter were replaced or rearranged",
    "structure": "the file's revision history was rewritten",
    "listed_twice": "an added revision lists an object twice, so PDF readers disagree on what "
                    "the letter shows ({detail})",
    "timestamp_broken": "an added document timestamp does not verify",
    "unchecked": "a signature cannot be checked: the validator failed on it, which is no "
                 "evidence of a change ({detail})",
    "unreadable_update": "bytes that are no readable revision were appended after the letter",
    "other": "other changes were appended after signing ({detail})",
}


@dataclass(frozen=True)
class Finding:
    """One thing found in a file that makes it differ from what was issued."""

    code: str
    """One of ``signed_bytes_altered``, ``signature_dictionary``, ``signature_added``,
    ``annotation_added``, ``form_field_added``, ``content_changed``, ``pages_changed``,
    ``structure``, ``listed_twice``, ``timestamp_broken``, ``unreadable_update``,
    ``other``; and ``unchecked``, the one that is no change: the validator failed."""

    detail: str = ""
    """Specifics: who signed, which annotation or field, pyHanko's message."""

    @property
    def en(self) -> str:
        """The finding in plain English (the portal translates by ``code``)."""
        return _FINDINGS_EN.get(self.code, self.code).format(detail=self.detail or "?")


@dataclass(frozen=True)
class FileVerdict:
    """The one verdict on a presented file."""

    outcome: Outcome
    matched: Accepted | None
    """The accepted revision the file begins with, byte for byte (None: none does)."""

    exact: bool
    """The file is byte for byte the matched revision, nothing after it."""

    trailing_whitespace: int
    """Bytes of whitespace after the matched revision and nothing else (0 otherwise). PDF
    readers ignore them; mail and upload programs sometimes add them."""

    validation_data_added: bool
    """Revisions with validation data or document timestamps follow the matched one."""

    findings: tuple[Finding, ...]
    """What makes the file differ (empty for a genuine file)."""

    signatures: tuple[SignatureReport, ...]
    """The signatures validated (of the matched revision when there is one, else the file's)."""

    validated_at: dt.datetime | None
    """The moment certificates were checked at (None: now)."""

    time_source: str
    """Where that moment came from: ``requested``, ``timestamp``, ``recorded`` or ``now``."""

    qr_urls: tuple[str, ...]
    """Verification URLs linked over the signature stamp. Never evidence of identity: a forger
    chooses them; shown only to explain a file."""

    @property
    def ok(self) -> bool:
        """The file is an accepted letter revision, unchanged, trusted."""
        return self.outcome is Outcome.GENUINE

    @property
    def signer(self) -> SignatureReport | None:
        """The letter's own (first) signature, if any."""
        return next((s for s in self.signatures if s.certification is not None),
                    self.signatures[0] if self.signatures else None)

    @property
    def en(self) -> str:
        """One sentence in English (the CLI's; the page words it in the reader's language)."""
        found = "; ".join(f.en for f in self.findings)
        return {
            Outcome.GENUINE: "Genuine: this is the issued letter, unaltered since it was signed"
                             + (", with validation data and timestamps added"
                                if self.validation_data_added else "")
                             + (f" ({self.trailing_whitespace} bytes of whitespace after its "
                                "end, which PDF readers ignore)" if self.trailing_whitespace
                                else "") + ".",
            Outcome.CHANGED: f"Changed after signing: NOT valid. Found: {found or 'changes'}.",
            Outcome.UNCHECKED: "Cannot be checked: NOT shown to be valid, nor to be changed. "
                               f"Found: {found}.",
            Outcome.UNTRUSTED: "Not valid: the signature is intact, but the signer's "
                               "certificate was not issued by a trusted authority.",
            Outcome.NOT_ISSUED: "Not valid: the signature is intact and trusted, but this file "
                                "is not a letter issued by this portal.",
            Outcome.UNSIGNED: "Not valid: this document carries no electronic signature.",
            Outcome.DAMAGED: "Not valid: this PDF file is damaged or cannot be read.",
            Outcome.NOT_PDF: "Not valid: this file is not a PDF document.",
        }[self.outcome]


def candidate_digests(pdf: bytes) -> tuple[str, ...]:
    """SHA-256 digests of every prefix of ``pdf`` that could be a whole revision (up to each
    ``%%EOF`` and its end of line, the first MAX_BOUNDARIES of them) and of the file itself:
    what to look up in the records. A false boundary costs a lookup that finds nothing; a
    digest cannot match by accident. One pass over the file, however many boundaries."""
    data = bytes(pdf)
    ends = {len(data), len(data.rstrip(_WHITESPACE))}
    for count, match in enumerate(_EOF.finditer(data)):
        if count == MAX_BOUNDARIES:
            break
        ends.update((match.end(), match.end() + 1, match.end() + 2))
    digests, running, done = [], hashlib.sha256(), 0
    for end in sorted(e for e in ends if 0 < e <= len(data)):
        running.update(data[done:end])
        done = end
        digests.append(running.copy().hexdigest())
    return tuple(dict.fromkeys(digests))


def _verdict(outcome: Outcome, **fields) -> FileVerdict:
    base = {"matched": None, "exact": False, "trailing_whitespace": 0,
            "validation_data_added": False, "findings": (), "signatures": (),
            "validated_at": None, "time_source": "now", "qr_urls": ()}
    return FileVerdict(outcome=outcome, **{**base, **fields})


def _match(data: bytes, accepted: Sequence[Accepted]) -> Accepted | None:
    """The longest accepted revision ``data`` begins with, byte for byte."""
    for candidate in sorted(accepted, key=lambda a: a.size, reverse=True):
        if 0 < candidate.size <= len(data) and \
                hashlib.sha256(data[:candidate.size]).hexdigest() == candidate.sha256:
            return candidate
    return None


def _embedded(reader: PdfFileReader) -> tuple[list[EmbeddedPdfSignature], list[Finding]]:
    """The filled signature fields, each read on its own: a field whose signature dictionary
    lost its /ByteRange or /Contents is a finding, not a reason to ignore the rest."""
    found, problems = [], []
    for name, _value, field in enumerate_sig_fields(reader, filled_status=True):
        try:
            embedded = EmbeddedPdfSignature(reader, field, name)
            byte_range = [int(v) for v in embedded.byte_range]
            if len(byte_range) != 4 or byte_range[0] != 0 or byte_range[1] <= 0 \
                    or byte_range[3] <= 0:
                raise ValueError(f"/ByteRange {byte_range}")
        except Exception as e:  # noqa: BLE001 (a tampered dictionary fails in many ways)
            problems.append(Finding("signature_dictionary", f"{name}: {e}"))
            continue
        found.append(embedded)
    found.sort(key=lambda e: e.signed_revision)
    return found, problems


def _context(reader: PdfFileReader, roots, moment: dt.datetime | None) -> ValidationContext:
    """Trust roots, plus whatever certificates and revocation data the file's DSS holds."""
    kwargs = {"trust_roots": roots, "allow_fetching": False, "revocation_mode": "soft-fail",
              "moment": moment}
    try:
        return DocumentSecurityStore.read_dss(reader).as_validation_context(kwargs)
    except (NoDSSFoundError, KeyError, TypeError, ValueError):
        return ValidationContext(**kwargs)


async def _timestamp_time(embedded: EmbeddedPdfSignature, context: ValidationContext,
                          ) -> dt.datetime | None:
    """The time a trusted signature timestamp proves for this signature, else None."""
    try:
        timing = await generic_cms.collect_timing_info(
            embedded.signer_info, context, raw_digest=embedded.compute_digest)
    except Exception:  # noqa: BLE001 (a broken timestamp proves nothing)
        return None
    status = timing.get("timestamp_validity")
    if status is not None and status.intact and status.valid and status.trusted:
        return status.timestamp
    return None


def _describe(reader: PdfFileReader, base_revision: int) -> list[Finding]:
    """Plain findings for the revisions after ``base_revision``: what each one adds."""
    findings: list[Finding] = []
    base = reader.get_historical_resolver(base_revision)
    base_refs = set()
    for revision in range(base_revision + 1):
        base_refs |= reader.xrefs.explicit_refs_in_revision(revision)
    for revision in range(base_revision + 1, reader.xrefs.total_revisions):
        resolver = reader.get_historical_resolver(revision)
        for ref in sorted(reader.xrefs.explicit_refs_in_revision(revision),
                          key=lambda r: (r.idnum, r.generation)):
            try:
                obj = resolver(ref)
            except Exception:  # noqa: BLE001
                findings.append(Finding("unreadable_update"))
                continue
            findings.extend(_classify(obj, ref in base_refs, base, ref))
    return list(dict.fromkeys(findings))


def _classify(obj, existed: bool, base, ref) -> list[Finding]:
    if not isinstance(obj, generic.DictionaryObject):
        return []
    kind = obj.get("/Type")
    subtype = obj.get("/Subtype")
    if kind == "/Sig":
        if existed:
            return [Finding("signature_dictionary", "rewritten in a later revision")]
        return [Finding("signature_added", str(obj.get("/Name", "")) or "?")]
    if kind in ("/DocTimeStamp", "/XRef", "/ObjStm", "/Metadata", "/Catalog"):
        return []
    if subtype == "/Widget" or obj.get("/FT") is not None:
        field_type = obj.get("/FT")
        if field_type == "/Sig" or obj.get("/V") is not None and field_type is None:
            return []  # the widget of a signature: reported with the signature
        name = str(obj.get("/T", "")) or str(subtype or "")
        return [Finding("form_field_added", name)]
    if kind == "/Annot" or (subtype is not None and "/Rect" in obj
                            and not isinstance(obj, generic.StreamObject)):
        return [Finding("annotation_added", str(subtype or "").lstrip("/"))]
    if kind == "/Pages":
        return [Finding("pages_changed")]
    if kind == "/Page":
        if not existed:
            return [Finding("pages_changed")]
        try:
            before = base(ref)
        except Exception:  # noqa: BLE001
            return [Finding("pages_changed")]
        if before.raw_get("/Contents") != obj.raw_get("/Contents") \
                or before.raw_get("/Resources") != obj.raw_get("/Resources"):
            return [Finding("content_changed")]
        return []
    if isinstance(obj, generic.StreamObject) and existed:  # new ones: see _new_content_streams
        return [Finding("content_changed")]
    return []


def _new_content_streams(reader: PdfFileReader, base_revision: int) -> bool:
    """A new stream referenced as a page's content after ``base_revision`` (an overlay)."""
    latest = reader.get_historical_resolver(reader.xrefs.total_revisions - 1)
    base_refs = set()
    for revision in range(base_revision + 1):
        base_refs |= reader.xrefs.explicit_refs_in_revision(revision)
    pages = [latest.root["/Pages"]]
    while pages:
        node = pages.pop()
        if node.get("/Type") == "/Pages":
            pages.extend(kid.get_object() for kid in node.get("/Kids", ()))
            continue
        contents = node.raw_get("/Contents") if "/Contents" in node else None
        if isinstance(contents, generic.IndirectObject):
            contents = contents.get_object() if not isinstance(
                contents.get_object(), generic.StreamObject) else [contents]
        for item in contents or ():
            if isinstance(item, generic.IndirectObject) and item.reference not in base_refs:
                return True
    return False


def _appended_findings(reader: PdfFileReader, base_revision: int) -> list[Finding]:
    """Why the revisions after ``base_revision`` are more than validation data (empty when
    they are no more)."""
    try:
        diff = DEFAULT_DIFF_POLICY.review_file(reader, base_revision,
                                               doc_mdp=MDPPerm.NO_CHANGES)
    except Exception as e:  # noqa: BLE001 (pyHanko gives up on weird structures)
        diff = e
    if isinstance(diff, DiffResult) and diff.modification_level <= ModificationLevel.LTA_UPDATES:
        return []
    try:
        findings = _describe(reader, base_revision)
        if _new_content_streams(reader, base_revision):
            findings.append(Finding("content_changed"))
    except Exception:  # noqa: BLE001
        findings = [Finding("unreadable_update")]
    if not findings:
        level = diff.modification_level.name.lower() if isinstance(diff, DiffResult) else ""
        findings = [Finding("other", level or str(diff))]
    return list(dict.fromkeys(findings))


def _section_entries(data: bytes, reader: PdfFileReader, part) -> Iterator[int]:
    """The object numbers one cross-reference section (table or stream) lists, in order and
    with repeats: read again from the file's bytes, since the reader keeps one entry each."""
    info = part.meta_info
    stream = io.BytesIO(data)
    stream.seek(info.start_location)
    if info.xref_section_type in (XRefSectionType.STANDARD, XRefSectionType.HYBRID_MAIN):
        return (entry.idnum for entry in parse_xref_table(stream, strict=False))
    ref = info.stream_ref
    if read_object_header(stream, strict=False) != (ref.idnum, ref.generation):
        raise ValueError(f"no cross-reference stream at {info.start_location}")
    misc.skip_over_whitespace(stream)
    xref = generic.StreamObject.read_from_stream(
        stream, generic.Reference(ref.idnum, ref.generation, pdf=reader))
    return (entry.idnum for entry in parse_xref_stream(xref, strict=False))


def _listed_twice(data: bytes, reader: PdfFileReader, base_revision: int) -> list[Finding]:
    """An object a cross-reference section after ``base_revision`` lists more than once.
    Readers disagree on which entry counts (pyHanko keeps the last, poppler the first), so
    such a file could show this check the signed page and a viewer a forged one."""
    for revision in range(base_revision + 1, reader.xrefs.total_revisions):
        section = reader.xrefs._xref_sections[revision]  # noqa: SLF001 (no public access)
        parts = [section] + ([section.xref_data.hybrid] if section.xref_data.hybrid else [])
        for part in parts:
            seen: set[int] = set()
            try:
                for number in _section_entries(data, reader, part):
                    if number in seen:
                        return [Finding("listed_twice",
                                        f"revision {revision + 1}, object {number}")]
                    seen.add(number)
                    if len(seen) > MAX_ADDED_OBJECTS:
                        return [Finding("structure", f"revision {revision + 1}: more than "
                                                     f"{MAX_ADDED_OBJECTS} objects")]
            except Exception as e:  # noqa: BLE001 (the reader read it; we cannot: suspect)
                return [Finding("structure", f"revision {revision + 1}: {e}")]
    return []


def _same_history(reader: PdfFileReader, prefix: PdfFileReader) -> bool:
    """The file's first revisions are exactly the prefix's (no /Prev games)."""
    count = prefix.xrefs.total_revisions
    if reader.xrefs.total_revisions < count:
        return False
    return all(reader.xrefs.get_startxref_for_revision(i)
               == prefix.xrefs.get_startxref_for_revision(i) for i in range(count))


async def _validate(embedded: Sequence[EmbeddedPdfSignature], reader: PdfFileReader, roots,
                    at: dt.datetime | None, recorded: dt.datetime | None,
                    ) -> tuple[tuple[SignatureReport, ...], dt.datetime | None, str]:
    """Validate every signature at the moment the file proves (see the module docstring)."""
    now_context = _context(reader, roots, at)
    moment, source = at, "requested"
    if at is None:
        first = next((e for e in embedded if e.sig_object_type == "/Sig"), None)
        proven = await _timestamp_time(first, now_context) if first is not None else None
        moment, source = ((proven, "timestamp") if proven is not None
                          else (recorded, "recorded") if recorded is not None
                          else (None, "now"))
    signer_context = now_context if moment == at else _context(reader, roots, moment)
    reports = tuple([await _validate_one(e, signer_context, now_context) for e in embedded])
    return reports, moment, source


def _signature_findings(reports: Sequence[SignatureReport]) -> list[Finding]:
    findings = []
    for report in reports:
        if not report.checked:  # the validator failed: nothing is known, nothing proven
            findings.append(Finding("unchecked", report.field_name))
        elif not (report.intact and report.valid):
            findings.append(Finding("signed_bytes_altered" if report.signer else
                                    "signature_dictionary", report.field_name))
    return findings


def judge(pdf: bytes, trust_roots: Iterable[bytes], accepted: Sequence[Accepted] = (),
          at: dt.datetime | None = None) -> FileVerdict:
    """The verdict on ``pdf`` given the revisions the issuer ``accepted`` and the PEM/DER
    ``trust_roots``; ``at`` (aware) checks certificates as of that moment."""
    roots = _trust_roots(trust_roots)
    if at is not None and at.utcoffset() is None:
        raise InvalidConfig("at must be timezone-aware")
    if not isinstance(pdf, bytes | bytearray | memoryview) or b"%PDF-" not in bytes(pdf[:1024]):
        return _verdict(Outcome.NOT_PDF)
    data = bytes(pdf)
    matched = _match(data, accepted)
    tail = data[matched.size:] if matched else b""
    whitespace = len(tail) if tail and not tail.strip(_WHITESPACE) else 0
    if b"%%EOF" not in data.rstrip(_WHITESPACE)[-1024:]:
        # No end-of-file marker at the end: not a file any issuer saves (and pyHanko would
        # look for one a byte at a time through the whole file).
        return _verdict(Outcome.CHANGED, matched=matched,
                        findings=(Finding("unreadable_update"),)) if matched \
            else _verdict(Outcome.DAMAGED)
    body = data
    if matched is not None and (whitespace or not tail):
        body = data[:matched.size]  # nothing after the accepted revision needs reading
    elif matched is None and len(data) - len(data.rstrip(_WHITESPACE)) > 64:
        body = data.rstrip(_WHITESPACE) + b"\n"  # pyHanko reads trailing lines one by one
    try:
        reader = PdfFileReader(io.BytesIO(body), strict=False)
        reader.xrefs.total_revisions  # noqa: B018 (parse the history now)
    except Exception:  # noqa: BLE001 (any parse failure: a damaged file, not our bug)
        if matched:
            return _verdict(Outcome.CHANGED, matched=matched,
                            findings=(Finding("unreadable_update"),))
        return _verdict(Outcome.DAMAGED)
    return asyncio.run(_judge(body, reader, roots, matched, tail, whitespace, at))


async def _judge(data: bytes, reader: PdfFileReader, roots, matched: Accepted | None,
                 tail: bytes, whitespace: int, at: dt.datetime | None) -> FileVerdict:
    exact = matched is not None and not tail
    # The signatures that make the letter: of the accepted revision when the file starts with
    # one (nothing appended can then alter what they cover), else of the whole file.
    own = reader  # already the accepted revision alone when only whitespace follows it
    if matched is not None and tail and not whitespace:
        try:
            own = PdfFileReader(io.BytesIO(data[:matched.size]), strict=False)
        except Exception:  # noqa: BLE001 (an accepted revision the issuer stored: not expected)
            own = reader
    try:
        embedded, problems = _embedded(own)
    except Exception:  # noqa: BLE001
        return _verdict(Outcome.DAMAGED if matched is None else Outcome.CHANGED,
                        matched=matched, findings=(Finding("unreadable_update"),))
    if not embedded and not problems:
        return _verdict(Outcome.UNSIGNED, matched=matched)
    reports, moment, source = await _validate(
        embedded, own, roots, at, matched.recorded_at if matched else None)
    try:
        urls = _linked_urls(own, embedded[0].signed_revision) if embedded else ()
    except Exception:  # noqa: BLE001 (the URLs explain a file; an odd page tree is no verdict)
        urls = ()
    common = {"matched": matched, "exact": exact, "signatures": reports,
              "validated_at": moment, "time_source": source, "qr_urls": urls}
    findings = problems + _signature_findings(reports)
    if matched is not None and tail and not whitespace:
        findings += await _appended(data, reader, own, tail, roots, at)
    elif matched is None and embedded:
        findings += _unmatched_changes(reader, embedded, reports)
    if findings:
        # a change found outweighs a signature the validator failed on; alone, the failure
        # is "cannot be checked", never tampering
        outcome = (Outcome.UNCHECKED if all(f.code == "unchecked" for f in findings)
                   else Outcome.CHANGED)
        return _verdict(outcome, **common, findings=tuple(dict.fromkeys(findings)))
    letter = next((r for r, e in zip(reports, embedded, strict=True)
                   if e.sig_object_type == "/Sig"), None)
    if letter is None or not all(r.trusted for r, e in zip(reports, embedded, strict=True)
                                 if e.sig_object_type == "/Sig"):
        return _verdict(Outcome.UNTRUSTED, **common)
    if matched is None:
        return _verdict(Outcome.NOT_ISSUED, **common)
    return _verdict(Outcome.GENUINE, **common, trailing_whitespace=whitespace,
                    validation_data_added=bool(tail) and not whitespace)


async def _appended(data: bytes, reader: PdfFileReader, own: PdfFileReader, tail: bytes,
                    roots, at: dt.datetime | None) -> list[Finding]:
    """Findings on what follows an accepted revision: only whole revisions of validation
    data and document timestamps (which must verify) may."""
    if reader.xrefs.total_revisions <= own.xrefs.total_revisions \
            or not tail.rstrip(_WHITESPACE).endswith(b"%%EOF"):
        return [Finding("unreadable_update")]  # bytes that are no revision of the file
    if not _same_history(reader, own):
        return [Finding("structure")]
    base = own.xrefs.total_revisions - 1
    twice = _listed_twice(data, reader, base)
    if twice:
        return twice
    try:
        later, problems = _embedded(reader)
    except Exception:  # noqa: BLE001
        return [Finding("unreadable_update")]
    later = [e for e in later if e.signed_revision > base]
    context = _context(reader, roots, at)
    reports = [await _validate_one(e, context, context) for e in later]
    findings = list(problems)
    for embedded, report in zip(later, reports, strict=True):
        if embedded.sig_object_type == "/DocTimeStamp":
            if not report.checked:
                findings.append(Finding("unchecked", report.field_name))
            elif not (report.intact and report.valid):
                findings.append(Finding("timestamp_broken", report.field_name))
        else:
            who = report.signer + (f", {report.signer_position}" if report.signer_position
                                   else "")
            if not report.trusted:
                who += "; certificate not from a trusted issuer"
            findings.append(Finding("signature_added", who or report.field_name))
    explicit = any(f.code == "signature_added" for f in findings)
    findings += [f for f in _appended_findings(reader, base)
                 if not (explicit and f.code == "signature_added")]
    return findings


def _unmatched_changes(reader: PdfFileReader, embedded: Sequence[EmbeddedPdfSignature],
                       reports: Sequence[SignatureReport]) -> list[Finding]:
    """For a file no accepted revision begins: changes after its first signature."""
    first = next((e for e in embedded if e.sig_object_type == "/Sig"), embedded[0])
    if first.coverage is None:
        try:
            first.compute_integrity_info(skip_diff=True)
        except Exception:  # noqa: BLE001
            return [Finding("signature_dictionary", first.field_name or "?")]
    if first.coverage.name == "ENTIRE_FILE":
        return []
    if first.coverage.name != "ENTIRE_REVISION":
        return [Finding("signature_dictionary", "does not cover its revision")]
    findings = [Finding("signature_added", r.signer or r.field_name) for r, e in
                zip(reports, embedded, strict=True)
                if e.signed_revision > first.signed_revision and e.sig_object_type == "/Sig"]
    return findings + [f for f in _appended_findings(reader, first.signed_revision)
                       if not (findings and f.code == "signature_added")]
