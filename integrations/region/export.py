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
    """Return the month's ranking as an A4 landscape PDF (Thai shaped by HarfBuzz)."""
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    regular = Path(font)
    if not regular.is_file():
        raise PdfFontMissing(f"the PDF font {font} is missing (Debian: apt-get install fonts-thai-tlwg)")
    bold = regular.with_name(regular.stem + "-Bold" + regular.suffix)
    pdf = FPDF(orientation="L", format="A4")
    pdf.set_auto_page_break(True, margin=12)
    pdf.add_font("thai", "", str(regular))
    pdf.add_font("thai", "B", str(bold if bold.is_file() else regular))
    pdf.set_text_shaping(True)
    pdf.set_title(f"{title} {ranking['month']}")
    pdf.add_page()
    pdf.set_font("thai", "B", 14)
    pdf.cell(text=f"{title} · {labels['ranking']} {ranking['month']}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("thai", "", 8)
    made = datetime.fromtimestamp(ranking["generated_at"], tz).strftime("%Y-%m-%d %H:%M")
    weights = ", ".join(
        f"{c['label_th'] if lang == 'th' else c['label_en']} {_number(c['weight'])}"
        for c in ranking["criteria"]
    )
    pdf.multi_cell(0, 4, text=f"{labels['weights']}: {weights}. {labels['weighting_note']}. ({made})")
    pdf.ln(2)
    criteria = ranking["criteria"]
    widths = [10, 46, 14] + [max(12, 200 // max(1, len(criteria)))] * len(criteria) + [14]
    with pdf.table(
        col_widths=widths,
        text_align="LEFT",
        headings_style=FontFace(emphasis="BOLD", fill_color=(230, 230, 230)),
        line_height=4.2,
    ) as table:
        head = table.row()
        for text in (labels["rank"], labels["station"], labels["score"]):
            head.cell(text)
        for c in criteria:
            head.cell(f"{c['label_th'] if lang == 'th' else c['label_en']} ({_number(c['weight'])})")
        head.cell(labels["trend"])
        for row in ranking["rows"]:
            line = table.row()
            line.cell(str(row["rank"]))
            line.cell(row["name"])
            line.cell(_number(row["score"]))
            for c in criteria:
                item = row["criteria"][c["key"]]
                value = item["value"]
                line.cell(
                    "–" if value is None else f"{_number(value)}{c['unit']} · {_number(item['points'])}"
                )
            change = row["change"]
            line.cell("" if change is None else (f"+{change}" if change > 0 else str(change)))
    return bytes(pdf.output())
