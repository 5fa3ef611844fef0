"""Whether a line along the spine (the cord centre line, or the canal followed on its own) is continuous.

The bodies are profiled in front of the line, so a line that leaves the canal puts the "bodies" profiled there
in soft tissue or in the abdomen, and no body count can be carried across the place where it left. The spine
bounds how far the line can move between two neighbouring samples:

- the canal is never steeper than :data:`MAX_TILT_DEG` from the patient's head-foot axis anywhere from C1 to
  the sacrum (the sacrum, the steepest part, lies 30-50 degrees from the vertical in adults with a normal
  sacral slope, up to 60-70 with a marked lordosis; cervical and lumbar lordosis, thoracic kyphosis and
  scoliosis tilt the canal less between neighbouring vertebrae): over a height ``dz`` the canal itself moves
  at most ``tan(MAX_TILT_DEG) * dz`` sideways or forwards;
- the centre of the cord (or of the thecal sac below the conus) can move inside the canal by at most
  :data:`WOBBLE_MM`: the canal's AP diameter (12-20 mm in adults, cervical to lumbar) less the cord's own
  (6-9 mm).

A step between neighbouring samples larger than ``tan(MAX_TILT_DEG) * dz + WOBBLE_MM`` is a break: the line
left the canal there. The cord centre line is also checked against the canal followed on its own on the same
image (:mod:`.sagittal_canal`, which cannot jump: at most 2 mm sideways per mm of height, smoothed): where the
two lie further apart than :data:`WOBBLE_MM` (the cord's centre can only be that far from the canal's), the cord
line has left the canal (in front of it: into the vertebral bodies or beyond); this only when the two agree
over most of the line (else it is not known which one follows the canal). The line is then cut at every
break and every part outside the canal into continuous runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: The steepest the canal runs from the head-foot axis (degrees): the sacrum with a marked lordosis.
MAX_TILT_DEG = 70.0
#: How far the centre of the cord can move inside the canal (mm): canal AP diameter less the cord's.
WOBBLE_MM = 10.0
#: Least height (mm) of a continuous run worth profiling: two vertebrae and the anchor (C2 with its dens or
#: the sacrum's first body and the two bodies above it).
MIN_RUN_MM = 60.0
#: The cord line is judged against the canal followed on its own only when the two agree over more than this
#: fraction of the line's samples (the same canal followed).
SAME_CANAL = 0.5


@dataclass(frozen=True)
class Break:
    """Where a line jumps: the height (patient z, mm) between the two samples, and the step (mm)."""

    z: float
    forwards_mm: float  # the AP part of the step, positive to the front (head to foot along the line)
    step_mm: float  # the whole step across the head-foot axis (AP and left-right)

    def words(self) -> str:
        ap = self.forwards_mm
        way = "forwards" if ap > 0 else "backwards"
        if abs(ap) < 0.5 * self.step_mm:
            way = "sideways"
        return f"the line along the spine jumps {self.step_mm:.0f} mm {way} at z = {self.z:.0f} mm"


def breaks(line: np.ndarray) -> list[Break]:
    """The breaks of ``line`` (N x 3 patient LPS mm, ascending z, as :func:`..canal_line` gives it)."""
    if len(line) < 2:
        return []
    d = np.diff(line, axis=0)
    dz = np.abs(d[:, 2])
    across = np.hypot(d[:, 0], d[:, 1])
    bound = np.tan(np.radians(MAX_TILT_DEG)) * dz + WOBBLE_MM
    out = []
    for i in np.nonzero(across > bound)[0]:
        # Ascending z: from sample i+1 down to sample i is head to foot; the front is -y (LPS).
        forwards = float(d[i, 1])  # y rises going up = the lower sample lies further to the front
        out.append(Break(float(0.5 * (line[i, 2] + line[i + 1, 2])), forwards, float(across[i])))
    return out


@dataclass(frozen=True)
class Outside:
    """A part of the cord line away from the canal followed on its own: heights (patient z, mm) and how far."""

    z_low: float
    z_high: float
    forwards_mm: float  # the largest distance in front of the canal (negative: behind it)

    def words(self) -> str:
        way = "in front of" if self.forwards_mm > 0 else "behind"
        return (
            f"the line along the spine lies up to {abs(self.forwards_mm):.0f} mm {way} the canal from "
            f"z = {self.z_low:.0f} to {self.z_high:.0f} mm"
        )


def _away(line: np.ndarray, canal: np.ndarray | None) -> np.ndarray:
    """Signed AP distance (mm, to the front) of each sample of ``line`` from ``canal`` (both ascending z);
    0 where the canal does not reach."""
    if canal is None or len(canal) < 2:
        return np.zeros(len(line))
    reach = (line[:, 2] >= canal[0, 2]) & (line[:, 2] <= canal[-1, 2])
    # The front is -y (LPS).
    away = np.where(reach, np.interp(line[:, 2], canal[:, 2], canal[:, 1]) - line[:, 1], 0.0)
    # Only a canal that follows the same canal over most of the line can tell where the line left it: when
    # the two part over more than SAME_CANAL of the line's height, it is not known which of them is wrong.
    if np.mean(np.abs(away[reach]) > WOBBLE_MM) > SAME_CANAL if reach.any() else True:
        return np.zeros(len(line))
    return away


def outside(line: np.ndarray, canal: np.ndarray | None) -> list[Outside]:
    """The parts of ``line`` further than :data:`WOBBLE_MM` from ``canal`` (both N x 3, ascending z)."""
    away = _away(line, canal)
    out = []
    for piece in np.split(np.arange(len(line)), np.nonzero(np.diff(np.abs(away) > WOBBLE_MM))[0] + 1):
        if len(piece) and abs(away[piece[0]]) > WOBBLE_MM:
            worst = piece[int(np.argmax(np.abs(away[piece])))]
            out.append(Outside(float(line[piece[0], 2]), float(line[piece[-1], 2]), float(away[worst])))
    return out


def runs(line: np.ndarray, canal: np.ndarray | None = None) -> list[np.ndarray]:
    """The continuous runs of ``line`` (ascending z) between its breaks and outside the parts away from
    ``canal``, longest (in height) first, each spanning at least :data:`MIN_RUN_MM`."""
    if len(line) < 2:
        return []
    d = np.diff(line, axis=0)
    bound = np.tan(np.radians(MAX_TILT_DEG)) * np.abs(d[:, 2]) + WOBBLE_MM
    inside = np.abs(_away(line, canal)) <= WOBBLE_MM
    # A cut before sample i+1 at every break; the samples outside the canal are dropped.
    cuts = np.nonzero((np.hypot(d[:, 0], d[:, 1]) > bound) | (inside[1:] != inside[:-1]))[0] + 1
    pieces = [line[idx] for idx in np.split(np.arange(len(line)), cuts) if inside[idx].all()]
    pieces = [p for p in pieces if len(p) >= 2 and p[-1, 2] - p[0, 2] >= MIN_RUN_MM]
    return sorted(pieces, key=lambda p: -(p[-1, 2] - p[0, 2]))


def describe(found: Sequence[Break | Outside]) -> str:
    """The breaks and parts outside the canal in words, and what follows from them."""

    def top(b: Break | Outside) -> float:
        return b.z if isinstance(b, Break) else b.z_high

    where = "; ".join(b.words() for b in sorted(found, key=top, reverse=True))
    return f"{where}: levels cannot be counted across it"
