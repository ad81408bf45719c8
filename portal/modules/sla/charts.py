"""The report's charts as small SVG drawn on the server: no JavaScript, a few hundred bytes
each, scaled to the screen by their viewBox. Each chart carries a text alternative; the
page shows the same figures in a table beside it."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

__all__ = ["steps_chart", "trend_chart"]

WIDTH = 320
ROW = 22
LABEL = 44  # room for the step's number at the left
ACTUAL = "#1d5f9e"  # the median achieved
LATE = "#b3261e"  # a median past the standard
STANDARD = "#222"  # the standard: a tick


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def steps_chart(steps: Sequence, title: str) -> Markup:
    """A bar per step: the median achieved, with a tick at the standard time (a red bar
    when the median passes it). ``steps``: objects with ``ref``, ``median`` and
    ``standard_minutes``; steps without a median are left out."""
    shown = [s for s in steps if s.median is not None]
    if not shown:
        return Markup("")
    top = max(max(s.median, s.standard_minutes or 0) for s in shown) or 1.0
    scale = (WIDTH - LABEL - 8) / top
    height = ROW * len(shown) + 6
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
             f'width="{WIDTH}" height="{height}" role="img" class="chart" '
             f'aria-label="{escape(title)}"><title>{escape(title)}</title>']
    for i, step in enumerate(shown):
        y = 3 + i * ROW
        late = step.standard_minutes is not None and step.median > step.standard_minutes
        parts.append(f'<text x="0" y="{y + 14}" font-size="12" fill="#222">'
                     f'{escape(str(step.ref))}</text>')
        parts.append(f'<rect x="{LABEL}" y="{y + 3}" width="{_num(max(step.median * scale, 1))}"'
                     f' height="14" fill="{LATE if late else ACTUAL}"/>')
        if step.standard_minutes:
            x = LABEL + step.standard_minutes * scale
            parts.append(f'<rect x="{_num(x - 1)}" y="{y}" width="2" height="20" '
                         f'fill="{STANDARD}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))


def trend_chart(weeks: Sequence, title: str) -> Markup:
    """A bar per week: the share of tasks within their standard time (0-100 %), with a
    line at 100 %. ``weeks``: objects with ``on_time`` (0-1 or None)."""
    if not weeks:
        return Markup("")
    height, base = 120, 110
    step = min(WIDTH / len(weeks), 24)
    width = max(step * len(weeks), 40)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_num(width)} {height}" '
             f'width="{_num(width)}" height="{height}" role="img" class="chart" '
             f'aria-label="{escape(title)}"><title>{escape(title)}</title>',
             f'<rect x="0" y="9" width="{_num(width)}" height="1" fill="#888"/>']
    for i, week in enumerate(weeks):
        if week.on_time is None:
            continue
        bar = max(week.on_time * 100, 1)
        parts.append(f'<rect x="{_num(i * step + 1)}" y="{_num(base - bar)}" '
                     f'width="{_num(max(step - 2, 1))}" height="{_num(bar)}" '
                     f'fill="{ACTUAL if week.on_time >= 0.8 else LATE}"/>')
    parts.append(f'<rect x="0" y="{base}" width="{_num(width)}" height="1" fill="#222"/></svg>')
    return Markup("".join(parts))
