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

from workers.results.card_text import ELLIPSIS, Font, line_height, load_font, text_width, truncate, wrap
from workers.results.card_words import plain, plain_title
from workers.results.findings import FindingsReport
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
SEVERITY_FILL = {"severe": (200, 40, 40), "moderate": (230, 150, 20), "mild": (70, 110, 150)}
NOT_ASSESSABLE = (255, 196, 80)
NOTE_FRAME = (70, 84, 100)
#: Section titles the card replaces when findings are given (protocol notes, thumbnails show them).
REPLACED_SECTIONS = ("Protocol checks",)
INVENTORY_SECTION = "Series inventory"


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
    chart: Callable[[int, int], np.ndarray] | None = None
    """A chart drawn at the tile's own size (two tiles wide), so that its labels stay readable."""


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


def _text_row(text: str, font: Font, color: tuple[int, int, int], indent: int = 0) -> Row:
    def draw_line(draw: ImageDraw.ImageDraw, x: int, y: int) -> None:
        draw.text((x + indent, y), text, font=font, fill=color)

    return (line_height(font), draw_line)


def paragraph_rows(
    text: str, font: Font, width: int, color: tuple[int, int, int], max_lines: int, indent: int = 0
) -> list[Row]:
    """A wrapped paragraph, one row per line; a cut paragraph ends with an ellipsis."""
    return [_text_row(t, font, color, indent) for t in wrap(text, font, width - indent, max_lines=max_lines)]


def _section_rows(
    section: ReportSection, width: int, *, compact: bool = False, hidden: frozenset[str] = frozenset()
) -> list[Row]:
    """The rows of one section block, top to bottom, each with its height and a draw function.

    ``compact`` (when findings lead the card): no large type, rule IDs and field names turned into words,
    lines already shown as findings (``hidden``) left out, and a section with nothing abnormal in one line."""
    title_font = load_font(22, bold=True)
    badge_font = load_font(16, bold=True)
    key_font = load_font(20 if compact else 28, bold=True)
    body_font = load_font(18 if compact else 20)
    title_text = plain_title(section.title)
    lines = [plain(line) for line in section.lines if line not in hidden]
    lines = [line for line in lines if line]
    if compact and section.lines and not lines:  # everything it says the findings block says: not again
        return []
    rows: list[Row] = []
    if compact:  # a quality line that says "ok" tells nothing on the card; any other verdict stays
        lines = [line for line in lines if not line.lower().startswith("quality: ok")]
    if compact and section.title == INVENTORY_SECTION:
        return paragraph_rows("Study contains: " + "; ".join(lines), body_font, width, MUTED, 1) if lines else []
    if compact:
        if not lines:
            return [_text_row(truncate(f"{title_text}: nothing to report", body_font, width), body_font, MUTED)]
        first = lines[0] if lines[0].lower().startswith(title_text.lower()[:8]) else f"{title_text}: {lines[0]}"
        rows += paragraph_rows(first, key_font, width, TEXT, 1)
        rows += [r for line in lines[1:3] for r in paragraph_rows(line, body_font, width, MUTED, 1, indent=16)]
        return rows

    confirm = "NEEDS CONFIRMATION" if section.needs_confirmation else ""
    badge_space = int(text_width(confirm, badge_font)) + 36 if confirm else 0
    title = truncate(title_text, title_font, width - badge_space)
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
    if not compact:
        rows += _chip_rows([plain(f) for f in section.flags], badge_font, width)
    for index, line in enumerate(lines):
        font = key_font if index == 0 else body_font
        rows += paragraph_rows(line, font, width, TEXT, 2 if index == 0 else 3)
    return rows


def _chip_rows(flags: Sequence[str], badge_font: Font, width: int) -> list[Row]:
    """Flags as red chips, wrapped over as many rows as needed."""
    rows: list[Row] = []
    chip_rows: list[list[str]] = [[]]
    used = 0
    for flag in flags:
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
    return rows


