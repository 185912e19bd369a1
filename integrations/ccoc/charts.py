"""Server-rendered SVG charts for the KPI page: no JavaScript, no chart library, prints as is.

Every label is escaped here, because the result is marked safe in the page.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

__all__ = ("bar_chart", "column_chart")

_BAR = "#1d4ed8"
_TEXT = "#0b2545"


def _fmt(value: float, unit: str) -> str:
    text = f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"
    return f"{text}{unit}"


def bar_chart(
    items: Sequence[tuple[str, float]], *, title: str, unit: str = "", width: int = 520, row: int = 26
) -> Markup:
    """Return horizontal bars, one per (label, value), longest first as given."""
    if not items:
        return Markup("")
    label_w = 170
    top = 8
    height = top + row * len(items) + 8
    most = max((v for _, v in items), default=0) or 1
    span = width - label_w - 70
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
        f'role="img" class="chart" aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for index, (label, value) in enumerate(items):
        y = top + index * row
        w = max(1.0, span * float(value) / most) if value else 0.0
        parts.append(
            f'<text x="{label_w - 8}" y="{y + row * 0.65:.1f}" font-size="13" text-anchor="end" '
            f'fill="{_TEXT}">{escape(label)}</text>'
            f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row - 8}" fill="{_BAR}" rx="2"/>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + row * 0.65:.1f}" font-size="13" '
            f'fill="{_TEXT}">{escape(_fmt(value, unit))}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def column_chart(
    items: Sequence[tuple[str, float | None]],
    *,
    title: str,
    unit: str = "",
    maximum: float | None = None,
    width: int = 520,
    height: int = 200,
) -> Markup:
    """Return vertical columns (a month series); None is drawn as a gap marked "–"."""
    if not items:
        return Markup("")
    values = [v for _, v in items if v is not None]
    most = maximum if maximum is not None else (max(values) if values else 1) or 1
    bottom = height - 28
    plot_h = bottom - 20
    step = width / len(items)
    bar_w = step * 0.6
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
        f'role="img" class="chart" aria-label="{escape(title)}"><title>{escape(title)}</title>',
        f'<line x1="0" y1="{bottom}" x2="{width}" y2="{bottom}" stroke="#94a3b8"/>',
    ]
    for index, (label, value) in enumerate(items):
        x = index * step + (step - bar_w) / 2
        cx = x + bar_w / 2
        if value is None:
            parts.append(f'<text x="{cx:.1f}" y="{bottom - 6}" font-size="12" text-anchor="middle">–</text>')
        else:
            h = plot_h * float(value) / most
            parts.append(
                f'<rect x="{x:.1f}" y="{bottom - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{_BAR}" rx="2"/>'
                f'<text x="{cx:.1f}" y="{bottom - h - 4:.1f}" font-size="12" text-anchor="middle" '
                f'fill="{_TEXT}">{escape(_fmt(value, unit))}</text>'
            )
        parts.append(
            f'<text x="{cx:.1f}" y="{height - 8}" font-size="12" text-anchor="middle" '
            f'fill="{_TEXT}">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
