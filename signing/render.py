"""Render an official letter (surat dinas) as an A4 PDF with reportlab's built-in fonts.

Nothing is fetched and no font file is read: Helvetica for the letterhead (kop surat) and the
small print, Times for the letter itself. Text is plain text everywhere (no markup): it is
escaped before it reaches reportlab's paragraph parser, so ``<``, ``>`` and ``&`` print as such.
Characters the built-in fonts cannot show (outside Windows-1252) are reduced to their base
letter where one exists (``ṣ`` -> ``s``), otherwise printed as ``?``.

Body rule: a body paragraph whose every non-empty line has the form ``key: value`` (a key of
1-40 characters without a colon, then a colon and a space) is printed as an aligned two-column
list (e.g. ``Nama: ...`` / ``NIP: ...``); any other paragraph is justified running text whose
line breaks are kept.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import threading
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from xml.sax.saxutils import escape

from reportlab import rl_config
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader, simpleSplit
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    PageTemplate,
    Paragraph,
    Spacer,
)

from ._config import build_from_config
from .errors import InvalidConfig, SigningError

__all__ = [
    "QUIET_ZONE",
    "STAMP_HEIGHT",
    "STAMP_WIDTH",
    "LetterContent",
    "Paraf",
    "RenderedLetter",
    "SignatureBlock",
    "SignatureBox",
    "render_letter",
]

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 25 * mm, 20 * mm, 12 * mm, 24 * mm
STAMP_WIDTH = 92 * mm
"""Width of the signature stamp area (QR code on the left, text on the right)."""
STAMP_HEIGHT = 37 * mm
"""Height of the stamp area, which the QR code fills: modules of 1 mm at version 5 and 0.9 mm
at version 6 (``signing.sign``), so that a photocopy or a 100 dpi scan still reads."""
QUIET_ZONE = 3 * mm
"""White kept above and below the stamp (and, by the stamp itself, right of the code): the QR
code's quiet zone, since the code is drawn edge to edge in its box."""

_BODY_FONT, _BODY_BOLD = "Times-Roman", "Times-Bold"
_HEAD_FONT, _HEAD_BOLD = "Helvetica", "Helvetica-Bold"
# rl_config is process-wide state; rendering is pure Python under the GIL, so serialising
# builds costs nothing.
_BUILD_LOCK = threading.Lock()
_KV_LINE = re.compile(r"^\s*([^:\n]{1,40}?)\s*:(?:\s+(.*))?$")


class SignatureBox(NamedTuple):
    """Where the visible signature goes: page index (0-based) and a rectangle in PDF points."""

    page: int
    x1: float
    y1: float
    x2: float
    y2: float


@dataclass(frozen=True)
class Paraf:
    """One initial (paraf) of the approval trail: who checked the letter before signature."""

    position: str
    """Position title of the official who initialled, e.g. ``Kasi SDMK``."""

    name: str
    """The official's name."""

    time: str
    """When, already formatted in the agency's zone, e.g. ``23-11-2026 10:02 WIB``."""


@dataclass(frozen=True)
class SignatureBlock:
    """The block above which the signature stamp is placed (bottom right of the letter)."""

    position: str
    """Position title of the signing office, e.g. ``Kepala Dinas Kesehatan``."""

    name: str
    """The signer's name as printed under the stamp."""

    nip: str | None = None
    """The signer's NIP (civil servant number); printed as ``NIP. ...`` when given."""

    capacity: str = ""
    """Capacity: ``""``, ``a.n. Bupati Bangka`` (a line above the position), or ``Plh.`` /
    ``Plt.`` (acting; printed before the position on the same line)."""

    def __post_init__(self):
        for name in ("position", "name", "capacity"):
            if not isinstance(getattr(self, name), str):
                raise InvalidConfig(f"signature {name}: expected text")
        if not self.name.strip():
            raise InvalidConfig("signature name must not be empty")
        if self.nip is not None and not isinstance(self.nip, str):
            raise InvalidConfig("signature nip: expected text or None")


