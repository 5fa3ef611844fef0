"""A Runtime on a temporary SQLite registry, seeded with studies, results (real SR/SC files) and deliveries,
and helpers for the web app tests."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from fastapi.testclient import TestClient
from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.sr.coding import Code
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from node.registry.models import (
    Attempt,
    Delivery,
    DeliveryState,
    Instance,
    Job,
    JobState,
    Result,
    Series,
    Study,
    StudyState,
)
from node.runtime import Runtime
from workers.results.findings import (
    FindingKind,
    FindingsReport,
    NotAssessable,
    ProtocolNote,
    ReportedFinding,
    Severity,
)

TOKEN = "test-token-0123456789"
PATIENT_NAME = "DOE^JANE"
PATIENT_ID = "PID-4711"
SR_CLASS = "1.2.840.10008.5.1.4.1.1.88.34"
SC_CLASS = "1.2.840.10008.5.1.4.1.1.7"

CRITERIA_DEFINITE: dict[str, Any] = {
    "ruleset": "test",
    "csf_leak": {"grade": "DEFINITE", "rules": ["CSF-LEAK-DX-3"], "needs_confirmation": True},
    "per_exam": {"spinal_mri": {"grade": "DEFINITE", "rules": ["CSF-LEAK-MR-4"], "needs_confirmation": True}},
    "ich": {"grade": "NONE", "rules": []},
    "ich_dx": {"grade": "NONE", "rules": []},
    "ebp": {"eligible": False, "rules": []},
    "findings": [
        {
            "index": 0,
            "id": "auto-efc",
            "exam": "spinal_mri",
            "kind": "epidural_fluid",
            "levels": ["C7", "T2"],
            "source": "automated",
            "grade": "DEFINITE",
            "rules": ["CSF-LEAK-MR-4"],
        },
        {
            "index": 1,
            "id": None,
            "exam": "brain_mri",
            "kind": "diffuse_dural_enhancement",
            "levels": None,
            "source": "automated",
            "grade": "NONE",
            "rules": [],
        },
    ],
}


def _file_meta(sop_class: str, uid: str) -> FileMetaDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return meta


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def write_sr(path: Path, study_uid: str, uid: str) -> Path:
    ds = Dataset()
    ds.file_meta = _file_meta(SR_CLASS, uid)
    ds.SOPClassUID, ds.SOPInstanceUID, ds.StudyInstanceUID, ds.Modality = SR_CLASS, uid, study_uid, "SR"
    ds.ConceptNameCodeSequence = [_code("126000", "DCM", "Imaging Measurement Report")]
    child = Dataset()
    child.ValueType = "CODE"
    child.ConceptNameCodeSequence = [_code("121071", "DCM", "Finding")]
    child.ConceptCodeSequence = [_code("SN001", "99SPINENODE", "CSF leak")]
    ds.ContentSequence = [child]
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def write_sc(path: Path, study_uid: str, uid: str) -> Path:
    ds = Dataset()
    ds.file_meta = _file_meta(SC_CLASS, uid)
    ds.SOPClassUID, ds.SOPInstanceUID, ds.StudyInstanceUID, ds.Modality = SC_CLASS, uid, study_uid, "OT"
    pixels = np.zeros((20, 30, 3), dtype=np.uint8)
    pixels[..., 0] = 200  # red card
    ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.PhotometricInterpretation = 20, 30, 3, "RGB"
    ds.PlanarConfiguration, ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 0, 8, 8, 7, 0
    ds.PixelData = pixels.tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


#: QC verdicts of the reported study's analysis (as the results step stores them in the result summary).
QC = [
    {"analyser": "vertebral_levels", "series_uid": "1.2.5", "status": "ok", "reason": "anchor: C2"},
    {"analyser": "cord_morphometry", "series_uid": "1.2.6", "status": "unreliable",
     "reason": "the cord was found on only 3 of 20 slices"},
    {"analyser": "marrow_adc", "series_uid": "1.2.7", "status": "ok", "reason": ""},
]  # fmt: skip
#: Measurements of the reported study (contract shape): one of the unreliable cord output, one of the ok ADC.
MEASUREMENTS = [
    {"series_uid": "1.2.6", "name": "cord_csa", "level": "C5", "value": 41.5, "unit": "mm2"},
    {"series_uid": "1.2.7", "name": "marrow_adc", "level": "L2", "value": 0.87, "unit": "10^-3 mm2/s"},
]


@dataclass
class Seeded:
    runtime: Runtime
    reported_uid: str  # reported + delivered, 2 SRs (rev 1, rev 2 amends rev 1), automated candidates
    routine_uid: str  # received, no results
    stat_uid: str  # stat priority, dead delivery
    sr_uids: list[str]
    delivery_dead_id: int
    delivery_ok_id: int


def add_study(session: Any, root: Path, uid: str, **kw: Any) -> Study:
    study = Study(study_uid=uid, patient_name=PATIENT_NAME, patient_id=PATIENT_ID, patient_key="k" * 16, **kw)
    session.add(study)
    session.flush()
    series = Series(study_id=study.id, series_uid=generate_uid(), modality="MR", series_number=1)
    session.add(series)
    session.flush()
    spool = root / "spool" / uid
    spool.mkdir(parents=True, exist_ok=True)
    for _ in range(2):
        sop = generate_uid()
        path = spool / f"{sop}.dcm"
        path.write_bytes(b"x" * 10)
        session.add(
            Instance(
                series_id=series.id,
                sop_instance_uid=sop,
                sop_class_uid="1.2.840.10008.5.1.4.1.1.4",
                transfer_syntax_uid=ExplicitVRLittleEndian,
                path=str(path),
                size=10,
            )
        )
    session.flush()
    return study


def add_sr_result(
    session: Any,
    root: Path,
    study: Study,
    sr_uid: str,
    summary: dict[str, Any],
    *,
    revision: int = 1,
    predecessor_uid: str | None = None,
    created_at: datetime | None = None,
) -> Result:
    """An SR result row of ``study`` as the job's store writes it, with a real SR file under ``root``."""
    path = write_sr(root / "results" / study.study_uid / f"sr-r{revision}.dcm", study.study_uid, sr_uid)
    extra: dict[str, Any] = {"created_at": created_at} if created_at is not None else {}
    result = Result(
        study_id=study.id,
        revision=revision,
        kind="SR",
        sop_class_uid=SR_CLASS,
        sop_instance_uid=sr_uid,
        series_uid="1.2.3",
        path=str(path),
        summary=summary,
        predecessor_uid=predecessor_uid,
        **extra,
    )
    session.add(result)
    return result


