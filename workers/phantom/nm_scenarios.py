"""RI (In-111 DTPA) cisternography phantoms: planar anterior/posterior views at 1, 2.5, 6 and 24 h.

Each time point is one NM Image Storage series of static views (one view per instance, ViewCodeSequence
and PatientOrientation set), timed from RadiopharmaceuticalStartDateTime. ``truth.json`` lists the expected
candidates in the findings-document vocabulary and the phantom's own vertebral levels.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from workers.phantom.dicom import StudyHeader, save
from workers.phantom.nm_dicom import BONE_TRACER, RENAL_TRACER, Tracer, nm_dataset
from workers.phantom.nm_model import IN111_HALF_LIFE_H, Accumulation, CisternographyPatient, Dynamics, Grid, planar_view


@dataclass(frozen=True)
class NmScenario:
    """One cisternography phantom: the patient, the protocol and what a reader should find."""

    name: str
    description: str
    patient: CisternographyPatient
    findings: tuple[dict[str, Any], ...] = ()
    times_h: tuple[float, ...] = (1.0, 2.5, 6.0, 24.0)
    views: tuple[str, ...] = ("anterior", "posterior")
    tracer: Tracer = field(default_factory=Tracer)
    study_description: str = "RI cisternography (In-111 DTPA)"
    duration_s: float = 300.0
    label_views: bool = True
    comment_views: bool = False
    motion_mm: tuple[float, float] = (0.0, 0.0)  # patient shift of the posterior view at 2.5 h (dz, dx)
    expect_qc: str = "ok"


def _ri(kind: str, **fields: Any) -> dict[str, Any]:
    return {"exam": "ri_cisternography", "kind": kind, **fields, "source": "automated"}


LEAK = Dynamics(residual_24h=0.28, bladder_from_h=6.0)


def _pattern(name: str, acc: Accumulation, pattern: str, text: str) -> Callable[[], NmScenario]:
    def build() -> NmScenario:
        return NmScenario(
            f"ri_{name}",
            text,
            CisternographyPatient(accumulations=(acc,), dynamics=LEAK),
            (_ri("epidural_accumulation", pattern=pattern, levels=[acc.upper, acc.lower]),),
        )

    return build


def ri_normal() -> NmScenario:
    return NmScenario(
        "ri_normal",
        "Normal In-111 cisternography: the tracer reaches the basal cisterns by 2.5 h and the convexity by 24 h.",
        CisternographyPatient(dynamics=Dynamics()),
    )


def ri_circulation_failure() -> NmScenario:
    return NmScenario(
        "ri_circulation_failure",
        "Cisterns fill by 2.5-6 h, but at 24 h the convexity holds less tracer than the basal cisterns.",
        CisternographyPatient(dynamics=Dynamics(residual_24h=0.3, convexity_24h=0.3)),
        (_ri("circulation_failure", cisternal_filling_seen=True),),
    )


def ri_early_bladder() -> NmScenario:
    return NmScenario(
        "ri_early_bladder",
        "Bladder activity already at 1 h and 2.5 h (reference only); otherwise normal.",
        CisternographyPatient(dynamics=Dynamics(bladder_from_h=0.5)),
        (_ri("early_bladder"),),
    )


def _bad(name: str, text: str, qc: str, **changes: Any) -> Callable[[], NmScenario]:
    def build() -> NmScenario:
        base = NmScenario(f"ri_{name}", text, CisternographyPatient(dynamics=Dynamics()))
        return replace(base, expect_qc=qc, **changes)

    return build


NM_SCENARIOS: dict[str, Callable[[], NmScenario]] = {
    "ri_normal": ri_normal,
    "ri_unilateral_localized": _pattern(
        "unilateral_localized",
        Accumulation("T1", "T2", left=0.5, right=0.0),
        "unilateral_localized",
        "Unilateral localised paraspinal accumulation on the patient's left at T1-T2.",
    ),
    "ri_asymmetric": _pattern(
        "asymmetric",
        Accumulation("T8", "T11", left=0.45, right=0.15),
        "asymmetric",
        "Bilateral, asymmetric paraspinal accumulation at T8-T11 (left three times the right).",
    ),
    "ri_symmetric_cervicothoracic": _pattern(
        "symmetric_cervicothoracic",
        Accumulation("C6", "T2", left=0.3, right=0.3),
        "symmetric_cervicothoracic",
        "Bilateral symmetric paraspinal accumulation at C6-T2.",
    ),
    "ri_symmetric_lumbar": _pattern(
        "symmetric_lumbar",
        Accumulation("L2", "L4", left=0.3, right=0.3),
        "symmetric_lumbar",
        "Bilateral symmetric lumbar accumulation at L2-L4 (Christmas-tree sign; reference only).",
    ),
    "ri_circulation_failure": ri_circulation_failure,
    "ri_early_bladder": ri_early_bladder,
    "ri_bone_scan": _bad(
        "bone_scan",
        "A Tc-99m MDP whole-body bone scan (not a cisternography).",
        "failed",
        tracer=BONE_TRACER,
        study_description="Whole Body Bone",
        times_h=(3.0,),
    ),
    "ri_renal": _bad(
        "renal",
        "A Tc-99m MAG3 renogram frame pair (not a cisternography).",
        "failed",
        tracer=RENAL_TRACER,
        study_description="Renal scintigraphy MAG3",
        times_h=(0.5,),
    ),
    "ri_single_view": _bad(
        "single_view", "One posterior view at 2.5 h only.", "failed", times_h=(2.5,), views=("posterior",)
    ),
    "ri_unlabelled_views": _bad(
        "unlabelled_views", "Views without ViewCodeSequence, orientation or description.", "failed", label_views=False
    ),
    "ri_views_in_comments": _bad(
        "views_in_comments",
        "Normal study whose views are named only in ImageComments (ANT/POST), as some vendors write them.",
        "ok",
        label_views=False,
        comment_views=True,
    ),
    "ri_motion": _bad(
        "motion", "The patient moved 24 mm between the 2.5-h views.", "unreliable", motion_mm=(24.0, 0.0)
    ),
    "ri_scoliosis": _bad(
        "scoliosis",
        "Thoracolumbar scoliosis bowing the column 45 mm to the left.",
        "unreliable",
        patient=CisternographyPatient(dynamics=Dynamics(), scoliosis_mm=45.0),
    ),
    "ri_low_counts": _bad("low_counts", "Views of 3 s each: too few counts.", "unreliable", duration_s=3.0),
    "ri_missing_24h": _bad("missing_24h", "The 24-h views were not acquired.", "unreliable", times_h=(1.0, 2.5, 6.0)),
}


def write_nm_study(
    spec: NmScenario,
    outdir: Path,
    header: StudyHeader,
    uid: Callable[..., str],
    rng: np.random.Generator,
) -> tuple[list[Path], list[dict[str, Any]]]:
    """Write every time point of ``spec`` as one series; return the files and the per-series truth."""
    grid = Grid()
    injection = _dt.datetime.strptime(header.study_date + "080000", "%Y%m%d%H%M%S")
    files: list[Path] = []
    series_truth: list[dict[str, Any]] = []
    for number, t in enumerate(spec.times_h, start=1):
        series_uid = uid("series", number)
        label = f"{t:g}h"
        folder = outdir / f"{number:02d}_NM_{label}"
        folder.mkdir(exist_ok=True)
        for k, view in enumerate(spec.views, start=1):
            acquired = injection + _dt.timedelta(hours=t, seconds=(k - 1) * (spec.duration_s + 60))
            shift = spec.motion_mm if (view == "posterior" and t == 2.5) else (0.0, 0.0)
            pixels = planar_view(spec.patient, grid, t, view, spec.duration_s * (2 if t >= 20 else 1), rng,
                                 shift_mm=shift)  # fmt: skip
            short = "ANT" if view == "anterior" else "POST"
            ds = nm_dataset(
                header,
                series_uid=series_uid,
                series_number=number,
                series_description=f"{spec.study_description.split(' (')[0]} {label}"
                if spec.label_views or spec.comment_views
                else f"Static {number}",
                sop_uid=uid("sop", number, k),
                instance_number=k,
                pixels=pixels,
                pixel_mm=grid.pixel_mm,
                view=view,
                injection=injection,
                acquired=acquired,
                duration_s=spec.duration_s * (2 if t >= 20 else 1),
                tracer=spec.tracer,
                comments=short if spec.comment_views else "",
                label_view=spec.label_views,
            )
            path = folder / f"{short}.dcm"
            save(ds, path)
            files.append(path)
        series_truth.append({"series_instance_uid": series_uid, "series_number": number, "hours": t,
                             "views": list(spec.views), "folder": folder.name})  # fmt: skip
    return files, series_truth


def nm_truth(spec: NmScenario) -> dict[str, Any]:
    """The scenario's truth beyond the series list."""
    p = spec.patient
    return {
        "exam": "ri_cisternography",
        "tracer": spec.tracer.name,
        "half_life_h": IN111_HALF_LIFE_H if spec.tracer.radionuclide.value == "56609000" else None,
        "expected_qc": spec.expect_qc,
        "residual_24h_decay_corrected": p.dynamics.residual_24h,
        "levels": [{"name": n, "z_top_mm": a, "z_bottom_mm": b} for n, (a, b) in p.levels.items()],
        "coordinates": "planar: z superior (mm, 0 at the foramen magnum), x to the patient's left",
        "accumulations": [{"levels": [a.upper, a.lower], "left": a.left, "right": a.right} for a in p.accumulations],
    }