@dataclass(frozen=True)
class LetterContent:
    """Everything printed on a letter; plain text only (no markup)."""

    letterhead: tuple[str, ...]
    """Kop surat, 1-4 lines: the first (the agency) bigger and bold, then a double rule."""

    number: str
    """Letter number, printed as ``Nomor: <number>``."""

    place_date: str
    """Place and date, e.g. ``Sungailiat, 23 November 2026``."""

    signature: SignatureBlock
    """The signature block."""

    title: str = ""
    """Title of a decree-like letter (``SURAT REKOMENDASI``); empty for a plain letter."""

    addressee: tuple[str, ...] = ()
    """Addressee lines (``Yth. ...``); may be empty."""

    subject: str = ""
    """Subject (Perihal); may be empty."""

    body: tuple[str, ...] = ()
    """Paragraphs of the letter; see the module docstring for ``key: value`` lists."""

    paraf: tuple[Paraf, ...] = ()
    """Approval trail printed small at the bottom left of the signature block."""

    footer_note: str = ""
    """Small print at the bottom of every page (e.g. how to verify the letter)."""

    watermark: str = ""
    """A large light word across every page (``DRAF`` on a draft that is not signed yet)."""

    logo: bytes | None = None
    """The agency's logo (PNG or JPEG bytes), drawn at the left of the kop; None: no logo."""

    contact: tuple[str, ...] = ()
    """Up to 3 small lines under the kop's lines (address; telephone, e-mail, website)."""

    created_at: dt.datetime | None = None
    """When the letter is made (issued; a draft: when it is looked at), timezone-aware:
    written as the PDF's ``CreationDate`` and ``ModDate`` in its own UTC offset. The output
    stays the same bytes for the same content and time. None writes reportlab's fixed
    invariant date (2000-01-01)."""

    def __post_init__(self):
        if not 1 <= len(self.letterhead) <= 4:
            raise InvalidConfig("letterhead: give 1 to 4 lines")
        for name in ("letterhead", "addressee", "body", "paraf", "contact"):
            if isinstance(getattr(self, name), str | bytes):
                raise InvalidConfig(f"{name}: expected a sequence of lines, not a string")
            object.__setattr__(self, name, tuple(getattr(self, name)))
        for name in ("title", "number", "place_date", "subject", "footer_note", "watermark"):
            if not isinstance(getattr(self, name), str):
                raise InvalidConfig(f"{name}: expected text")
        for name in ("letterhead", "addressee", "body", "contact"):
            if not all(isinstance(line, str) for line in getattr(self, name)):
                raise InvalidConfig(f"{name}: every entry must be text")
        if len(self.contact) > 3:
            raise InvalidConfig("contact: give at most 3 lines")
        if self.logo is not None and not isinstance(self.logo, bytes):
            raise InvalidConfig("logo: expected the bytes of a PNG or JPEG image, or None")
        if not isinstance(self.signature, SignatureBlock):
            raise InvalidConfig("signature: expected a SignatureBlock")
        if not all(isinstance(p, Paraf) for p in self.paraf):
            raise InvalidConfig("paraf: every entry must be a Paraf")
        if self.created_at is not None and (not isinstance(self.created_at, dt.datetime)
                                            or self.created_at.utcoffset() is None):
            raise InvalidConfig("created_at: expected a timezone-aware datetime or None")

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> LetterContent:
        """Build from plain data (``signature`` a mapping, ``paraf`` a list of mappings)."""
        data = dict(config) if isinstance(config, Mapping) else config
        if isinstance(data, dict):
            if isinstance(data.get("signature"), Mapping):
                data["signature"] = build_from_config(
                    SignatureBlock, data["signature"], "letter signature")
            if "paraf" in data:
                data["paraf"] = tuple(
                    build_from_config(Paraf, p, f"letter paraf #{i + 1}")
                    if isinstance(p, Mapping) else p
                    for i, p in enumerate(data["paraf"]))
        return build_from_config(cls, data, "letter")


@dataclass(frozen=True)
class RenderedLetter:
    """A rendered, unsigned letter and where its signature stamp goes."""

    pdf: bytes
    """The PDF file."""

    signature_box: SignatureBox
    """Rectangle for the visible signature on the last page, inside the signature block."""

    page_count: int = field(default=1)
    """Number of pages."""


