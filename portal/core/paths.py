"""Where the portal's non-Python files are: next to the package when installed from a
wheel (which carries them as ``portal/_data/...``), else at the top of the source tree,
where they live and are edited (templates/, static/, migrations/)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["MIGRATIONS_DIR", "STATIC_DIR", "TEMPLATES_DIR", "TRANSLATIONS_DIR"]

PACKAGE_DIR = Path(__file__).resolve().parent.parent


def _data_dir(name: str) -> Path:
    bundled = PACKAGE_DIR / "_data" / name
    return bundled if bundled.is_dir() else PACKAGE_DIR.parent / name


TEMPLATES_DIR = _data_dir("templates")
STATIC_DIR = _data_dir("static")
MIGRATIONS_DIR = _data_dir("migrations")
TRANSLATIONS_DIR = PACKAGE_DIR / "translations"
