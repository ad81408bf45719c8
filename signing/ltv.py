"""Long-term validation: timestamps and validation data, so a letter stays verifiable after its
signer's certificate expires (PAdES baseline levels, ETSI EN 319 142-1).

- **B-B**: the signature alone. Valid only while the signer's certificate is.
- **B-T**: plus a timestamp from a timestamp authority (TSA) proving when it was signed.
- **B-LT**: plus the certificates and revocation data (CRLs, OCSP responses) that show the
  signer's certificate was good at that time, in the document security store (DSS).
- **B-LTA**: plus a document timestamp over all that; renewed before the newest timestamp's
  TSA certificate ends (:func:`extend`), the chain keeps the letter checkable indefinitely.

A timestamp outage costs a level, never a letter: :func:`sign_long_term` falls back to B-B
when the TSA does not answer (reserving room in the signature for the timestamp that did not
come), and to B-T when validation data cannot be gathered; the caller records the level and
:func:`extend` catches up later. Every revision :func:`extend` appends is an incremental update
after the signature (a DSS or a document timestamp), the only additions that leave a certified
letter ("no changes") intact. The one exception is the late signature timestamp of a letter
signed during an outage: an *unsigned* attribute written into the signature's reserved space,
outside the bytes the signature covers (validators, pyHanko's AdES one included, want a
signature timestamp, not only document timestamps); the result is a new file, which the
caller stores as a revision of its own (``LongTermResult.timestamped_copy``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hashlib
import io
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from asn1crypto import cms, pem
from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.general import extract_certificate_info
from pyhanko.sign.signers import PdfTimeStamper
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko.sign.validation import add_validation_info
from pyhanko.sign.validation.generic_cms import extract_tst_data_iter
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError
from pyhanko_certvalidator.fetchers.requests_fetchers import RequestsFetcherBackend

from .errors import InvalidConfig, SigningError, TimestampUnavailable
from .keys import SignerIdentity
from .sign import sign_letter

__all__ = [
    "LEVELS",
    "LongTermResult",
    "LtvSettings",
    "LtvState",
    "extend",
    "forget_outages",
    "inspect",
    "sign_long_term",
]

LEVELS = ("B-B", "B-T", "B-LT", "B-LTA")
"""PAdES baseline levels, weakest first."""

# After a TSA failure at signing, skip the TSA for this long (per process): a TSA that hangs
# would otherwise add its whole timeout to every letter issued during the outage, each with
# the number series locked. `extend` never skips.
_OUTAGE_PAUSE = 60.0
_outage_lock = threading.Lock()
_tsa_down_until: dict[str, float] = {}


@dataclass(frozen=True)
class LtvSettings:
    """Where timestamps and validation data come from."""

    tsa_url: str
    """An RFC 3161 timestamp authority (HTTP POST)."""

    trust_roots: tuple[bytes, ...] = ()
    """PEM or DER certificates the signer's and the TSA's chains end in. Validation data is
    gathered along those chains; a chain ending elsewhere cannot be made B-LT."""

    crls: tuple[bytes, ...] = ()
    """CRLs (PEM or DER) known without fetching, e.g. the portal's own CA's current CRL."""

    allow_fetching: bool = True
    """Fetch CRLs and OCSP responses from the addresses in the certificates."""

    timeout: float = 10.0
    """Seconds to wait for the TSA, and for each CRL or OCSP request."""

    def __post_init__(self):
        if not self.tsa_url or not self.tsa_url.startswith(("http://", "https://")):
            raise InvalidConfig(f"tsa_url must be an http(s) URL, got {self.tsa_url!r}")
        if self.timeout <= 0:
            raise InvalidConfig("timeout must be positive")


@dataclass(frozen=True)
class LongTermResult:
    """A signed (or extended) letter, the level it reached and, when lower than asked, why."""

    pdf: bytes
    level: str
    problem: str = ""
    timestamped_at: dt.datetime | None = None
    """Time of the newest timestamp in the file (None at B-B)."""
    timestamp_expires_at: dt.datetime | None = None
    """End of validity of that timestamp's TSA certificate: extend before it."""
    timestamped_copy: LongTermResult | None = None
    """From :func:`extend` of a letter signed without its timestamp: the signed file with the
    signature timestamp written in (B-T), which ``pdf`` extends. Not a continuation of the
    input: store it as its own revision, before ``pdf``."""


