"""TID 1500 Measurement Report: content, IOD validity (dciodvfy, dsrdump), determinism, validation."""

from __future__ import annotations

import copy
import random
import subprocess
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import highdicom as hd
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.uid import generate_uid

from workers.results.section import ReportSection
from workers.results.sr import build_measurement_report
from workers.results.validate import dciodvfy_errors

ALGORITHM = "spinenode-csf-leak"
VERSION = "1.4.2"


def _build(
    sources: list[Dataset], sections: list[ReportSection], uids: dict[str, str], when: datetime, **kwargs: Any
) -> hd.sr.Comprehensive3DSR:
    arguments: dict[str, Any] = {
        "series_number": 901,
        "instance_number": 1,
        "algorithm_name": ALGORITHM,
        "algorithm_version": VERSION,
        "content_datetime": when,
        **uids,
    }
    arguments.update(kwargs)
    return build_measurement_report(sources, sections, **arguments)


def _items(ds: Dataset) -> list[Dataset]:
    """Every content item of the tree, depth first."""
    found: list[Dataset] = []
    stack = list(reversed(ds.get("ContentSequence", [])))
    while stack:
        item = stack.pop()
        found.append(item)
        stack.extend(reversed(item.get("ContentSequence", [])))
    return found


def _named(ds: Dataset, meaning: str) -> list[Dataset]:
    return [i for i in _items(ds) if i.ConceptNameCodeSequence[0].CodeMeaning == meaning]


def _measurement_section() -> ReportSection:
    group = hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(
            uid=generate_uid(entropy_srcs=["test-cord-area"]), identifier="Cord area C3"
        ),
        measurements=[hd.sr.Measurement(name=codes.SCT.Area, value=72.5, unit=codes.UCUM.SquareMillimeter)],
        qualitative_evaluations=[hd.sr.QualitativeEvaluation(name=codes.DCM.Finding, value=codes.SCT.Present)],
    )
    return ReportSection(
        title="CSF leak",
        lines=["CSF leak: DEFINITE (CSF-LEAK-MR-4)", "ADC ≤ 1.21 at L2"],
        flags=["CSF leak DEFINITE"],
        sr_groups=[group],
        needs_confirmation=True,
    )


def test_empty_sections_is_valid_and_joins_the_study(mr_sources, new_uids, when, write, reread) -> None:
    sr = _build(mr_sources, [], new_uids, when)
    path = write(sr, "sr.dcm")
    assert dciodvfy_errors(path) == []
    ds = reread(sr)
    first = mr_sources[0]
    assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.88.34"
    assert ds.PatientID == first.PatientID
    assert str(ds.PatientName) == "Müller^Jörg"
    assert ds.StudyInstanceUID == first.StudyInstanceUID
    assert ds.AccessionNumber == first.AccessionNumber
    assert ds.StudyID == first.StudyID
    assert ds.StudyDate == first.StudyDate
    assert ds.ReferringPhysicianName == first.ReferringPhysicianName
    assert ds.SeriesInstanceUID == new_uids["series_instance_uid"]
    assert ds.SeriesInstanceUID not in {s.SeriesInstanceUID for s in mr_sources}
    assert ds.SOPInstanceUID == new_uids["sop_instance_uid"]
    assert (ds.Modality, ds.SeriesNumber, ds.InstanceNumber) == ("SR", 901, 1)
    assert ds.ContentDate == "20240506" and ds.ContentTime.startswith("070809")
    assert ds.InstanceCreationDate == "20240506"
    assert ds.CompletionFlag == "COMPLETE" and ds.VerificationFlag == "UNVERIFIED"
    assert "PredecessorDocumentsSequence" not in ds


def test_title_observer_equipment_and_procedure(mr_sources, new_uids, when, reread) -> None:
    ds = reread(_build(mr_sources, [], new_uids, when))
    title = ds.ConceptNameCodeSequence[0]
    assert (title.CodeValue, title.CodingSchemeDesignator) == ("126000", "DCM")
    assert ds.ContentTemplateSequence[0].TemplateIdentifier == "1500"
    language = _named(ds, "Language of Content Item and Descendants")
    assert language[0].ConceptCodeSequence[0].CodeValue == "en-US"
    assert _named(ds, "Observer Type")[0].ConceptCodeSequence[0].CodeMeaning == "Device"
    assert _named(ds, "Device Observer Name")[0].TextValue == "SPINENODE"
    assert _named(ds, "Device Observer Manufacturer")[0].TextValue == "spinenode"
    assert _named(ds, "Device Observer Model Name")[0].TextValue == ALGORITHM
    procedure = _named(ds, "Procedure reported")[0].ConceptCodeSequence[0]
    assert (procedure.CodeValue, procedure.CodingSchemeDesignator) == ("24935-9", "LN")
    algorithm = [e for e in ds.ContributingEquipmentSequence if e.Manufacturer == "spinenode"]
    assert len(algorithm) == 1
    assert algorithm[0].ManufacturerModelName == ALGORITHM
    assert algorithm[0].SoftwareVersions == VERSION
    assert algorithm[0].PurposeOfReferenceCodeSequence[0].CodeValue == codes.DCM.ProcessingEquipment.value
    assert ds.Manufacturer == "spinenode" and ds.SoftwareVersions == VERSION
    assert ds.CodingSchemeIdentificationSequence[0].CodingSchemeDesignator == "99SPINENODE"


