"""The one set of SVG charts (CCOC KPI page, people poll): escaped text, sizes from the values."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from hub.http.charts import Series, bar_chart, column_chart, trend_chart

SVG = "{http://www.w3.org/2000/svg}"


def _bars(svg: str) -> dict[str, float]:
    root = ET.fromstring(svg)
    return {
        g.get("data-label") or "": float(g.find(f"{SVG}rect").get("width") or 0) for g in root.iter(f"{SVG}g")
    }


def test_bars_scale_to_the_largest_value_and_escape_their_labels() -> None:
    svg = str(bar_chart([("<script>", 10), ("ตลาด & ท่าน้ำ", 5), ("none", 0)], title='A "title"', unit=" s"))
    widths = _bars(svg)  # parses: every label was escaped
    assert widths["<script>"] == 2 * widths["ตลาด & ท่าน้ำ"] and widths["none"] == 0
    assert "<script>" not in svg and "10 s" in svg and "5 s" in svg
    assert 'aria-label="A &#34;title&#34;"' in svg


def test_shares_are_of_the_total_and_an_empty_chart_is_nothing() -> None:
    svg = str(bar_chart([("ใช่", 3), ("ไม่", 1)], title="q", shares=True, color="#0f766e"))
    assert "3 (75%)" in svg and "1 (25%)" in svg and 'fill="#0f766e"' in svg
    assert str(bar_chart([], title="q")) == ""
    assert "0 (—)" in str(bar_chart([("a", 0)], title="q", shares=True))


def test_columns_mark_gaps_and_lines_break_at_them() -> None:
    columns = str(
        column_chart([("ม.ค.", 50), ("ก.พ.", None), ("มี.ค.", 100)], title="online", unit="%", maximum=100)
    )
    ET.fromstring(columns)
    heights = [float(h) for h in re.findall(r'<rect [^>]*height="([\d.]+)"', columns)]
    assert heights[1] == 2 * heights[0] and "–" in columns
    trend = str(
        trend_chart(
            ["a", "b", "c", "d"], [Series("<yes>", [1, 2, None, 4], "#000")], title="t", y_min=0, y_max=5
        )
    )
    ET.fromstring(trend)
    assert trend.count("<polyline") == 1 and trend.count("<circle") == 3  # the gap splits the line