@dataclass(frozen=True)
class LtvState:
    """What a signed file holds for long-term validation."""

    level: str
    timestamped_at: dt.datetime | None
    timestamp_expires_at: dt.datetime | None
    document_timestamps: int


def _certificates(data: Sequence[bytes]) -> list[asn1_x509.Certificate]:
    certs = []
    for blob in data:
        if pem.detect(blob):
            certs.extend(asn1_x509.Certificate.load(der)
                         for kind, _, der in pem.unarmor(blob, multiple=True)
                         if kind == "CERTIFICATE")
        else:
            certs.append(asn1_x509.Certificate.load(blob))
    return certs


def _crls(data: Sequence[bytes]) -> list[asn1_crl.CertificateList]:
    out = []
    for blob in data:
        if pem.detect(blob):
            out.extend(asn1_crl.CertificateList.load(der)
                       for kind, _, der in pem.unarmor(blob, multiple=True)
                       if kind == "X509 CRL")
        else:
            out.append(asn1_crl.CertificateList.load(blob))
    return out


def _context(settings: LtvSettings) -> ValidationContext:
    """A context that gathers validation data now; hard-fail: a CRL or OCSP source named in a
    certificate that does not answer is a failure, not silently missing data."""
    try:
        roots = _certificates(settings.trust_roots)
        crls = _crls(settings.crls)
    except (ValueError, TypeError) as e:
        raise InvalidConfig(f"cannot read trust roots or CRLs: {e}") from None
    return ValidationContext(
        trust_roots=roots, crls=crls, allow_fetching=settings.allow_fetching,
        revocation_mode="hard-fail",
        fetcher_backend=RequestsFetcherBackend(per_request_timeout=settings.timeout))


def _timestamper(settings: LtvSettings) -> HTTPTimeStamper:
    return HTTPTimeStamper(settings.tsa_url, timeout=settings.timeout)


def _explain(error: BaseException) -> str:
    """One line on why validation data could not be gathered, innermost cause last."""
    parts, seen = [], set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        text = str(error).strip()
        if text and text not in parts:
            parts.append(text)
        error = error.__cause__ or error.__context__
    return ": ".join(parts) or "unknown error"


def _tst_facts(signed_data: cms.SignedData) -> tuple[dt.datetime, dt.datetime]:
    """(time, TSA certificate's end) of a timestamp token."""
    info = signed_data["encap_content_info"]["content"].parsed
    tsa_cert = extract_certificate_info(signed_data).signer_cert
    return info["gen_time"].native, tsa_cert["tbs_certificate"]["validity"]["not_after"].native


def inspect(pdf: bytes) -> LtvState:
    """The level of a signed letter and its newest timestamp (None at B-B)."""
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        signatures = reader.embedded_regular_signatures
        stamps = reader.embedded_timestamp_signatures
    except (PdfError, ValueError, KeyError, TypeError) as e:
        raise SigningError(f"not a readable signed PDF: {e}") from None
    if not signatures:
        raise SigningError("the PDF carries no signature")
    signature = signatures[0]
    signature_stamps = list(extract_tst_data_iter(signature.signer_info, signed=False))
    newest = None
    if stamps:
        newest = _tst_facts(stamps[-1].signed_data)
    elif signature_stamps:
        newest = _tst_facts(signature_stamps[-1])
    has_dss = "/DSS" in reader.root
    # B-LTA: a document timestamp covers a revision that already held validation data.
    archived = any("/DSS" in reader.get_historical_root(ts.signed_revision) for ts in stamps)
    if archived:
        level = "B-LTA"
    elif has_dss and newest is not None:
        level = "B-LT"
    elif newest is not None:
        level = "B-T"
    else:
        level = "B-B"
    return LtvState(level, newest[0] if newest else None, newest[1] if newest else None,
                    len(stamps))


def _result(pdf: bytes, problem: str = "") -> LongTermResult:
    state = inspect(pdf)
    return LongTermResult(pdf, state.level, problem, state.timestamped_at,
                          state.timestamp_expires_at)


