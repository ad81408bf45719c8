"""Where SOP specs come from: the seeds shipped with the package, and parsed sources."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from portal.sop.spec import SopSpec, load_sop

__all__ = ["SEEDS_DIR", "seed_files", "sha256_hex", "spec_from_source"]

SEEDS_DIR = Path(__file__).resolve().parent / "seeds"


def seed_files() -> list[Path]:
    """The YAML files of the SOPs the portal ships with."""
    return sorted(SEEDS_DIR.glob("*.yaml"))


def sha256_hex(text: str) -> str:
    """The SHA-256 of an SOP source, as stored with each version."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@lru_cache(maxsize=256)
def spec_from_source(source: str, sha256: str) -> SopSpec:
    """Parse a stored SOP source once per process (keyed by its hash)."""
    return load_sop(source, filename=f"sop:{sha256[:12]}")