def findings_rows(report: FindingsReport, width: int) -> list[Row]:
    """The findings block: each finding in large type after a severity chip, its detail below; outputs that
    could not be assessed in amber; "No abnormal finding" when there is none."""
    big = load_font(28, bold=True)
    chip_font = load_font(16, bold=True)
    detail_font = load_font(18)
    rows: list[Row] = []
    for finding in report.findings:
        chip = finding.severity.value.upper()
        confirm = "NEEDS CONFIRMATION" if finding.needs_confirmation else ""
        chip_w = int(text_width(chip, chip_font)) + 28
        label = truncate(
            finding.label, big, width - chip_w - (int(text_width(confirm, chip_font)) + 36 if confirm else 0)
        )

        def draw_finding(
            draw: ImageDraw.ImageDraw,
            x: int,
            y: int,
            chip: str = chip,
            label: str = label,
            confirm: str = confirm,
            fill: tuple[int, int, int] = SEVERITY_FILL[finding.severity.value],
        ) -> None:
            w = _badge(draw, x, y + 4, chip, chip_font, fill, FLAG_TEXT)
            draw.text((x + w + 8, y), label, font=big, fill=TEXT)
            if confirm:
                _badge(
                    draw,
                    x + w + 24 + int(text_width(label, big)),
                    y + 4,
                    confirm,
                    chip_font,
                    CONFIRM_FILL,
                    CONFIRM_TEXT,
                )

        rows.append((line_height(big) + 2, draw_finding))
        if finding.detail:
            rows += paragraph_rows(finding.detail, detail_font, width, MUTED, 1, indent=chip_w + 8)
    if not report.findings:
        rows += paragraph_rows(report.no_finding_words, big, width, TEXT, 1)
    for line in report.not_assessable_lines:
        rows += paragraph_rows("⚠ " + line, load_font(20, bold=True), width, NOT_ASSESSABLE, 2)
    return rows


def notes_rows(report: FindingsReport, width: int) -> list[Row]:
    """Protocol notes that matter for this study, in a muted framed block (empty when there are none)."""
    notes = report.relevant_notes
    if not notes:
        return []
    font = load_font(17)
    title_font = load_font(17, bold=True)
    inner = width - 24
    lines = [r for n in notes for r in paragraph_rows("• " + n.text, font, inner, MUTED, 2, indent=12)]
    height = line_height(title_font) + sum(h for h, _ in lines) + 14

    def draw_notes(draw: ImageDraw.ImageDraw, x: int, y: int) -> None:
        draw.rectangle((x, y, x + width, y + height - 4), outline=NOTE_FRAME, width=2)
        draw.text((x + 12, y + 4), "Protocol notes (not findings)", font=title_font, fill=MUTED)
        yy = y + 6 + line_height(title_font)
        for h, fn in lines:
            fn(draw, x + 12, yy)
            yy += h

    return [(height, draw_notes)]


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


def _slots(tiles: Sequence[Tile]) -> int:
    return sum(2 if getattr(t, "chart", None) is not None else 1 for t in tiles)


