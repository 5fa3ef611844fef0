"""Synthetic spine studies with known ground truth (the ``spinenode phantom`` command).

MR scenarios are below; RI cisternography (``ri_*``) and CT myelography (``ctm_*``) scenarios are in
:mod:`workers.phantom.exams`.

``write_phantom(outdir, scenario)`` writes one study as MR Image Storage files (Explicit VR Little Endian)
in one folder per series, and ``truth.json`` beside them. All patient data are synthetic.

UIDs: by default every call makes fresh Study/Series/SOP Instance UIDs (so that a node sees a new study each
time). With ``deterministic_uids=True`` the UIDs derive from the scenario and ``seed``: the same seed gives
the same UIDs. Pixel noise always derives from ``seed``.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.uid import generate_uid

from workers.phantom.anatomy import SpineModel, lesion_centre
from workers.phantom.dicom import StudyHeader, mr_dataset, save
from workers.phantom.exams import EXAM_SCENARIOS, write_exam_phantom
from workers.phantom.scenarios import SCENARIOS as MR_SCENARIOS
from workers.phantom.scenarios import Scenario
from workers.phantom.series import SeriesSpec, render_slice
from workers.results.header import deterministic_uid

__all__ = ["SCENARIOS", "PhantomStudy", "write_phantom"]

#: Every scenario name (MR, RI cisternography, CT myelography) -> its factory.
SCENARIOS: dict[str, Callable[[], Any]] = {**MR_SCENARIOS, **EXAM_SCENARIOS}


@dataclass(frozen=True)
class PhantomStudy:
    """What :func:`write_phantom` wrote: every file, the study UID and the ground truth."""

    outdir: Path
    study_instance_uid: str
    files: tuple[Path, ...]
    truth: dict[str, Any]
    truth_path: Path


class _Uids:
    def __init__(self, scenario: str, seed: int, deterministic: bool) -> None:
        self._namespace = f"spinenode-phantom/{scenario}/{seed}"
        self._deterministic = deterministic

    def __call__(self, *parts: object) -> str:
        if not self._deterministic:
            return str(generate_uid())
        return deterministic_uid(*(str(p) for p in parts), namespace=self._namespace)


def write_phantom(
    outdir: Path, scenario: str = "simple", *, seed: int = 0, deterministic_uids: bool = False
) -> PhantomStudy:
    """Write the phantom study ``scenario`` (a key of :data:`SCENARIOS`) under ``outdir``."""
    if scenario not in SCENARIOS:
        raise ValueError(f"scenario must be one of {sorted(SCENARIOS)}, got {scenario!r}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    outdir = Path(outdir)
    if scenario in EXAM_SCENARIOS:
        exam_uid, exam_files, exam_truth, exam_truth_path = write_exam_phantom(
            outdir, scenario, seed=seed, deterministic_uids=deterministic_uids
        )
        return PhantomStudy(outdir, exam_uid, tuple(exam_files), exam_truth, exam_truth_path)
    outdir.mkdir(parents=True, exist_ok=True)
    spec = MR_SCENARIOS[scenario]()
    uid = _Uids(scenario, seed, deterministic_uids)
    study_uid = uid("study")
    date = "20240101" if deterministic_uids else _dt.date.today().strftime("%Y%m%d")
    header = StudyHeader(
        patient_name=f"PHANTOM^{scenario.upper()}",
        patient_id=f"PHANTOM-{seed:04d}",
        study_uid=study_uid,
        frame_of_reference_uid=uid("frame"),
        accession_number="PH" + study_uid.replace(".", "")[-10:],
        study_description=f"Spine MR phantom ({scenario})",
        study_date=date,
    )
    rng = np.random.default_rng(seed)
    files: list[Path] = []
    series_truth: list[dict[str, Any]] = []
    for number, series in enumerate(spec.series, start=1):
        series_uid = uid("series", number)
        folder = outdir / f"{number:02d}_{_slug(series.description)}"
        folder.mkdir(exist_ok=True)
        written = _write_series(series, spec.model, header, series_uid, number, folder, rng, uid)
        files.extend(written)
        series_truth.append(
            {
                "series_instance_uid": series_uid,
                "series_number": number,
                "description": series.description,
                "sequence": "DWI" if series.contrast == "DWI" else series.contrast,
                "plane": series.plane,
                "images": len(written),
                "b_values": list(series.b_values),
                "folder": folder.name,
            }
        )
    truth = _truth(spec, header, series_truth, seed)
    truth_path = outdir / "truth.json"
    truth_path.write_text(json.dumps(truth, indent=2))
    return PhantomStudy(outdir, study_uid, tuple(files), truth, truth_path)


def _write_series(
    series: SeriesSpec,
    model: SpineModel,
    header: StudyHeader,
    series_uid: str,
    number: int,
    folder: Path,
    rng: np.random.Generator,
    uid: _Uids,
) -> list[Path]:
    written = []
    b_values: tuple[float | None, ...] = series.b_values or (None,)
    instance = 0
    for b in b_values:
        for position in series.slice_positions():
            instance += 1
            pixels = render_slice(series, model, position, rng, b_value=b or 0.0)
            ds = mr_dataset(
                header,
                series,
                series_uid=series_uid,
                series_number=number,
                sop_uid=uid("sop", number, instance),
                instance_number=instance,
                position=position,
                pixels=pixels,
                b_value=b,
            )
            path = folder / f"IM{instance:04d}.dcm"
            save(ds, path)
            written.append(path)
    return written


def _truth(spec: Scenario, header: StudyHeader, series: list[dict[str, Any]], seed: int) -> dict[str, Any]:
    model = spec.model
    levels = [
        {"name": lv.name, "z_top_mm": lv.z_top, "z_bottom_mm": lv.z_bottom, "z_centre_mm": lv.z_centre}
        for lv in model.levels
    ]
    csa_by_level = {lv.name: round(model.cord_csa_mm2(lv.z_centre), 3) for lv in model.levels}
    z_all = np.linspace(model.levels[-1].z_bottom, model.z_top, 2000)
    ap = model.cord_ap_semi_axis(z_all)
    truth: dict[str, Any] = {
        "scenario": spec.name,
        "description": spec.description,
        "seed": seed,
        "study_instance_uid": header.study_uid,
        "coordinates": "DICOM patient coordinates (LPS, mm); z is superior",
        "series": series,
        "levels": levels,
        "cord": {
            "rl_diameter_mm": 2 * model.cord_rl_semi_axis_mm,
            "ap_diameter_mm": 2 * model.cord_ap_semi_axis_mm,
            "csa_mm2": round(model.cord_csa_mm2(model.z_top + 100.0), 3),
            "csa_by_level": csa_by_level,
            "min_csa_mm2": round(float(np.pi * model.cord_rl_semi_axis_mm * ap.min()), 3),
            "min_csa_z_mm": float(z_all[int(np.argmin(ap))]),
            "centre_y_mm_at_z0": float(model.canal_y(0.0)) + 0.5,
        },
        "marrow": {"normal_adc_mm2_s": 0.45e-3},
        "marrow_lesions": [
            {
                "level": les.level,
                "centre_mm": list(lesion_centre(model, les)),
                "radius_mm": les.radius_mm,
                "adc_mm2_s": les.adc_mm2_s,
            }
            for les in model.marrow_lesions
        ],
        "findings": [dict(f) for f in spec.findings],
    }
    if model.compression is not None:
        c = model.compression
        truth["cord"]["compression"] = {
            "z_mm": c.z_centre,
            "ap_diameter_min_mm": 2 * c.min_ap_semi_axis_mm,
            "compression_ratio_min": round(c.min_ap_semi_axis_mm / model.cord_rl_semi_axis_mm, 4),
            "mscc_percent": round(100.0 * (1.0 - c.min_ap_semi_axis_mm / model.cord_ap_semi_axis_mm), 2),
        }
    if model.epidural_fluid is not None:
        ef = model.epidural_fluid
        truth["epidural_fluid"] = {
            "levels": [ef.upper, ef.lower],
            "thickness_mm": ef.thickness_mm,
            "position": "ventral",
        }
    truth.update(spec.extra_truth)
    return truth


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")
