"""Vertebral levels on an axial CT myelogram, named from anatomical anchors or not at all.

Along the sac, a box 10-25 mm in front of the sac centre runs through the vertebral bodies: bone (>= 150 HU,
above disc and soft tissue, 40-100 HU) over half the box is body, less is disc. Runs of body slices (gaps under
3 mm bridged) are the bodies, top to bottom. Anchors:

- **C2**: the top body of a field that starts in the upper cervical spine is body plus dens, at least 1.6
  times as tall as the bodies below it.
- **Sacrum**: the bottom body is the fused sacrum, at least 1.6 times as tall as the bodies above it.
- **Ribs**: a body with bone 45-85 mm beside the canal on some but not all of its slices bears ribs; the first
  rib-bearing body below rib-less ones is T1, the last one above rib-less ones is T12.

Every anchor found names the bodies by counting; when two anchors name them differently, no level is named
(never silently wrong). Each level runs from the top of its body to the top of the next (its disc below).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workers.analysis.ctm.contrast import SacReading
from workers.analysis.ctm.ct_volume import CtVolume

SPINE = ("C1", "C2", "C3", "C4", "C5", "C6", "C7", *(f"T{i}" for i in range(1, 13)), "L1", "L2", "L3", "L4", "L5", "S1")
BONE_HU = 150.0
RIB_HU = 700.0
TALL = 1.6


@dataclass(frozen=True)
class CtLevels:
    """Named levels (name -> (z_top, z_bottom) mm) and how they were named."""

    levels: dict[str, tuple[float, float]]
    anchor: str

    def level_of(self, z: float) -> str | None:
        for name, (top, bottom) in self.levels.items():
            if bottom <= z <= top:
                return name
        return None


def _centres(vol: CtVolume, sac: SacReading) -> np.ndarray:
    """The sac centre per slice; below the end of the sac (S2) the last centre, for up to 100 mm."""
    centre = sac.centre.copy()
    found = np.nonzero(sac.found)[0]
    if found.size == 0:
        return centre
    last = int(found[-1])
    reach = int(100.0 / max(vol.slice_mm, 0.1))
    centre[last + 1 : last + 1 + reach] = centre[last]
    return centre


def _bodies(vol: CtVolume, centres: np.ndarray) -> list[tuple[int, int]]:
    n = vol.hu.shape[0]
    flags = np.zeros(n, dtype=bool)
    py, px = vol.pixel_mm
    for k in (int(i) for i in np.nonzero(~np.isnan(centres[:, 0]))[0]):
        r, c = centres[k]
        r0, r1 = int(round(r - 25.0 / py)), int(round(r - 10.0 / py))
        c0, c1 = int(round(c - 3.0 / px)), int(round(c + 3.0 / px)) + 1
        box = vol.hu[k, max(r0, 0) : max(r1, 0), max(c0, 0) : c1]
        flags[k] = box.size > 0 and float((box >= BONE_HU).mean()) >= 0.5
    gap = int(3.0 // max(vol.slice_mm, 0.1))  # slices in an endplate-sized gap
    runs: list[tuple[int, int]] = []
    k = 0
    while k < n:
        if not flags[k]:
            k += 1
            continue
        start = k
        while k < n and (flags[k] or (flags[k : k + gap + 1].any() and k + gap < n)):
            k += 1
        runs.append((start, k - 1))
    return [r for r in runs if (r[1] - r[0] + 1) * vol.slice_mm >= 5.0]


def _ribs(vol: CtVolume, centres: np.ndarray, run: tuple[int, int]) -> bool:
    """Bone beside the body on some of its slices, but not all: a rib is about 10 mm tall where it meets
    the spine, while the sacral alae and the iliac bones run the whole height of the body."""
    py, px = vol.pixel_mm
    hits = 0
    for k in range(run[0], run[1] + 1):
        if np.isnan(centres[k, 0]):
            continue
        r, c = centres[k]
        rr, cc = np.nonzero(vol.hu[k] >= RIB_HU)
        lateral = np.abs(cc - c) * px
        near = np.abs(rr - r) * py <= 30.0
        hits += (near & (lateral >= 45.0) & (lateral <= 85.0)).sum() * px * py >= 20.0
    return 0 < hits <= 0.8 * (run[1] - run[0] + 1)


def name_levels(vol: CtVolume, sac: SacReading) -> CtLevels:
    """Levels from the anchors found; empty (with the reason) when none, or when they disagree."""
    centres = _centres(vol, sac)
    runs = _bodies(vol, centres)
    if len(runs) < 3:
        return CtLevels({}, "fewer than three vertebral bodies found along the sac")
    heights = np.array([(b - a + 1) * vol.slice_mm for a, b in runs])
    namings: dict[str, int] = {}  # anchor -> index in SPINE of runs[0]
    if len(runs) >= 4 and heights[0] >= TALL * np.median(heights[1:4]) and runs[0][0] * vol.slice_mm <= 40.0:
        namings["C2 (body and dens)"] = SPINE.index("C2")
    if len(runs) >= 4 and heights[-1] >= TALL * np.median(heights[-4:-1]) and runs[-1][1] >= len(vol.z) - 3:
        namings["sacrum"] = SPINE.index("S1") - (len(runs) - 1)
    ribs = [_ribs(vol, centres, r) for r in runs]
    for i in range(1, len(runs)):
        if ribs[i] and not ribs[i - 1] and not any(ribs[:i]):
            namings["first rib (T1)"] = SPINE.index("T1") - i
        if ribs[i - 1] and not ribs[i] and not any(ribs[i:]):
            namings["last rib (T12)"] = SPINE.index("T12") - (i - 1)
    if not namings:
        return CtLevels({}, "no anchor (C2 with the dens, ribs, sacrum) in the field")
    starts = set(namings.values())
    if len(starts) > 1:
        found = ", ".join(
            f"{a} says the top body is {SPINE[s] if 0 <= s < len(SPINE) else '?'}" for a, s in namings.items()
        )
        return CtLevels({}, f"anchors disagree ({found})")
    start = starts.pop()
    if start < 0 or start + len(runs) > len(SPINE):
        return CtLevels({}, "the anchors place bodies beyond C1-S1")
    levels: dict[str, tuple[float, float]] = {}
    for i, (a, _b) in enumerate(runs):
        top = float(vol.z[a])
        bottom = float(vol.z[runs[i + 1][0]]) if i + 1 < len(runs) else float(vol.z[runs[i][1]])
        levels[SPINE[start + i]] = (top, bottom + (0.0 if i + 1 == len(runs) else 0.01))
    if start == SPINE.index("C2"):
        levels = {"C1": (float(vol.z[0]), levels["C2"][0]), **levels}
    return CtLevels(levels, " and ".join(sorted(namings)))
