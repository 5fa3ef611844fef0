"""The outline of a 2-D mask as a closed polygon in DICOM image coordinates (column, row)."""

from __future__ import annotations

import numpy as np

MAX_POINTS = 64


def mask_outline(mask: np.ndarray, max_points: int = MAX_POINTS) -> tuple[tuple[float, float], ...]:
    """The boundary of the largest blob of ``mask`` (rows x columns), as vertices ordered around its centre,
    first == last, at most ``max_points``. Coordinates are pixel centres in DICOM image coordinates (the
    top-left pixel's centre is (0.5, 0.5)). Empty when the mask has fewer than 3 pixels. Good for the compact,
    roughly convex regions the node draws (cord cross-section, marrow ROI)."""
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D, got shape {mask.shape}")
    if mask.sum() < 3:
        return ()
    padded = np.pad(mask, 1)
    interior = padded[1:-1, 1:-1] & padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    rows, cols = np.nonzero(mask & ~interior)
    centre_r, centre_c = rows.mean(), cols.mean()
    angles = np.arctan2(rows - centre_r, cols - centre_c)
    order = np.argsort(angles, kind="stable")
    rows, cols = rows[order], cols[order]
    if len(rows) > max_points - 1:
        keep = np.linspace(0, len(rows) - 1, max_points - 1).round().astype(int)
        rows, cols = rows[keep], cols[keep]
    points = [(float(c) + 0.5, float(r) + 0.5) for r, c in zip(rows, cols, strict=True)]
    if len(points) < 3:
        return ()
    return (*points, points[0])
