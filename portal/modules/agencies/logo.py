"""The agency's logo for the kop surat: an uploaded PNG or JPEG, checked by its content (not
its name), decoded by Pillow and stored again as a PNG of a sensible size.

SVG is refused: no library installed here rasterises it, and an SVG passed on as it is
could carry scripts or fetch other files. An administrator exports the logo as PNG.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, UnidentifiedImageError

from portal.core.i18n import LazyText
from portal.core.i18n import lazy_gettext as _l

__all__ = ["LOGO_MAX_BYTES", "LOGO_MAX_PIXELS", "LogoError", "scaled_logo"]

LOGO_MAX_BYTES = 1024 * 1024
"""The largest upload accepted (1 MB): a kop logo is small."""

LOGO_MAX_PIXELS = 512
"""The longer side of the stored logo: about 25 mm on the letter, so some 500 dpi."""

_DECODE_LIMIT = 40_000_000  # pixels of an upload Pillow is asked to decode at all
_FORMATS = {"PNG": b"\x89PNG\r\n\x1a\n", "JPEG": b"\xff\xd8\xff"}


class LogoError(ValueError):
    """The upload cannot serve as a logo; ``message`` says why, fit to show."""

    def __init__(self, message: LazyText):
        self.message = message
        super().__init__(str(message))


def _looks_like_svg(data: bytes) -> bool:
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith(b"<") and b"<svg" in data[:65536].lower()


def scaled_logo(data: bytes) -> bytes:
    """The logo as a PNG at most LOGO_MAX_PIXELS on its longer side; LogoError otherwise."""
    if len(data) > LOGO_MAX_BYTES:
        raise LogoError(_l("Logo melebihi %(size)s MB.", size=LOGO_MAX_BYTES // (1024 * 1024)))
    if _looks_like_svg(data):
        raise LogoError(_l("Logo SVG belum dapat dipakai: unggah logo sebagai PNG atau JPEG."))
    kind = next((name for name, magic in _FORMATS.items() if data.startswith(magic)), None)
    if kind is None:
        raise LogoError(_l("Berkas ini bukan gambar PNG atau JPEG."))
    unreadable = LogoError(_l("Gambar logo rusak atau tidak terbaca."))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[kind]) as probe:
                width, height = probe.size
                if width * height > _DECODE_LIMIT:
                    raise LogoError(_l("Gambar logo terlalu besar (ukuran piksel)."))
                probe.verify()
            with Image.open(io.BytesIO(data), formats=[kind]) as image:
                image.load()
                image = image.convert("RGBA" if _has_alpha(image) else "RGB")
    except LogoError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError,
            Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise unreadable from None
    if min(image.size) < 1:
        raise unreadable
    image.thumbnail((LOGO_MAX_PIXELS, LOGO_MAX_PIXELS), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info)
