"""Sign a rendered letter: PAdES, a visible QR stamp, and (for final letters) DocMDP certification.

pyHanko does the work; four choices make a signature several times cheaper than its defaults
(measured side by side in ``bench/sign_bench.py``):

- the key stays parsed in :class:`~signing.keys.SignerIdentity` (pyHanko's ``SimpleSigner``
  re-parses it, and OpenSSL re-checks the RSA key, at every signature: ~50 ms here);
- the container's space is reserved up front (``bytes_reserved``), so pyHanko does not sign a
  dummy first to measure it. The size comes from the certificates actually embedded; should it
  ever be too small, the letter is signed again with pyHanko's own estimate rather than failing;
- the signing-certificate-v2 attribute is built once per certificate (see ``keys.py``);
- the QR code uses a fixed mask pattern instead of scoring all eight (see ``_QR_MASK``).

The QR code is made to survive a photocopy: error correction level Q (a quarter of the code may
be lost), and it fills the stamp's height (``render.STAMP_HEIGHT``, 37 mm), so that a
verification URL of up to 74 characters (version 6) still has modules of 0.9 mm, and the usual
one (version 5, up to 60 characters) 1 mm. Its quiet zone is the white the letter's layout
keeps around the stamp (``render.QUIET_ZONE``), not padding inside the box.
"""

from __future__ import annotations

import datetime as dt
import io
import unicodedata
from collections.abc import Sequence

import qrcode
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.font.basic import SimpleFontEngineFactory
from pyhanko.pdf_utils.generic import pdf_name, pdf_string
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.layout import AxisAlignment, InnerScaling, Margins, SimpleBoxLayoutRule
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.qr import PdfStreamQRImage
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.pdf_utils.writer import init_xobject_dictionary
from pyhanko.sign.fields import MDPPerm, SigFieldSpec, SigSeedSubFilter
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko.stamp import QRPosition, QRStamp, QRStampStyle
from reportlab.lib.utils import simpleSplit

from .errors import InvalidConfig, SigningError, TimestampUnavailable
from .keys import SignerIdentity
from .render import SignatureBox

__all__ = ["ZONE_LABELS", "reserved_bytes", "sign_letter", "stamp_lines"]

ZONE_LABELS = {7: "WIB", 8: "WITA", 9: "WIT"}
"""Indonesian zone labels by UTC offset in hours."""

# The stamp's text (right of the QR code). Helvetica from the PDF standard 14, so nothing is
# embedded; pyHanko sizes text with an average glyph width, 0.6 em over-estimates Helvetica.
_STAMP_FONT = SimpleFontEngineFactory("Helvetica", 0.6)
_STAMP_SIZES = (8, 7, 6, 5)  # pyHanko wants integral font sizes
_INNSEP = 0  # the code fills the box's height: its quiet zone is the page around the stamp
_TEXT_MARGIN = 2
_QR_TEXT_GAP = 9  # points (3.2 mm, an integer for pyHanko) between code and text: quiet zone
# DER bytes of a CMS SignedData beyond its certificates and signature value: signed attributes
# (content type, digest, signing-certificate-v2), signer identifier, algorithm identifiers.
# Measured at 500 with the development CA; reserved with a wide margin. Not more: validators
# parse the hex-encoded reservation, padding included, character by character.
_CMS_OVERHEAD = 1200
# A timestamp token carries the TSA's own certificates (commonly 2-4 of 1-2 KB each).
_TIMESTAMP_ALLOWANCE = 16384
_TSA_TIMEOUT = 10
# qrcode picks the best of 8 mask patterns by scoring each in pure Python (~6 ms a letter).
# The score only nudges scanning robustness; pattern 2 (every third column) scores among the
# best for our URLs, and every mask decodes the same.
_QR_MASK = 2


class _QRStamp(QRStamp):
    """pyHanko's QR stamp with error correction Q, no border drawn inside the box (the layout
    keeps the quiet zone white) and a fixed mask pattern."""

    def _qr_xobject(self):
        qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_Q,
                           mask_pattern=_QR_MASK, border=0)
        qr.add_data(self.url)
        qr.make()
        command_stream = qr.make_image(image_factory=PdfStreamQRImage).render_command_stream()
        bbox_size = (qr.modules_count + 2 * qr.border) * qr.box_size
        qr_xobj = init_xobject_dictionary(command_stream, bbox_size, bbox_size)
        qr_xobj.compress()
        return self.writer.add_object(qr_xobj), bbox_size


