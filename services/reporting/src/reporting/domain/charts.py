"""Charts of the console as inline SVG, drawn on the server (no JavaScript, no chart library): a KPI's trend
against its goal and trouble lines, and A/R by aging bucket. Each chart is an image with a title and a text
description (screen readers read the numbers; the page also shows them as a table)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape

WIDTH, HEIGHT = 320, 132
LEFT, RIGHT, TOP, BOTTOM = 34, 8, 10, 22
JUDGEMENT_COLOURS = {"on_target": "#1a7f37", "watch": "#9a6700", "trouble": "#cf222e", "no_target": "#57606a",
                     "no_data": "#57606a"}


@dataclass(frozen=True)
class Point:
    label: str  # what the x axis says under it ("Nov 3", "2026-11")
    value: Decimal | None


def _fmt(value: Decimal) -> str:
    return f"{value:.0f}" if value == value.to_integral_value() else f"{value:.1f}"


def _nice(value: Decimal) -> Decimal:
    """The axis top: the value rounded up to 1, 2, 2.5 or 5 times a power of ten (36.7 -> 50, 57.5 -> 100)."""
    if value <= 0:
        return Decimal(1)
    power = Decimal(10) ** (len(str(int(value))) - 1) if value >= 1 else Decimal("0.1")
    for step in (1, 2, Decimal("2.5"), 5, 10):
        if value <= power * step:
            return power * step
    return power * 10


def trend_chart(chart_id: str, title: str, points: Sequence[Point], *, goal: Decimal | None = None,
                trouble: Decimal | None = None, unit: str = "%") -> str:
    """A line of the KPI per period, the goal (green, dashed) and trouble (red, dotted) lines; a period with no
    claims is a gap in the line, not a zero."""
    known = [p.value for p in points if p.value is not None]
    lines = [v for v in (goal, trouble) if v is not None]
    top = max([*known, *lines, Decimal(1)])
    bottom = min([*known, *lines, Decimal(0)])
    top = _nice(top * Decimal("1.1"))
    if unit == "%":
        top, bottom = min(Decimal(100), top), max(Decimal(0), bottom)
    span = (top - bottom) or Decimal(1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(1, len(points) - 1)

    def x(i: int) -> float:
        return LEFT + (i * step if len(points) > 1 else plot_w / 2)

    def y(v: Decimal) -> float:
        return TOP + float((top - v) / span) * plot_h

    safe_id = escape(chart_id)
    described = ", ".join(f"{p.label}: {'no claims' if p.value is None else _fmt(p.value) + unit}" for p in points)
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{safe_id}-t '
             f'{safe_id}-d" preserveAspectRatio="xMidYMid meet">',
             f'<title id="{safe_id}-t">{escape(title)}</title>',
             f'<desc id="{safe_id}-d">{escape(described)}</desc>',
             f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}" y2="{TOP + plot_h}" class="axis"/>']
    for v in (top, bottom):
        parts.append(f'<text x="{LEFT - 4}" y="{y(v) + 4:.1f}" class="tick" text-anchor="end">{_fmt(v)}</text>')
    if goal is not None:
        parts.append(f'<line x1="{LEFT}" y1="{y(goal):.1f}" x2="{WIDTH - RIGHT}" y2="{y(goal):.1f}" class="goal"/>')
    if trouble is not None:
        parts.append(f'<line x1="{LEFT}" y1="{y(trouble):.1f}" x2="{WIDTH - RIGHT}" y2="{y(trouble):.1f}" '
                     'class="trouble"/>')
    segment: list[str] = []
    segments: list[list[str]] = []
    for i, p in enumerate(points):
        if p.value is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        segment.append(f"{x(i):.1f},{y(p.value):.1f}")
    if segment:
        segments.append(segment)
    for s in segments:
        parts.append(f'<polyline points="{" ".join(s)}" class="series"/>')
    for i, p in enumerate(points):
        if p.value is not None:
            parts.append(f'<circle cx="{x(i):.1f}" cy="{y(p.value):.1f}" r="2.5" class="dot"/>')
    label_every = max(1, -(-len(points) // 6))
    for i, p in enumerate(points):
        if (len(points) - 1 - i) % label_every == 0:  # counted from the latest period, which is always named
            anchor = "end" if i == len(points) - 1 and len(points) > 1 else (
                "start" if i == 0 and len(points) > 1 else "middle")  # the ends stay inside the chart
            parts.append(f'<text x="{x(i):.1f}" y="{HEIGHT - 6}" class="tick" text-anchor="{anchor}">'
                         f'{escape(p.label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def bucket_bars(chart_id: str, title: str, buckets: Sequence[tuple[str, int]]) -> str:
    """A/R cents per aging bucket as bars, the older buckets darker."""
    most = max([c for _, c in buckets] + [1])
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM - 10  # room for the amount over the tallest bar
    slot = plot_w / max(1, len(buckets))
    shades = ["#8fb8de", "#5b8fc7", "#2f6aa8", "#1d4d80", "#0f2f52"]
    safe_id = escape(chart_id)
    described = ", ".join(f"{label} days: ${cents / 100:,.2f}" for label, cents in buckets)
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{safe_id}-t '
             f'{safe_id}-d">', f'<title id="{safe_id}-t">{escape(title)}</title>',
             f'<desc id="{safe_id}-d">{escape(described)}</desc>']
    for i, (label, cents) in enumerate(buckets):
        h = plot_h * (cents / most)
        bx = LEFT + i * slot + slot * 0.15
        base = HEIGHT - BOTTOM
        parts.append(f'<rect x="{bx:.1f}" y="{base - h:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}" '
                     f'fill="{shades[min(i, len(shades) - 1)]}"/>')
        parts.append(f'<text x="{bx + slot * 0.35:.1f}" y="{HEIGHT - 6}" class="tick" text-anchor="middle">'
                     f'{escape(label)}</text>')
        if cents:
            parts.append(f'<text x="{bx + slot * 0.35:.1f}" y="{base - h - 3:.1f}" class="tick" '
                         f'text-anchor="middle">${cents / 100:,.0f}</text>')
    parts.append(f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - RIGHT}" y2="{HEIGHT - BOTTOM}" class="axis"/>')
    parts.append("</svg>")
    return "".join(parts)
