"""Building frozen dataclasses from plain mappings, rejecting unknown keys (pyHanko's habit)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

from .errors import InvalidConfig

__all__ = ["build_from_config"]

T = TypeVar("T")


def build_from_config(cls: type[T], config: Mapping[str, Any], what: str) -> T:
    """``cls(**config)`` after checking the keys against ``cls``'s fields, with readable errors."""
    if not isinstance(config, Mapping):
        raise InvalidConfig(f"{what}: expected a mapping, got {type(config).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init and not f.name.startswith("_")}
    unknown = sorted(set(config) - set(fields))
    if unknown:
        raise InvalidConfig(
            f"{what}: unknown key(s) {', '.join(map(repr, unknown))}; "
            f"known keys are {', '.join(sorted(fields))}"
        )
    missing = sorted(
        name for name, f in fields.items()
        if name not in config
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    )
    if missing:
        raise InvalidConfig(f"{what}: missing key(s) {', '.join(map(repr, missing))}")
    try:
        return cls(**config)
    except InvalidConfig:
        raise
    except (TypeError, ValueError) as e:
        raise InvalidConfig(f"{what}: {e}") from e