def test_image_library_references_every_source(mr_sources, new_uids, when, reread) -> None:
    ds = reread(_build(mr_sources, [], new_uids, when))
    library = _named(ds, "Image Library")[0]
    entries = [i for i in _items(library) if i.ValueType == "IMAGE"]
    assert len(entries) == len(mr_sources)
    referenced = {e.ReferencedSOPSequence[0].ReferencedSOPInstanceUID for e in entries}
    assert referenced == {s.SOPInstanceUID for s in mr_sources}
    evidence = ds.CurrentRequestedProcedureEvidenceSequence[0]
    assert evidence.StudyInstanceUID == mr_sources[0].StudyInstanceUID
    assert sum(len(s.ReferencedSOPSequence) for s in evidence.ReferencedSeriesSequence) == len(mr_sources)


def test_study_summary_is_the_first_group(mr_sources, new_uids, when, reread) -> None:
    ds = reread(_build(mr_sources, [_measurement_section()], new_uids, when))
    groups = _named(ds, "Measurement Group")
    identifiers = [_named(g, "Tracking Identifier")[0].TextValue for g in groups]
    assert identifiers == ["Study summary", "Cord area C3"]
    summary = groups[0]
    numbers = {
        i.ConceptNameCodeSequence[0].CodeMeaning: float(i.MeasuredValueSequence[0].NumericValue)
        for i in summary.ContentSequence
        if i.ValueType == "NUM"
    }
    assert numbers == {"Number of series": 2.0, "Number of images": 5.0}
    series = [
        i.TextValue
        for i in summary.ContentSequence
        if i.ValueType == "TEXT" and i.ConceptNameCodeSequence[0].CodeValue == "SERIES-SUMMARY"
    ]
    assert series == ["Series 2 (MR) Sag T2 TSE: 3 images", "Series 3 (MR) Ax T2 C5-C7: 2 images"]
    uids = [i.UID for i in _named(summary, "Series Instance UID")]
    assert uids == [mr_sources[0].SeriesInstanceUID, mr_sources[3].SeriesInstanceUID]


def test_section_measurements_and_text(mr_sources, new_uids, when, write, reread) -> None:
    sr = _build(mr_sources, [_measurement_section()], new_uids, when)
    assert dciodvfy_errors(write(sr, "sr.dcm")) == []
    ds = reread(sr)
    area = _named(ds, "Area")[0]
    assert float(area.MeasuredValueSequence[0].NumericValue) == 72.5
    finding = [i for i in _named(ds, "Finding") if i.ConceptCodeSequence[0].CodeMeaning == "Present"]
    assert len(finding) == 1
    text = _named(ds, "Report section")[0].TextValue
    assert text.splitlines()[:3] == ["CSF leak", "CSF leak: definite", "ADC ≤ 1.21 at L2"]
    assert "Flags: CSF leak definite" in text and "Needs confirmation" in text
    assert "CSF-LEAK" not in text and "DEFINITE" not in text, "rule IDs and grade codes stay in the coded groups"
    assert ds.SpecificCharacterSet == "ISO_IR 192"


def test_predecessor_is_referenced(mr_sources, new_uids, when, write, reread) -> None:
    first = _build(mr_sources, [], new_uids, when)
    amended_uids = {
        "series_instance_uid": new_uids["series_instance_uid"],
        "sop_instance_uid": generate_uid(entropy_srcs=["amended"]),
    }
    amended = _build(mr_sources, [_measurement_section()], amended_uids, when, instance_number=2, predecessor=first)
    assert dciodvfy_errors(write(amended, "amended.dcm")) == []
    ds = reread(amended)
    study = ds.PredecessorDocumentsSequence[0]
    assert study.StudyInstanceUID == first.StudyInstanceUID
    series = study.ReferencedSeriesSequence[0]
    assert series.SeriesInstanceUID == first.SeriesInstanceUID
    assert series.ReferencedSOPSequence[0].ReferencedSOPInstanceUID == first.SOPInstanceUID
    assert series.ReferencedSOPSequence[0].ReferencedSOPClassUID == first.SOPClassUID


