"""TODO docstring (portal/operations.py, portal/administration.py)."""

from __future__ import annotations

import re

EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


MIN_PASSWORD = 10