def _plain(text: str) -> str:
    """Text the built-in (Windows-1252) fonts can show: accents dropped where needed."""
    text = text.replace("\t", " ").replace("\r\n", "\n").replace("\r", "\n")
    try:
        text.encode("cp1252")
        return "".join(c for c in text if c == "\n" or unicodedata.category(c) != "Cc")
    except UnicodeEncodeError:
        pass
    out = []
    for char in text:
        if char == "\n":
            out.append(char)
            continue
        if unicodedata.category(char) == "Cc":
            continue
        try:
            char.encode("cp1252")
            out.append(char)
        except UnicodeEncodeError:
            base = "".join(c for c in unicodedata.normalize("NFKD", char)
                           if not unicodedata.combining(c))
            try:
                base.encode("cp1252")
                out.append(base or "?")
            except UnicodeEncodeError:
                out.append("?")
    return "".join(out)


def _markup(text: str) -> str:
    """Plain text as reportlab paragraph markup: escaped, line breaks and indents kept."""
    lines = []
    for line in _plain(text).split("\n"):
        stripped = line.lstrip(" ")
        lines.append("&nbsp;" * (len(line) - len(stripped)) + escape(stripped))
    return "<br/>".join(lines)


class _Styles:
    """Paragraph styles, built once per process."""

    _cache: dict[str, ParagraphStyle] | None = None

    @classmethod
    def get(cls) -> dict[str, ParagraphStyle]:
        if cls._cache is None:
            body = ParagraphStyle("body", fontName=_BODY_FONT, fontSize=11.5, leading=15,
                                  alignment=TA_JUSTIFY, spaceAfter=7)
            cls._cache = {
                "body": body,
                "plain": ParagraphStyle("plain", parent=body, alignment=0, spaceAfter=0),
                "title": ParagraphStyle("title", fontName=_BODY_BOLD, fontSize=13, leading=16,
                                        alignment=TA_CENTER),
                "number": ParagraphStyle("number", parent=body, alignment=TA_CENTER,
                                         spaceAfter=0),
                "right": ParagraphStyle("right", parent=body, alignment=TA_RIGHT, spaceAfter=0),
            }
        return cls._cache


class _DoubleRule(Flowable):
    """The thick-and-thin rule under a kop surat."""

    def __init__(self, width: float):
        super().__init__()
        self.width, self.height = width, 6

    def draw(self):
        canvas = self.canv
        canvas.setLineWidth(2.2)
        canvas.line(0, 4.5, self.width, 4.5)
        canvas.setLineWidth(0.6)
        canvas.line(0, 1, self.width, 1)


class _SignatureFlowable(Flowable):
    """Signature block on the right, paraf trail small on the left; records the stamp box."""

    _GAP = QUIET_ZONE  # between the text above the stamp and the stamp, and below it

    def __init__(self, content: LetterContent, width: float, with_place_date: bool, sink: list):
        super().__init__()
        sig = content.signature
        self.width = width
        self.column_x = width - STAMP_WIDTH
        self.sink = sink
        column = STAMP_WIDTH
        above: list[tuple[str, str]] = []
        if with_place_date:
            above += [(_BODY_FONT, line) for line in simpleSplit(
                _plain(content.place_date), _BODY_FONT, 11.5, column)]
        capacity, position = sig.capacity.strip(), sig.position.strip()
        if capacity.lower().rstrip(".") in ("plh", "plt"):  # acting: "Plt. Kepala Dinas ..."
            capacity, position = "", f"{capacity} {position}".strip()
        for text in (capacity, position):
            if text:
                above += [(_BODY_FONT, line) for line in simpleSplit(
                    _plain(text.strip()), _BODY_FONT, 11.5, column)]
        below = [(_BODY_BOLD, line) for line in simpleSplit(
            _plain(sig.name), _BODY_BOLD, 11.5, column)]
        if sig.nip:
            below.append((_BODY_FONT, f"NIP. {_plain(sig.nip)}"))
        self.above, self.below = above, below
        self.leading = 14.5
        paraf_width = max(self.column_x - 8 * mm, 40 * mm)
        paraf_lines: list[str] = []
        if content.paraf:
            paraf_lines.append("Paraf:")
            for p in content.paraf:
                text = f"{_plain(p.position)} - {_plain(p.name)}, {_plain(p.time)}"
                paraf_lines += simpleSplit(text, _HEAD_FONT, 7, paraf_width)
        self.paraf_lines = paraf_lines
        right = (len(above) + len(below)) * self.leading + STAMP_HEIGHT + 2 * self._GAP
        self.height = max(right, len(paraf_lines) * 8.5) + 4

    def wrap(self, available_width, available_height):
        return self.width, self.height

    def draw(self):
        canvas = self.canv
        y = self.height
        for font, line in self.above:
            y -= self.leading
            canvas.setFont(font, 11.5)
            canvas.drawString(self.column_x, y + 3.5, line)
        y -= self._GAP
        box_top = y
        box_bottom = y - STAMP_HEIGHT
        y = box_bottom - self._GAP
        for i, (font, line) in enumerate(self.below):
            y -= self.leading
            canvas.setFont(font, 11.5)
            canvas.drawString(self.column_x, y + 3.5, line)
            if i == 0:  # the name is underlined, as on paper
                canvas.setLineWidth(0.6)
                canvas.line(self.column_x, y + 2, self.column_x + stringWidth(
                    line, font, 11.5), y + 2)
        canvas.setFont(_HEAD_FONT, 7)
        for i, line in enumerate(reversed(self.paraf_lines)):
            canvas.drawString(0, 2 + i * 8.5, line)
        x1, y1 = canvas.absolutePosition(self.column_x, box_bottom)
        x2, y2 = canvas.absolutePosition(self.column_x + STAMP_WIDTH, box_top)
        self.sink.append(SignatureBox(canvas.getPageNumber() - 1, x1, y1, x2, y2))