def _draw_tiles(canvas: Image.Image, draw: ImageDraw.ImageDraw, tiles: Sequence[Tile], top: int) -> None:
    """Draw the legend and the bottom row of tiles between ``top`` and the bottom margin."""
    caption_font = load_font(15)
    legend_font = load_font(15)
    legend = "Orange frame: key image with the node's outline or ROI   ·   grey frame: series (middle image)"
    draw.text((MARGIN, top), truncate(legend, legend_font, canvas.width - 2 * MARGIN), font=legend_font, fill=MUTED)
    top += line_height(legend_font) + 4
    shown: list[Tile] = []
    for item in tiles:
        if _slots([*shown, item]) > MAX_TILES:
            break
        shown.append(item)
    hidden = len(tiles) - len(shown)
    if hidden > 0 and _slots(shown) >= MAX_TILES:
        hidden += 1
        shown = shown[:-1]
    count = _slots(shown) + (1 if hidden > 0 else 0)
    gap = 12
    caption_h = 2 * line_height(caption_font) + 4
    available_h = canvas.height - MARGIN - top - caption_h
    tile = int(min(200, (canvas.width - 2 * MARGIN - (count - 1) * gap) / max(count, 1), available_h))
    x = MARGIN
    for item in shown:
        frame = KEY_FRAME if item.key_image else THUMB_FRAME
        box_w = 2 * tile + gap if item.chart is not None else tile
        draw.rectangle((x, top, x + box_w, top + tile), fill=(0, 0, 0), outline=frame, width=3)
        if item.chart is not None:
            picture = Image.fromarray(item.chart(box_w - 8, tile - 8), mode="RGB")
        else:
            picture = _fit(item.pixels, tile - 8)
        canvas.paste(picture, (x + (box_w - picture.width) // 2, top + (tile - picture.height) // 2))
        for i, text in enumerate(wrap(plain(item.caption), caption_font, box_w, max_lines=2)):
            draw.text(
                (x, top + tile + 4 + i * line_height(caption_font)),
                text,
                font=caption_font,
                fill=TEXT if item.key_image else MUTED,
            )
        x += box_w + gap
    if hidden > 0:
        draw.rectangle((x, top, x + tile, top + tile), outline=THUMB_FRAME, width=3)
        label = f"+{hidden} more"
        font = load_font(22, bold=True)
        draw.text((x + (tile - text_width(label, font)) / 2, top + tile / 2 - 12), label, font=font, fill=MUTED)


def tiles_height(tiles: Sequence[Tile], width: int) -> int:
    """Height the legend and the tile row need (0 without tiles)."""
    if not tiles:
        return 0
    count = min(_slots(tiles), MAX_TILES)
    tile = int(min(200, (width - 2 * MARGIN - (count - 1) * 12) / count))
    return tile + 3 * line_height(load_font(15)) + 8 + MARGIN


def render_card(
    header: CardHeader,
    sections: Sequence[ReportSection],
    tiles: Sequence[Tile],
    size: tuple[int, int] = DEFAULT_SIZE,
    findings: FindingsReport | None = None,
    hidden_lines: frozenset[str] = frozenset(),
) -> np.ndarray:
    """Render the card; returns RGB uint8 pixels (height x width x 3).

    With ``findings`` the card leads with them (large type, severity chips), the sections follow in compact
    form (``hidden_lines``: section lines the findings already show), and the protocol notes that matter sit
    in their own framed block above the pictures."""
    width, height = size
    if width < 640 or height < 480:
        raise ValueError(f"size: {size} is too small; the card needs at least 640 x 480 pixels")
    canvas = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    body_top = _draw_header(draw, header, width) + 18
    tiles_top = height - tiles_height(tiles, width)
    content_w = width - 2 * MARGIN
    notes = notes_rows(findings, content_w) if findings is not None else []
    notes_h = sum(h for h, _ in notes)
    body_bottom = tiles_top - 12 - (notes_h + 8 if notes else 0)

    # Each row carries the index of its section (-1: findings, separator or placeholder).
    rows: list[tuple[int, int, Callable[[ImageDraw.ImageDraw, int, int], None]]] = []
    shown_sections = list(enumerate(sections))
    if findings is not None:
        rows.extend((-1, h, fn) for h, fn in findings_rows(findings, content_w))
        shown_sections = [(i, sec) for i, sec in shown_sections if sec.title not in REPLACED_SECTIONS]
    for position, (index, section) in enumerate(shown_sections):
        if position > 0 or rows:
            rows.append((-1, 16, lambda draw, x, y: draw.line((x, y + 6, x + content_w, y + 6), fill=THUMB_FRAME)))
        section_rows = _section_rows(section, content_w, compact=findings is not None, hidden=hidden_lines)
        rows.extend((index, h, fn) for h, fn in section_rows)
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
        hidden = [plain_title(sec.title) for i, sec in shown_sections if i not in shown]
        if hidden:
            plural = "section" if len(hidden) == 1 else "sections"
            notice = f"{ELLIPSIS} {len(hidden)} more {plural} in the Structured Report: " + "; ".join(hidden)
        else:
            notice = f"{ELLIPSIS} continued in the Structured Report"
        draw.text((MARGIN, limit + 2), truncate(notice, notice_font, content_w), font=notice_font, fill=MUTED)
    if notes:
        ny = body_bottom + 4
        for h, fn in notes:
            fn(draw, MARGIN, ny)
            ny += h
    if tiles:
        _draw_tiles(canvas, draw, tiles, tiles_top)
    return np.asarray(canvas, dtype=np.uint8).copy()
