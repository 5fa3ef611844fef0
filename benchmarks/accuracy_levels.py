"""Vertebral level accuracy on real sagittal T2 against expert level labels (benchmark only).

Volumes: ``shared/data/sct_testing_data/t2``, the PAM50 T2 template of ``sct_testing_data/template`` (an
average of healthy scans, brainstem to L2, resampled to 1 mm in z; disc labels C2 ... L2) and, when they
have been fetched onto this machine, the public ``spinalcordtoolbox/sct_example_data`` (full-field
cervico-thoracic T2, ``t2/labels.nii.gz``: value 3 = C3 ... 11 = T4, mid-body points; two crops of it in
the history) and ``spinalcordtoolbox/sct_tutorial_data`` (``t2_lumbar``, no labels). The fetched data stay
outside the repository; nothing here is used by the tests.
Each volume is wrapped as DICOM (real pixels, synthetic headers: the description and body part below).

Per volume: the levels named (or why none), and for every labelled vertebra the level our ranges give at
its mid-body height and the distance from our body centre in vertebrae. A name is wrong when it differs
from the label or when its centre lies more than half a vertebra from the labelled point. When no level is
named, the bodies found are still measured: the distance of each labelled point from the nearest body centre,
and whether the bodies between two labelled points are as many as the labels say.
The full-field scan and the template are also cut from the top by 0-32 mm (12 cuts) and named by the disc
chain alone; a cut named wrong counts among the wrong names.
Cord compression on the same healthy volumes: the cord analyser's verdict, its normalised MSCC and whether
it proposed "cord narrowed", once with the levels the node named and once with the expert levels (each
labelled mid-body point +/- half the labelled pitch), which must give no candidate either.
Run: ``python benchmarks/accuracy_levels.py``.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
from pydicom.uid import generate_uid
from scipy import ndimage

from workers.analysis import run_analysers
from workers.analysis.base import SeriesInput
from workers.analysis.cord.analyser import CordMorphometryAnalyser
from workers.analysis.levels import SPINE, estimate_levels, levels_verdict
from workers.analysis.levels.from_discs import name_from_discs
from workers.analysis.volume import load_volume
from workers.inventory.series import SeriesInventory
from workers.phantom.dicom import StudyHeader
from workers.phantom.nifti import WrapSpec, wrap_nifti

SHARED = next(
    (p / "shared" for p in Path(__file__).resolve().parents if (p / "shared" / "data").is_dir()), Path("shared")
)
SCT = SHARED / "data" / "sct_testing_data"
MIRRORS = Path("/work/.mirror")
EXAMPLE = MIRRORS / "spinalcordtoolbox+sct_example_data" / "repo"
TUTORIAL = MIRRORS / "spinalcordtoolbox+sct_tutorial_data" / "repo"


@dataclass(frozen=True)
class Case:
    name: str
    image: str  # path of the image (file, or git-dir:commit:path)
    labels: str | None
    description: str
    body_part: str


TEMPLATE = SCT / "template/template"
CASES = (
    Case(
        "PAM50 T2 template (z resampled to 1 mm)",
        str(TEMPLATE / "PAM50_small_t2.nii.gz"),
        str(TEMPLATE / "PAM50_small_label_disc.nii.gz"),
        "Sag T2",
        "SPINE",
    ),
    Case("sct_testing t2 (55 mm crop)", str(SCT / "t2/t2.nii.gz"), str(SCT / "t2/labels.nii.gz"), "Sag T2", "SPINE"),
    Case(
        "example t2 full field (c73718d)",
        f"{EXAMPLE}:c73718d47dfeba4538ccaa139bf62ed9f5d0223f:t2/t2.nii.gz",
        f"{EXAMPLE}:c73718d47dfeba4538ccaa139bf62ed9f5d0223f:t2/labels.nii.gz",
        "Sag T2",
        "SPINE",
    ),
    Case(
        "example t2 full field, top 10 mm cut (b0305dc)",
        f"{EXAMPLE}:b0305dcce8c6bf644acfd97b7e26d33f14b90a61:t2/t2.nii.gz",
        f"{EXAMPLE}:c73718d47dfeba4538ccaa139bf62ed9f5d0223f:t2/labels.nii.gz",  # same subject and grid
        "Sag T2",
        "SPINE",
    ),
    Case(
        "example t2 as CSPINE",
        f"{EXAMPLE}:c73718d47dfeba4538ccaa139bf62ed9f5d0223f:t2/t2.nii.gz",
        f"{EXAMPLE}:c73718d47dfeba4538ccaa139bf62ed9f5d0223f:t2/labels.nii.gz",
        "Sag T2 C-spine",
        "CSPINE",
    ),
    Case(
        "example t2 labelled LSPINE (wrong header)",
        f"{EXAMPLE}:c73718d47dfeba4538ccaa139bf62ed9f5d0223f:t2/t2.nii.gz",
        f"{EXAMPLE}:c73718d47dfeba4538ccaa139bf62ed9f5d0223f:t2/labels.nii.gz",
        "Sag T2 L-spine",
        "LSPINE",
    ),
    Case(
        "tutorial t2_lumbar", f"{TUTORIAL}:HEAD:single_subject/data/t2_lumbar/t2_lumbar.nii.gz", None, "Sag T2", "SPINE"
    ),
)


#: Cut from the top by 0-32 mm: the full field (its C2 column shrinks) and the template (brainstem to lumbar:
#: its top edge moves down the skull base, above a C2 that has a disc-like C1/C2 junction above it).
SWEPT = ("example t2 full field (c73718d)", "PAM50 T2 template (z resampled to 1 mm)")


def _square(image: nib.Nifti1Image) -> nib.Nifti1Image:
    """Linear resampling to 1 mm along the axes coarser than 1 mm (sagittal pixels must be square)."""
    zooms = np.array(image.header.get_zooms()[:3], dtype=float)
    if np.allclose(zooms, 1.0):
        return image
    data = ndimage.zoom(np.asanyarray(image.dataobj).astype(np.float32), zooms, order=1)
    return nib.Nifti1Image(data, image.affine @ np.diag([*(1.0 / zooms), 1.0]))


def _load(spec: str, tmp: Path) -> nib.Nifti1Image | None:
    if ":" not in spec:
        return nib.Nifti1Image.from_filename(spec) if Path(spec).exists() else None
    git_dir, commit, path = spec.split(":", 2)
    if not Path(git_dir).exists():
        return None
    out = tmp / f"{abs(hash(spec))}.nii.gz"
    done = subprocess.run(["git", "--git-dir", git_dir, "show", f"{commit}:{path}"], capture_output=True)
    if done.returncode != 0 or done.stdout.startswith(b"version https://git-lfs") or len(done.stdout) < 1000:
        return None
    out.write_bytes(done.stdout)
    return nib.Nifti1Image.from_filename(out)


def _label_points(image: nib.Nifti1Image) -> dict[str, float]:
    """Level name -> z of its labelled point: the mid-body point, or for disc labels (value N at the top of
    vertebra N) the middle between the top of N and the top of N + 1 (only on the cord centre line)."""
    data = np.asanyarray(image.dataobj)
    points = {}
    for index in np.argwhere(data > 0):
        point = nib.affines.apply_affine(image.affine, index)
        if "disc" in str(image.get_filename()) and abs(point[1]) > 1e-6:
            continue  # the posterior disc points of the template
        points[int(data[tuple(index)])] = float(point[2])
    if "disc" not in str(image.get_filename()):
        return {SPINE[value - 1]: z for value, z in points.items()}
    return {SPINE[v - 1]: 0.5 * (points[v] + points[v + 1]) for v in points if v + 1 in points}


def _disc_errors(bodies: Sequence[tuple[float, float]], points: dict[str, float]) -> str:
    """For bodies found but not named: the distance (mm) of each labelled point from the nearest body
    centre, and whether the count of bodies between labelled points is right."""
    centres = np.array([0.5 * (top + bottom) for top, bottom in bodies])
    if centres.size == 0 or not points:
        return "no bodies found"
    ordered = sorted(points.items(), key=lambda kv: -kv[1])
    nearest = [int(np.argmin(np.abs(centres - z))) for _, z in ordered]
    errors = [abs(float(centres[i]) - z) for i, (_, z) in zip(nearest, ordered, strict=True)]
    steps = [b - a for a, b in zip(nearest, nearest[1:], strict=False)]
    expected = [SPINE.index(n2) - SPINE.index(n1) for (n1, _), (n2, _) in zip(ordered, ordered[1:], strict=False)]
    count = sum(s == e for s, e in zip(steps, expected, strict=True))
    return (
        f"bodies found: labelled points {np.median(errors):.1f} mm (max {max(errors):.1f}) from a body centre; "
        f"{count}/{len(expected)} spans between labelled points hold the right number of bodies"
    )


def _expert_levels(points: dict[str, float]) -> dict[str, tuple[float, float]]:
    """Level ranges from labelled mid-body points: interpolated between them, +/- half the pitch."""
    if len(points) < 2:
        return {}
    ordered = sorted(points.items(), key=lambda kv: SPINE.index(kv[0]))
    (first, z_first), (last, z_last) = ordered[0], ordered[-1]
    pitch = (z_first - z_last) / (SPINE.index(last) - SPINE.index(first))
    out = {}
    for i in range(SPINE.index(first), SPINE.index(last) + 1):
        centre = z_first - (i - SPINE.index(first)) * pitch
        out[SPINE[i]] = (centre + pitch / 2, centre - pitch / 2)
    return out


def _top_cut_sweep(image: nib.Nifti1Image, labels: nib.Nifti1Image, header: StudyHeader) -> tuple[str, int]:
    """The disc chain's naming with the top of the field cut by 0-32 mm: each cut
    is named right (every labelled point in the body of its name), named wrong, or not named."""
    data = np.asanyarray(image.dataobj)
    axis = int(np.argmax(np.abs(image.affine[2, :3])))
    points = _label_points(labels)
    tally = {"right": 0, "wrong": 0, "none": 0}
    for cut in (0, 1, 2, 4, 6, 8, 10, 12, 16, 20, 26, 32):
        keep = [slice(None)] * 3
        size = data.shape[axis]
        keep[axis] = slice(0, size - cut) if image.affine[2, axis] > 0 else slice(cut, size)
        offset = image.affine[:3, :3] @ np.array([(s.start or 0) for s in keep])
        affine = image.affine.copy()
        affine[:3, 3] += offset
        cropped = nib.Nifti1Image(np.ascontiguousarray(data[tuple(keep)]), affine)
        volume = load_volume(wrap_nifti(cropped, WrapSpec("Sag T2", "sagittal"), header))
        found = name_from_discs(volume, "SPINE Sag T2")
        if not found.naming.names:
            tally["none"] += 1
            continue
        named = dict(zip(found.naming.names, found.bodies, strict=True))
        right = all(n in named and named[n][1] <= z <= named[n][0] for n, z in points.items())
        tally["right" if right else "wrong"] += 1
    return ", ".join(f"{k} {v}" for k, v in tally.items()), tally["wrong"]


def main() -> None:
    print(f"{'volume':46s} {'s':>5s}  labelled -> named (error, vertebrae)")
    wrong = 0
    swept_wrong = 0  # of them, cuts named wrong
    false_candidates = 0
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for case in CASES:
            image = _load(case.image, tmp)
            if image is not None:
                image = _square(image)
            if image is None:
                print(f"{case.name:46s}  not available here")
                continue
            header = StudyHeader("BENCH^LEVELS", "B1", str(generate_uid()), str(generate_uid()), "B1", "benchmark")
            datasets = wrap_nifti(image, WrapSpec(case.description, "sagittal"), header)
            for ds in datasets:
                ds.BodyPartExamined = case.body_part
            series = SeriesInput(
                SeriesInventory("bench", "", "", len(datasets), plane="sagittal", sequence="T2"), datasets
            )
            start = time.perf_counter()
            estimate = estimate_levels([series])
            seconds = time.perf_counter() - start
            assert estimate is not None
            verdict = levels_verdict(estimate)
            labels = _load(case.labels, tmp) if case.labels else None
            cells = []
            if labels is not None:
                for truth, z in sorted(_label_points(labels).items(), key=lambda kv: -kv[1]):
                    named = next((n for n, (top, bottom) in estimate.levels.items() if bottom <= z <= top), None)
                    if named is None:
                        cells.append(f"{truth}->-")
                        continue
                    top, bottom = estimate.levels[named]
                    body = next(b for b in estimate.bodies if b[0] == top)
                    height = top - bottom
                    error = abs(SPINE.index(named) - SPINE.index(truth)) + abs(0.5 * (body[0] + body[1]) - z) / height
                    bad = named != truth or error > 0.5
                    wrong += bad
                    cells.append(f"{truth}->{named} ({error:.2f}{' WRONG' if bad else ''})")
                by_discs = name_from_discs(load_volume(datasets), f"{case.body_part} {case.description}")
                cells.append(
                    f"\n    {by_discs.discs} discs along the canal; "
                    + _disc_errors(by_discs.bodies, _label_points(labels))
                )
            else:
                names = list(estimate.levels)
                cells.append("no labels; named " + (f"{names[0]}..{names[-1]}" if names else "none"))
            anchor = f"{verdict.status.value}: {verdict.reason}"
            print(f"{case.name:46s} {seconds:5.2f}  {', '.join(cells)}\n    levels {anchor}")
            if case.name in SWEPT and labels is not None:
                sweep, wrong_cuts = _top_cut_sweep(image, labels, header)
                wrong += wrong_cuts
                swept_wrong += wrong_cuts
                print(f"    top of the field cut by 0-32 mm (12 cuts), disc chain: {sweep}")
            expert = _expert_levels(_label_points(labels)) if labels is not None else {}
            if case.image.endswith("PAM50_small_t2.nii.gz"):
                continue  # a template: no cord compression to assess
            for source, levels in (("named", dict(estimate.levels)), ("expert", expert)):
                if source == "expert" and not expert:
                    continue
                out = run_analysers(
                    [(series.inventory, series.datasets)], levels=levels, analysers=[CordMorphometryAnalyser()]
                )
                result = out.results[0]
                comp = result.details.get("compression")
                narrowed = [f for f in result.findings if "narrowed" in f.description]
                false_candidates += bool(narrowed)
                mscc = f"MSCC {comp.mscc_percent:.0f} % at {comp.level}" if comp else "MSCC not assessed"
                print(
                    f"    cord with {source} levels: {out.qc[0].status.value} {out.qc[0].reason}; {mscc}; "
                    f"{'CANDIDATE' if narrowed else 'no candidate'}"
                )
    print(
        f"level names off by more than half a vertebra: {wrong} (top-cut sweeps: {swept_wrong} cuts named wrong); "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(f"cord compression candidates on these healthy scans: {false_candidates}")


if __name__ == "__main__":
    main()
