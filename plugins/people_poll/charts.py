"""Server-rendered SVG charts: no script, no CDN, readable on an old phone and when printed.

Every piece of text goes through :func:`markupsafe.escape` before it enters
the SVG, because the result is placed in the page as markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

__all__ = ("Series", "bar_chart", "trend_chart")

_FONT = 'font-family="Loma, Garuda, Tahoma, sans-serif"'


@dataclass(frozen=True)
class Series:
    """One line of a trend chart."""

    name: str
    values: Sequence[float | None]
    color: str


def bar_chart(
    bars: Sequence[tuple[str, int]], *, title: str, width: int = 420, color: str = "#1d4ed8"
) -> Markup:
    """Return horizontal bars with their counts and shares of the total."""
    total = sum(v for _, v in bars)
    label_w, value_w, row_h, pad = 140, 80, 30, 6
    bar_w = width - label_w - value_w
    height = row_h * len(bars) + pad * 2
    peak = max((v for _, v in bars), default=0) or 1
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart bar-chart" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="{escape(title)}" {_FONT}><title>{escape(title)}</title>'
    ]
    for i, (label, value) in enumerate(bars):
        y = pad + i * row_h
        w = bar_w * value / peak
        share = f"{value / total * 100:.0f}%" if total else "—"
        out.append(
            f'<g class="bar" data-label="{escape(label)}" data-value="{value}">'
            f'<text x="{label_w - 8}" y="{y + row_h / 2 + 5:.1f}" text-anchor="end" font-size="14" fill="#111827">'
            f"{escape(label)}</text>"
            f'<rect x="{label_w}" y="{y + 4}" width="{max(w, 0):.1f}" height="{row_h - 8}" rx="3" fill="{color}"/>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + row_h / 2 + 5:.1f}" font-size="13" fill="#4b5563">'
            f"{value} ({share})</text></g>"
        )
    out.append("</svg>")
    return Markup("".join(out))


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