def _kv_rows(paragraph: str) -> list[tuple[str, str]] | None:
    rows = []
    for line in paragraph.split("\n"):
        if not line.strip():
            continue
        match = _KV_LINE.match(line)
        if match is None:
            return None
        rows.append((match.group(1).strip(), (match.group(2) or "").strip()))
    return rows or None


class _KeyValueList(Flowable):
    """``key : value`` rows in aligned columns, values wrapped; splits between rows."""

    _SIZE, _LEADING = 11.5, 14.5

    def __init__(self, rows: list[tuple[str, str]], width: float, indent: float = 0):
        super().__init__()
        self.rows, self.width, self.indent = rows, width, indent
        key_width = max(stringWidth(k, _BODY_FONT, self._SIZE) for k, _ in rows) + 6
        self.key_width = min(key_width, (width - indent) * 0.42)
        value_width = width - indent - self.key_width - 8
        self.lines = [(simpleSplit(k, _BODY_FONT, self._SIZE, self.key_width - 4) or [""],
                       simpleSplit(v, _BODY_FONT, self._SIZE, value_width) or [""])
                      for k, v in rows]
        self.height = sum(max(len(k), len(v)) for k, v in self.lines) * self._LEADING

    def wrap(self, available_width, available_height):
        return self.width, self.height

    def split(self, available_width, available_height):
        fits, used = 0, 0.0
        for k, v in self.lines:
            used += max(len(k), len(v)) * self._LEADING
            if used > available_height:
                break
            fits += 1
        if fits in (0, len(self.rows)):
            return []
        return [_KeyValueList(self.rows[:fits], self.width, self.indent),
                _KeyValueList(self.rows[fits:], self.width, self.indent)]

    def draw(self):
        canvas = self.canv
        canvas.setFont(_BODY_FONT, self._SIZE)
        x_key, x_colon = self.indent, self.indent + self.key_width
        y = self.height - self._SIZE
        for key_lines, value_lines in self.lines:
            canvas.drawString(x_colon, y, ":")
            for i, line in enumerate(key_lines):
                canvas.drawString(x_key, y - i * self._LEADING, line)
            for i, line in enumerate(value_lines):
                canvas.drawString(x_colon + 8, y - i * self._LEADING, line)
            y -= max(len(key_lines), len(value_lines)) * self._LEADING


