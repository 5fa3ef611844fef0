"""Fonts and text fitting for the summary card (wrap to a width, truncate with an ellipsis)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

FONT_DIRECTORY = Path("/usr/share/fonts/truetype/dejavu")
REGULAR_FONT = "DejaVuSans.ttf"
BOLD_FONT = "DejaVuSans-Bold.ttf"
ELLIPSIS = "…"

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@lru_cache(maxsize=32)
def load_font(size: int, bold: bool = False) -> Font:
    """DejaVu Sans (bold or regular) at ``size`` pixels; Pillow's default font when DejaVu is missing."""
    if size < 1:
        raise ValueError(f"size: {size} must be a positive number of pixels")
    path = FONT_DIRECTORY / (BOLD_FONT if bold else REGULAR_FONT)
    try:
        return ImageFont.truetype(str(path), size=size)
    except OSError:
        return ImageFont.load_default(size=size)


def text_width(text: str, font: Font) -> float:
    return float(font.getlength(text))


def line_height(font: Font) -> int:
    """Height of one line of ``font`` including a small leading."""
    left, top, right, bottom = font.getbbox("Ág")
    return int(bottom - min(top, 0)) + max(2, int(getattr(font, "size", 12)) // 5)


def truncate(text: str, font: Font, width: float) -> str:
    """``text`` if it fits in ``width`` pixels, else its longest prefix that fits followed by "…"."""
    text = " ".join(text.split())
    if text_width(text, font) <= width:
        return text
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if text_width(text[:middle].rstrip() + ELLIPSIS, font) <= width:
            low = middle
        else:
            high = middle - 1
    return text[:low].rstrip() + ELLIPSIS if low > 0 else ELLIPSIS


def _split_long_word(word: str, font: Font, width: float) -> list[str]:
    pieces: list[str] = []
    current = ""
    for char in word:
        if current and text_width(current + char, font) > width:
            pieces.append(current)
            current = char
        else:
            current += char
    if current:
        pieces.append(current)
    return pieces


def wrap(text: str, font: Font, width: float, max_lines: int | None = None) -> list[str]:
    """Word-wrap ``text`` to ``width`` pixels; words longer than a line are split. With ``max_lines``,
    the last kept line ends with "…" when text was left out."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        pieces = [word] if text_width(word, font) <= width else _split_long_word(word, font, width)
        for piece in pieces:
            candidate = f"{current} {piece}" if current else piece
            if text_width(candidate, font) <= width:
                current = candidate
            else:
                lines.append(current)
                current = piece
    if current:
        lines.append(current)
    if max_lines is not None and len(lines) > max_lines:
        kept = lines[:max_lines]
        last = kept[-1].rstrip()
        while last and text_width(last + ELLIPSIS, font) > width:
            last = last[:-1].rstrip()
        kept[-1] = last + ELLIPSIS
        return kept
    return lines
