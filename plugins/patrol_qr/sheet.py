"""The printable A4 sheet for a red box: a QR code (``segno``) and Thai/English text (Pillow).

Pillow and segno are imported here, inside the functions, never when the hub
starts: most hubs print a sheet a few times a year.

Thai needs a font with Thai glyphs and a shaping engine for the stacked
vowels and tone marks.  Debian's ``fonts-thai-tlwg`` provides the fonts and
Pillow's wheels include libraqm; without a Thai font the sheet is still made,
with Latin text and a visible warning printed on it.
"""

from __future__ import annotations

import io
import logging
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ("SheetText", "render_sheet", "find_font", "FONT_CANDIDATES")

_LOGGER = logging.getLogger(__name__)

_TLWG = Path("/usr/share/fonts/truetype/tlwg")
#: Thai fonts tried in order (regular, bold); Loma is clear on a poster.
FONT_CANDIDATES: tuple[tuple[Path, Path], ...] = (
    (_TLWG / "Loma.ttf", _TLWG / "Loma-Bold.ttf"),
    (_TLWG / "Garuda.ttf", _TLWG / "Garuda-Bold.ttf"),
    (_TLWG / "Sawasdee.ttf", _TLWG / "Sawasdee-Bold.ttf"),
    (
        Path("/usr/share/fonts/truetype/noto/NotoSansThai-Regular.ttf"),
        Path("/usr/share/fonts/truetype/noto/NotoSansThai-Bold.ttf"),
    ),
)
#: A4 at 150 dpi: sharp enough for a QR scanned from a metre away.
DPI = 150
A4 = (1240, 1754)
RED = (185, 28, 28)
INK = (17, 24, 39)
MUTED = (75, 85, 99)


@dataclass(frozen=True)
class SheetText:
    """What the sheet says."""

    checkpoint_id: str
    name: str
    risk: str
    url: str
    hub_name: str
    zone: str
    valid_until: str
    sheet_id: str


def find_font(candidates: tuple[tuple[Path, Path], ...] = FONT_CANDIDATES) -> tuple[Path, Path] | None:
    """Return the first installed (regular, bold) Thai font pair, or None."""
    for regular, bold in candidates:
        if regular.is_file():
            return regular, (bold if bold.is_file() else regular)
    return None


class _Fonts:
    """Fonts by size, with a Latin fallback when no Thai font is installed."""

    def __init__(self, pair: tuple[Path, Path] | None) -> None:
        from PIL import ImageFont, features

        self._font_mod = ImageFont
        self.pair = pair
        # RAQM shapes Thai (tone marks over vowels); BASIC would stack them wrongly.
        self.layout = ImageFont.Layout.RAQM if features.check("raqm") else ImageFont.Layout.BASIC
        self._cache: dict[tuple[int, bool], Any] = {}

    def get(self, size: int, bold: bool = False) -> Any:
        key = (size, bold)
        if key not in self._cache:
            if self.pair is None:
                self._cache[key] = self._font_mod.load_default(size)
            else:
                path = self.pair[1] if bold else self.pair[0]
                self._cache[key] = self._font_mod.truetype(str(path), size, layout_engine=self.layout)
        return self._cache[key]


def _wrap(draw: Any, text: str, font: Any, width: int) -> list[str]:
    """Break ``text`` into lines no wider than ``width``.

    Thai writes words without spaces, so a line may break between any two
    characters, except before a combining vowel or tone mark (which belongs
    to the consonant before it).  Spaces are preferred when there are any.
    """
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        last_space = -1
        for ch in paragraph:
            candidate = line + ch
            if (
                draw.textlength(candidate, font=font) <= width
                or not line
                or unicodedata.combining(ch)
                or unicodedata.category(ch) == "Mn"
            ):
                line = candidate
                if ch == " ":
                    last_space = len(line) - 1
                continue
            if last_space > 0:
                lines.append(line[:last_space])
                line = line[last_space + 1 :] + ch
            else:
                lines.append(line)
                line = ch
            last_space = -1
        lines.append(line)
    return lines


