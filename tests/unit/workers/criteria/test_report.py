"""Report sections of the criteria result, and their validity inside a TID 1500 Measurement Report.

The MR source dataset is synthetic (headers only, a 4 x 4 blank image); the SR written from it is checked
with dicom3tools ``dciodvfy``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import highdicom as hd
import numpy as np
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sr.codedict import codes
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

from workers.criteria import CriteriaResult, StudyContext, evaluate, parse_findings
from workers.criteria import codes as cc
from workers.criteria.sections import criteria_sections
from workers.results.codes import coding_scheme_item

UID = "1.2.826.0.1.3680043.8.498"
FULL: dict[str, Any] = {
    "clinical": {"orthostatic_headache": True, "opening_pressure_mmh2o": 55},
    "findings": [
        {
            "exam": "spinal_mri",
            "kind": "epidural_fluid",
            "levels": ["C7", "T2"],
            "enhancement": "absent",
            "source": "automated",
            "series_uid": UID + ".10",
            "sop_instance_uids": [UID + ".11", UID + ".12"],
        },
        {
            "exam": "ri_cisternography",
            "kind": "epidural_accumulation",
            "pattern": "unilateral_localized",
            "levels": ["Th1", "Th3"],
            "study_date": "20231224",
            "institution_name": "RI Centre",
        },
        {"exam": "ri_cisternography", "kind": "circulation_failure", "cisternal_filling_seen": False},
        {"exam": "brain_mri", "kind": "diffuse_dural_enhancement"},
        {"exam": "brain_mri", "kind": "chiari"},
    ],
}


def _result(obj: dict[str, Any] = FULL, context: StudyContext | None = None) -> CriteriaResult:
    return evaluate(parse_findings(obj), context)


def _texts(group: Any, name: Any) -> list[str]:
    return [
        str(item.TextValue)
        for item in group[0].ContentSequence
        if item.ValueType == "TEXT" and item.ConceptNameCodeSequence[0].CodeValue == name.value
    ]


def _coded(group: Any, name: Any) -> str:
    for item in group[0].ContentSequence:
        if item.ValueType == "CODE" and item.ConceptNameCodeSequence[0].CodeValue == name.value:
            return str(item.ConceptCodeSequence[0].CodeValue)
    raise AssertionError(f"no {name.meaning}")


def test_lines_flags_and_confirmation() -> None:
    ctx = StudyContext(study_date="20240102", institution_name="Example Hospital")
    sections = criteria_sections(_result(context=ctx))
    titles = [s.title for s in sections]
    assert titles[:3] == [
        "CSF leak (CSF-LEAK)",
        "Intracranial hypotension (ICH, ICH-DX)",
        "Epidural blood patch (EBP-1)",
    ]
    csf, ich, ebp = sections[:3]
    assert csf.lines[0] == "CSF leak: DEFINITE (CSF-LEAK-DX-3) [needs confirmation]"
    assert csf.flags == ["CSF leak DEFINITE"] and csf.needs_confirmation is True
    assert any("circulation failure not judgeable" in line for line in csf.lines)
    assert "not applicable" in ich.lines[0] and "ICH not applicable" in ich.flags
    assert ebp.flags == ["EBP eligible"] and ebp.needs_confirmation is True
    assert sections[3].title.startswith("Suggestions")


def test_no_flags_when_nothing_is_abnormal() -> None:
    sections = criteria_sections(_result({"findings": [{"exam": "spinal_mri", "kind": "subdural_fluid"}]}))
    assert all(s.flags == [] for s in sections)
    assert sections[0].lines[0] == "CSF leak: NONE (CSF-LEAK-DX-5)"
    assert sections[2].lines[0] == "Epidural blood patch: not eligible (EBP-1)"


def test_groups_carry_grades_rules_ruleset_and_supporting_findings() -> None:
    ctx = StudyContext(study_date="20240102", institution_name="Example Hospital")
    result = _result(context=ctx)
    csf, ich, ebp = criteria_sections(result, study_instance_uid=UID + ".1")[:3]
    dx_group = csf.sr_groups[0]
    assert isinstance(dx_group, hd.sr.MeasurementsAndQualitativeEvaluations)
    assert _coded(dx_group, cc.GRADE) == "GRD-DEFINITE"
    assert _coded(dx_group, cc.NEEDS_CONFIRMATION) == cc.YES.value
    assert _texts(dx_group, cc.RULE) == ["CSF-LEAK-DX-3"]
    assert _texts(dx_group, cc.RULESET) == [result.ruleset]
    assert len(_texts(dx_group, cc.SUPPORTING_FINDING)) == 2
    assert [_coded(g, cc.EXAM) for g in csf.sr_groups[1:]] == ["EXAM-SPINAL-MRI", "EXAM-RI-CISTERN"]
    assert _coded(ich.sr_groups[0], cc.APPLICABLE) == cc.NO.value
    assert _coded(ich.sr_groups[1], cc.GRADE) == "GRD-CONFIRMED"
    assert _coded(ebp.sr_groups[0], cc.ELIGIBLE) == cc.YES.value
    support = [
        i
        for i in ebp.sr_groups[0][0].ContentSequence
        if i.ConceptNameCodeSequence[0].CodeValue == cc.SUPPORTING_FINDING.value
    ]
    props = {p.ConceptNameCodeSequence[0].CodeValue: p for p in support[0].ContentSequence}
    assert props[cc.SERIES_INSTANCE_UID.value].UID == UID + ".10"
    assert str(props[cc.STUDY_DATE.value].Date) == "20240102"
    assert props[cc.INSTITUTION_NAME.value].TextValue == "Example Hospital"
    ri_props = {p.ConceptNameCodeSequence[0].CodeValue: p for p in support[1].ContentSequence}
    assert str(ri_props[cc.STUDY_DATE.value].Date) == "20231224"  # the finding's own date wins
    assert _texts(ebp.sr_groups[0], cc.MISSING_CLAIM_ITEM) == [
        "findings[1].series_uid",
        "findings[1].sop_instance_uids",
    ]


def test_tracking_uids_are_stable_for_a_study() -> None:
    a = criteria_sections(_result(), study_instance_uid=UID + ".1")
    b = criteria_sections(_result(), study_instance_uid=UID + ".1")
    uid = [g.tracking_uid for s in a for g in s.sr_groups]
    assert uid == [g.tracking_uid for s in b for g in s.sr_groups]
    assert len(set(uid)) == len(uid)


def test_criteria_sections_validates_its_argument() -> None:
    with pytest.raises(TypeError, match="result"):
        criteria_sections({"csf_leak": {}})  # type: ignore[arg-type]


def _synthetic_mr() -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = MRImageStorage
    ds.SOPClassUID = MRImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.PatientID, ds.PatientName, ds.PatientBirthDate, ds.PatientSex = "SYNTH", "Synthetic^Phantom", "", "O"
    ds.StudyDate, ds.StudyTime, ds.AccessionNumber, ds.StudyID = "20240102", "101010", "A1", "1"
    ds.ReferringPhysicianName, ds.Modality, ds.Manufacturer = "", "MR", "Synthetic"
    ds.SeriesNumber, ds.InstanceNumber = 1, 1
    ds.Rows = ds.Columns = 4
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.PixelData = np.zeros((4, 4), np.uint16).tobytes()
    return ds


@pytest.mark.skipif(shutil.which("dciodvfy") is None, reason="dciodvfy (dicom3tools) not installed")
@pytest.mark.parametrize("obj", [FULL, {"findings": []}])
def test_groups_make_a_valid_comprehensive_3d_sr(tmp_path: Path, obj: dict[str, Any]) -> None:
    source = _synthetic_mr()
    ctx = StudyContext(study_date="20240102", institution_name="Example Hospital")
    sections = criteria_sections(_result(obj, ctx), study_instance_uid=source.StudyInstanceUID)
    groups = [g for s in sections for g in s.sr_groups]
    observer = hd.sr.ObserverContext(
        observer_type=codes.DCM.Device,
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(uid=generate_uid(), name="spinenode"),
    )
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(observer_device_context=observer),
        procedure_reported=codes.LN.MRIUnspecifiedBodyRegion,
        imaging_measurements=groups,
    )
    sr = hd.sr.Comprehensive3DSR(
        evidence=[source],
        content=report,
        series_instance_uid=generate_uid(),
        series_number=90,
        sop_instance_uid=generate_uid(),
        instance_number=1,
        manufacturer="spinenode",
        coding_schemes=[coding_scheme_item()],
    )
    path = tmp_path / "criteria_sr.dcm"
    sr.save_as(path)
    run = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, timeout=120, check=False)
    output = run.stdout + run.stderr
    assert "Comprehensive3DSR" in output  # dciodvfy recognised and checked the IOD
    assert [line for line in output.splitlines() if "Error" in line] == []


def test_supporting_findings_notes_and_missing_inputs_read_as_words() -> None:
    result = _result({"findings": FULL["findings"][:1]})
    sections = criteria_sections(result, study_instance_uid=UID + ".1")
    groups = [g for s in sections for g in s.sr_groups]
    support = [t for g in groups for t in _texts(g, cc.SUPPORTING_FINDING)]
    missing = [t for g in groups for t in _texts(g, cc.MISSING_INPUT)]
    notes = [t for g in groups for t in _texts(g, cc.NOTE)]
    assert support and missing and notes
    assert support[0].startswith("spinal MRI/epidural fluid") and "strongly suspected" in support[0]
    assert "orthostatic headache" in missing
    for text in support + missing + notes:
        assert "findings[" not in text and "clinical." not in text, text
        assert not re.search(r"\b[A-Z]{2,}(?:-[A-Z]+)*-\d", text), text
        assert not re.search(r"\b[a-z]+_[a-z]+", text), text
