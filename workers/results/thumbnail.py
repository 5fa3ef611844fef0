"""Thumbnails of source images for the summary card (middle frame, robust window, RGB uint8)."""

from __future__ import annotations

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.pixels import apply_color_lut, pixel_array

LOW_PERCENTILE = 1.0
HIGH_PERCENTILE = 99.0


def _window(frame: np.ndarray) -> np.ndarray:
    """Map the 1st–99th percentile of a grayscale frame linearly to 0–255 (clipped)."""
    values = frame.astype(np.float64)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return np.zeros(frame.shape, dtype=np.uint8)
    low, high = np.percentile(finite, [LOW_PERCENTILE, HIGH_PERCENTILE])
    if high <= low:
        high = low + 1.0
    scaled = (np.nan_to_num(values, nan=low) - low) * (255.0 / (high - low))
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def _resize(rgb: np.ndarray, ds: Dataset, max_size: int | None) -> np.ndarray:
    """Correct a non-square pixel aspect (Pixel Spacing) and fit the longest edge in ``max_size``."""
    height, width = rgb.shape[:2]
    target_h, target_w = float(height), float(width)
    spacing = ds.get("PixelSpacing")
    if spacing is not None and len(spacing) == 2 and float(spacing[0]) > 0 and float(spacing[1]) > 0:
        # Pixel Spacing is (row spacing, column spacing): a taller row spacing stretches the height.
        target_h *= float(spacing[0]) / float(spacing[1])
    if max_size is not None:
        scale = min(1.0, max_size / max(target_h, target_w))
        target_h, target_w = target_h * scale, target_w * scale
    size = (max(1, round(target_w)), max(1, round(target_h)))
    if size == (width, height):
        return rgb
    return np.asarray(Image.fromarray(rgb, mode="RGB").resize(size, Image.Resampling.LANCZOS))


def thumbnail_from_dataset(ds: Dataset, *, max_size: int | None = 512) -> np.ndarray:
    """The middle frame of ``ds`` as an RGB uint8 array (H x W x 3).

    Grayscale frames are windowed to their 1st–99th percentile (MONOCHROME1 is inverted so that it shows
    as it would on a viewer); colour images (RGB, YBR, PALETTE COLOR) are converted to RGB. Compressed
    pixel data is decoded with pydicom's decoders (pylibjpeg, openjpeg, RLE plugins when installed).
    Only the middle frame of a multi-frame image is decoded. ``max_size`` bounds the longest edge
    (None keeps the acquired size, apart from aspect correction).
    """
    if not isinstance(ds, Dataset):
        raise TypeError(f"ds: expected a pydicom Dataset, got {type(ds).__name__}")
    if not any(k in ds for k in ("PixelData", "FloatPixelData", "DoubleFloatPixelData")):
        raise ValueError("ds: no pixel data (was the file read with stop_before_pixels?)")
    if max_size is not None and max_size < 1:
        raise ValueError(f"max_size: {max_size} must be a positive number of pixels or None")
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    frame = pixel_array(ds, index=frames // 2) if frames > 1 else pixel_array(ds)
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).upper()
    if photometric == "PALETTE COLOR":
        frame = apply_color_lut(frame, ds)
        if frame.dtype != np.uint8:
            frame = (frame.astype(np.float64) / 257.0).round().astype(np.uint8)
        rgb = frame
    elif frame.ndim == 3 and frame.shape[-1] == 3:
        rgb = frame if frame.dtype == np.uint8 else np.dstack([_window(frame[..., c]) for c in range(3)])
    elif frame.ndim == 2:
        gray = _window(frame)
        if photometric == "MONOCHROME1":
            gray = 255 - gray
        rgb = np.repeat(gray[:, :, np.newaxis], 3, axis=2)
    else:
        raise ValueError(f"ds: unsupported pixel array shape {frame.shape} ({photometric})")
    return _resize(np.ascontiguousarray(rgb, dtype=np.uint8), ds, max_size)
