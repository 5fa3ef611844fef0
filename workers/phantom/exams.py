"""The RI cisternography and CT myelography phantoms behind ``spinenode phantom --scenario ri_*|ctm_*``."""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.uid import generate_uid

from workers.phantom.ct_scenarios import CT_SCENARIOS, ct_truth, write_ct_study
from workers.phantom.dicom import StudyHeader
from workers.phantom.nm_scenarios import NM_SCENARIOS, nm_truth, write_nm_study
from workers.results.header import deterministic_uid

EXAM_SCENARIOS: dict[str, Callable[[], Any]] = {**NM_SCENARIOS, **CT_SCENARIOS}


def write_exam_phantom(
    outdir: Path, scenario: str, *, seed: int, deterministic_uids: bool
) -> tuple[str, list[Path], dict[str, Any], Path]:
    """Write the NM or CT phantom ``scenario``; return (study UID, files, truth, truth path)."""
    if scenario not in EXAM_SCENARIOS:
        raise ValueError(f"scenario must be one of {sorted(EXAM_SCENARIOS)}, got {scenario!r}")
    spec = EXAM_SCENARIOS[scenario]()
    namespace = f"spinenode-phantom/{scenario}/{seed}"

    def uid(*parts: object) -> str:
        if not deterministic_uids:
            return str(generate_uid())
        return deterministic_uid(*(str(p) for p in parts), namespace=namespace)

    study_uid = uid("study")
    header = StudyHeader(
        patient_name=f"PHANTOM^{scenario.upper()}",
        patient_id=f"PHANTOM-{seed:04d}",
        study_uid=study_uid,
        frame_of_reference_uid=uid("frame"),
        accession_number="PH" + study_uid.replace(".", "")[-10:],
        study_description=spec.study_description,
        study_date="20240101" if deterministic_uids else _dt.date.today().strftime("%Y%m%d"),
    )
    rng = np.random.default_rng(seed)
    outdir.mkdir(parents=True, exist_ok=True)
    if scenario in NM_SCENARIOS:
        files, series = write_nm_study(spec, outdir, header, uid, rng)
        extra = nm_truth(spec)
    else:
        files, series = write_ct_study(spec, outdir, header, uid, rng)
        extra = ct_truth(spec)
    truth = {
        "scenario": scenario,
        "description": spec.description,
        "seed": seed,
        "study_instance_uid": study_uid,
        "series": series,
        "findings": [dict(f) for f in spec.findings],
        **extra,
    }
    truth_path = outdir / "truth.json"
    truth_path.write_text(json.dumps(truth, indent=2))
    return study_uid, files, truth, truth_path