def _signature_facts(pdf: bytes):
    """The signature of a freshly signed file and its timestamp's (time, TSA end), or None."""
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    signature = reader.embedded_regular_signatures[0]
    stamps = list(extract_tst_data_iter(signature.signer_info, signed=False))
    return signature, (_tst_facts(stamps[-1]) if stamps else (None, None))


def _add_validation_data(pdf: bytes, settings: LtvSettings, signature=None) -> bytes:
    """The signer's (and its signature timestamp's) certificates and revocation data, in the
    DSS as one incremental update. Raises SigningError saying what could not be gathered."""
    if signature is None:
        signature, _facts = _signature_facts(pdf)
    try:
        out = add_validation_info(signature, _context(settings), in_place=False)
    except (PathBuildingError, PathValidationError) as e:
        raise SigningError(f"validation data unavailable: {_explain(e)}") from e
    except InvalidConfig:
        raise
    except Exception as e:  # fetching can fail in many ways (HTTP, parsing, a dead responder)
        raise SigningError(f"validation data unavailable: {type(e).__name__}: "
                           f"{_explain(e)}") from e
    return out.getvalue()


def _tsa_paused(url: str) -> bool:
    with _outage_lock:
        return _tsa_down_until.get(url, 0.0) > time.monotonic()


def _note_outage(url: str) -> None:
    with _outage_lock:
        _tsa_down_until[url] = time.monotonic() + _OUTAGE_PAUSE


def forget_outages() -> None:
    """Try every TSA again at the next signature (after an outage is known to be over)."""
    with _outage_lock:
        _tsa_down_until.clear()


def sign_long_term(
    pdf: bytes,
    identity: SignerIdentity,
    box,
    qr_url: str,
    stamp_lines: Sequence[str],
    signing_time: dt.datetime,
    settings: LtvSettings | None,
    certify: bool = True,
) -> LongTermResult:
    """Sign ``pdf`` as :func:`signing.sign.sign_letter` does, at the highest level reachable:
    B-LT with ``settings``, B-T when validation data cannot be gathered, B-B without
    ``settings`` or when the TSA does not answer (the letter is signed all the same; the
    result's ``problem`` says why). Other signing failures raise SigningError."""
    # The level is known by construction here: no need to parse the result again (pyHanko
    # reads the signature's hex string a character at a time).
    if settings is None:
        return LongTermResult(sign_letter(pdf, identity, box, qr_url, stamp_lines,
                                          signing_time, certify=certify), "B-B")
    if _tsa_paused(settings.tsa_url):
        signed = sign_letter(pdf, identity, box, qr_url, stamp_lines, signing_time,
                             certify=certify, room_for_timestamp=True)
        return LongTermResult(signed, "B-B", f"timestamp server {settings.tsa_url} failed "
                                             "moments ago; not asked again yet")
    try:
        signed = sign_letter(pdf, identity, box, qr_url, stamp_lines, signing_time,
                             certify=certify, timestamper_url=settings.tsa_url,
                             tsa_timeout=settings.timeout)
    except TimestampUnavailable as e:
        _note_outage(settings.tsa_url)
        signed = sign_letter(pdf, identity, box, qr_url, stamp_lines, signing_time,
                             certify=certify, room_for_timestamp=True)
        return LongTermResult(signed, "B-B", str(e))
    signature, (stamped_at, tsa_end) = _signature_facts(signed)
    try:
        return LongTermResult(_add_validation_data(signed, settings, signature), "B-LT", "",
                              stamped_at, tsa_end)
    except SigningError as e:
        return LongTermResult(signed, "B-T", str(e), stamped_at, tsa_end)


