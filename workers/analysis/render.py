"""Key images (RGB uint8) with ROI outlines or cord contours, and the CSA-by-level plot (Pillow)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

from workers.results.roi_outline import mask_outline
from workers.results.section import KeyImage, RoiValue

RED = (255, 40, 40)


def _grey(image: np.ndarray, window: tuple[float, float] | None) -> np.ndarray:
    lo, hi = window if window is not None else (float(np.percentile(image, 1)), float(np.percentile(image, 99.5)))
    scaled = np.clip((image.astype(float) - lo) / max(hi - lo, 1e-12), 0.0, 1.0) * 255.0
    return np.asarray(scaled.astype(np.uint8))


def outline(
    image: np.ndarray,
    mask: np.ndarray,
    *,
    window: tuple[float, float] | None = None,
    colour: tuple[int, int, int] = RED,
) -> np.ndarray:
    """``image`` in grey with the outline of ``mask`` in colour, upscaled to at least 384 pixels."""
    if image.shape != mask.shape:
        raise ValueError(f"mask shape {mask.shape} differs from image shape {image.shape}")
    grey = _grey(image, window)
    factor = max(1, int(np.ceil(384 / max(image.shape))))
    big = np.kron(grey, np.ones((factor, factor), dtype=np.uint8))
    big_mask = np.kron(mask.astype(np.uint8), np.ones((factor, factor), dtype=np.uint8)).astype(bool)
    edge = big_mask & ~ndimage.binary_erosion(big_mask, iterations=max(1, factor // 3))
    rgb = np.stack([big] * 3, axis=-1)
    rgb[edge] = colour
    return np.asarray(rgb)


def roi_key_image(
    volume: object,
    mask: np.ndarray,
    slice_index: int,
    *,
    caption: str,
    window: tuple[float, float] | None = None,
    roi_label: str = "",
    values: tuple[RoiValue, ...] = (),
) -> KeyImage:
    """Key image of one slice of a volume (``array[k]``) with the ROI outline."""
    array = volume.array  # type: ignore[attr-defined]
    uids = volume.sop_instance_uids  # type: ignore[attr-defined]
    pixels = outline(array[slice_index], mask[slice_index], window=window)
    return KeyImage(
        pixels=pixels,
        caption=caption,
        source_sop_instance_uid=uids[slice_index],
        outline=mask_outline(mask[slice_index]),
        roi_label=roi_label,
        values=values,
    )


def csa_plot(
    levels: Sequence[str],
    csa: Sequence[float],
    normative: Mapping[str, tuple[float, float]],
    *,
    title: str = "Cord CSA by vertebral level",
    size: tuple[int, int] = (640, 400),
) -> np.ndarray:
    """Measured CSA per level (points) against the normative mean +/- 1 and 2 SD band; RGB uint8."""
    if len(levels) != len(csa):
        raise ValueError(f"levels ({len(levels)}) and csa ({len(csa)}) differ in length")
    width, height = size
    img = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(img)
    left, right, top, bottom = 60, width - 20, 40, height - 50
    names = list(levels) or list(normative)
    values = [v for v in csa] + [m + 2 * s for m, s in (normative[n] for n in names if n in normative)]
    y_max = max(values + [10.0]) * 1.15
    n = max(len(names), 1)

    def x_at(i: float) -> float:
        return left + (i + 0.5) * (right - left) / n

    def y_at(v: float) -> float:
        return bottom - v / y_max * (bottom - top)

    for k, shade in ((2, (225, 235, 250)), (1, (190, 210, 245))):
        band = [
            (x_at(i), y_at(normative[nm][0] + k * normative[nm][1])) for i, nm in enumerate(names) if nm in normative
        ]
        band += [
            (x_at(i), y_at(max(normative[nm][0] - k * normative[nm][1], 0.0)))
            for i, nm in reversed(list(enumerate(names)))
            if nm in normative
        ]
        if len(band) >= 4:
            draw.polygon(band, fill=shade)
    means = [(x_at(i), y_at(normative[nm][0])) for i, nm in enumerate(names) if nm in normative]
    if len(means) >= 2:
        draw.line(means, fill=(60, 90, 200), width=2)
    draw.line([(left, top), (left, bottom), (right, bottom)], fill=(0, 0, 0), width=1)
    for tick in np.linspace(0, y_max, 5):
        draw.text((8, y_at(float(tick)) - 6), f"{tick:.0f}", fill=(0, 0, 0))
    for i, nm in enumerate(names):
        draw.text((x_at(i) - 8, bottom + 8), nm, fill=(0, 0, 0))
    for i, value in enumerate(csa):
        x, y = x_at(i), y_at(value)
        draw.ellipse([x - 5, y - 5, x + 5, y + 5], fill=RED, outline=(0, 0, 0))
    draw.text((left, 10), title + "  (mm2; band: normative mean +/- 1 and 2 SD)", fill=(0, 0, 0))
    draw.text((left, height - 22), "vertebral level", fill=(0, 0, 0))
    return np.asarray(img)