class _CentredLines(Flowable):
    """Letterhead lines, centred, each with its own font and size (no markup parsing); with
    a logo, the logo at the left and the lines centred in the room beside it."""

    _LOGO_HEIGHT, _LOGO_MAX_WIDTH, _LOGO_GAP = 22 * mm, 30 * mm, 4 * mm

    def __init__(self, lines: list[tuple[str, float, str]], width: float,
                 logo: bytes | None = None):
        super().__init__()
        self.width = width
        self.logo, self.logo_size, self.text_x = None, (0.0, 0.0), 0.0
        if logo:
            try:
                reader = ImageReader(io.BytesIO(logo))
                image_width, image_height = reader.getSize()
            except Exception as e:
                raise SigningError(f"cannot read the logo: {e}") from e
            height = self._LOGO_HEIGHT
            logo_width = height * image_width / image_height
            if logo_width > self._LOGO_MAX_WIDTH:
                logo_width, height = (self._LOGO_MAX_WIDTH,
                                      self._LOGO_MAX_WIDTH * image_height / image_width)
            self.logo, self.logo_size = reader, (logo_width, height)
            self.text_x = logo_width + self._LOGO_GAP
        room = width - self.text_x
        self.lines = [(font, size, wrapped) for font, size, text in lines
                      for wrapped in simpleSplit(text, font, size, room)]
        self.text_height = sum(size * 1.22 for _, size, _ in self.lines)
        self.height = max(self.text_height, self.logo_size[1])

    def wrap(self, available_width, available_height):
        return self.width, self.height

    def draw(self):
        if self.logo is not None:
            logo_width, logo_height = self.logo_size
            self.canv.drawImage(self.logo, 0, (self.height - logo_height) / 2,
                                logo_width, logo_height, mask="auto")
        y = self.height - (self.height - self.text_height) / 2
        centre = self.text_x + (self.width - self.text_x) / 2
        for font, size, line in self.lines:
            y -= size * 1.22
            self.canv.setFont(font, size)
            self.canv.drawCentredString(centre, y + size * 0.25, line)


def _story(content: LetterContent, width: float, sink: list) -> list[Flowable]:
    styles = _Styles.get()
    story: list[Flowable] = []
    head = []
    for i, line in enumerate(content.letterhead):
        if i == 0:
            head.append((_HEAD_BOLD, 15, _plain(line)))
        elif i == 1 and len(content.letterhead) > 2:  # the office under the government
            head.append((_HEAD_BOLD, 12, _plain(line)))
        else:
            head.append((_HEAD_FONT, 9.5, _plain(line)))
    head += [(_HEAD_FONT, 8.5, _plain(line)) for line in content.contact if line.strip()]
    story += [_CentredLines(head, width, content.logo), Spacer(1, 3), _DoubleRule(width),
              Spacer(1, 12)]

    if content.title.strip():
        story.append(Paragraph(f"<u>{_markup(content.title.strip())}</u>", styles["title"]))
        story.append(Paragraph(f"Nomor: {_markup(content.number)}", styles["number"]))
        story.append(Spacer(1, 12))
        header_rows = [("Perihal", content.subject)] if content.subject.strip() else []
    else:
        story.append(Paragraph(_markup(content.place_date), styles["right"]))
        story.append(Spacer(1, 6))
        header_rows = [("Nomor", content.number)]
        if content.subject.strip():
            header_rows.append(("Perihal", content.subject))
    if header_rows:
        story += [_KeyValueList([(k, _plain(v)) for k, v in header_rows], width),
                  Spacer(1, 10)]
    if content.addressee:
        story.append(Paragraph(_markup("\n".join(content.addressee)), styles["plain"]))
        story.append(Spacer(1, 12))

    for paragraph in content.body:
        rows = _kv_rows(_plain(paragraph))
        if rows is not None:
            # indented under the running text, as typed letters do
            story += [_KeyValueList(rows, width, indent=10 * mm), Spacer(1, 7)]
        elif paragraph.strip():
            story.append(Paragraph(_markup(paragraph.strip()), styles["body"]))

    story.append(Spacer(1, 8))
    # one unsplittable flowable: it moves to a new page whole when it does not fit
    story.append(_SignatureFlowable(content, width, with_place_date=bool(content.title.strip()),
                                    sink=sink))
    return story


