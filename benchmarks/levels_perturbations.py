"""Confident wrong level names under perturbations of real sagittal T2 (benchmark only).

Volumes (the fetched ones stay outside the repository; nothing here is used by the tests): the full-field
cervico-thoracic T2 of ``sct_example_data`` (c73718d, labels C3 and T4 at mid-body), the PAM50 T2 template of
``sct_testing_data`` (brainstem to L2, disc labels), ``sct_tutorial_data`` ``t2_lumbar`` (no labels, no sacrum
in the field: any name is a wrong name) and the 77 mm sagittal T1 crop of ``sct_testing_data`` (CSF dark; no
labels, passed as the sagittal T2 the levels need: a name there is unchecked). Each perturbation is applied to
the image and its labels alike, so the truth follows the pixels:

- ``top N``/``bottom N``: the field cut by N mm at its top (1-60 mm) / bottom (every 5 mm up to 70 % of
  the field, every 15 mm on the template); ``window A/B``: both;
- ``flip head-foot``/``flip AP``: the pixels reversed along z / y, the geometry kept (the header says the
  other way: the anatomy is upside down or back to front in patient space);
- ``T1-like``: intensities inverted inside the body (CSF dark, marrow brighter than the discs' nucleus);
- ``thick N``: sagittal slices N mm thick (means of 1 mm slices, then one slice every N mm);
- ``pixels 2 mm``: the sagittal plane resampled to 2 mm pixels (a localiser); ``Rician noise N``;
- ``ramp front-back/head-foot N``: coil shading, the signal times a linear ramp 1 - N to 1 + N across the field;
- ``header X``: BodyPartExamined / SeriesDescription X (contradicting or confirming the image).

A case counts as wrong when a level is named and any labelled point lies outside the level of its name (or,
for the unlabelled lumbar field, whenever a level is named). Run: ``python benchmarks/levels_perturbations.py
[VOLUME ...]`` (``LEVELS_FAMILIES=flip,thick`` for some families only).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import nibabel as nib
import numpy as np
from pydicom.uid import generate_uid
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parent))
from accuracy_levels import CASES, SCT, Case, _label_points, _load, _square  # noqa: E402

from workers.analysis.base import SeriesInput  # noqa: E402
from workers.analysis.levels import estimate_levels, levels_verdict  # noqa: E402
from workers.inventory.series import SeriesInventory  # noqa: E402
from workers.phantom.dicom import StudyHeader  # noqa: E402
from workers.phantom.nifti import WrapSpec, wrap_nifti  # noqa: E402

Pair = tuple[nib.Nifti1Image, nib.Nifti1Image | None]
Perturb = Callable[[Pair], Pair]
T1_CROP = Case("sct_testing t1 (77 mm crop)", str(SCT / "t1/t1w.nii.gz"), None, "Sag T1", "SPINE")
VOLUMES = {
    "example t2 full field": "example t2 full field (c73718d)",
    "PAM50 T2 template": "PAM50 T2 template (z resampled to 1 mm)",
    "tutorial t2_lumbar": "tutorial t2_lumbar",
    "sct_testing t1 crop": T1_CROP.name,
}


def _axis(image: nib.Nifti1Image, world: int) -> int:
    return int(np.argmax(np.abs(image.affine[world, :3])))


def _crop(image: nib.Nifti1Image, world: int, top_mm: float, bottom_mm: float) -> nib.Nifti1Image:
    """Cut ``top_mm`` off the high end and ``bottom_mm`` off the low end of patient axis ``world``."""
    data = np.asanyarray(image.dataobj)
    axis = _axis(image, world)
    size = data.shape[axis]
    step = abs(float(image.affine[world, axis]))
    hi, lo = int(round(top_mm / step)), int(round(bottom_mm / step))
    keep = [slice(None)] * 3
    keep[axis] = slice(lo, size - hi) if image.affine[world, axis] > 0 else slice(hi, size - lo)
    affine = image.affine.copy()
    affine[:3, 3] += image.affine[:3, :3] @ np.array([s.start or 0 for s in keep])
    return nib.Nifti1Image(np.ascontiguousarray(data[tuple(keep)]), affine)


def _both(fn: Callable[[nib.Nifti1Image], nib.Nifti1Image]) -> Perturb:
    return lambda pair: (fn(pair[0]), fn(pair[1]) if pair[1] is not None else None)


def _flip(world: int) -> Callable[[nib.Nifti1Image], nib.Nifti1Image]:
    def run(image: nib.Nifti1Image) -> nib.Nifti1Image:
        data = np.flip(np.asanyarray(image.dataobj), axis=_axis(image, world))
        return nib.Nifti1Image(np.ascontiguousarray(data), image.affine)

    return run


def _t1_like(pair: Pair) -> Pair:
    image, labels = pair
    data = np.asanyarray(image.dataobj).astype(np.float32)
    body = data > np.percentile(data, 20)
    high = float(np.percentile(data[body], 99.5))
    out = np.where(body, np.clip(high - data, 0, None) + 0.05 * high, data)
    return nib.Nifti1Image(out.astype(np.float32), image.affine), labels


def _thick(mm: int) -> Perturb:
    def run(pair: Pair) -> Pair:
        image, labels = pair
        data = np.asanyarray(image.dataobj).astype(np.float32)
        axis = _axis(image, 0)
        step = abs(float(image.affine[0, axis]))
        n = max(1, int(round(mm / step)))
        moved = np.moveaxis(data, axis, 0)
        slabs = np.stack([moved[i : i + n].mean(axis=0) for i in range(0, moved.shape[0] - n + 1, n)])
        affine = image.affine.copy()
        affine[:3, axis] *= n
        affine[:3, 3] += image.affine[:3, axis] * (n - 1) / 2.0
        out = nib.Nifti1Image(np.ascontiguousarray(np.moveaxis(slabs, 0, axis)), affine)
        return out, labels  # the labels are read in patient z, which thick slices keep

    return run


def _coarse(mm: int) -> Perturb:
    """Pixels ``mm`` mm square in the sagittal plane (a low-resolution localiser); slices kept."""

    def run(pair: Pair) -> Pair:
        image, labels = pair
        data = np.asanyarray(image.dataobj).astype(np.float32)
        factors = [1.0 if k == _axis(image, 0) else 1.0 / mm for k in range(3)]
        out = ndimage.zoom(data, factors, order=1)
        scale = np.array([1.0 / f for f in factors])
        affine = image.affine.copy()
        affine[:3, :3] = image.affine[:3, :3] * scale[None, :]
        return nib.Nifti1Image(out, affine), labels  # the labels are read in patient z

    return run


def _noise(fraction: float) -> Perturb:
    """Rician noise of ``fraction`` of the 99th percentile signal (fixed seed)."""

    def run(pair: Pair) -> Pair:
        image, labels = pair
        data = np.asanyarray(image.dataobj).astype(np.float32)
        sigma = fraction * float(np.percentile(data, 99))
        rng = np.random.default_rng(7)
        noisy = np.hypot(data + rng.normal(0, sigma, data.shape), rng.normal(0, sigma, data.shape))
        return nib.Nifti1Image(noisy.astype(np.float32), image.affine), labels

    return run


def _ramp(world: int, strength: float) -> Perturb:
    """A receive-coil shading: the signal multiplied by a linear ramp from 1 - strength to 1 + strength along
    patient axis ``world`` (as the intensity ramp of ``qc_perturbations.py``, which runs along the first
    in-plane axis: y, front to back, on a sagittal series); a negative strength runs the other way."""

    def run(pair: Pair) -> Pair:
        image, labels = pair
        data = np.asanyarray(image.dataobj).astype(np.float32)
        axis = _axis(image, world)
        shape = [1, 1, 1]
        shape[axis] = -1
        ramp = np.linspace(1 - strength, 1 + strength, data.shape[axis]).reshape(shape)
        return nib.Nifti1Image(data * ramp, image.affine), labels

    return run


def perturbations(extent_mm: float) -> Iterator[tuple[str, str, Perturb, tuple[str, str]]]:
    """(family, name, perturbation, (body part, description))."""
    plain = ("SPINE", "Sag T2")
    yield "none", "as fetched", lambda pair: pair, plain
    for mm in (1, 2, 3, *range(4, 62, 4)):
        yield "top cut", f"top {mm}", _both(lambda im, mm=mm: _crop(im, 2, mm, 0)), plain
    for mm in range(5, int(extent_mm * 0.7), 5 if extent_mm < 250 else 15):
        yield "bottom cut", f"bottom {mm}", _both(lambda im, mm=mm: _crop(im, 2, 0, mm)), plain
    for top in (0, 4, 12, 24):
        for bottom in (20, 60, 100):
            if top + bottom < extent_mm * 0.6:
                yield "window", f"window {top}/{bottom}", _both(lambda im, t=top, b=bottom: _crop(im, 2, t, b)), plain
    yield "flip", "flip head-foot", _both(_flip(2)), plain
    yield "flip", "flip AP", _both(_flip(1)), plain
    yield "contrast", "T1-like", _t1_like, plain
    for mm in (3, 4, 5):
        yield "thick", f"thick {mm}", _thick(mm), plain
    yield "coarse", "pixels 2 mm", _coarse(2), plain
    for world, axis_name in ((1, "front-back"), (2, "head-foot")):
        for strength in (0.5, -0.5, 0.3):
            yield "ramp", f"ramp {axis_name} {strength:+.0%}", _ramp(world, strength), plain
    for fraction in (0.05, 0.1):
        yield "noise", f"Rician noise {fraction:.0%}", _noise(fraction), plain
    for part, description in (
        ("CSPINE", "Sag T2 C-spine"),
        ("LSPINE", "Sag T2 L-spine"),
        ("TSPINE", "Sag T2 T-spine"),
        ("HEAD", "Sag T2 brain"),
        ("SPINE", "Sag T2 C2-C5"),
        ("SPINE", "Sag T2 L1-S1"),
    ):
        yield "header", f"header {part} / {description}", lambda pair: pair, (part, description)


def _judge(levels: dict[str, tuple[float, float]], labels: nib.Nifti1Image | None, lumbar: bool) -> str:
    """none, wrong (a labelled point outside the level of its name, or inside a level of another name),
    right (at least one labelled point checked, none wrong) or unchecked (no labelled point to check)."""
    if not levels:
        return "none"
    if lumbar:
        return "wrong"  # no sacrum in the field: any name is unanchored
    points = _label_points(labels) if labels is not None else {}
    checked = 0
    for name, z in points.items():
        hit = next((m for m, (top, bottom) in levels.items() if bottom <= z <= top), None)
        if (name in levels and hit != name) or (hit is not None and hit != name):
            return "wrong"
        checked += hit is not None
    return "right" if checked else "unchecked"


def main() -> None:
    wanted = set(sys.argv[1:]) or set(VOLUMES)
    families = set(filter(None, os.environ.get("LEVELS_FAMILIES", "").split(",")))
    tally: dict[str, Counter[str]] = {}
    wrong_cases: list[str] = []
    load_start = os.getloadavg()[0]
    cpu_start = time.process_time()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for short, full in VOLUMES.items():
            if short not in wanted:
                continue
            case = next(c for c in (*CASES, T1_CROP) if c.name == full)
            image = _load(case.image, tmp)
            if image is None:
                print(f"{short}: not available here")
                continue
            image = _square(image)
            labels = _load(case.labels, tmp) if case.labels else None
            extent = float(np.asanyarray(image.dataobj).shape[_axis(image, 2)] * abs(image.affine[2, _axis(image, 2)]))
            for family, name, perturb, (part, description) in perturbations(extent):
                if families and family not in families:
                    continue
                moved, moved_labels = perturb((image, labels))
                header = StudyHeader("BENCH^LEVELS", "B1", str(generate_uid()), str(generate_uid()), "B1", "bench")
                datasets = wrap_nifti(moved, WrapSpec(description, "sagittal"), header)
                for ds in datasets:
                    ds.BodyPartExamined = part
                inventory = SeriesInventory("bench", "", "", len(datasets), plane="sagittal", sequence="T2")
                estimate = estimate_levels([SeriesInput(inventory, datasets)])
                assert estimate is not None
                verdict = levels_verdict(estimate)
                outcome = _judge(estimate.levels, moved_labels, short == "tutorial t2_lumbar")
                tally.setdefault(f"{short} | {family}", Counter())[outcome] += 1
                names = list(estimate.levels)
                shown = f"{names[0]}-{names[-1]}" if names else "-"
                line = f"{short:22s} {name:34s} {outcome:8s} {shown:8s} {verdict.status.value}: {verdict.reason[:150]}"
                print(line, flush=True)
                if outcome == "wrong":
                    wrong_cases.append(line)
    print("\n| volume | family | cases | named right | named wrong | named, unchecked | none named |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for key, counts in tally.items():
        volume, family = key.split(" | ")
        cells = [sum(counts.values()), counts["right"], counts["wrong"], counts["unchecked"], counts["none"]]
        print(f"| {volume} | {family} | " + " | ".join(str(c) for c in cells) + " |")
    print(
        f"wrong names: {len(wrong_cases)}; CPU {time.process_time() - cpu_start:.0f} s; "
        f"load average {load_start:.1f} -> {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
