"""The summary card picture: what a radiologist should take in within two seconds.

Layout (default 1280 x 960, dark background for reading rooms):

- header band: study description, modality, date, accession; patient name, ID, birth date, sex (the
  picture carries burned-in identification like any report page); the algorithm and its version;
- one block per section, in the order given: title with a "NEEDS CONFIRMATION" badge when the section
  rests on automated findings only, its flags as red chips, the first line (the key result) in large
  bold type, then the other lines; text is wrapped, and what does not fit is counted in a final notice;
- a row of tiles at the bottom: the sections' key images first (amber frame), then the series
  thumbnails (grey frame), each with a caption.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from workers.results.card_text import Font, line_height, load_font, text_width, truncate, wrap
from workers.results.section import ReportSection

BACKGROUND = (16, 20, 24)
HEADER_BAND = (27, 37, 51)
TEXT = (232, 234, 237)
MUTED = (150, 160, 172)
ACCENT = (140, 190, 255)
FLAG_FILL = (176, 32, 32)
FLAG_TEXT = (255, 255, 255)
CONFIRM_FILL = (255, 176, 32)
CONFIRM_TEXT = (20, 20, 20)
KEY_FRAME = (255, 176, 32)
THUMB_FRAME = (90, 100, 112)
MARGIN = 24
MAX_TILES = 6
DEFAULT_SIZE = (1280, 960)

Row = tuple[int, Callable[[ImageDraw.ImageDraw, int, int], None]]


@dataclass(frozen=True)
class CardHeader:
    """What the header band shows (already formatted for display)."""

    study_description: str
    study_line: str
    patient_line: str
    algorithm_line: str
    created_line: str


@dataclass(frozen=True)
class Tile:
    """One picture of the bottom row: RGB uint8 pixels, a caption, and whether it is a key image."""

    pixels: np.ndarray
    caption: str
    key_image: bool = False


def _badge(
    draw: ImageDraw.ImageDraw,
    x: int,
    y: int,
    text: str,
    font: Font,
    fill: tuple[int, int, int],
    color: tuple[int, int, int],
) -> int:
    """Draw a rounded label at (x, y); return its width."""
    pad_x, pad_y = 10, 4
    width = int(text_width(text, font)) + 2 * pad_x
    height = line_height(font) + 2 * pad_y
    draw.rounded_rectangle((x, y, x + width, y + height), radius=height // 3, fill=fill)
    draw.text((x + pad_x, y + pad_y), text, font=font, fill=color)
    return width


def _badge_height(font: Font) -> int:
    return line_height(font) + 8


def _section_rows(section: ReportSection, width: int) -> list[Row]:
    """The rows of one section block, top to bottom, each with its height and a draw function."""
    title_font = load_font(22, bold=True)
    badge_font = load_font(16, bold=True)
    key_font = load_font(28, bold=True)
    body_font = load_font(20)
    rows: list[Row] = []

    confirm = "⚠ NEEDS CONFIRMATION" if section.needs_confirmation else ""
    badge_space = int(text_width(confirm, badge_font)) + 36 if confirm else 0
    title = truncate(section.title, title_font, width - badge_space)
    title_h = max(line_height(title_font), _badge_height(badge_font) if confirm else 0)

    def draw_title(draw: ImageDraw.ImageDraw, x: int, y: int) -> None:
        draw.text((x, y), title, font=title_font, fill=ACCENT)
        if confirm:
            _badge(
                draw,
                x + int(text_width(title, title_font)) + 16,
                y - 2,
                confirm,
                badge_font,
                CONFIRM_FILL,
                CONFIRM_TEXT,
            )

    rows.append((title_h + 4, draw_title))

    # Flags as chips, wrapped over as many rows as needed.
    chip_rows: list[list[str]] = [[]]
    used = 0
    for flag in section.flags:
        label = truncate("▲ " + flag, badge_font, width - 20)
        chip = int(text_width(label, badge_font)) + 20 + 8
        if chip_rows[-1] and used + chip > width:
            chip_rows.append([])
            used = 0
        chip_rows[-1].append(label)
        used += chip
    for labels in chip_rows:
        if not labels:
            continue

        def draw_chips(draw: ImageDraw.ImageDraw, x: int, y: int, labels: list[str] = labels) -> None:
            for label in labels:
                x += _badge(draw, x, y, label, badge_font, FLAG_FILL, FLAG_TEXT) + 8

        rows.append((_badge_height(badge_font) + 6, draw_chips))

    for index, line in enumerate(section.lines):
        font = key_font if index == 0 else body_font
        color = TEXT
        for text in wrap(line, font, width, max_lines=2 if index == 0 else 3):

            def draw_line(
                draw: ImageDraw.ImageDraw,
                x: int,
                y: int,
                text: str = text,
                font: Font = font,
                color: tuple[int, int, int] = color,
            ) -> None:
                draw.text((x, y), text, font=font, fill=color)

            rows.append((line_height(font), draw_line))
    return rows


def _draw_header(draw: ImageDraw.ImageDraw, header: CardHeader, width: int) -> int:
    """Draw the header band; return its height."""
    big, mid, bold_mid, small = (
        load_font(30, bold=True),
        load_font(20),
        load_font(20, bold=True),
        load_font(16),
    )
    height = MARGIN + line_height(big) + 2 * line_height(mid) + 18
    draw.rectangle((0, 0, width, height), fill=HEADER_BAND)
    right_w = 360
    left_w = width - 2 * MARGIN - right_w - 16
    y = MARGIN - 6
    draw.text((MARGIN, y), truncate(header.study_description, big, left_w), font=big, fill=TEXT)
    y += line_height(big) + 4
    draw.text((MARGIN, y), truncate(header.study_line, mid, left_w), font=mid, fill=MUTED)
    y += line_height(mid) + 2
    draw.text((MARGIN, y), truncate(header.patient_line, bold_mid, left_w), font=bold_mid, fill=TEXT)

    right_x = width - MARGIN
    ry = MARGIN - 4
    for text, font, color in (
        ("spinenode", load_font(22, bold=True), ACCENT),
        (header.algorithm_line, small, MUTED),
        ("Automated pre-read, not a diagnosis", small, MUTED),
        (header.created_line, small, MUTED),
    ):
        shown = truncate(text, font, right_w)
        draw.text((right_x - text_width(shown, font), ry), shown, font=font, fill=color)
        ry += line_height(font) + 2
    return max(height, ry + 8)


def _fit(pixels: np.ndarray, box: int) -> Image.Image:
    image = Image.fromarray(pixels, mode="RGB")
    scale = min(box / image.width, box / image.height)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)


def _draw_tiles(canvas: Image.Image, draw: ImageDraw.ImageDraw, tiles: Sequence[Tile], top: int) -> None:
    """Draw the bottom row of tiles between ``top`` and the bottom margin."""
    caption_font = load_font(15)
    shown = list(tiles[:MAX_TILES])
    hidden = len(tiles) - len(shown)
    if hidden > 0:
        shown = shown[:-1]
        hidden += 1
    count = len(shown) + (1 if hidden > 0 else 0)
    gap = 12
    caption_h = 2 * line_height(caption_font) + 4
    available_h = canvas.height - MARGIN - top - caption_h
    tile = int(min(200, (canvas.width - 2 * MARGIN - (count - 1) * gap) / max(count, 1), available_h))
    x = MARGIN
    for item in shown:
        frame = KEY_FRAME if item.key_image else THUMB_FRAME
        draw.rectangle((x, top, x + tile, top + tile), fill=(0, 0, 0), outline=frame, width=3)
        picture = _fit(item.pixels, tile - 8)
        canvas.paste(picture, (x + (tile - picture.width) // 2, top + (tile - picture.height) // 2))
        for i, text in enumerate(wrap(item.caption, caption_font, tile, max_lines=2)):
            draw.text(
                (x, top + tile + 4 + i * line_height(caption_font)),
                text,
                font=caption_font,
                fill=TEXT if item.key_image else MUTED,
            )
        x += tile + gap
    if hidden > 0:
        draw.rectangle((x, top, x + tile, top + tile), outline=THUMB_FRAME, width=3)
        label = f"+{hidden} more"
        font = load_font(22, bold=True)
        draw.text((x + (tile - text_width(label, font)) / 2, top + tile / 2 - 12), label, font=font, fill=MUTED)


def tiles_height(tiles: Sequence[Tile], width: int) -> int:
    """Height the tile row needs (0 without tiles)."""
    if not tiles:
        return 0
    count = min(len(tiles), MAX_TILES)
    tile = int(min(200, (width - 2 * MARGIN - (count - 1) * 12) / count))
    return tile + 2 * line_height(load_font(15)) + 4 + MARGIN


def render_card(
    header: CardHeader,
    sections: Sequence[ReportSection],
    tiles: Sequence[Tile],
    size: tuple[int, int] = DEFAULT_SIZE,
) -> np.ndarray:
    """Render the card; returns RGB uint8 pixels (height x width x 3)."""
    width, height = size
    if width < 640 or height < 480:
        raise ValueError(f"size: {size} is too small; the card needs at least 640 x 480 pixels")
    canvas = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    body_top = _draw_header(draw, header, width) + 18
    tiles_top = height - tiles_height(tiles, width)
    body_bottom = tiles_top - 12

    content_w = width - 2 * MARGIN
    # Each row carries the index of its section (-1: separator or placeholder).
    rows: list[tuple[int, int, Callable[[ImageDraw.ImageDraw, int, int], None]]] = []
    for index, section in enumerate(sections):
        if index > 0:
            rows.append((-1, 16, lambda draw, x, y: draw.line((x, y + 6, x + content_w, y + 6), fill=THUMB_FRAME)))
        rows.extend((index, h, fn) for h, fn in _section_rows(section, content_w))
    notice_font = load_font(18)
    if not rows:
        rows = [
            (
                -1,
                line_height(load_font(22)),
                lambda draw, x, y: draw.text((x, y), "No findings reported.", font=load_font(22), fill=MUTED),
            )
        ]
    total = sum(h for _, h, _ in rows)
    limit = body_bottom if total <= body_bottom - body_top else body_bottom - line_height(notice_font) - 4
    y = body_top
    shown: set[int] = set()
    drawn = 0
    for section_index, row_height, draw_row in rows:
        if y + row_height > limit:
            break
        draw_row(draw, MARGIN, y)
        shown.add(section_index)
        y += row_height
        drawn += 1
    if drawn < len(rows):
        hidden = [s.title for i, s in enumerate(sections) if i not in shown]
        if hidden:
            plural = "section" if len(hidden) == 1 else "sections"
            notice = f"… {len(hidden)} more {plural} in the Structured Report: " + "; ".join(hidden)
        else:
            notice = "… text cut short: the full text is in the Structured Report"
        draw.text((MARGIN, limit + 2), truncate(notice, notice_font, content_w), font=notice_font, fill=MUTED)
    if tiles:
        _draw_tiles(canvas, draw, tiles, tiles_top)
    return np.asarray(canvas, dtype=np.uint8).copy()
