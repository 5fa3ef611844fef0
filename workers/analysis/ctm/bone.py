"""Bone told from epidural contrast on one axial slice of a CT myelogram.

On real CT the cortex of the vertebra (pedicles, laminae, the body's rim) is 300-1300 HU, inside the range read
as contrast, and lies within the reach read around the sac. A vertebra is a large connected dense structure: a
cortical rim enclosing marrow (trabecular bone, about 100-400 HU), forming a ring around the canal. An epidural
leak lies between the sac and that ring, in the fat and CSF-density tissue of the canal (or out along a root
through its foramen, a gap in the ring).

- A thick piece of extra-sac contrast that is not a fluid is bone: at 1 mm inside its edge (a cortex is 1-2 mm
  thick, so only thick bone or a collection is left) its middle half spreads by more than 60 HU (liquid
  contrast varies only by the scanner's noise, an interquartile range of 27-54 HU; the real cortex measured
  spreads 74-104 HU there). A piece with such a thick middle that spreads less is a fluid.
- The vertebra is then the connected dense structure (at least 150 HU: marrow and cortex; muscle, disc, dura,
  CSF and fat are below) holding such a piece, its enclosed marrow filled in. A piece of extra-sac contrast
  joined to it through dense pixels that is not a fluid (a thin rim, a small fragment) is part of the vertebra
  and not read as contrast; a fluid is read as before, and so is any piece with a gap of fat or soft tissue
  between it and the bone.
- A piece of the vertebra joined to the sac's contrast with no gap (nothing under 150 HU, no fat or CSF,
  between them) is contrast against the cortex: a leak filling the epidural space up to the bone, or bone
  against the sac, cannot be told from the vertebra; it is counted as such (``against_mm2``), not read as a
  leak. On the real slices measured a gap of CSF at least 1 mm wide lies between the sac and the bone.
- A piece the vertebra hides from the sac (the straight line from the sac's centre to its nearest pixel
  crosses the bone) is outside the canal: a rib head or a process, not the epidural space or a foramen (the
  line to a leak along a root runs through the foramen's gap).

Where no extra-sac contrast is a thick non-fluid (the phantoms' cortex is 1400 HU, above the contrast range),
nothing is bone and every piece is read as before.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

BONE_HU = 150.0
CORE_MM = 1.0
FLUID_CORE_IQR_HU = 60.0
MIN_CORE_MM2 = 3.0


@dataclass
class BoneSplit:
    """The extra-sac contrast left once bone is taken out, and what could not be told from bone."""

    contrast: np.ndarray  # bool: extra-sac contrast not part of the vertebra
    bone: np.ndarray  # bool: the vertebra (dense structure holding non-fluid contrast), holes filled
    against_mm2: float  # contrast of the vertebra joined to the sac's: cannot be told from the cortex


def _core(region: np.ndarray, pixel_mm: tuple[float, float]) -> np.ndarray:
    return np.asarray(ndimage.distance_transform_edt(region, sampling=pixel_mm) >= CORE_MM)


def _iqr(values: np.ndarray) -> float:
    q1, q3 = np.percentile(values, [25, 75])
    return float(q3 - q1)


def split_bone(
    hu: np.ndarray, pixel_mm: tuple[float, float], extra: np.ndarray, sac_core: np.ndarray, sac_region: np.ndarray
) -> BoneSplit:
    """Take the vertebra out of ``extra`` (extra-sac contrast of one slice); ``sac_core`` is the sac's
    contrast, ``sac_region`` the sac with its wall and edge blur."""
    px_area = pixel_mm[0] * pixel_mm[1]
    comp, _ = ndimage.label(extra)
    core = _core(extra, pixel_mm)  # pieces touch at most at a corner: one transform serves them all
    seeds: list[int] = []
    fluids: list[int] = []
    for lab, box in enumerate(ndimage.find_objects(comp), start=1):
        if box is None:
            continue
        inner = core[box] & (comp[box] == lab)
        if inner.sum() * px_area >= MIN_CORE_MM2:
            (seeds if _iqr(hu[box][inner]) > FLUID_CORE_IQR_HU else fluids).append(lab)
    if not seeds:
        return BoneSplit(extra, np.zeros(extra.shape, dtype=bool), 0.0)
    dense, _ = ndimage.label((hu >= BONE_HU) & ~sac_region)
    held = np.unique(dense[np.isin(comp, seeds)])
    bone = np.asarray(ndimage.binary_fill_holes(np.isin(dense, held[held > 0])))
    in_bone = np.unique(comp[bone & extra])
    in_bone = in_bone[(in_bone > 0) & ~np.isin(in_bone, fluids)]  # a fluid is told from bone by its HU
    # no gap: the piece and the sac's contrast are one structure of bone density (nothing under 150 HU between)
    joined, _ = ndimage.label(hu >= BONE_HU)
    sac_labels = np.unique(joined[sac_core])
    touching = np.unique(comp[np.isin(comp, in_bone) & np.isin(joined, sac_labels[sac_labels > 0])])
    against = float(np.isin(comp, touching).sum()) * px_area
    kept = extra & ~np.isin(comp, in_bone)
    return BoneSplit(kept & ~_behind(kept, bone, sac_core), bone, against)


def _behind(pieces: np.ndarray, bone: np.ndarray, sac_core: np.ndarray) -> np.ndarray:
    """The pieces the vertebra hides from the sac's centre."""
    out = np.zeros(pieces.shape, dtype=bool)
    ys, xs = np.nonzero(sac_core)
    if ys.size == 0:
        return out
    centre = np.array([ys.mean(), xs.mean()])
    comp, _ = ndimage.label(pieces)
    for lab, box in enumerate(ndimage.find_objects(comp), start=1):
        if box is None:
            continue
        rows, cols = np.nonzero(comp[box] == lab)
        rows, cols = rows + box[0].start, cols + box[1].start
        near = int(np.argmin((rows - centre[0]) ** 2 + (cols - centre[1]) ** 2))
        end = np.array([rows[near], cols[near]], dtype=float)
        steps = int(np.ceil(np.hypot(*(end - centre)))) + 1
        line = np.rint(centre + np.linspace(0.0, 1.0, steps)[:, None] * (end - centre)).astype(int)
        if bone[line[:, 0], line[:, 1]].any():
            out |= comp == lab
    return out
