"""VB (vertebral marrow ADC and signal) and CORD-QC: rules on measured values.

Sources: ``003_d57ed61fe5ef7bdf.txt`` (VB) and ``004_2038cf2b0706af8e.txt`` (CORD). ADC values are in
units of 10^-3 mm^2/s. The analysers measure; these functions classify. None of them is a diagnosis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

#: VB-ADC-1: mean lesion ADC at or below the cut-off is suspicious for malignancy.
ADC_CUTOFF = 1.21
ADC_VALID_RANGE = (0.0, 4.0)
MIN_ROI_VOXELS = 10
NORMAL_MARROW_VALID_RANGE = (0.1, 1.0)
#: Normal vertebral marrow ADC quoted in the source.
NORMAL_MARROW_RANGE = (0.30, 0.60)

#: VB-ADC-2 reference values (lesion mean, SD, n), Kaur et al., Pol J Radiol 2020;85:e215-e223.
ADC_REFERENCE: dict[str, tuple[float, float, int]] = {
    "haemangioma": (1.82, 0.17, 16),
    "benign collapse": (1.94, 0.18, 16),
    "pyogenic spondylitis": (1.47, 0.22, 13),
    "tuberculosis": (1.42, 0.31, 20),
    "metastasis": (0.69, 0.18, 24),
    "primary neoplasm": (0.69, 0.12, 11),
}
VB_ADC_3_NOTE = (
    "VB-ADC-3: in myeloma ADC falls as plasma-cell infiltration rises (r = -0.843; median 0.6157, IQR"
    " 0.4504-0.7992); the ADC is reported, myeloma is never graded"
)

VbClass = Literal["suspicious_malignant", "favours_benign", "unreliable"]


@dataclass(frozen=True)
class VbAdcResult:
    """VB-ADC-1 classification with the reliability problems and the VB-ADC-2 entities within 2 SD."""

    classification: VbClass
    rules: tuple[str, ...]
    adc_mean: float
    problems: tuple[str, ...] = ()
    consistent_with: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


def _number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name}: must be a finite number, got {value!r}")
    return float(value)


def vb_reliability(adc_mean: float, voxel_count: int, normal_marrow_adc: float | None = None) -> tuple[str, ...]:
    """The VB reliability checks: ADC outside 0-4, ROI under 10 voxels, normal marrow outside 0.1-1.0."""
    adc = _number("adc_mean", adc_mean)
    if isinstance(voxel_count, bool) or not isinstance(voxel_count, int):
        raise ValueError(f"voxel_count: must be an integer, got {voxel_count!r}")
    if voxel_count < 0:
        raise ValueError(f"voxel_count: must not be negative, got {voxel_count!r}")
    problems = []
    if not ADC_VALID_RANGE[0] <= adc <= ADC_VALID_RANGE[1]:
        problems.append(f"ADC {adc:g} outside {ADC_VALID_RANGE[0]:g}-{ADC_VALID_RANGE[1]:g} x10^-3 mm2/s")
    if voxel_count < MIN_ROI_VOXELS:
        problems.append(f"ROI of {voxel_count} voxels (fewer than {MIN_ROI_VOXELS})")
    if normal_marrow_adc is not None:
        normal = _number("normal_marrow_adc", normal_marrow_adc)
        low, high = NORMAL_MARROW_VALID_RANGE
        if not low <= normal <= high:
            problems.append(f"normal marrow reads {normal:g}, outside {low:g}-{high:g}: ADC map not reliable")
    return tuple(problems)


def classify_vb_adc(adc_mean: float, voxel_count: int, normal_marrow_adc: float | None = None) -> VbAdcResult:
    """VB-ADC-1 (cut-off 1.21) after the reliability checks; VB-ADC-2 entities within 2 SD of the mean."""
    problems = vb_reliability(adc_mean, voxel_count, normal_marrow_adc)
    adc = float(adc_mean)
    if problems:
        return VbAdcResult("unreliable", ("VB-ADC-1",), adc, problems, notes=(VB_ADC_3_NOTE,))
    consistent = tuple(name for name, (mean, sd, _) in ADC_REFERENCE.items() if abs(adc - mean) <= 2 * sd)
    cls: VbClass = "suspicious_malignant" if adc <= ADC_CUTOFF else "favours_benign"
    notes = [VB_ADC_3_NOTE]
    usual_low, usual_high = NORMAL_MARROW_RANGE
    if normal_marrow_adc is not None and not usual_low <= normal_marrow_adc <= usual_high:
        notes.append(f"normal marrow {normal_marrow_adc:g} outside the usual 0.30-0.60")
    return VbAdcResult(cls, ("VB-ADC-1", "VB-ADC-2"), adc, (), consistent, tuple(notes))


Signal = Literal["low", "iso", "high"]
_SIGNALS = ("low", "iso", "high")


@dataclass(frozen=True)
class VbSignalResult:
    """VB-SIG-1: the differential list for the report (never a diagnosis)."""

    differential: tuple[str, ...]
    rules: tuple[str, ...]
    notes: tuple[str, ...] = ()


def vb_signal_differential(
    t1: Signal,
    t2: Signal,
    fat_suppressed_t2: Signal | None = None,
    *,
    lower_than_surrounding_marrow: bool = False,
    inside_high_signal_marrow: bool = False,
    disc_centred: bool = False,
) -> VbSignalResult:
    """VB-SIG-1 signal patterns of a vertebral lesion relative to normal marrow."""
    for name, value in (("t1", t1), ("t2", t2), ("fat_suppressed_t2", fat_suppressed_t2)):
        if (value is not None or name != "fat_suppressed_t2") and value not in _SIGNALS:
            raise ValueError(f"{name}: must be one of {_SIGNALS}, got {value!r}")
    diff: list[str] = []
    notes: list[str] = []
    if t1 == "low" and t2 == "high" and fat_suppressed_t2 in ("high", None):
        diff += ["compression fracture", "pyogenic spondylitis", "lytic metastasis"]
        notes.append("signal cannot separate these: use ADC (VB-ADC-1)")
        if fat_suppressed_t2 is None:
            notes.append("fat-suppressed T2 not given")
    if t1 == "low" and t2 == "low":
        diff += ["osteoblastic metastasis (prostate, breast; high attenuation on CT)", "red marrow"]
    if t1 == "high" and t2 == "high":
        diff.append("fatty marrow")
    if inside_high_signal_marrow and t1 == "low":
        diff.append("marrow reconversion")
        notes.append("reconversion only when every other lesion is excluded and no malignancy is present")
    if lower_than_surrounding_marrow:
        diff.append("myeloma (high cellularity)")
    if disc_centred:
        if "pyogenic spondylitis" not in diff:
            diff.append("pyogenic spondylitis")
        notes.append("disc-centred with both endplates destroyed favours pyogenic spondylitis")
    return VbSignalResult(tuple(dict.fromkeys(diff)), ("VB-SIG-1",), tuple(notes))


@dataclass(frozen=True)
class CordQcResult:
    rule: str
    multiband_factor: int
    warning: str | None


def cord_qc_multiband(multiband_factor: int) -> CordQcResult:
    """CORD-QC-1: warn when the simultaneous-multi-slice factor of cord diffusion is 4 or more."""
    if isinstance(multiband_factor, bool) or not isinstance(multiband_factor, int) or multiband_factor < 1:
        raise ValueError(f"multiband_factor: must be an integer >= 1, got {multiband_factor!r}")
    warning = None
    if multiband_factor >= 4:
        warning = (
            f"multiband factor {multiband_factor}: 4 or more degraded cord diffusion images fatally"
            " in the source (2-3 adequate)"
        )
    return CordQcResult("CORD-QC-1", multiband_factor, warning)