def _findings_report() -> FindingsReport:
    """What the pipeline stores with a report: a severe cord compression, a protocol note, a QC verdict."""
    compression = ReportedFinding(
        key="cord-compression",
        kind=FindingKind.CORD_COMPRESSION,
        headline="Cord compression 46 % at C5",
        detail="AP diameter 4.3 mm against 7.8 mm above and below",
        severity=Severity.SEVERE,
        concept=Code("71173004", "SCT", "Compression"),
        levels=("C5",),
        confidence=0.85,
    )
    return FindingsReport(
        findings=(compression,),
        not_assessable=(NotAssessable("Vertebral marrow ADC", "the ADC fit failed on 40 % of the voxels"),),
        notes=(ProtocolNote("DURO-PROTO-1", "No thin axial steady-state series over C7–T3", True),),
    )


FINDINGS_REPORT = _findings_report()


def seed(runtime: Runtime) -> Seeded:
    root = runtime.settings.data_dir
    now = datetime(2026, 11, 20, 12, 0)
    reported_uid, routine_uid, stat_uid = generate_uid(), generate_uid(), generate_uid()
    sr_uids = [generate_uid(), generate_uid()]
    with runtime.registry.session() as s:
        rep = add_study(
            s,
            root,
            reported_uid,
            state=StudyState.DELIVERED,
            revision=2,
            priority="routine",
            study_date="20261119",
            study_description="MR C-T spine",
            flags=["CSF leak DEFINITE", "ADC ≤ 1.21 at L2"],
            grades={"csf_leak": "DEFINITE", "spinal_mri": "DEFINITE"},
            first_received_at=now - timedelta(days=2),
            last_received_at=now - timedelta(days=2),
            reported_at=now - timedelta(days=1),
        )
        for rev, uid in enumerate(sr_uids, start=1):
            summary = {
                "flags": ["CSF leak DEFINITE"],
                "criteria": CRITERIA_DEFINITE,
                "notes": [],
                "findings": FINDINGS_REPORT.as_json() if rev == 2 else None,
                "qc": QC,
                "measurements": MEASUREMENTS,
            }
            add_sr_result(
                s,
                root,
                rep,
                uid,
                summary,
                revision=rev,
                predecessor_uid=sr_uids[0] if rev == 2 else None,
                created_at=datetime(2026, 11, 10 + rev, 9, 0),
            )
            sc_uid = generate_uid()
            sc = write_sc(root / "results" / reported_uid / f"sc-r{rev}.dcm", reported_uid, sc_uid)
            s.add(
                Result(
                    study_id=rep.id,
                    revision=rev,
                    kind="SC",
                    sop_class_uid=SC_CLASS,
                    sop_instance_uid=sc_uid,
                    series_uid="1.2.4",
                    path=str(sc),
                    summary={},
                )
            )
        s.add(Job(study_id=rep.id, revision=2, state=JobState.DONE))
        ok = Delivery(study_id=rep.id, revision=2, destination="pacs", state=DeliveryState.DELIVERED)
        s.add(ok)
        add_study(
            s,
            root,
            routine_uid,
            state=StudyState.RECEIVING,
            priority="low",
            study_description="MR L spine",
            first_received_at=now,
            last_received_at=now,
        )
        stat = add_study(
            s,
            root,
            stat_uid,
            state=StudyState.REPORTED,
            priority="stat",
            study_description="MR brain",
            first_received_at=now - timedelta(days=5),
            last_received_at=now - timedelta(days=5),
        )
        dead = Delivery(
            study_id=stat.id, revision=1, destination="pacs", state=DeliveryState.DEAD, last_error="association refused"
        )
        s.add(dead)
        s.flush()
        s.add(Attempt(delivery_id=dead.id, ok=False, detail="association refused", finished_at=now))
        s.flush()
        ids = dead.id, ok.id
    return Seeded(runtime, reported_uid, routine_uid, stat_uid, sr_uids, ids[0], ids[1])


BEARER = {"Authorization": f"Bearer {TOKEN}"}


def login(client: TestClient, name: str = "Dr Who") -> str:
    """Sign in through the login form; returns the CSRF token from the worklist page."""
    response = client.post("/login", data={"token": TOKEN, "name": name, "next": "/"})
    assert response.status_code == 303, response.text
    page = client.get("/")
    assert page.status_code == 200
    return csrf_of(page.text)


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)
