"""The phantom scenarios: which anatomy, which series, and what the ground truth is."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from workers.phantom.anatomy import (
    AnteriorHornLesion,
    CordCompression,
    EpiduralFluid,
    MarrowLesion,
    SpineModel,
)
from workers.phantom.series import SeriesSpec


@dataclass(frozen=True)
class Scenario:
    """A named phantom: the anatomy, its series, a description and the expected findings."""

    name: str
    description: str
    model: SpineModel
    series: tuple[SeriesSpec, ...]
    findings: tuple[dict[str, Any], ...] = ()
    extra_truth: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.series:
            raise ValueError(f"scenario {self.name!r} has no series")


def _sag_t2(n: int = 15) -> SeriesSpec:
    return SeriesSpec(
        "Sag T2 TSE",
        "T2",
        "sagittal",
        n,
        centre_mm=(0.0, -15.0, -5.0),
        repetition_time_ms=3500.0,
        echo_time_ms=100.0,
    )


def _sag_t1() -> SeriesSpec:
    return SeriesSpec(
        "Sag T1 TSE",
        "T1",
        "sagittal",
        15,
        centre_mm=(0.0, -15.0, -5.0),
        repetition_time_ms=550.0,
        echo_time_ms=10.0,
        echo_train_length=3,
        sequence_name="*tse2d1_3",
    )


def _sag_stir() -> SeriesSpec:
    return SeriesSpec(
        "Sag STIR",
        "STIR",
        "sagittal",
        15,
        centre_mm=(0.0, -15.0, -5.0),
        repetition_time_ms=4000.0,
        echo_time_ms=60.0,
        inversion_time_ms=160.0,
        scanning_sequence="SE\\IR",
        sequence_variant="SK\\SP\\MP",
        sequence_name="*tir2d1",
    )


def _ax_t2(z_centre: float, n: int = 20, spacing: float = 5.0) -> SeriesSpec:
    return SeriesSpec(
        "Ax T2 TSE",
        "T2",
        "axial",
        n,
        pixel_spacing_mm=0.625,
        slice_thickness_mm=4.0,
        slice_spacing_mm=spacing,
        centre_mm=(0.0, -10.0, z_centre),
        repetition_time_ms=4000.0,
        echo_time_ms=95.0,
    )


def _sag_dwi(b_values: tuple[float, ...]) -> SeriesSpec:
    return SeriesSpec(
        "Sag DWI EPI",
        "DWI",
        "sagittal",
        12,
        rows=128,
        columns=128,
        pixel_spacing_mm=2.0,
        slice_thickness_mm=3.5,
        slice_spacing_mm=3.5,
        centre_mm=(0.0, -15.0, -5.0),
        b_values=b_values,
        repetition_time_ms=5000.0,
        echo_time_ms=70.0,
        scanning_sequence="EP",
        sequence_variant="SK\\SP",
        scan_options="FS",
        sequence_name="*ep_b800t",
        echo_train_length=1,
        noise_sigma=6.0,
    )


def simple() -> Scenario:
    model = SpineModel()
    return Scenario(
        "simple",
        "Healthy cervicothoracic spine: sagittal and axial T2.",
        model,
        (_sag_t2(), _ax_t2(z_centre=model.level("C5").z_centre)),
    )


def marrow_lesion() -> Scenario:
    lesions = (
        MarrowLesion("T2", (0.0, 0.0, 0.0), radius_mm=6.5, adc_mm2_s=0.75e-3),
        MarrowLesion("T4", (0.0, 1.0, 0.0), radius_mm=6.5, adc_mm2_s=1.60e-3),
    )
    model = SpineModel(marrow_lesions=lesions)
    return Scenario(
        "marrow_lesion",
        "Two focal marrow lesions (T2 with a low ADC, T4 with a high ADC) among normal marrow; "
        "sagittal DWI b=0/400/800, T1, T2 and STIR.",
        model,
        (_sag_t1(), _sag_t2(), _sag_stir(), _sag_dwi((0.0, 400.0, 800.0))),
    )


def cord_compression() -> Scenario:
    model0 = SpineModel()
    disc_z = model0.level("C5").z_bottom - 2.5  # the C5/6 disc
    model = SpineModel(compression=CordCompression(disc_z, half_length_mm=7.0, min_ap_semi_axis_mm=2.0))
    return Scenario(
        "cord_compression",
        "Cord flattened at the C5/6 disc to half its AP diameter; sagittal T2 and contiguous axial T2.",
        model,
        (_sag_t2(), _ax_t2(z_centre=disc_z, n=24, spacing=2.5)),
        extra_truth={"compression_level": "C5/C6", "compression_z_mm": disc_z},
    )


def epidural_fluid() -> Scenario:
    model = SpineModel(epidural_fluid=EpiduralFluid("C7", "T2", thickness_mm=3.0))
    z = 0.5 * (model.level("C7").z_top + model.level("T2").z_bottom)
    finding = {
        "exam": "spinal_mri",
        "kind": "epidural_fluid",
        "levels": ["C7", "T2"],
        "enhancement": "not_assessed",
        "continuous_with_subarachnoid": None,
        "source": "automated",
    }
    return Scenario(
        "epidural_fluid",
        "Ventral epidural fluid collection from C7 to T2; sagittal and axial T2.",
        model,
        (_sag_t2(), _ax_t2(z_centre=z, n=24, spacing=4.0)),
        findings=(finding,),
    )


def msam() -> Scenario:
    model = SpineModel(
        epidural_fluid=EpiduralFluid("C7", "T2", thickness_mm=3.0),
        anterior_horn_lesion=AnteriorHornLesion("C3", radius_mm=1.1),
    )
    finding = {
        "exam": "spinal_mri",
        "kind": "epidural_fluid",
        "levels": ["C7", "T2"],
        "enhancement": "not_assessed",
        "continuous_with_subarachnoid": None,
        "source": "automated",
    }
    return Scenario(
        "msam",
        "Bilateral anterior-horn T2 hyperintensity at C3 and ventral epidural fluid C7-T2 (MSAM pattern).",
        model,
        (
            _sag_t2(),
            _ax_t2(z_centre=model.level("C3").z_centre, n=20, spacing=4.0),
            _ax_t2(z_centre=0.5 * (model.level("C7").z_top + model.level("T2").z_bottom), n=20, spacing=4.0),
        ),
        findings=(finding,),
        extra_truth={"anterior_horn_hyperintensity": {"level": "C3", "bilateral": True}},
    )


SCENARIOS: dict[str, Callable[[], Scenario]] = {
    "simple": simple,
    "marrow_lesion": marrow_lesion,
    "cord_compression": cord_compression,
    "epidural_fluid": epidural_fluid,
    "msam": msam,
}
