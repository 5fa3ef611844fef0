"""Protocol checks (DURO-PROTO-1, CORD-QC-1, VB-ADC-1, CSF-LEAK-MR-2), report sections, and the SR
they produce validated by dciodvfy (dicom3tools)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import highdicom as hd
import pytest
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.uid import generate_uid

from workers.inventory.protocol import C7_T3_LENGTH_MM, protocol_checks
from workers.inventory.sections import protocol_sections, rule_code
from workers.inventory.series import SeriesInventory


def inv(**kwargs: Any) -> SeriesInventory:
    values: dict[str, Any] = dict(series_uid=generate_uid(), modality="MR", description="s", images=10)
    values.update(kwargs)
    return SeriesInventory(**values)


def by_rule(inventory: list[SeriesInventory]) -> dict[str, Any]:
    return {c.rule_id: c for c in protocol_checks(inventory)}


def fiesta(coverage: float, thickness: float = 1.0, description: str = "Ax FIESTA") -> SeriesInventory:
    return inv(
        description=description,
        sequence="SSFP",
        plane="axial",
        slice_thickness_mm=thickness,
        coverage_mm=coverage,
    )


def test_duro_proto_1_branches() -> None:
    assert by_rule([])["DURO-PROTO-1"].status == "unknown"
    assert by_rule([inv(sequence="T2", plane="sagittal")])["DURO-PROTO-1"].status == "fail"
    thick = by_rule([fiesta(120.0, thickness=3.0)])["DURO-PROTO-1"]
    assert (thick.status, "3.0 mm" in thick.message) == ("fail", True)
    short = by_rule([fiesta(40.0)])["DURO-PROTO-1"]
    assert (short.status, short.covered_mm) == ("warn", 40.0)
    unsure = by_rule([fiesta(C7_T3_LENGTH_MM + 20)])["DURO-PROTO-1"]
    assert unsure.status == "pass"
    assert "do not say which levels" in unsure.message
    named = by_rule([fiesta(110.0, description="Ax FIESTA C7-T3")])["DURO-PROTO-1"]
    assert (named.status, "includes C7–T3" in named.message) == ("pass", True)
    lumbar = by_rule([fiesta(110.0, description="Ax FIESTA L3-S1")])["DURO-PROTO-1"]
    assert lumbar.status == "warn"
    no_positions = by_rule([inv(sequence="SSFP", plane="axial", slice_thickness_mm=0.8)])["DURO-PROTO-1"]
    assert no_positions.status == "warn"


def test_cord_qc_1_branches() -> None:
    assert by_rule([inv(sequence="T2")])["CORD-QC-1"].status == "unknown"
    assert by_rule([inv(sequence="DTI", region="cervical", multiband_factor=4)])["CORD-QC-1"].status == "warn"
    assert by_rule([inv(sequence="DTI", region="cervical", multiband_factor=2)])["CORD-QC-1"].status == "pass"
    assert by_rule([inv(sequence="DWI", region=None)])["CORD-QC-1"].status == "unknown"
    assert by_rule([inv(sequence="DWI", region="brain", multiband_factor=6)])["CORD-QC-1"].status == "unknown"


def test_adc_readiness_and_post_contrast() -> None:
    assert by_rule([inv(sequence="DWI", b_values=[0.0, 800.0])])["VB-ADC-1"].status == "pass"
    assert by_rule([inv(sequence="ADC")])["VB-ADC-1"].status == "pass"
    assert by_rule([inv(sequence="DWI", b_values=[1000.0])])["VB-ADC-1"].status == "fail"
    assert by_rule([inv(sequence="T2")])["VB-ADC-1"].status == "fail"
    assert by_rule([inv(sequence="T1", contrast=True)])["CSF-LEAK-MR-2"].status == "pass"
    assert by_rule([inv(sequence="T1")])["CSF-LEAK-MR-2"].status == "fail"
    assert by_rule([inv(modality="CT")])["CSF-LEAK-MR-2"].status == "unknown"


def test_sections_lines_flags_and_groups() -> None:
    inventory = [
        fiesta(40.0),
        inv(
            sequence="T1",
            contrast=True,
            unsafe_geometry=True,
            geometry_issues=["gantry tilt"],
            description="ax t1 +c",
        ),
    ]
    checks = protocol_checks(inventory)
    card, listing = protocol_sections(inventory, checks)
    assert len(card.sr_groups) == len(checks) == len(card.lines)
    assert "DURO-PROTO-1 WARNING" in card.flags
    assert any("unsafe geometry" in f for f in card.flags)
    assert any("geometry not trusted" in line for line in listing.lines)
    with pytest.raises(ValueError, match="rule_id"):
        rule_code("NO-SUCH-RULE")


def _evidence() -> Dataset:
    """A synthetic MR image header (no real patient) to reference from the SR."""
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.PatientName, ds.PatientID, ds.PatientBirthDate, ds.PatientSex = "Phantom^Spine", "PH1", "", "O"
    ds.StudyID, ds.StudyDate, ds.StudyTime, ds.AccessionNumber = "1", "20240101", "120000", "A1"
    ds.ReferringPhysicianName = ""
    ds.Modality = "MR"
    return ds


@pytest.mark.skipif(shutil.which("dciodvfy") is None, reason="dicom3tools dciodvfy is not installed")
def test_sr_with_protocol_groups_passes_dciodvfy(tmp_path: Path) -> None:
    inventory = [
        fiesta(110.0, description="Ax FIESTA C7-T3"),
        inv(sequence="DTI", region="cervical", multiband_factor=4),
    ]
    section = protocol_sections(inventory, protocol_checks(inventory))[0]
    observer = hd.sr.ObserverContext(
        observer_type=codes.DCM.Device,
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(uid=generate_uid(), name="spinenode"),
    )
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(observer_device_context=observer),
        procedure_reported=codes.DCM.ImagingMeasurementReport,
        imaging_measurements=section.sr_groups,
    )
    sr = hd.sr.Comprehensive3DSR(
        evidence=[_evidence()],
        content=report,
        series_instance_uid=generate_uid(),
        series_number=900,
        sop_instance_uid=generate_uid(),
        instance_number=1,
        manufacturer="spinenode",
    )
    path = tmp_path / "sr.dcm"
    sr.save_as(path)
    result = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, timeout=60)
    output = result.stdout + result.stderr
    assert "Comprehensive3DSR" in output  # dciodvfy recognised the IOD
    assert not [line for line in output.splitlines() if line.startswith("Error")], output
