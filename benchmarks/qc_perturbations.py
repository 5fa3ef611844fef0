"""QC verdicts under the perturbations a hospital produces, through the pipeline's own offline steps (benchmark).

Each real volume (``shared/data/sct_testing_data``, the PAM50 template, and the fetched sct_example_data /
sct_tutorial_data volumes of :mod:`cord_volumes` when present) is wrapped as DICOM (real pixels, synthetic
headers) and perturbed: crops of the field (top, bottom, sides), thicker slabs and gapped slices, Rician
noise, inverted intensities, coarser or interpolated in-plane pixels, an intensity ramp, a motion ghost,
flipped / rotated pixels with a consistent ImageOrientationPatient, reversed or shuffled instances, a
duplicated slice, another RescaleSlope/Intercept, a missing or wrong SeriesDescription and BodyPartExamined, a
series of 1-3 slices. Every study goes through the inventory, analysis and criteria
steps (:data:`workers.pipeline.STEPS`) as ``spinenode analyse`` runs them.

Per case: the cord verdict, Dice against the expert mask (where there is one, perturbed alike), the mean
CSA, the levels named and the candidates. A case is flagged when an ``ok`` cord has Dice < 0.8 or its CSA
moved > 10 % from the unperturbed ``ok`` volume under a perturbation that keeps the anatomy (flips, header
changes), when a level is named that the unperturbed volume did not name or 8 mm away from it, and when a
candidate comes from an output that is not ``ok``.
Run: ``python benchmarks/qc_perturbations.py [VOLUME ...]`` (rows also appended to ``$QC_ROWS`` as JSON;
``QC_PERT="intensity ramp,motion ghost"`` runs only the perturbations whose names hold one of these words, and
each volume unperturbed).
"""

from __future__ import annotations

import copy
import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
from pydicom.uid import generate_uid

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cord_volumes import resolve  # noqa: E402

from node.commands.analyse import collect  # noqa: E402
from workers.analysis.contract import measurement_json  # noqa: E402
from workers.analysis.volume import load_volume  # noqa: E402
from workers.phantom.dicom import StudyHeader  # noqa: E402
from workers.phantom.nifti import WrapSpec, binned_pixels, wrap_nifti  # noqa: E402
from workers.pipeline.candidates import candidates_json  # noqa: E402
from workers.pipeline.offline import run_steps  # noqa: E402

SCT = str(Path(__file__).resolve().parents[2] / "shared" / "data" / "sct_testing_data")
GRE = {"scanning_sequence": "GR", "sequence_variant": "SP", "repetition_time_ms": 500, "echo_time_ms": 15}
T1 = {"repetition_time_ms": 600, "echo_time_ms": 10, "sequence_name": "*tse2d1"}
PAM50 = f"file:{SCT}/template/template/PAM50_small"
BASES = {
    # name: (image ref, mask ref, plane, description, wrap kwargs)
    "t2 sag": ("shared:t2/t2.nii.gz", "shared:t2/t2_seg-manual.nii.gz", "sagittal", "Sag T2 TSE C-spine", {}),
    "t2 ax": ("shared:t2/t2.nii.gz", "shared:t2/t2_seg-manual.nii.gz", "axial", "Ax T2 TSE C-spine", {}),
    "t2s ax": ("shared:t2s/t2s.nii.gz", "shared:t2s/t2s_seg.nii.gz", "axial", "Ax T2* MEDIC", GRE),
    "t2s ax as T2": ("shared:t2s/t2s.nii.gz", "shared:t2s/t2s_seg.nii.gz", "axial", "Ax T2", {}),
    "t1 sag": ("shared:t1/t1w.nii.gz", "shared:t1/t1w_seg-manual.nii.gz", "sagittal", "Sag T1 TSE", T1),
    "mt0 ax": ("shared:mt/mt0.nii.gz", "shared:mt/mt0_seg.nii.gz", "axial", "Ax GRE MT off", GRE),
    "mt0 ax as T2": ("shared:mt/mt0.nii.gz", "shared:mt/mt0_seg.nii.gz", "axial", "Ax T2", {}),
    "pam50 sag": (f"{PAM50}_t2.nii.gz", f"{PAM50}_cord.nii.gz", "sagittal", "Sag T2", {}),
    "example t2 full": ("example:t2/t2.nii.gz", None, "sagittal", "Sag T2", {}),
    "lumbar t2": ("tutorial:single_subject/data/t2_lumbar/t2_lumbar.nii.gz", None, "sagittal", "Sag T2 L-spine", {}),
    "t2_ms ax": ("tutorial:single_subject/data/t2_ms/t2.nii.gz", None, "axial", "Ax T2", {}),
}