class _QRStampStyle(QRStampStyle):
    """QRStampStyle producing :class:`_QRStamp`."""

    def create_stamp(self, writer, box, text_params) -> QRStamp:
        params = dict(text_params)
        url = params.pop("url")
        return _QRStamp(writer, style=self, url=url, text_params=params, box=box)


def stamp_lines(signer_name: str, signing_time: dt.datetime, zone_label: str | None = None,
                ) -> tuple[str, ...]:
    """The usual stamp text: name, "Ditandatangani secara elektronik", local time and zone.

    ``signing_time`` must be aware; it is shown in its own zone, labelled ``zone_label`` or,
    when not given, WIB/WITA/WIT from its UTC offset. :func:`sign_letter` adds the identity's
    own notice below these lines (the development CA's "not legally recognised").
    """
    local = _aware(signing_time)
    if zone_label is None:
        offset = local.utcoffset() or dt.timedelta(0)
        hours, rest = divmod(offset, dt.timedelta(hours=1))
        zone_label = ZONE_LABELS.get(hours) if not rest else None
        zone_label = zone_label or local.tzname() or "UTC"
    return (signer_name, "Ditandatangani secara elektronik",
            f"{local:%d-%m-%Y %H:%M} {zone_label}")


def reserved_bytes(identity: SignerIdentity, with_timestamp: bool = False) -> int:
    """Space (hex characters) reserved for the signature container of ``identity``."""
    der = (len(identity.certificate.dump()) + sum(len(c.dump()) for c in identity.chain)
           + identity.signature_size + _CMS_OVERHEAD)
    if with_timestamp:
        der += _TIMESTAMP_ALLOWANCE
    return 2 * der  # hex-encoded in the file


def _aware(moment: dt.datetime) -> dt.datetime:
    if not isinstance(moment, dt.datetime) or moment.utcoffset() is None:
        raise InvalidConfig("signing_time must be a timezone-aware datetime")
    return moment


def _ascii(text: str) -> str:
    """Stamp text for a standard font: accents dropped, dashes as ``-``, anything else
    non-ASCII as ``?``."""
    decomposed = unicodedata.normalize("NFKD", text.replace("\u2014", "-").replace("\u2013", "-"))
    base = "".join(c for c in decomposed if not unicodedata.combining(c))
    return "".join(c if " " <= c <= "~" else "?" for c in base)


