"""The committee's exports of a month's ranking: CSV and PDF.

CSV is UTF-8 with a byte-order mark, so a spreadsheet opens the Thai names
as Thai.  The PDF is made with fpdf2 (pure Python, maintained, no browser on
the server) with HarfBuzz shaping through uharfbuzz: Thai vowels and tone
marks sit on their consonants only when the text is shaped.  The other
choices were a PDF library that does not shape Thai, or keeping a Chromium on
every region server to print the HTML page.  The font is a Thai TrueType font
from Debian's fonts-thai-tlwg (``region.pdf_font``).
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

__all__ = ("ranking_csv", "ranking_pdf", "PdfFontMissing")


class PdfFontMissing(RuntimeError):
    """The configured Thai font is not on this machine."""


def _number(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return str(value)


def ranking_csv(ranking: dict[str, Any], labels: dict[str, str], lang: str) -> bytes:
    """Return the month's ranking as CSV: one row per station, every criterion's value and points."""
    out = io.StringIO()
    writer = csv.writer(out)
    criteria = ranking["criteria"]
    head = [labels["rank"], labels["station"], "id", labels["score"]]
    for c in criteria:
        name = c["label_th"] if lang == "th" else c["label_en"]
        head += [f"{name} ({labels['value']})", f"{name} ({labels['points']})"]
    head += [labels["trend"], labels["not_reported"]]
    writer.writerow([labels["month"], ranking["month"]])
    writer.writerow([labels["weights"]] + [f"{c['key']}={_number(c['weight'])}" for c in criteria])
    writer.writerow(head)
    for row in ranking["rows"]:
        line = [row["rank"], row["name"], row["station_id"], _number(row["score"])]
        for c in criteria:
            item = row["criteria"][c["key"]]
            line += [_number(item["value"]), _number(item["points"])]
        line += [_number(row["change"]), " ".join(row["missing"])]
        writer.writerow(line)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def ranking_pdf(
    ranking: dict[str, Any], labels: dict[str, str], lang: str, *, font: str, title: str, tz: tzinfo
) -> bytes:
    """Return the month's ranking as an A4 landscape PDF (Thai shaped by HarfBuzz).

    The table is laid out cell by cell, with shaping switched on only for text that
    needs it (names, headings): shaping every number made a 1,500-station PDF take
    20 s instead of about one.
    """
    from fpdf import FPDF

    regular = Path(font)
    if not regular.is_file():
        raise PdfFontMissing(f"the PDF font {font} is missing (Debian: apt-get install fonts-thai-tlwg)")
    bold = regular.with_name(regular.stem + "-Bold" + regular.suffix)
    pdf = FPDF(orientation="L", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(10, 10, 10)
    pdf.add_font("thai", "", str(regular))
    pdf.add_font("thai", "B", str(bold if bold.is_file() else regular))
    pdf.set_title(f"{title} {ranking['month']}")
    criteria = ranking["criteria"]

    def name(c: dict[str, Any]) -> str:
        return str(c["label_th"] if lang == "th" else c["label_en"])

    # Rank, station, score, one column per criterion, trend: across the page's 277 mm.
    fixed = (10.0, 62.0, 16.0)
    trend = 14.0
    each = (277.0 - sum(fixed) - trend) / max(1, len(criteria))
    widths = [*fixed, *([each] * len(criteria)), trend]
    line = 4.6

    def head() -> None:
        pdf.set_text_shaping(True)
        pdf.set_font("thai", "B", 6.5)
        pdf.set_fill_color(230, 230, 230)
        titles = [labels["rank"], labels["station"], labels["score"]]
        titles += [f"{name(c)} ({_number(c['weight'])})" for c in criteria]
        titles.append(labels["trend"])
        y = pdf.get_y()
        for text, width in zip(titles, widths, strict=True):
            x = pdf.get_x()
            pdf.multi_cell(
                width, 3.2, text=text, border=1, fill=True, max_line_height=3.2, new_x="RIGHT", new_y="TOP"
            )
            pdf.set_xy(x + width, y)
        pdf.set_xy(pdf.l_margin, y + 9.6)
        pdf.set_font("thai", "", 7)

    def page() -> None:
        pdf.add_page()
        pdf.set_text_shaping(True)
        pdf.set_font("thai", "B", 13)
        pdf.cell(text=f"{title} · {labels['ranking']} {ranking['month']}", new_x="LMARGIN", new_y="NEXT")
        head()

    page()
    pdf.set_font("thai", "", 7)
    made = datetime.fromtimestamp(ranking["generated_at"], tz).strftime("%Y-%m-%d %H:%M")
    for row in ranking["rows"]:
        if pdf.will_page_break(line + 14):
            pdf.set_text_shaping(True)
            pdf.set_y(-12)
            pdf.cell(text=f"{labels['weighting_note']} · {made} · {pdf.page_no()}")
            page()
        pdf.set_text_shaping(False)
        pdf.cell(widths[0], line, str(row["rank"]), border=1)
        pdf.set_text_shaping(True)
        pdf.cell(widths[1], line, str(row["name"])[:60], border=1)
        pdf.set_text_shaping(False)
        pdf.cell(widths[2], line, _number(row["score"]), border=1, align="R")
        for c, width in zip(criteria, widths[3:-1], strict=True):
            item = row["criteria"][c["key"]]
            value = item["value"]
            text = "-" if value is None else f"{_number(value)}{c['unit']} | {_number(item['points'])}"
            pdf.cell(width, line, text, border=1, align="R")
        change = row["change"]
        pdf.cell(
            widths[-1],
            line,
            "" if change is None else (f"+{change}" if change > 0 else str(change)),
            border=1,
            align="R",
        )
        pdf.ln(line)
    pdf.set_text_shaping(True)
    weights = ", ".join(f"{name(c)} {_number(c['weight'])}" for c in criteria)
    pdf.ln(2)
    pdf.multi_cell(0, 4, text=f"{labels['weights']}: {weights}. {labels['weighting_note']}. ({made})")
    return bytes(pdf.output())
