"""Page previews of uploaded documents: a small JPEG per page (up to ten), made once at
upload, so checking a 3 MB scan costs tens of kilobytes; the original stays one tap away.

Uploads are untrusted: a 600 KB PNG can declare 12,500 x 12,500 pixels and take 1.4 GB and
seconds to decode. So:
- ``image_size`` reads an image's size from its header (no decoding), and uploads larger
  than MAX_PIXELS are refused with a message (``documents.upload_problem``);
- an upload renders in a separate, short-lived process (this file run as a script) whose
  address space is capped at MEMORY_LIMIT_MB and its CPU at CPU_LIMIT_S, with a wall-clock
  timeout: a file that still blows up costs that process, never a worker of the portal;
- JPEGs are decoded at a reduced scale (``Image.draft``), large PNGs reduced right after
  decoding, PDF pages rendered straight at preview width;
- callers make previews before their database transaction, never inside it.
Files the portal made itself (its letters) render in process: ``make_previews``.
"""

from __future__ import annotations

import io
import logging
import struct
import subprocess
import sys

__all__ = ["MAX_PAGES", "MAX_PIXELS", "image_size", "make_previews", "make_upload_previews",
           "render_previews"]

log = logging.getLogger(__name__)

MAX_PAGES = 10
WIDTH = 640  # pixels: readable on a phone screen; a page of text is ~40-80 KB as JPEG
QUALITY = 50
MAX_PIXELS = 50_000_000  # a 50 MP phone photo or an A4 scan at 600 dpi (35 MP) passes
MAX_PAGE_HEIGHT = WIDTH * 20  # a PDF page 20 times taller than wide is rendered shorter
MEMORY_LIMIT_MB = 768  # address space of the rendering process
CPU_LIMIT_S = 20
TIMEOUT_S = 60.0


def image_size(data: bytes, media_type: str) -> tuple[int, int] | None:
    """(width, height) from a PNG's or JPEG's header, without decoding; None if unknown."""
    if media_type == "image/png":
        if len(data) >= 24 and data[12:16] == b"IHDR":
            return struct.unpack(">II", data[16:24])
        return None
    if media_type == "image/jpeg":
        index = 2
        while index + 9 <= len(data):
            if data[index] != 0xFF:
                return None
            marker = data[index + 1]
            if marker == 0xFF:  # fill byte
                index += 1
                continue
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # no length
                index += 2
                continue
            length = struct.unpack(">H", data[index + 2:index + 4])[0]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", data[index + 5:index + 9])
                return width, height
            index += 2 + length
    return None


def _jpeg(image, max_bytes: int | None = None) -> bytes:
    """A JPEG of the image at most WIDTH wide; with ``max_bytes``, in grey and at a lower
    quality until it fits (a page of black text loses nothing readable)."""
    from PIL import Image

    if image.mode not in ("RGB", "L", "RGBA", "LA"):
        image = image.convert("RGBA")  # palette, 1-bit, 16-bit: one mode reduce() takes
    if image.width >= 4 * WIDTH:  # cheap integer reduction first: LANCZOS on less
        image = image.reduce(image.width // (2 * WIDTH))
    if max_bytes is not None:
        image = image.convert("L")
    elif image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    if image.width > WIDTH:
        image = image.resize((WIDTH, max(1, round(image.height * WIDTH / image.width))),
                             Image.Resampling.LANCZOS)
    for quality in (QUALITY, 40, 30, 20):
        out = io.BytesIO()
        image.save(out, "JPEG", quality=quality, optimize=True, progressive=True)
        if max_bytes is None or out.tell() <= max_bytes:
            break
    return out.getvalue()


def render_previews(data: bytes, media_type: str, max_bytes: int | None = None) -> list[bytes]:
    """The previews, rendered in this process; raises on a file that cannot be read."""
    if media_type == "application/pdf":
        import pypdfium2

        pdf = pypdfium2.PdfDocument(data)
        try:
            pages = []
            for index in range(min(len(pdf), MAX_PAGES)):
                page = pdf[index]
                width, height = max(page.get_width(), 1), max(page.get_height(), 1)
                scale = min(WIDTH / width, MAX_PAGE_HEIGHT / height)
                bitmap = page.render(scale=scale)
                pages.append(_jpeg(bitmap.to_pil(), max_bytes))
                bitmap.close()
                page.close()
            return pages
        finally:
            pdf.close()
    if media_type in ("image/jpeg", "image/png"):
        from PIL import Image

        size = image_size(data, media_type)
        if size is None or size[0] * size[1] > MAX_PIXELS:
            raise ValueError(f"image of {size} pixels: over the limit or unreadable")
        Image.MAX_IMAGE_PIXELS = MAX_PIXELS
        with Image.open(io.BytesIO(data)) as image:
            if media_type == "image/jpeg":
                image.draft("RGB", (WIDTH, max(1, round(image.height * WIDTH / image.width))))
            image.load()
            return [_jpeg(image, max_bytes)]
    return []


def make_previews(data: bytes, media_type: str, max_bytes: int | None = None) -> list[bytes]:
    """JPEG previews of a PDF's pages or of an image (each at most ``max_bytes`` when
    given, in grey), rendered in this process: for files the portal made itself (letters,
    drafts). Empty when the file cannot be read."""
    try:
        return render_previews(data, media_type, max_bytes)
    except Exception as exc:  # noqa: BLE001 (a preview is a convenience, not a check)
        log.warning("preview: cannot render a %s file: %s", media_type, exc)
        return []


def make_upload_previews(data: bytes, media_type: str,
                         max_bytes: int | None = None) -> list[bytes]:
    """``make_previews`` for an uploaded (untrusted) file: rendered in a separate process
    with capped memory and CPU and a timeout; empty when the file cannot be read within
    them (the upload itself is kept: a preview is a convenience, not a check). Call it
    outside any database transaction."""
    if media_type not in ("application/pdf", "image/jpeg", "image/png"):
        return []
    command = [sys.executable, "-I", __file__, media_type, str(max_bytes or 0),
               str(MEMORY_LIMIT_MB), str(CPU_LIMIT_S)]
    try:
        done = subprocess.run(command, input=data, capture_output=True, timeout=TIMEOUT_S,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("preview: the renderer of a %s upload did not finish: %s", media_type, exc)
        return []
    if done.returncode != 0:
        log.warning("preview: cannot render a %s upload (exit %s): %s", media_type,
                    done.returncode, done.stderr.decode("utf-8", "replace")[-300:].strip())
        return []
    return _unpack(done.stdout)


def _pack(pages: list[bytes]) -> bytes:
    return b"".join(struct.pack(">I", len(page)) + page for page in pages)


def _unpack(blob: bytes) -> list[bytes]:
    pages, index = [], 0
    while index + 4 <= len(blob):
        (length,) = struct.unpack(">I", blob[index:index + 4])
        pages.append(blob[index + 4:index + 4 + length])
        index += 4 + length
    return pages


def _main(argv: list[str]) -> int:
    """The renderer process: limits first, then the bytes on stdin to previews on stdout."""
    import resource

    media_type, max_bytes = argv[1], int(argv[2]) or None
    memory, cpu = int(argv[3]) * 1024 * 1024, int(argv[4])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    data = sys.stdin.buffer.read()
    try:
        pages = render_previews(data, media_type, max_bytes)
    except MemoryError:
        print("out of memory", file=sys.stderr)
        return 3
    except Exception as exc:  # noqa: BLE001 (report why, exit non-zero)
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    sys.stdout.buffer.write(_pack(pages))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv))