def test_same_inputs_give_the_same_bytes(mr_sources, new_uids, when, to_bytes) -> None:
    one = to_bytes(_build(mr_sources, [_measurement_section()], new_uids, when))
    shuffled = list(mr_sources)
    random.Random(7).shuffle(shuffled)
    two = to_bytes(_build(shuffled, [_measurement_section()], new_uids, when))
    assert one == two
    later = to_bytes(_build(mr_sources, [_measurement_section()], new_uids, when.replace(minute=9)))
    assert later != one


def test_duplicate_sources_are_listed_once(mr_sources, new_uids, when, reread) -> None:
    ds = reread(_build([*mr_sources, mr_sources[0]], [], new_uids, when))
    entries = [i for i in _items(_named(ds, "Image Library")[0]) if i.ValueType == "IMAGE"]
    assert len(entries) == len(mr_sources)


def test_dsrdump_reads_the_report(mr_sources, new_uids, when, write) -> None:
    path = write(_build(mr_sources, [_measurement_section()], new_uids, when), "sr.dcm")
    result = subprocess.run(["dsrdump", "+Pl", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert not [line for line in result.stderr.splitlines() if line.startswith(("E:", "F:"))]
    assert "Imaging Measurement Report" in result.stdout
    assert "Study summary" in result.stdout


def test_real_mr_header(real_mr_path: Path, new_uids, when, write, reread) -> None:
    source = pydicom.dcmread(real_mr_path, stop_before_pixels=True)
    sr = _build([source], [_measurement_section()], new_uids, when)
    assert dciodvfy_errors(write(sr, "real.dcm")) == []
    ds = reread(sr)
    assert ds.PatientID == source.PatientID and ds.StudyInstanceUID == source.StudyInstanceUID
    entries = [i for i in _items(_named(ds, "Image Library")[0]) if i.ValueType == "IMAGE"]
    assert len(entries) == 1


def test_real_enhanced_mr_header(real_enhanced_mr_path: Path, new_uids, when, write, reread) -> None:
    source = pydicom.dcmread(real_enhanced_mr_path, stop_before_pixels=True)
    sr = _build([source], [], new_uids, when)
    assert dciodvfy_errors(write(sr, "enhanced.dcm")) == []
    ds = reread(sr)
    group = _named(ds, "Image Library Group")[0]
    assert any(i.ValueType == "IMAGE" for i in group.ContentSequence)
    descriptors = {i.ConceptNameCodeSequence[0].CodeMeaning for i in group.ContentSequence if i.ValueType != "IMAGE"}
    assert {"Modality", "Pixel Data Rows", "Pixel Data Columns"} <= descriptors
    images = _named(_named(ds, "Measurement Group")[0], "Number of images")[0]
    assert float(images.MeasuredValueSequence[0].NumericValue) == float(source.NumberOfFrames)


def test_missing_type2_patient_attributes_are_written_empty(mr_sources, new_uids, when, write, reread) -> None:
    for keyword in ("PatientBirthDate", "PatientSex", "AccessionNumber", "ReferringPhysicianName", "StudyID"):
        for source in mr_sources:
            delattr(source, keyword)
    sr = _build(mr_sources, [], new_uids, when)
    assert dciodvfy_errors(write(sr, "sparse.dcm")) == []
    ds = reread(sr)
    assert "PatientBirthDate" in ds and ds.PatientBirthDate == ""
    assert "PatientBirthDate" not in mr_sources[0]


def _patched(sources: list[Dataset], index: int, **values: Any) -> list[Dataset]:
    changed = [copy.deepcopy(s) for s in sources]
    for keyword, value in values.items():
        if value is None:
            delattr(changed[index], keyword)
        else:
            setattr(changed[index], keyword, value)
    return changed


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        (lambda s: [], ValueError, "at least one source"),
        (lambda s: s[0], TypeError, "sequence of pydicom Datasets"),
        (lambda s: [*s, "x"], TypeError, r"sources\[5\]: expected a pydicom Dataset"),
        (lambda s: _patched(s, 1, StudyInstanceUID=None), ValueError, r"sources\[1\]: StudyInstanceUID"),
        (lambda s: _patched(s, 2, SOPClassUID=None), ValueError, r"sources\[2\]: SOPClassUID"),
        (lambda s: _patched(s, 3, StudyInstanceUID="1.2.3.4"), ValueError, "a report covers one study"),
        (lambda s: _patched(s, 4, PatientID="OTHER"), ValueError, r"sources\[4\].PatientID differs"),
    ],
)
def test_invalid_sources(
    mr_sources, new_uids, when, change: Callable[[list[Dataset]], Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        _build(change(mr_sources), [], new_uids, when)


def test_patient_id_is_not_in_the_error(mr_sources, new_uids, when) -> None:
    with pytest.raises(ValueError) as caught:
        _build(_patched(mr_sources, 1, PatientID="SECRET-ID"), [], new_uids, when)
    assert "SECRET-ID" not in str(caught.value) and "SN-000123" not in str(caught.value)


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"series_instance_uid": "not-a-uid"}, ValueError, "series_instance_uid"),
        ({"sop_instance_uid": "1.2.x"}, ValueError, "sop_instance_uid"),
        ({"series_number": 0}, ValueError, "series_number: 0"),
        ({"instance_number": -1}, ValueError, "instance_number: -1"),
        ({"series_number": "3"}, TypeError, "series_number"),
        ({"instance_number": True}, TypeError, "instance_number"),
        ({"algorithm_name": ""}, ValueError, "algorithm_name"),
        ({"algorithm_name": "x" * 65}, ValueError, "algorithm_name"),
        ({"algorithm_version": 3}, TypeError, "algorithm_version"),
        ({"algorithm_version": "1\\2"}, ValueError, "algorithm_version"),
        ({"series_description": ""}, ValueError, "series_description"),
        ({"institution_name": "x" * 70}, ValueError, "institution_name"),
        ({"content_datetime": "20240101"}, TypeError, "content_datetime"),
    ],
)
def test_invalid_arguments(
    mr_sources, new_uids, when, arguments: dict[str, Any], error: type[Exception], message: str
) -> None:
    uids = {k: v for k, v in new_uids.items() if k not in arguments}
    with pytest.raises(error, match=message):
        _build(mr_sources, [], uids, when, **arguments)


