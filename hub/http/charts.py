"""Server-rendered SVG charts for the hub's and plugins' pages: no script, no chart library,
readable on an old phone and when printed.

One of each: :func:`bar_chart` (horizontal bars: the CCOC's KPI page, the people poll's
results), :func:`column_chart` (a month series) and :func:`trend_chart` (month-over-month
lines).  Every piece of text goes through :func:`markupsafe.escape` before it enters the
SVG, because the result is placed in the page as markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

__all__ = ("Series", "bar_chart", "column_chart", "trend_chart")

_BAR = "#1d4ed8"
_TEXT = "#0b2545"
#: Thai-capable fonts first (fonts-thai-tlwg on the hub), so labels render the same in print.
_FONT = 'font-family="Loma, Garuda, Tahoma, sans-serif"'


@dataclass(frozen=True)
class Series:
    """One line of a trend chart."""

    name: str
    values: Sequence[float | None]
    color: str


def _fmt(value: float, unit: str) -> str:
    text = f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"
    return f"{text}{unit}"


def bar_chart(
    items: Sequence[tuple[str, float]],
    *,
    title: str,
    unit: str = "",
    shares: bool = False,
    color: str = _BAR,
    width: int = 520,
    row: int = 26,
    label_width: int = 170,
) -> Markup:
    """Return horizontal bars, one per (label, value), in the order given.

    Each bar is labelled with its value (and ``unit``); ``shares`` adds its share of the
    total, as "12 (40%)".  Nothing at all for no items.
    """
    if not items:
        return Markup("")
    total = sum(v for _, v in items)
    pad = 6
    height = pad * 2 + row * len(items)
    most = max((v for _, v in items), default=0) or 1
    span = width - label_width - (80 if shares else 70)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart bar-chart" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="{escape(title)}" {_FONT}><title>{escape(title)}</title>'
    ]
    for index, (label, value) in enumerate(items):
        y = pad + index * row
        w = max(1.0, span * float(value) / most) if value else 0.0
        text = _fmt(value, unit)
        if shares:
            text += f" ({value / total * 100:.0f}%)" if total else " (—)"
        parts.append(
            f'<g class="bar" data-label="{escape(label)}" data-value="{value}">'
            f'<text x="{label_width - 8}" y="{y + row * 0.65:.1f}" font-size="13" text-anchor="end" '
            f'fill="{_TEXT}">{escape(label)}</text>'
            f'<rect x="{label_width}" y="{y + 4}" width="{w:.1f}" height="{row - 8}" fill="{color}" rx="2"/>'
            f'<text x="{label_width + w + 6:.1f}" y="{y + row * 0.65:.1f}" font-size="13" '
            f'fill="{_TEXT}">{escape(text)}</text></g>'
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
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart column-chart" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="{escape(title)}" {_FONT}><title>{escape(title)}</title>',
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


def trend_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    y_min: float,
    y_max: float,
    unit: str = "",
    width: int = 560,
    height: int = 230,
) -> Markup:
    """Return a month-over-month line chart; a month without answers leaves a gap in its line.

    The legend is left to the page (HTML wraps Thai text better than SVG).
    """
    left, right, top, bottom = 44, 12, 14, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / max(len(labels) - 1, 1)

    def x(i: int) -> float:
        return left + i * step

    def y(v: float) -> float:
        return top + plot_h - (v - y_min) / (y_max - y_min) * plot_h

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart trend-chart" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="{escape(title)}" {_FONT}><title>{escape(title)}</title>'
    ]
    for k in range(5):
        tick = y_min + (y_max - y_min) * k / 4
        out.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#e5e7eb"/>'
            f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" font-size="11" fill="#4b5563">'
            f"{tick:g}{escape(unit)}</text>"
        )
    every = max(1, len(labels) // 6)
    last = len(labels) - 1
    for i, label in enumerate(labels):
        if i % every == 0 or i == last:
            # The end labels are anchored inwards so they are not cut off at the edges.
            anchor = "end" if i == last and last > 0 else ("start" if i == 0 else "middle")
            out.append(
                f'<text x="{x(i):.1f}" y="{height - bottom + 18}" text-anchor="{anchor}" font-size="11" '
                f'fill="#4b5563">{escape(label)}</text>'
            )
    for s in series:
        runs: list[list[tuple[float, float, float]]] = [[]]
        for i, v in enumerate(s.values):
            if v is None:
                runs.append([])
            else:
                runs[-1].append((x(i), y(v), v))
        out.append(f'<g class="series" data-name="{escape(s.name)}">')
        for run in runs:
            if len(run) > 1:
                pts = " ".join(f"{px:.1f},{py:.1f}" for px, py, _ in run)
                out.append(f'<polyline points="{pts}" fill="none" stroke="{s.color}" stroke-width="2.5"/>')
            for px, py, v in run:
                out.append(
                    f'<circle cx="{px:.1f}" cy="{py:.1f}" r="4" fill="{s.color}" data-value="{v:.2f}">'
                    f"<title>{escape(s.name)}: {v:.2f}{escape(unit)}</title></circle>"
                )
        out.append("</g>")
    out.append("</svg>")
    return Markup("".join(out))