def _qr_image(url: str, size: int) -> Any:
    import segno
    from PIL import Image

    qr = segno.make(url, error="m", micro=False)
    buf = io.BytesIO()
    # Scale so the code fills ``size`` px; border 4 modules (the quiet zone scanners need).
    modules = qr.symbol_size(scale=1, border=4)[0]
    qr.save(buf, kind="png", scale=max(1, size // modules), border=4)
    buf.seek(0)
    img = Image.open(buf).convert("RGB")
    return img.resize((size, size), Image.Resampling.NEAREST)


def render_sheet(
    text: SheetText, *, fmt: str = "png", fonts: tuple[tuple[Path, Path], ...] = FONT_CANDIDATES
) -> bytes:
    """Return the A4 sheet as PNG or PDF bytes."""
    from PIL import Image, ImageDraw

    pair = find_font(fonts)
    if pair is None:
        _LOGGER.warning(
            "No Thai font found (install Debian's fonts-thai-tlwg); the sheet has English text only"
        )
    f = _Fonts(pair)
    img = Image.new("RGB", A4, "white")
    draw = ImageDraw.Draw(img)
    width, _height = A4
    margin = 80
    inner = width - 2 * margin

    # The red band: the boxes are called ตู้แดง, "red boxes", after it.
    draw.rectangle((0, 0, width, 230), fill=RED)
    title = "ตู้แดง · จุดตรวจ" if pair else "Patrol checkpoint"
    draw.text((width // 2, 95), title, font=f.get(84, bold=True), fill="white", anchor="mm")
    draw.text(
        (width // 2, 180),
        "Police patrol checkpoint · Smart Safety Zone 4.0",
        font=f.get(36),
        fill="white",
        anchor="mm",
    )

    y = 280
    name_font = f.get(64, bold=True)
    for line in _wrap(draw, text.name, name_font, inner)[:2]:
        draw.text((width // 2, y), line, font=name_font, fill=INK, anchor="ma")
        y += 82
    draw.text((width // 2, y), f"({text.checkpoint_id})", font=f.get(32), fill=MUTED, anchor="ma")
    y += 60

    qr_size = 820
    img.paste(_qr_image(text.url, qr_size), ((width - qr_size) // 2, y))
    y += qr_size + 20

    body = f.get(40, bold=True)
    lines = [
        "สแกนเพื่อลงชื่อตรวจ: เจ้าหน้าที่ตำรวจ / อาสาสมัคร" if pair else "",
        "Scan to check in: police officer / volunteer",
    ]
    for line in lines:
        if line:
            draw.text((width // 2, y), line, font=body, fill=INK, anchor="ma")
            y += 58
    if text.risk:
        y += 10
        risk_font = f.get(34)
        label = ("จุดเสี่ยง / Risk: " if pair else "Risk: ") + text.risk
        for line in _wrap(draw, label, risk_font, inner)[:3]:
            draw.text((margin, y), line, font=risk_font, fill=RED)
            y += 46

    small = f.get(26)
    if pair:
        validity = f"ใช้ได้ถึง / valid until {text.valid_until} · แผ่นที่ / sheet {text.sheet_id[:6]}"
    else:
        validity = f"Valid until {text.valid_until} · sheet {text.sheet_id[:6]}"
    footer = [f"{text.hub_name} · {text.zone}" if text.zone else text.hub_name, validity, text.url]
    if pair is None:
        footer.insert(0, "Thai font missing: install fonts-thai-tlwg for Thai text on this sheet")
    fy = A4[1] - 60 - 36 * len(footer)
    for line in footer:
        for part in _wrap(draw, line, small, inner)[:2]:
            draw.text((width // 2, fy), part, font=small, fill=MUTED, anchor="ma")
            fy += 36

    out = io.BytesIO()
    if fmt == "pdf":
        img.save(out, format="PDF", resolution=DPI)
    else:
        img.save(out, format="PNG", dpi=(DPI, DPI))
    return out.getvalue()
