"""Where SOP specs come from: the seeds shipped with the package, and parsed sources."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from portal.modules.sops.spec import SopSpec, load_sop

__all__ = ["SEEDS_DIR", "cached_spec", "seed_files", "sha256_hex", "spec_from_source"]

SEEDS_DIR = Path(__file__).resolve().parent / "seeds"


def seed_files() -> list[Path]:
    """The YAML files of the SOPs the portal ships with."""
    return sorted(SEEDS_DIR.glob("*.yaml"))


def sha256_hex(text: str) -> str:
    """The SHA-256 of an SOP source, as stored with each version."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_BY_HASH: dict[str, SopSpec] = {}


def cached_spec(sha256: str) -> SopSpec | None:
    """The spec of a source this process has parsed already, by the source's hash."""
    return _BY_HASH.get(sha256)


def spec_from_source(source: str, sha256: str) -> SopSpec:
    """Parse a stored SOP source once per process (keyed by its hash)."""
    spec = _BY_HASH.get(sha256)
    if spec is None:
        spec = _parse(source, sha256)
        if len(_BY_HASH) > 512:  # versions are few; this only bounds a pathological import
            _BY_HASH.clear()
        _BY_HASH[sha256] = spec
    return spec


@lru_cache(maxsize=8)
def _parse(source: str, sha256: str) -> SopSpec:
    return load_sop(source, filename=f"sop:{sha256[:12]}")