def test_new_series_and_instance_must_be_new(mr_sources, new_uids, when) -> None:
    with pytest.raises(ValueError, match="is a source series"):
        _build(mr_sources, [], {**new_uids, "series_instance_uid": mr_sources[0].SeriesInstanceUID}, when)
    with pytest.raises(ValueError, match="UID of a source instance"):
        _build(mr_sources, [], {**new_uids, "sop_instance_uid": mr_sources[2].SOPInstanceUID}, when)


@pytest.mark.parametrize(
    ("sections", "error", "message"),
    [
        (ReportSection(title="x"), TypeError, "sequence of ReportSection"),
        (["text"], TypeError, r"sections\[0\]: expected a ReportSection"),
        ([ReportSection(title="  ")], ValueError, r"sections\[0\].title"),
        ([ReportSection(title="Bad", sr_groups=["not a group"])], TypeError, r"sections\[0\].sr_groups\[0\]"),
    ],
)
def test_invalid_sections(mr_sources, new_uids, when, sections: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        _build(mr_sources, sections, new_uids, when)


def test_invalid_predecessor(mr_sources, new_uids, when) -> None:
    previous = _build(mr_sources, [], new_uids, when)
    other = {
        "series_instance_uid": new_uids["series_instance_uid"],
        "sop_instance_uid": generate_uid(entropy_srcs=["other"]),
    }
    with pytest.raises(TypeError, match="predecessor: expected"):
        _build(mr_sources, [], other, when, predecessor="1.2.3")
    incomplete = copy.deepcopy(previous)
    del incomplete.SOPClassUID
    with pytest.raises(ValueError, match="predecessor: SOPClassUID"):
        _build(mr_sources, [], other, when, predecessor=incomplete)
    elsewhere = copy.deepcopy(previous)
    elsewhere.StudyInstanceUID = "1.2.3.4.5"
    with pytest.raises(ValueError, match="predecessor.StudyInstanceUID"):
        _build(mr_sources, [], other, when, predecessor=elsewhere)
    with pytest.raises(ValueError, match="needs a new UID"):
        _build(mr_sources, [], new_uids, when, predecessor=previous)


def test_group_referencing_an_unknown_image_is_refused(mr_sources, new_uids, when) -> None:
    stranger = generate_uid(entropy_srcs=["not-in-study"])
    group = hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(uid=generate_uid(entropy_srcs=["g"]), identifier="g"),
        source_images=[hd.sr.SourceImageForMeasurementGroup(mr_sources[0].SOPClassUID, stranger)],
    )
    with pytest.raises(ValueError, match=stranger):
        _build(mr_sources, [ReportSection(title="x", sr_groups=[group])], new_uids, when)
