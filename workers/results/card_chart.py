"""The cord-area chart of the summary card, drawn at the size it is shown (labels at least 14 px tall).

The analyser's own plot is a 640 x 400 picture; shrunk into a card tile its labels became about 4 px tall.
This chart is drawn directly at the tile's size on the card's dark background.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
from PIL import Image, ImageDraw

from workers.results.card_text import line_height, load_font, text_width

CHART_BACKGROUND = (24, 30, 38)
AXIS = (150, 160, 172)
BAND_2SD = (40, 56, 80)
BAND_1SD = (58, 82, 118)
MEAN = (120, 160, 230)
POINT = (255, 200, 40)
POINT_LOW = (240, 80, 80)
LABEL = (220, 224, 230)


def csa_chart(
    levels: Sequence[str], csa_mm2: Sequence[float], normative: Mapping[str, tuple[float, float]]
) -> Callable[[int, int], np.ndarray]:
    """A function drawing measured cord area per level against the normative mean ±1/±2 SD band."""
    if len(levels) != len(csa_mm2) or not levels:
        raise ValueError(f"levels ({len(levels)}) and csa_mm2 ({len(csa_mm2)}) must be non-empty and match")
    names = list(levels)
    values = [float(v) for v in csa_mm2]

    def draw_at(width: int, height: int) -> np.ndarray:
        img = Image.new("RGB", (width, height), CHART_BACKGROUND)
        draw = ImageDraw.Draw(img)
        font = load_font(15)
        bold = load_font(15, bold=True)
        left, right = 44, width - 10
        top, bottom = 8 + line_height(bold), height - line_height(font) - 6
        tops = values + [m + 2 * s for m, s in (normative[n] for n in names if n in normative)]
        y_max = max(tops + [10.0]) * 1.1
        n = len(names)

        def x_at(i: int) -> float:
            return left + (i + 0.5) * (right - left) / n

        def y_at(v: float) -> float:
            return bottom - max(v, 0.0) / y_max * (bottom - top)

        for k, shade in ((2, BAND_2SD), (1, BAND_1SD)):
            known = [(i, normative[nm]) for i, nm in enumerate(names) if nm in normative]
            if len(known) >= 2:
                upper = [(x_at(i), y_at(m + k * sd)) for i, (m, sd) in known]
                lower = [(x_at(i), y_at(m - k * sd)) for i, (m, sd) in reversed(known)]
                draw.polygon(upper + lower, fill=shade)
        means = [(x_at(i), y_at(normative[nm][0])) for i, nm in enumerate(names) if nm in normative]
        if len(means) >= 2:
            draw.line(means, fill=MEAN, width=2)
        draw.line([(left, top), (left, bottom), (right, bottom)], fill=AXIS, width=1)
        for tick in (0.0, y_max / 2, y_max * 0.95):
            label = f"{tick:.0f}"
            draw.text((left - 6 - text_width(label, font), y_at(tick) - 8), label, font=font, fill=LABEL)
        for i, (name, value) in enumerate(zip(names, values, strict=True)):
            low = name in normative and value < normative[name][0] - 2 * normative[name][1]
            cx, cy = x_at(i), y_at(value)
            draw.ellipse((cx - 5, cy - 5, cx + 5, cy + 5), fill=POINT_LOW if low else POINT)
            draw.text((cx - text_width(name, font) / 2, bottom + 3), name, font=font, fill=LABEL)
        draw.text((left, 4), "Cord area, mm² (band: normal ±1/±2 SD)", font=bold, fill=LABEL)
        return np.asarray(img, dtype=np.uint8).copy()

    return draw_at