def ref(r: str | None) -> Path | None:
    if r is None:
        return None
    if r.startswith("file:"):
        p = Path(r[5:])
        return p if p.exists() else None
    return resolve(r)


def img3(p: Path) -> nib.Nifti1Image:
    im = nib.load(p)
    d = np.asanyarray(im.dataobj).astype(np.float32)
    if d.ndim == 4:
        d = d[..., 0]
    zooms = np.array(im.header.get_zooms()[:3], dtype=float)
    if "PAM50" in str(p) and not np.allclose(zooms, 1.0):
        from scipy import ndimage

        d = ndimage.zoom(d, zooms, order=1)
        return nib.Nifti1Image(d, im.affine @ np.diag([*(1.0 / zooms), 1.0]))
    return nib.Nifti1Image(d, im.affine)


# ---- NIfTI-level perturbations (image, mask) -> (image, mask); axes in RAS via orientation
def _axis(im: nib.Nifti1Image, code: str) -> int:
    codes = nib.aff2axcodes(im.affine)
    pairs = {"S": "SI", "I": "SI", "A": "AP", "P": "AP", "R": "RL", "L": "RL"}
    return next(i for i, c in enumerate(codes) if c in pairs[code])


def crop(code: str, frac: float) -> Callable:
    def f(im: nib.Nifti1Image, m: nib.Nifti1Image | None):
        ax = _axis(im, code)
        n = im.shape[ax]
        cut = int(round(n * frac))
        # which end is 'code' (e.g. S = top)?
        codes = nib.aff2axcodes(im.affine)
        positive = codes[ax] == code
        sl = [slice(None)] * 3
        sl[ax] = slice(0, n - cut) if positive else slice(cut, n)
        return _sub(im, tuple(sl)), (_sub(m, tuple(sl)) if m is not None else None)

    return f


def _sub(im: nib.Nifti1Image, sl: tuple) -> nib.Nifti1Image:
    return im.slicer[sl]


