"""Protocol checks on a study's inventory, named by the rule IDs of ``spec/criteria.md``.

- DURO-PROTO-1: a thin (<= 1 mm) axial steady-state series (FIESTA, CISS, TrueFISP, bFFE, …) and how
  much of C7–T3 it can cover. Vertebral levels are not in image headers: the covered length comes
  from the slice positions, the levels only from what the description or body part names.
- CORD-QC-1: multiband (SMS) factor >= 4 on cord diffusion degrades images: warn.
- VB-ADC-1 (readiness): a DWI with >= 2 b-values, or a vendor ADC map.
- CSF-LEAK-MR-2 input: a post-contrast series exists (enhancement cannot be judged otherwise).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from workers.inventory.region import Level, level_range
from workers.inventory.series import SeriesInventory

STATUSES = ("pass", "fail", "warn", "unknown")
THIN_SLICE_MM = 1.0
THIN_SLICE_TOLERANCE_MM = 0.05
# Adult C7 top to T3 bottom: four vertebral bodies with their discs, about 20-25 mm per segment
# (assumption from typical adult morphometry, not from the header) -> about 80-100 mm.
C7_T3_LENGTH_MM = 85.0
C7 = Level("C", 7)
T3 = Level("T", 3)
MULTIBAND_WARN_FACTOR = 4
_CORD_REGIONS = ("cervical", "thoracic", "spine", "cervicothoracic", "thoracolumbar", "whole spine")


@dataclass(frozen=True)
class ProtocolCheck:
    """The outcome of one protocol rule on one study."""

    rule_id: str
    status: str
    message: str
    series_uids: tuple[str, ...] = ()
    covered_mm: float | None = None

    def __post_init__(self) -> None:
        if not self.rule_id:
            raise ValueError(f"rule_id must not be empty, got {self.rule_id!r}")
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")
        if not self.message:
            raise ValueError(f"message must not be empty, got {self.message!r}")
        if self.covered_mm is not None and self.covered_mm < 0:
            raise ValueError(f"covered_mm must be >= 0, got {self.covered_mm!r}")


def _mr(inventory: Sequence[SeriesInventory]) -> list[SeriesInventory]:
    return [s for s in inventory if s.modality == "MR" and s.sequence not in (None, "LOCALIZER")]


def _label(s: SeriesInventory) -> str:
    number = f"#{s.series_number} " if s.series_number is not None else ""
    return f"{number}{s.description or s.series_uid}".strip()


def _includes_c7_t3(s: SeriesInventory) -> bool | None:
    """True/False when the description names levels or a region; None when headers do not say."""
    levels = level_range([s.description])
    if levels is not None:
        first, last = levels
        return first.ordinal <= T3.ordinal and last.ordinal >= C7.ordinal
    if s.region is None or s.region in ("spine",):
        return None
    return any(r in s.region for r in ("cervicothoracic", "thoracic", "whole spine"))


def check_duro_proto_1(inventory: Sequence[SeriesInventory]) -> ProtocolCheck:
    """DURO-PROTO-1: thin axial steady-state series covering C7–T3 (sagittal T2 and SSFP noted)."""
    rule = "DURO-PROTO-1"
    mr = _mr(inventory)
    if not mr:
        return ProtocolCheck(rule, "unknown", "no MR image series: the steady-state protocol does not apply")
    axial_ssfp = [s for s in mr if s.sequence == "SSFP" and s.plane == "axial"]
    thin = [
        s
        for s in axial_ssfp
        if s.slice_thickness_mm is not None and s.slice_thickness_mm <= THIN_SLICE_MM + THIN_SLICE_TOLERANCE_MM
    ]
    sagittal = sorted({s.sequence or "" for s in mr if s.plane == "sagittal" and s.sequence in ("T2", "SSFP")})
    sag_note = f" Sagittal {' and '.join(sagittal)} present." if sagittal else " No sagittal T2 or steady-state series."
    if not thin:
        if axial_ssfp:
            sizes = ", ".join(
                f"{s.slice_thickness_mm} mm" if s.slice_thickness_mm is not None else "unknown" for s in axial_ssfp
            )
            return ProtocolCheck(
                rule,
                "fail",
                f"axial steady-state series present but not <= 1 mm thick ({sizes});"
                " a dural defect can only be shown on thin axial steady-state images." + sag_note,
                tuple(s.series_uid for s in axial_ssfp),
            )
        return ProtocolCheck(
            rule,
            "fail",
            "no thin axial steady-state series (FIESTA/CISS/TrueFISP/bFFE, <= 1 mm);"
            " a dural defect can only be shown on it; cover C7–T3 first." + sag_note,
        )
    best = max(thin, key=lambda s: s.coverage_mm or 0.0)
    covered = best.coverage_mm
    where = _includes_c7_t3(best)
    length = f"{covered:.0f} mm" if covered is not None else "an unknown length"
    estimate = (
        f"C7–T3 is about {C7_T3_LENGTH_MM:.0f} mm in an adult (estimate; vertebral levels are not in the headers)"
    )
    if covered is None:
        status, verdict = "warn", "slice positions missing, coverage cannot be measured"
    elif covered + 1e-6 < C7_T3_LENGTH_MM:
        status, verdict = "warn", f"covers {length}, shorter than {estimate}; part of C7–T3 is missed"
    elif where is False:
        status, verdict = "warn", f"covers {length} but the description/region names levels outside C7–T3"
    elif where is None:
        status, verdict = (
            "pass",
            (
                f"covers {length}, enough for C7–T3 if centred there ({estimate}); the headers"
                " do not say which levels are covered"
            ),
        )
    else:
        status, verdict = "pass", f"covers {length} in a region that includes C7–T3 ({estimate})"
    message = f"thin axial steady-state {_label(best)} ({best.slice_thickness_mm} mm): {verdict}.{sag_note}"
    return ProtocolCheck(rule, status, message, tuple(s.series_uid for s in thin), covered)


def check_cord_qc_1(inventory: Sequence[SeriesInventory]) -> ProtocolCheck:
    """CORD-QC-1: warn when a cord diffusion series used a multiband factor >= 4."""
    rule = "CORD-QC-1"
    diffusion = [
        s
        for s in _mr(inventory)
        if s.sequence in ("DWI", "DTI") and (s.region is None or any(r in s.region for r in _CORD_REGIONS))
    ]
    if not diffusion:
        return ProtocolCheck(rule, "unknown", "no spinal cord diffusion series: multiband factor not applicable")
    high = [s for s in diffusion if s.multiband_factor is not None and s.multiband_factor >= MULTIBAND_WARN_FACTOR]
    if high:
        names = ", ".join(f"{_label(s)} (MB {s.multiband_factor})" for s in high)
        return ProtocolCheck(
            rule,
            "warn",
            f"multiband factor >= {MULTIBAND_WARN_FACTOR} on cord diffusion: {names};"
            " 4 or more caused severe image degradation in the source, 2–3 was adequate.",
            tuple(s.series_uid for s in high),
        )
    unknown = [s for s in diffusion if s.multiband_factor is None]
    if unknown:
        return ProtocolCheck(
            rule,
            "unknown",
            "the header does not state the multiband factor of " + ", ".join(_label(s) for s in unknown) + ".",
            tuple(s.series_uid for s in unknown),
        )
    factors = ", ".join(f"{_label(s)} (MB {s.multiband_factor})" for s in diffusion)
    return ProtocolCheck(
        rule,
        "pass",
        f"multiband factor below {MULTIBAND_WARN_FACTOR}: {factors}.",
        tuple(s.series_uid for s in diffusion),
    )


def check_adc_ready(inventory: Sequence[SeriesInventory]) -> ProtocolCheck:
    """VB-ADC-1 readiness: an ADC can be measured from a DWI with >= 2 b-values or a vendor ADC map."""
    rule = "VB-ADC-1"
    mr = _mr(inventory)
    maps = [s for s in mr if s.sequence == "ADC"]
    multi_b = [s for s in mr if s.sequence in ("DWI", "DTI") and len(s.b_values) >= 2]
    if maps or multi_b:
        parts = []
        if maps:
            parts.append("vendor ADC map " + ", ".join(_label(s) for s in maps))
        if multi_b:
            parts.append(
                "diffusion with b = "
                + "; ".join(f"{'/'.join(f'{b:g}' for b in s.b_values)} ({_label(s)})" for s in multi_b)
            )
        return ProtocolCheck(
            rule,
            "pass",
            "ADC available: " + " and ".join(parts) + ".",
            tuple(s.series_uid for s in maps + multi_b),
        )
    single = [s for s in mr if s.sequence in ("DWI", "DTI")]
    if single:
        return ProtocolCheck(
            rule,
            "fail",
            "diffusion present but fewer than 2 b-values known and no ADC map: ADC (VB-ADC-1) cannot be computed.",
            tuple(s.series_uid for s in single),
        )
    return ProtocolCheck(rule, "fail", "no diffusion series and no ADC map: ADC (VB-ADC-1) cannot be measured.")


def check_post_contrast(inventory: Sequence[SeriesInventory]) -> ProtocolCheck:
    """CSF-LEAK-MR-2 needs a post-contrast series; without one enhancement is not assessable."""
    rule = "CSF-LEAK-MR-2"
    mr = _mr(inventory)
    if not mr:
        return ProtocolCheck(rule, "unknown", "no MR image series: post-contrast imaging not assessed")
    post = [s for s in mr if s.contrast]
    if post:
        fs = [s for s in post if s.fat_suppressed and s.plane == "axial"]
        note = " including fat-suppressed axial" if fs else ""
        return ProtocolCheck(
            rule,
            "pass",
            f"post-contrast series present{note}: " + ", ".join(_label(s) for s in post) + ".",
            tuple(s.series_uid for s in post),
        )
    return ProtocolCheck(
        rule,
        "fail",
        "no post-contrast series: enhancement is not assessable, so CSF-LEAK-MR-2 and CSF-LEAK-MR-4 cannot fire.",
    )


def protocol_checks(inventory: Sequence[SeriesInventory]) -> list[ProtocolCheck]:
    """All protocol checks, in rule-book order."""
    return [
        check_duro_proto_1(inventory),
        check_cord_qc_1(inventory),
        check_adc_ready(inventory),
        check_post_contrast(inventory),
    ]
