"""VB-ADC-1/2/3, VB-SIG-1, the VB reliability checks and CORD-QC-1."""

from __future__ import annotations

from typing import Any

import pytest

from workers.criteria.context import thin_axial_ssfp_in_inventory
from workers.criteria.rules_quant import (
    ADC_REFERENCE,
    classify_vb_adc,
    cord_qc_multiband,
    vb_reliability,
    vb_signal_differential,
)


@pytest.mark.parametrize(
    ("adc", "expected"),
    [
        (0.69, "suspicious_malignant"),
        (1.21, "suspicious_malignant"),
        (1.2101, "favours_benign"),
        (1.82, "favours_benign"),
        (0.0, "suspicious_malignant"),
        (4.0, "favours_benign"),
    ],
)
def test_vb_adc_1_cutoff(adc: float, expected: str) -> None:
    result = classify_vb_adc(adc, 50, 0.4)
    assert result.classification == expected
    assert result.rules == ("VB-ADC-1", "VB-ADC-2")


def test_source_table_reproduced_by_the_cutoff() -> None:
    """Kaur et al.: every malignant mean (0.69) falls at or below 1.21, every benign mean above it."""
    for name, (mean, _, _) in ADC_REFERENCE.items():
        malignant = name in ("metastasis", "primary neoplasm")
        assert (classify_vb_adc(mean, 20).classification == "suspicious_malignant") is malignant


def test_vb_adc_2_entities_within_two_sd() -> None:
    result = classify_vb_adc(0.7, 30, 0.45)  # tuberculosis 1.42 - 2 x 0.31 = 0.80 lies above
    assert set(result.consistent_with) == {"metastasis", "primary neoplasm"}
    assert "haemangioma" in classify_vb_adc(1.8, 30).consistent_with


def test_vb_adc_3_note_never_grades_myeloma() -> None:
    result = classify_vb_adc(0.6, 30)
    assert any("myeloma is never graded" in n for n in result.notes)


@pytest.mark.parametrize(
    ("adc", "voxels", "normal", "problem"),
    [
        (-0.1, 50, None, "outside 0-4"),
        (4.5, 50, None, "outside 0-4"),
        (1.0, 9, None, "fewer than 10"),
        (1.0, 50, 0.05, "normal marrow reads"),
        (1.0, 50, 1.2, "normal marrow reads"),
    ],
)
def test_unreliable_measurements_are_not_graded(adc: float, voxels: int, normal: float | None, problem: str) -> None:
    result = classify_vb_adc(adc, voxels, normal)
    assert result.classification == "unreliable"
    assert any(problem in p for p in result.problems)
    assert result.consistent_with == ()


def test_reliability_boundaries_are_inclusive() -> None:
    assert vb_reliability(4.0, 10, 0.1) == ()
    assert vb_reliability(0.0, 10, 1.0) == ()


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((float("nan"), 10, None), "adc_mean"),
        (("1.0", 10, None), "adc_mean"),
        ((1.0, 10.5, None), "voxel_count"),
        ((1.0, True, None), "voxel_count"),
        ((1.0, -1, None), "voxel_count"),
        ((1.0, 10, "0.4"), "normal_marrow_adc"),
    ],
)
def test_vb_inputs_are_validated(args: tuple[Any, Any, Any], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        vb_reliability(*args)


def test_vb_sig_1_patterns() -> None:
    alike = vb_signal_differential("low", "high", "high")
    assert alike.differential == ("compression fracture", "pyogenic spondylitis", "lytic metastasis")
    assert any("VB-ADC-1" in n for n in alike.notes)
    blastic = vb_signal_differential("low", "low")
    assert blastic.differential[0].startswith("osteoblastic metastasis") and "red marrow" in blastic.differential
    assert vb_signal_differential("high", "high").differential == ("fatty marrow",)
    reconversion = vb_signal_differential("low", "low", inside_high_signal_marrow=True)
    assert "marrow reconversion" in reconversion.differential
    assert (
        "myeloma (high cellularity)"
        in vb_signal_differential("iso", "iso", lower_than_surrounding_marrow=True).differential
    )
    disc = vb_signal_differential("low", "high", "high", disc_centred=True)
    assert disc.differential.count("pyogenic spondylitis") == 1 and any("disc-centred" in n for n in disc.notes)
    assert vb_signal_differential("iso", "iso").differential == ()


@pytest.mark.parametrize(
    ("t1", "t2", "fs", "field"),
    [("dark", "low", None, "t1"), ("low", None, None, "t2"), ("low", "high", "bright", "fat_suppressed_t2")],
)
def test_vb_sig_1_validates_signals(t1: Any, t2: Any, fs: Any, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        vb_signal_differential(t1, t2, fs)


@pytest.mark.parametrize(("factor", "warns"), [(1, False), (2, False), (3, False), (4, True), (6, True)])
def test_cord_qc_1_multiband(factor: int, warns: bool) -> None:
    result = cord_qc_multiband(factor)
    assert result.rule == "CORD-QC-1" and (result.warning is not None) is warns


@pytest.mark.parametrize("factor", [0, -2, 2.0, True, "3"])
def test_cord_qc_1_validates(factor: Any) -> None:
    with pytest.raises(ValueError, match="multiband_factor"):
        cord_qc_multiband(factor)


def test_thin_axial_ssfp_in_inventory() -> None:
    fiesta = {"modality": "MR", "plane": "axial", "sequence": "SSFP", "slice_thickness_mm": 1.0}
    assert thin_axial_ssfp_in_inventory([fiesta]) is True
    assert thin_axial_ssfp_in_inventory([{**fiesta, "slice_thickness_mm": 3.0}]) is False
    assert thin_axial_ssfp_in_inventory([{**fiesta, "plane": "sagittal"}]) is False
    assert thin_axial_ssfp_in_inventory([{**fiesta, "slice_thickness_mm": None}]) is False
    assert thin_axial_ssfp_in_inventory([]) is False
