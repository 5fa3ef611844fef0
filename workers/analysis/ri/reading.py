"""Counts on one planar cisternography view: the CSF column, its ends, paraspinal regions, head and bladder ROIs.

Image rows run head to feet. The column is followed band by band (10 mm) from mid-spine up and down, its
centre the count peak within 6 mm of the band before. Its caudal end (the sacral end of the sac, top of S2) is
where the column's counts fall below a quarter of their mid-spine median (or where the activity widens and
brightens into the bladder); its cranial end (the foramen magnum) is where, going up, the activity widens to
more than twice the column's width and brightens to 1.5 times its counts (the cisterna magna and basal
cisterns). Levels between the two are named with adult proportions (the length of each vertebra and its disc
as a share of the foramen magnum-S2 distance): approximate on planar images, as the report says.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from workers.analysis.ri.views import View

BAND_MM = 10.0
COLUMN_HALF_MM = 8.0
PARASPINAL_MM = (14.0, 40.0)
FAR_MM = (45.0, 85.0)
#: Adult vertebra + disc heights (mm) from the foramen magnum to the top of S2 (typical adult, both sexes).
PROPORTIONS: tuple[tuple[str, float], ...] = (
    ("C1", 14.0), ("C2", 18.0), ("C3", 15.0), ("C4", 15.0), ("C5", 15.0), ("C6", 15.0), ("C7", 15.0),
    ("T1", 20.0), ("T2", 21.0), ("T3", 22.0), ("T4", 22.0), ("T5", 23.0), ("T6", 23.0), ("T7", 24.0),
    ("T8", 24.0), ("T9", 25.0), ("T10", 26.0), ("T11", 27.0), ("T12", 28.0),
    ("L1", 33.0), ("L2", 34.0), ("L3", 35.0), ("L4", 35.0), ("L5", 33.0), ("S1", 30.0),
)  # fmt: skip


@dataclass
class Column:
    """The column on one view: per band (top to bottom) its row, centre column and counts."""

    rows: np.ndarray  # centre row of each band
    centre: np.ndarray  # column index of the column centre per band
    counts: np.ndarray  # counts within +/-8 mm of the centre per band
    left: np.ndarray  # paraspinal counts on the patient's left per band
    right: np.ndarray
    far_left: np.ndarray
    far_right: np.ndarray
    top_row: float | None  # foramen magnum
    end_row: float | None  # sacral end of the sac

    def level_of_row(self, row: float, pixel_mm: float) -> str | None:
        """The vertebral level at ``row`` from the proportions (None outside C1-S1 or without both ends)."""
        if self.top_row is None or self.end_row is None or self.end_row <= self.top_row:
            return None
        total = sum(h for _, h in PROPORTIONS)
        f = (row - self.top_row) / (self.end_row - self.top_row) * total
        acc = 0.0
        for name, h in PROPORTIONS:
            acc += h
            if f <= acc:
                return name if f >= 0 else None
        return None


def _band_sum(image: np.ndarray, r0: int, r1: int, c_lo: float, c_hi: float) -> float:
    lo, hi = max(0, int(round(c_lo))), min(image.shape[1], int(round(c_hi)) + 1)
    return float(image[r0:r1, lo:hi].sum()) if hi > lo else 0.0


def read_column(view: View) -> Column:
    """Follow the column from its caudal end to the head and take the counts of every band."""
    img = view.counts
    px = view.pixel_mm
    band = max(1, int(round(BAND_MM / px)))
    smooth = ndimage.gaussian_filter(img, 1.5)
    nb = img.shape[0] // band
    # start in the middle of the spine, at the brightest column position, and follow the peak up and down
    middle = smooth[nb * band // 4 : 3 * nb * band // 4]
    start_col = float(np.argmax(ndimage.uniform_filter1d(middle.sum(axis=0), int(round(20.0 / px)))))
    start = nb // 2
    centres = np.full(nb, np.nan)
    reach = 6.0 / px
    for order in (range(start, -1, -1), range(start, nb)):
        prev = start_col
        for b in order:
            rows = slice(b * band, (b + 1) * band)
            lo, hi = int(max(0, prev - reach)), int(min(img.shape[1], prev + reach + 1))
            seg = smooth[rows, lo:hi].sum(axis=0)
            if seg.size and seg.max() > 0:
                prev = lo + float(np.argmax(seg))
            centres[b] = prev
    half = COLUMN_HALF_MM / px
    sign = 1.0 if view.left_is_high_column else -1.0
    counts: list[float] = []
    left: list[float] = []
    right: list[float] = []
    far_left: list[float] = []
    far_right: list[float] = []
    widths: list[float] = []
    for b in range(nb):
        r0, r1, c = b * band, (b + 1) * band, centres[b]
        counts.append(_band_sum(img, r0, r1, c - half, c + half))
        pa, pb = PARASPINAL_MM[0] / px, PARASPINAL_MM[1] / px
        fa, fb = FAR_MM[0] / px, FAR_MM[1] / px
        high = _band_sum(img, r0, r1, c + pa, c + pb), _band_sum(img, r0, r1, c + fa, c + fb)
        low = _band_sum(img, r0, r1, c - pb, c - pa), _band_sum(img, r0, r1, c - fb, c - fa)
        (left if sign > 0 else right).append(high[0])
        (right if sign > 0 else left).append(low[0])
        (far_left if sign > 0 else far_right).append(high[1])
        (far_right if sign > 0 else far_left).append(low[1])
        lateral = smooth[r0:r1].sum(axis=0)
        lateral = lateral - float(np.median(lateral))  # above the body background
        peak = lateral[int(round(c))] if 0 <= int(round(c)) < lateral.size else 0.0
        widths.append(float((lateral >= 0.5 * peak).sum()) * px if peak > 0 else 0.0)
    col = Column(np.arange(nb) * band + band / 2.0, centres, np.array(counts), np.array(left), np.array(right),
                 np.array(far_left), np.array(far_right), None, None)  # fmt: skip
    _ends(col, np.array(widths))
    return col


def _ends(col: Column, widths: np.ndarray) -> None:
    counts = col.counts
    if counts.max() <= 0:
        return
    middle = counts[len(counts) // 4 : 3 * len(counts) // 4]  # the spine, away from the head and the bladder
    level = float(np.median(middle[middle > 0])) if (middle > 0).any() else 0.0
    if level <= 0:
        return
    lit = counts >= 0.25 * level
    mid = len(counts) // 2
    column_width = float(np.median(widths[len(counts) // 4 : 3 * len(counts) // 4]))
    # walking down from mid-spine: the sac ends where the counts fall, or where the activity widens into the
    # bladder (more than twice the column's width)
    # the last narrow lit band before the counts fail: a widened, brighter stretch (a paraspinal accumulation
    # beside the column, or the bladder below it) does not end the column unless nothing narrow follows
    end, b = mid, mid
    while b + 1 < len(counts) and lit[b + 1]:
        b += 1
        if not (widths[b] > 2.0 * column_width and counts[b] > 1.5 * level):
            end = b
    if not lit[end]:
        return
    col.end_row = float(col.rows[end] + 0.5 * (col.rows[1] - col.rows[0] if len(col.rows) > 1 else 0))
    b = end
    while b > 1 and counts[b - 1] > 0.05 * counts.max():
        # two bands wider than twice the column and brighter than it: the cisterna magna and basal cisterns
        wide = all(widths[j] > 2.0 * column_width and counts[j] > 1.5 * level for j in (b - 1, b - 2))
        if wide:
            col.top_row = float(col.rows[b] - 0.5 * (col.rows[1] - col.rows[0]))
            return
        b -= 1


def roi_mean(img: np.ndarray, centre_row: float, centre_col: float, half_rows: float, half_cols: float,
             top_fraction: float = 1.0) -> tuple[float, int]:  # fmt: skip
    """Mean counts per pixel of a rectangle (of its brightest ``top_fraction`` of pixels) and its pixel count."""
    r0, r1 = max(0, int(centre_row - half_rows)), min(img.shape[0], int(centre_row + half_rows) + 1)
    c0, c1 = max(0, int(centre_col - half_cols)), min(img.shape[1], int(centre_col + half_cols) + 1)
    values = img[r0:r1, c0:c1].ravel()
    if values.size == 0:
        return 0.0, 0
    if top_fraction < 1.0:
        values = np.sort(values)[-max(1, int(top_fraction * values.size)) :]
    return float(values.mean()), int(values.size)