def _stamp_style(lines: Sequence[str], width: float, height: float, notice: str = "",
                 ) -> tuple[QRStampStyle, str]:
    """A QR stamp for a ``width`` x ``height`` box, text wrapped to fit beside the code; the
    ``notice`` (a last line) may wrap without making the rest smaller."""
    qr_side = height  # the QR code takes the box's height
    text_width = width - qr_side - _QR_TEXT_GAP - _TEXT_MARGIN
    if text_width < 40:
        raise InvalidConfig(f"signature box {width:.0f}x{height:.0f} pt leaves no room for text")
    clean = [_ascii(line).strip() for line in lines if line and line.strip()]
    notice = _ascii(notice).strip()

    def layout(size: int) -> tuple[list[str], int, bool]:
        # wrap with pyHanko's own width rule (0.6 em per character, i.e. Courier metrics) so
        # that its layout never needs to shrink the stamp, and with it the QR code
        wrapped = [part for line in clean
                   for part in simpleSplit(line, "Courier", size, text_width)]
        if notice:
            wrapped += simpleSplit(notice, "Courier", size, text_width)
        leading = size + 2
        return wrapped, leading, len(wrapped) * leading + 2 * _TEXT_MARGIN <= height

    # the biggest size that needs no extra line breaks, else the biggest that fits wrapped
    candidates = [(size, *layout(size)) for size in _STAMP_SIZES]
    fitting = [c for c in candidates if c[3]]
    unbroken = [c for c in fitting if len(c[1]) - len(clean)
                == len(simpleSplit(notice, "Courier", c[0], text_width))]
    size, wrapped, leading, fits = (unbroken or fitting or candidates[-1:])[0]
    if not fits:  # cut the signer's lines, never the notice
        room = int((height - 2 * _TEXT_MARGIN) // leading)
        kept = simpleSplit(notice, "Courier", size, text_width) if notice else []
        wrapped = wrapped[: max(room - len(kept), 0)] + kept[:room]
    style = _QRStampStyle(
        stamp_text="%(stamp)s",
        text_box_style=TextBoxStyle(
            font=_STAMP_FONT, font_size=size, leading=leading,
            box_layout_rule=SimpleBoxLayoutRule(
                x_align=AxisAlignment.ALIGN_MIN, y_align=AxisAlignment.ALIGN_MID,
                margins=Margins(left=_QR_TEXT_GAP, right=_TEXT_MARGIN, top=_TEXT_MARGIN,
                                bottom=_TEXT_MARGIN),
                inner_content_scaling=InnerScaling.NO_SCALING),
        ),
        qr_position=QRPosition.LEFT_OF_TEXT,
        innsep=_INNSEP,
        border_width=0,
        background=None,
    )
    return style, "\n".join(wrapped)


def _link_over_stamp(writer: IncrementalPdfFileWriter, box: SignatureBox, url: str) -> None:
    """A link annotation over the stamp: click-through in viewers, and what verify reads back."""
    page_ref, _ = writer.find_page_for_modification(box.page)
    annotation = generic.DictionaryObject({
        pdf_name("/Type"): pdf_name("/Annot"),
        pdf_name("/Subtype"): pdf_name("/Link"),
        pdf_name("/Rect"): generic.ArrayObject(
            [generic.FloatObject(v) for v in (box.x1, box.y1, box.x2, box.y2)]),
        pdf_name("/Border"): generic.ArrayObject([generic.NumberObject(0)] * 3),
        pdf_name("/F"): generic.NumberObject(4),  # print
        pdf_name("/A"): generic.DictionaryObject({
            pdf_name("/S"): pdf_name("/URI"),
            pdf_name("/URI"): pdf_string(url),
        }),
    })
    writer.register_annotation(page_ref, writer.add_object(annotation))


def _sign_once(pdf: bytes, identity: SignerIdentity, box: SignatureBox, qr_url: str,
               lines: Sequence[str], signing_time: dt.datetime, certify: bool,
               timestamper: HTTPTimeStamper | None, field_name: str,
               bytes_reserved: int | None) -> bytes:
    writer = _DatedWriter(io.BytesIO(pdf), strict=False)
    writer.modified = signing_time
    if not 0 <= box.page < int(writer.root["/Pages"]["/Count"]):
        raise InvalidConfig(f"signature box on page {box.page + 1}, but the PDF has "
                            f"{int(writer.root['/Pages']['/Count'])} page(s)")
    _link_over_stamp(writer, box, qr_url)
    style, text = _stamp_style(lines, box.x2 - box.x1, box.y2 - box.y1,
                               notice=identity.stamp_notice)
    meta = PdfSignatureMetadata(
        field_name=field_name,
        md_algorithm="sha256",
        subfilter=SigSeedSubFilter.PADES,
        certify=certify,
        docmdp_permissions=MDPPerm.NO_CHANGES,
        name=identity.common_name or None,
    )
    field_spec = SigFieldSpec(sig_field_name=field_name, on_page=box.page,
                              box=(box.x1, box.y1, box.x2, box.y2))
    signer = _TimedPdfSigner(meta, identity.signer, timestamper=timestamper, stamp_style=style,
                             new_field_spec=field_spec, signing_time=signing_time)
    out = signer.sign_pdf(writer, bytes_reserved=bytes_reserved,
                          appearance_text_params={"url": qr_url, "stamp": text})
    return out.getvalue()


class _DatedWriter(IncrementalPdfFileWriter):
    """pyHanko's incremental writer, but the document's ``ModDate`` is the signing time: pyHanko
    writes the machine's clock, so the signed letter would say it was modified at an instant
    that is neither its issuance nor its signature."""

    modified: dt.datetime | None = None

    def _update_meta(self):
        super()._update_meta()
        if self.modified is not None and self._info is not None:
            info = self._info.get_object()
            if "/ModDate" in info:
                info["/ModDate"] = generic.pdf_date(self.modified)
                self.mark_update(self._info)


class _TimedPdfSigner(PdfSigner):
    """A PdfSigner that records the caller's signing time (``/M``) instead of reading the clock."""

    def __init__(self, *args, signing_time: dt.datetime, **kwargs):
        super().__init__(*args, **kwargs)
        self._signing_time = signing_time

    def init_signing_session(self, pdf_out, existing_fields_only=False):
        session = super().init_signing_session(pdf_out, existing_fields_only)
        session.system_time = self._signing_time
        return session


def sign_letter(
    pdf: bytes,
    identity: SignerIdentity,
    box: SignatureBox | Sequence[float],
    qr_url: str,
    stamp_lines: Sequence[str],
    signing_time: dt.datetime,
    certify: bool = True,
    timestamper_url: str | None = None,
    field_name: str = "Signature1",
    tsa_timeout: float = _TSA_TIMEOUT,
    room_for_timestamp: bool = False,
) -> bytes:
    """Sign ``pdf`` (PAdES B-B, or B-T with ``timestamper_url``) and return the signed file.

    ``box`` is ``(page_index, x1, y1, x2, y2)`` in PDF points (``RenderedLetter.signature_box``);
    the stamp shows a QR code of ``qr_url`` and ``stamp_lines``. With ``certify`` the signature
    certifies the letter with DocMDP "no changes permitted". Every failure is a
    :class:`~signing.errors.SigningError` whose message says why; a timestamp authority that
    does not answer within ``tsa_timeout`` seconds is a :class:`TimestampUnavailable` (see
    :func:`signing.ltv.sign_long_term`, which then signs without it, with
    ``room_for_timestamp``: space for the timestamp to be added later, see ``ltv.extend``).
    """
    try:
        box = SignatureBox(*box)
    except TypeError:
        raise InvalidConfig("box must be (page_index, x1, y1, x2, y2)") from None
    if box.x2 <= box.x1 or box.y2 <= box.y1:
        raise InvalidConfig(f"signature box {tuple(box)} is empty")
    if not qr_url or not qr_url.isprintable():
        raise InvalidConfig("qr_url must be a non-empty printable URL")
    if not isinstance(identity, SignerIdentity):
        raise InvalidConfig(f"expected a SignerIdentity, got {type(identity).__name__}")
    signing_time = _aware(signing_time)
    if isinstance(stamp_lines, str):
        stamp_lines = (stamp_lines,)
    timestamper = None
    if timestamper_url:
        timestamper = HTTPTimeStamper(timestamper_url, timeout=tsa_timeout)
    reserve = reserved_bytes(identity,
                             with_timestamp=timestamper is not None or room_for_timestamp)
    try:
        try:
            return _sign_once(pdf, identity, box, qr_url, stamp_lines, signing_time, certify,
                              timestamper, field_name, reserve)
        except PyHankoSigningError as e:
            if "larger than expected" not in str(e):
                raise
        # Our reservation was too small (an unusually large TSA response): let pyHanko measure.
        return _sign_once(pdf, identity, box, qr_url, stamp_lines, signing_time, certify,
                          timestamper, field_name, None)
    except SigningError:
        raise
    except TimestampRequestError as e:
        cause = e.__cause__ or e
        raise TimestampUnavailable(f"timestamp server {timestamper_url} failed: "
                                   f"{type(cause).__name__}: {cause}") from e
    except (PyHankoSigningError, PdfError) as e:
        raise SigningError(f"cannot sign the letter: {e}") from e
    except (TimeoutError, OSError) as e:
        if timestamper is not None:  # the network is only used to reach the TSA
            raise TimestampUnavailable(f"timestamp server {timestamper_url} failed: "
                                       f"{type(e).__name__}: {e}") from e
        raise SigningError(f"cannot sign the letter: {type(e).__name__}: {e}") from e
    except Exception as e:  # a token, a TSA or a malformed file can fail in many ways
        raise SigningError(f"cannot sign the letter: {type(e).__name__}: {e}") from e