def _footer(note: str, watermark: str = ""):
    lines = simpleSplit(_plain(note), _HEAD_FONT, 7, PAGE_WIDTH - MARGIN_LEFT - MARGIN_RIGHT - 50)
    lines = lines[:4]

    def draw(canvas, doc):
        canvas.saveState()
        if watermark:
            canvas.saveState()
            canvas.setFillGray(0.85)
            canvas.setFont(_HEAD_FONT, 110)
            canvas.translate(PAGE_WIDTH / 2, PAGE_HEIGHT / 2)
            canvas.rotate(45)
            canvas.drawCentredString(0, -35, _plain(watermark))
            canvas.restoreState()
        canvas.setFont(_HEAD_FONT, 7)
        canvas.setFillGray(0.25)
        y = 10 * mm + 8.5 * (len(lines) - 1)
        for line in lines:
            canvas.drawString(MARGIN_LEFT, y, line)
            y -= 8.5
        canvas.drawRightString(PAGE_WIDTH - MARGIN_RIGHT, 10 * mm, f"Halaman {doc.page}")
        canvas.setLineWidth(0.4)
        canvas.setStrokeGray(0.6)
        canvas.line(MARGIN_LEFT, 10 * mm + 8.5 * len(lines), PAGE_WIDTH - MARGIN_RIGHT,
                    10 * mm + 8.5 * len(lines))
        canvas.restoreState()

    return draw, 10 * mm + 8.5 * len(lines) + 4 * mm


def _canvas_maker(content: LetterContent):
    """reportlab's canvas, dated ``content.created_at`` when it is given."""
    if content.created_at is None:
        return Canvas
    formatter = _pdf_date(content.created_at)

    def make(*args, **kwargs):
        canvas = Canvas(*args, **kwargs)
        canvas.setDateFormatter(formatter)
        return canvas

    return make


def _pdf_date(moment: dt.datetime):
    """A reportlab date formatter writing ``moment`` (``D:YYYYMMDDHHmmSS+HH'mm'``) whatever
    the clock says; reportlab calls it with its own (invariant) timestamp, ignored here."""
    offset = int(moment.utcoffset().total_seconds()) // 60
    sign, offset = ("+" if offset >= 0 else "-"), abs(offset)
    text = f"D:{moment:%Y%m%d%H%M%S}{sign}{offset // 60:02d}'{offset % 60:02d}'"
    return lambda *_ignored: text


def render_letter(content: LetterContent) -> RenderedLetter:
    """Render ``content`` to an A4 PDF; the stamp box is on the last page, in PDF points."""
    if not isinstance(content, LetterContent):
        raise InvalidConfig(f"expected LetterContent, got {type(content).__name__}")
    footer, footer_height = _footer(content.footer_note, content.watermark)
    bottom = max(MARGIN_BOTTOM, footer_height)
    width = PAGE_WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    frame = Frame(MARGIN_LEFT, bottom, width, PAGE_HEIGHT - MARGIN_TOP - bottom,
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0, id="body")
    out = io.BytesIO()
    doc = BaseDocTemplate(
        out, pagesize=A4, pageTemplates=[PageTemplate("letter", [frame], onPage=footer)],
        title=_plain(content.title or content.subject or "Surat"),
        author=_plain(content.letterhead[0]), creator="Absah", subject=_plain(content.subject),
        invariant=True, pageCompression=True, allowSplitting=True,
    )
    sink: list[SignatureBox] = []
    try:
        with _BUILD_LOCK:
            # ASCII85 stream encoding only matters for 7-bit transports, and reportlab's
            # pure-Python encoder costs about 2 ms a letter: binary streams instead.
            saved, rl_config.useA85 = rl_config.useA85, 0
            try:
                doc.build(_story(content, width, sink), canvasmaker=_canvas_maker(content))
            finally:
                rl_config.useA85 = saved
    except SigningError:
        raise
    except Exception as e:  # reportlab raises LayoutError, ValueError, ... on odd input
        raise SigningError(f"cannot render the letter: {e}") from e
    if not sink:
        raise SigningError("cannot render the letter: the signature block was not placed")
    box = sink[-1]
    return RenderedLetter(pdf=out.getvalue(), signature_box=SignatureBox(
        box.page, round(box.x1, 2), round(box.y1, 2), round(box.x2, 2), round(box.y2, 2)),
        page_count=doc.page)