def thick(code: str, k: int) -> Callable:
    """Average k neighbouring voxels along the axis of ``code`` (a thicker slice / coarser sampling)."""

    def f(im, m):
        ax = _axis(im, code)
        out = []
        for x in (im, m):
            if x is None:
                out.append(None)
                continue
            d = np.asanyarray(x.dataobj).astype(np.float32)
            n = d.shape[ax] // k * k
            d = np.take(d, range(n), axis=ax)
            shp = list(d.shape)
            shp[ax : ax + 1] = [n // k, k]
            d = d.reshape(shp).mean(axis=ax + 1)
            aff = x.affine.copy()
            aff[:3, 3] = aff[:3, 3] + aff[:3, ax] * (k - 1) / 2
            aff[:3, ax] = aff[:3, ax] * k
            out.append(nib.Nifti1Image(d, aff))
        return out[0], out[1]

    return f


def noise(sigma_frac: float, seed: int = 0) -> Callable:
    def f(im, m):
        d = np.asanyarray(im.dataobj).astype(np.float32)
        rng = np.random.default_rng(seed)
        s = sigma_frac * float(np.percentile(d, 99))
        n = np.hypot(d + rng.normal(0, s, d.shape), rng.normal(0, s, d.shape))  # Rician
        return nib.Nifti1Image(n.astype(np.float32), im.affine), m

    return f


def invert(im, m):
    d = np.asanyarray(im.dataobj).astype(np.float32)
    return nib.Nifti1Image(float(d.max()) - d, im.affine), m


def every(code: str, k: int) -> Callable:
    """Every k-th slice along the axis of ``code`` (gapped slices)."""

    def f(im, m):
        ax = _axis(im, code)
        sl = [slice(None)] * 3
        sl[ax] = slice(0, None, k)
        return im.slicer[tuple(sl)], (m.slicer[tuple(sl)] if m is not None else None)

    return f


NIFTI_PERTURB: dict[str, Callable] = {
    "crop top 25%": crop("S", 0.25),
    "crop bottom 25%": crop("I", 0.25),
    "crop top 50%": crop("S", 0.5),
    "crop bottom 50%": crop("I", 0.5),
    "crop anterior 30%": crop("A", 0.3),
    "crop posterior 30%": crop("P", 0.3),
    "crop right 30%": crop("R", 0.3),
    "crop left 30%": crop("L", 0.3),
    "slabs x2 along S-I": thick("S", 2),
    "slabs x3 along S-I": thick("S", 3),
    "slabs x5 along S-I": thick("S", 5),
    "every 2nd slice along S-I": every("S", 2),
    "every 3rd slice along S-I": every("S", 3),
    "slabs x3 along R-L": thick("R", 3),
    "noise 3%": noise(0.03),
    "noise 8%": noise(0.08),
    "noise 15%": noise(0.15),
    "inverted intensity": invert,
}
#: Resamples that would make the in-plane pixels of the display plane non-square (the wrap needs square ones).
IN_PLANE = {"sagittal": ("along S-I",), "axial": ("along R-L",)}
#: The slice axis of each display plane (the two other axes are the image's rows and columns).
SLICE_AXIS = {"sagittal": "R", "axial": "S"}


def _in_plane(im: nib.Nifti1Image, plane: str) -> list[int]:
    s = _axis(im, SLICE_AXIS[plane])
    return [a for a in range(3) if a != s]


def _image_and_mask(im, m, transform: Callable):
    """``transform(pixels, affine) -> (pixels, affine)`` applied to the image and to its mask (if any) alike."""
    out = []
    for x in (im, m):
        if x is None:
            out.append(None)
            continue
        d, aff = transform(np.asanyarray(x.dataobj).astype(np.float32), x.affine.copy())
        out.append(nib.Nifti1Image(d, aff))
    return out[0], out[1]


def binned(k: int) -> Callable:
    """In-plane pixels k x k averaged (a coarser matrix over the same field), mask alike."""

    def f(im, m, plane):
        axes = _in_plane(im, plane)
        return _image_and_mask(im, m, lambda d, aff: binned_pixels(d, aff, axes, k))

    return f


def interpolated(k: int) -> Callable:
    """In-plane pixels interpolated k times finer (linear; as a scanner's zero-filled reconstruction), mask alike."""

    def f(im, m, plane):
        from scipy import ndimage

        axes = _in_plane(im, plane)

        def transform(d, aff):
            d = ndimage.zoom(d, [float(k) if a in axes else 1.0 for a in range(3)], order=1)
            for ax in axes:
                aff[:3, 3] -= aff[:3, ax] * (k - 1) / (2 * k)
                aff[:3, ax] /= k
            return d, aff

        return _image_and_mask(im, m, transform)

    return f


def resampled(factor: float) -> Callable:
    """In-plane pixels 1/``factor`` the size over the same field (linear; the field's first pixel edge kept,
    as a scanner's reconstruction matrix ``factor`` times as large), mask alike."""

    def f(im, m, plane):
        from scipy import ndimage

        def transform(d, aff):
            for ax in _in_plane(im, plane):
                size = int(d.shape[ax] * factor)  # the field kept to whole new pixels (square ones)
                ratio = 1.0 / factor  # new pixel size over the old one
                where = (np.arange(size) + 0.5) * ratio - 0.5
                coords = np.meshgrid(*[where if a == ax else np.arange(d.shape[a]) for a in range(3)], indexing="ij")
                d = ndimage.map_coordinates(d, coords, order=1, mode="nearest")
                aff[:3, 3] += aff[:3, ax] * (0.5 * ratio - 0.5)
                aff[:3, ax] *= ratio
            return d, aff

        return _image_and_mask(im, m, transform)

    return f


def bias(strength: float) -> Callable:
    """A coil-sensitivity ramp across the image rows, 1 - strength to 1 + strength."""

    def f(im, m, plane):
        d = np.asanyarray(im.dataobj).astype(np.float32)
        ax = _in_plane(im, plane)[0]
        shape = [1, 1, 1]
        shape[ax] = -1
        ramp = np.linspace(1 - strength, 1 + strength, d.shape[ax]).reshape(shape)
        return nib.Nifti1Image(d * ramp, im.affine), m

    return f


def ghost(fraction: float) -> Callable:
    """A motion ghost: the image added to itself shifted by half the field along the columns, at ``fraction``."""

    def f(im, m, plane):
        d = np.asanyarray(im.dataobj).astype(np.float32)
        ax = _in_plane(im, plane)[1]
        return nib.Nifti1Image(d + fraction * np.roll(d, d.shape[ax] // 2, axis=ax), im.affine), m

    return f


#: Perturbations of the display plane's pixels (need the plane to know which axes are in-plane).
PLANE_PERTURB: dict[str, Callable] = {
    "pixels 2x2 coarser": binned(2),
    "pixels 3x3 coarser": binned(3),
    "pixels interpolated 2x finer": interpolated(2),
    "pixels resampled 0.75x (matrix)": resampled(0.75),
    "pixels resampled 1.5x (matrix)": resampled(1.5),
    "intensity ramp +-50%": bias(0.5),
    "motion ghost 30%": ghost(0.3),
}


# ---- DICOM-level perturbations (list of datasets) -> list
def _ds_geom(ds):
    iop = np.array([float(x) for x in ds.ImageOrientationPatient])
    return iop[:3], iop[3:], np.array([float(x) for x in ds.ImagePositionPatient]), [float(x) for x in ds.PixelSpacing]


def _set_px(ds, arr):
    arr = np.ascontiguousarray(arr.astype(np.uint16))
    ds.Rows, ds.Columns = arr.shape
    ds.PixelData = arr.tobytes()


def _flip(dss, *, columns: bool):
    """Each image mirrored left-right (columns) or top-bottom (rows), its geometry changed to match."""
    out = []
    for ds in dss:
        ds = copy.deepcopy(ds)
        r, c, p, (sr, sc) = _ds_geom(ds)
        px = ds.pixel_array
        if columns:
            ds.ImageOrientationPatient = [f"{x:.6f}" for x in (*(-r), *c)]
            ds.ImagePositionPatient = [f"{x:.4f}" for x in p + r * sc * (px.shape[1] - 1)]
            _set_px(ds, px[:, ::-1])
        else:
            ds.ImageOrientationPatient = [f"{x:.6f}" for x in (*r, *(-c))]
            ds.ImagePositionPatient = [f"{x:.4f}" for x in p + c * sr * (px.shape[0] - 1)]
            _set_px(ds, px[::-1, :])
        out.append(ds)
    return out


def flip_cols(dss):
    return _flip(dss, columns=True)


def flip_rows(dss):
    return _flip(dss, columns=False)


def transpose(dss):
    out = []
    for ds in dss:
        ds = copy.deepcopy(ds)
        r, c, p, (sr, sc) = _ds_geom(ds)
        px = ds.pixel_array
        ds.ImageOrientationPatient = [f"{x:.6f}" for x in (*c, *r)]
        ds.PixelSpacing = [f"{sc:.6g}", f"{sr:.6g}"]
        _set_px(ds, px.T)
        out.append(ds)
    return out


def reverse_instances(dss):
    out = [copy.deepcopy(d) for d in dss]
    n = len(out)
    for i, d in enumerate(out):
        d.InstanceNumber = n - i
    return out[::-1]


def shuffle(dss):
    out = [copy.deepcopy(d) for d in dss]
    rng = np.random.default_rng(1)
    perm = rng.permutation(len(out))
    out = [out[i] for i in perm]
    for i, d in enumerate(out):
        d.InstanceNumber = i + 1
    return out


def duplicate(dss):
    out = [copy.deepcopy(d) for d in dss]
    k = len(out) // 2
    dup = copy.deepcopy(out[k])
    dup.SOPInstanceUID = str(generate_uid())
    dup.file_meta.MediaStorageSOPInstanceUID = dup.SOPInstanceUID
    dup.InstanceNumber = len(out) + 1
    return out + [dup]


def middle(n):
    def f(dss):
        k = len(dss) // 2
        return [copy.deepcopy(d) for d in dss[k - n // 2 : k - n // 2 + n]]

    return f


def rescale(dss):
    out = []
    for ds in dss:
        ds = copy.deepcopy(ds)
        px = ds.pixel_array.astype(np.float64)
        slope, icpt = float(ds.RescaleSlope), float(ds.RescaleIntercept)
        _set_px(ds, np.rint(px / 4.0))
        ds.RescaleSlope = f"{slope * 4.0:.8g}"
        ds.RescaleIntercept = f"{icpt + 1000:.8g}"
        out.append(ds)
    return out


def header(**kw):
    def f(dss):
        out = []
        for ds in dss:
            ds = copy.deepcopy(ds)
            for k, v in kw.items():
                if v is None:
                    if k in ds:
                        delattr(ds, k)
                else:
                    setattr(ds, k, v)
            out.append(ds)
        return out

    return f


DICOM_PERTURB: dict[str, Callable] = {
    "flip columns": flip_cols,
    "flip rows": flip_rows,
    "rotate 90 (transpose+flip)": lambda d: flip_cols(transpose(d)),
    "reverse slice order": reverse_instances,
    "shuffled instances": shuffle,
    "duplicated slice": duplicate,
    "RescaleSlope x4 +1000": rescale,
    "no SeriesDescription": header(SeriesDescription=None),
    "desc 'Brain' body HEAD": header(SeriesDescription="Ax T2 Brain", BodyPartExamined="HEAD"),
    "body LSPINE": header(BodyPartExamined="LSPINE"),
    "desc 'T2 TSE' (sequence relabelled)": header(
        SeriesDescription="T2 TSE",
        ScanningSequence="SE",
        SequenceVariant="SK",
        SequenceName="*tse2d1",
        EchoTime="100",
        RepetitionTime="3000",
    ),
    "no BodyPart": header(BodyPartExamined=None),
    "3 slices": middle(3),
    "2 slices": middle(2),
    "1 slice": middle(1),
}

ONLY_GEOM_PRESERVING = {
    "desc 'Brain' body HEAD",
    "body LSPINE",
    "desc 'T2 TSE' (sequence relabelled)",
    "1 slice",
    "2 slices",
    "3 slices",
    "flip columns",
    "flip rows",
    "rotate 90 (transpose+flip)",
    "reverse slice order",
    "shuffled instances",
    "no SeriesDescription",
    "no BodyPart",
}


def analyse(dss) -> tuple[dict[str, Any], Any]:
    with tempfile.TemporaryDirectory() as tmp:
        for i, ds in enumerate(dss):
            ds.save_as(Path(tmp) / f"im{i:04d}.dcm", enforce_file_format=True)
        studies, _ = collect(Path(tmp))
        ctx = run_steps(next(iter(studies.values())))
        mask = None
        if ctx.analysis is not None:
            for r in ctx.analysis.results:
                if r.analyser == "cord_morphometry" and r.details.get("segmentation") is not None:
                    seg = r.details["segmentation"]
                    mask = seg.view.to_source(seg.mask)
        out = {
            "series": [inv.to_json() for inv in ctx.inventory.values()],
            "measurements": [j for m in ctx.measurements if (j := measurement_json(m)) is not None],
            "candidates": candidates_json(ctx.candidate_findings),
            "qc": [v.as_json() for v in ctx.qc],
            "levels": ctx.levels,
            "errors": ctx.errors,
        }
        return out, mask


def hdr() -> StudyHeader:
    return StudyHeader("QC^HUNT", "Q1", str(generate_uid()), str(generate_uid()), "Q1", "qc hunt")


def summarise(name, pert, out, mask, manual):
    cord = [q for q in out["qc"] if q["analyser"] == "cord_morphometry"]
    lv = [q for q in out["qc"] if q["analyser"] == "vertebral_levels"]
    csa = [m["value"] for m in out["measurements"] if m["name"] == "cord_csa" and m["level"] is None]
    dice = None
    if mask is not None and manual is not None and mask.shape == manual.shape:
        dice = float(2 * (mask & manual).sum() / max(mask.sum() + manual.sum(), 1))
    levels = {}
    for d in out["levels"].values():
        levels = {k: round((v[0] + v[1]) / 2, 1) for k, v in d.items()}
    return {
        "case": name,
        "pert": pert,
        "cord": cord[0]["status"] if cord else "-",
        "cord_reason": cord[0]["reason"][:160] if cord else "",
        "levels_qc": lv[0]["status"] if lv else "-",
        "levels_reason": lv[0]["reason"][:120] if lv else "",
        "csa": round(csa[0], 1) if csa else None,
        "dice": round(dice, 3) if dice is not None else None,
        "levels": levels,
        "candidates": [c.get("kind") + ":" + str(c.get("levels")) for c in out["candidates"]],
        "cand_series_qc": [
            next((q["status"] for q in out["qc"] if q["series_uid"] == c.get("series_uid")), "?")
            for c in out["candidates"]
        ],
        "all_qc": [(q["analyser"], q["status"]) for q in out["qc"]],
        "errors": out["errors"],
        "seq": [s.get("sequence") for s in out["series"]],
        "region": [s.get("region") for s in out["series"]],
    }


def main() -> None:
    only = sys.argv[1:] or list(BASES)
    res_path = Path(os.environ["QC_ROWS"]) if os.environ.get("QC_ROWS") else None
    rows: list[dict[str, Any]] = []
    for name in only:
        iref, mref, plane, desc, kw = BASES[name]
        ip = ref(iref)
        if ip is None:
            print("missing", name, flush=True)
            continue
        im = img3(ip)
        mp = ref(mref)
        m = img3(mp) if mp is not None else None
        spec = WrapSpec(desc, plane, **kw)
        cases: list[tuple[str, Any, Any, Callable | None]] = [("base", im, m, None)]
        for pn, f in NIFTI_PERTURB.items():
            if any(word in pn for word in IN_PLANE[plane]):
                continue
            try:
                pi, pm = f(im, m)
            except Exception as exc:  # noqa: BLE001
                print("perturb failed", name, pn, exc)
                continue
            cases.append((pn, pi, pm, None))
        for pn, f in PLANE_PERTURB.items():
            pi, pm = f(im, m, plane)
            cases.append((pn, pi, pm, None))
        for pn, f in DICOM_PERTURB.items():
            cases.append((pn, im, m, f))
        wanted = os.environ.get("QC_PERT")
        if wanted:
            cases = [c for c in cases if c[0] == "base" or any(w in c[0] for w in wanted.split(","))]
        for pn, pi, pm, df in cases:
            try:
                h = hdr()
                dss = wrap_nifti(pi, spec, h)
                manual = None
                if pm is not None:
                    mds = wrap_nifti(pm, spec, h)
                    if df is not None and pn in ONLY_GEOM_PRESERVING:
                        mds = df(mds)
                    elif df is not None:
                        mds = None
                    try:
                        manual = load_volume(mds).array > 0.5 if mds is not None else None
                    except Exception:  # noqa: BLE001
                        manual = None
                if df is not None:
                    dss = df(dss)
                out, mask = analyse(dss)
                row = summarise(name, pn, out, mask, manual)
            except Exception as exc:  # noqa: BLE001
                row = {"case": name, "pert": pn, "crash": f"{type(exc).__name__}: {exc}"}
            rows.append(row)
            if res_path is not None:
                with res_path.open("a") as fh:
                    fh.write(json.dumps(row) + "\n")
    table(rows)


def flags(row: dict[str, Any], base: dict[str, Any]) -> list[str]:
    """Why a case is wrong: an ok cord that is wrong, a level that moved or appeared, a finding not from ok."""
    out = []
    if any(status != "ok" for status in row["cand_series_qc"]):
        out.append("finding from a non-ok output")
    if row["cord"] == "ok" and row["dice"] is not None and row["dice"] < 0.8:
        out.append(f"ok with Dice {row['dice']}")
    resampled = row["pert"].startswith(("slabs", "every", "noise", "RescaleSlope", "pixels", "intensity", "motion"))
    same_anatomy = resampled or row["pert"] in ONLY_GEOM_PRESERVING - {"1 slice", "2 slices", "3 slices"}
    if row["cord"] == "ok" and same_anatomy and base.get("cord") == "ok" and base.get("csa") and row["csa"]:
        if abs(row["csa"] / base["csa"] - 1) > 0.10:
            out.append(f"ok with CSA {row['csa']} against {base['csa']}")
    named = base.get("levels") or {}
    for name, centre in row["levels"].items():
        if name not in named:
            out.append(f"level {name} named, not named unperturbed")
        elif abs(named[name] - centre) > 8.0:
            out.append(f"level {name} moved {abs(named[name] - centre):.0f} mm")
    return out


def table(rows: list[dict[str, Any]]) -> None:
    print("| volume | perturbation | cord QC | Dice | CSA (mm2) | levels | candidates | wrong? |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    base = {r["case"]: r for r in rows if r.get("pert") == "base"}
    for r in rows:
        if "crash" in r:
            print(f"| {r['case']} | {r['pert']} | crash: {r['crash'][:80]} | | | | | yes |")
            continue
        why = flags(r, base.get(r["case"], {}))
        levels = f"{r['levels_qc']} {'-'.join([*r['levels']][:1] + [*r['levels']][-1:])}".strip()
        print(
            f"| {r['case']} | {r['pert']} | {r['cord']} | {r['dice'] if r['dice'] is not None else '-'} | "
            f"{r['csa'] if r['csa'] is not None else '-'} | {levels} | {len(r['candidates'])} | "
            f"{'; '.join(why) or 'no'} |"
        )


if __name__ == "__main__":
    main()