def extend(pdf: bytes, settings: LtvSettings) -> LongTermResult:
    """Bring a signed letter to B-LTA, or renew its B-LTA chain: validation data for what is
    not yet covered, then a document timestamp (whose own validation data follows in the same
    call, ready for the next renewal). Raises SigningError (TimestampUnavailable when the TSA
    does not answer) with the reason; the input is then unchanged."""
    state = inspect(pdf)
    copy = None
    if state.level == "B-B" and _signature_timestamp_fits(pdf):
        copy = _result(_timestamp_signature(pdf, settings))
        pdf = copy.pdf
        state = inspect(pdf)
    if state.level in ("B-B", "B-T"):
        # The signature has no validation data yet: gather it now, while the signer's
        # certificate is (hopefully) still valid and unrevoked.
        pdf = _add_validation_data(pdf, settings)
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    stamper = PdfTimeStamper(_timestamper(settings))
    try:
        out = stamper.update_archival_timestamp_chain(reader, _context(settings),
                                                      in_place=False)
    except InvalidConfig:
        raise
    except Exception as e:  # the TSA, a responder or the previous timestamp's chain
        message = _explain(e)
        if "timestamp" in type(e).__name__.lower() or "timestamp serv" in message.lower():
            raise TimestampUnavailable(
                f"timestamp server {settings.tsa_url} failed: {message}") from e
        raise SigningError(f"cannot add a document timestamp: {type(e).__name__}: "
                           f"{message}") from e
    result = _result(out.getvalue())
    if copy is not None:
        result = dataclasses.replace(result, timestamped_copy=copy)
    return result


def _contents_span(pdf: bytes) -> tuple[PdfFileReader, object, int, int] | None:
    """The only signature's dictionary and the span of its /Contents hex string (between the
    angle brackets), when nothing was appended after it; else None."""
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    signatures = reader.embedded_signatures
    if len(signatures) != 1 or reader.total_revisions != signatures[0].signed_revision + 1:
        return None
    signature = signatures[0]
    byte_range = [int(v) for v in signature.byte_range]
    start, end = byte_range[1], byte_range[2]
    if byte_range[0] != 0 or pdf[start:start + 1] != b"<" or pdf[end - 1:end] != b">":
        return None
    if byte_range[2] + byte_range[3] != len(pdf):
        return None
    return reader, signature, start + 1, end - 1


def _signature_timestamp_fits(pdf: bytes) -> bool:
    """Whether the signature was made with room for a timestamp token and nothing follows."""
    span = _contents_span(pdf)
    if span is None:
        return False
    _reader, signature, start, end = span
    # /Contents is the DER container followed by zero padding up to the reserved size
    used = len(cms.ContentInfo.load(signature.pkcs7_content).dump())
    return (end - start) // 2 - used >= _MIN_TOKEN_ROOM


_MIN_TOKEN_ROOM = 4096  # DER bytes: less than this was not reserved for a timestamp


def _timestamp_signature(pdf: bytes, settings: LtvSettings) -> bytes:
    """``pdf`` with a signature timestamp (RFC 3161 over the signature value, CAdES's
    signature-time-stamp) added to its signature's unsigned attributes, in the space reserved
    for it. The signed bytes are untouched, so the signature stays intact."""
    span = _contents_span(pdf)
    if span is None:
        raise SigningError("cannot add a signature timestamp: the file changed after signing")
    _reader, signature, start, end = span
    content_info = cms.ContentInfo.load(signature.pkcs7_content)
    signer_info = content_info["content"]["signer_infos"][0]
    imprint = hashlib.sha256(signer_info["signature"].native).digest()
    try:
        token = asyncio.run(_timestamper(settings).async_timestamp(imprint, "sha256"))
    except Exception as e:  # the TSA: down, slow, or answering nonsense
        raise TimestampUnavailable(f"timestamp server {settings.tsa_url} failed: "
                                   f"{type(e).__name__}: {_explain(e)}") from e
    attribute = cms.CMSAttribute({"type": "signature_time_stamp_token", "values": [token]})
    existing = signer_info["unsigned_attrs"]
    signer_info["unsigned_attrs"] = cms.CMSAttributes(
        ([*existing] if existing.native else []) + [attribute])
    der = content_info.dump(force=False)
    encoded = der.hex().encode("ascii")
    if len(encoded) > end - start:
        raise SigningError(f"the timestamp token ({len(der)} bytes) does not fit the room "
                           f"reserved in the signature ({(end - start) // 2} bytes)")
    return pdf[:start] + encoded + b"0" * (end - start - len(encoded)) + pdf[end:]
