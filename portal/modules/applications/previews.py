"""Page previews of uploaded documents: a small JPEG per page (up to ten), made once at
upload, so checking a 3 MB scan costs tens of kilobytes; the original stays one tap away."""

from __future__ import annotations

import io
import logging

__all__ = ["MAX_PAGES", "make_previews"]

log = logging.getLogger(__name__)

MAX_PAGES = 10
WIDTH = 640  # pixels: readable on a phone screen; a page of text is ~40-80 KB as JPEG
QUALITY = 50


def _jpeg(image, max_bytes: int | None = None) -> bytes:
    """A JPEG of the image at most WIDTH wide; with ``max_bytes``, in grey and at a lower
    quality until it fits (a page of black text loses nothing readable)."""
    from PIL import Image

    if max_bytes is not None:
        image = image.convert("L")
    elif image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    if image.width > WIDTH:
        image = image.resize((WIDTH, round(image.height * WIDTH / image.width)),
                             Image.Resampling.LANCZOS)
    for quality in (QUALITY, 40, 30, 20):
        out = io.BytesIO()
        image.save(out, "JPEG", quality=quality, optimize=True, progressive=True)
        if max_bytes is None or out.tell() <= max_bytes:
            break
    return out.getvalue()


def make_previews(data: bytes, media_type: str, max_bytes: int | None = None) -> list[bytes]:
    """JPEG previews of a PDF's pages or of an image (each at most ``max_bytes`` when
    given, in grey); empty when the file cannot be read (the upload itself is kept: a
    preview is a convenience, not a check)."""
    try:
        if media_type == "application/pdf":
            import pypdfium2

            pdf = pypdfium2.PdfDocument(data)
            try:
                pages = []
                for index in range(min(len(pdf), MAX_PAGES)):
                    page = pdf[index]
                    scale = WIDTH / max(page.get_width(), 1)
                    bitmap = page.render(scale=scale)
                    pages.append(_jpeg(bitmap.to_pil(), max_bytes))
                    bitmap.close()
                    page.close()
                return pages
            finally:
                pdf.close()
        if media_type in ("image/jpeg", "image/png"):
            from PIL import Image

            with Image.open(io.BytesIO(data)) as image:
                image.load()
                return [_jpeg(image, max_bytes)]
    except Exception as exc:  # noqa: BLE001 (a broken file must not break the upload)
        log.warning("preview: cannot render a %s upload: %s", media_type, exc)
    return []
