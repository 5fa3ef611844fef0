"""Report sections for the inventory and protocol checks: summary-card lines, worklist flags and
TID 1501 measurement groups (highdicom ``MeasurementsAndQualitativeEvaluations``).

Concepts without a DCM or SCT code use the private coding scheme ``99SPINENODE`` (see CODES.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import highdicom as hd
from pydicom.uid import generate_uid

from workers.inventory.protocol import ProtocolCheck
from workers.inventory.series import SeriesInventory
from workers.results.section import ReportSection

SCHEME = "99SPINENODE"

RULE_CODES: dict[str, hd.sr.CodedConcept] = {
    "DURO-PROTO-1": hd.sr.CodedConcept("DURO-PROTO-1", SCHEME, "Thin axial steady-state series covering C7-T3"),
    "CORD-QC-1": hd.sr.CodedConcept("CORD-QC-1", SCHEME, "Multiband factor on cord diffusion"),
    "VB-ADC-1": hd.sr.CodedConcept("VB-ADC-1", SCHEME, "ADC available for marrow lesion cut-off"),
    "CSF-LEAK-MR-2": hd.sr.CodedConcept("CSF-LEAK-MR-2", SCHEME, "Post-contrast series for enhancement"),
}
CHECK_STATUS = hd.sr.CodedConcept("SN-PCSTATUS", SCHEME, "Protocol check status")
STATUS_CODES: dict[str, hd.sr.CodedConcept] = {
    "pass": hd.sr.CodedConcept("SN-PASS", SCHEME, "Protocol requirement met"),
    "fail": hd.sr.CodedConcept("SN-FAIL", SCHEME, "Protocol requirement not met"),
    "warn": hd.sr.CodedConcept("SN-WARN", SCHEME, "Protocol warning"),
    "unknown": hd.sr.CodedConcept("SN-UNKNOWN", SCHEME, "Not determinable from headers"),
}
PROTOCOL_CHECK = hd.sr.CodedConcept("SN-PROTOCHECK", SCHEME, "Acquisition protocol check")
COVERED_LENGTH = hd.sr.CodedConcept("SN-COVLEN", SCHEME, "Length covered along the body axis")
MILLIMETER = hd.sr.CodedConcept("mm", "UCUM", "millimeter")

_SYMBOL = {"pass": "OK", "fail": "MISSING", "warn": "WARNING", "unknown": "UNKNOWN"}


def rule_code(rule_id: str) -> hd.sr.CodedConcept:
    """The coded concept of a protocol rule; ValueError for a rule without a code."""
    try:
        return RULE_CODES[rule_id]
    except KeyError:
        raise ValueError(f"rule_id has no code in {SCHEME}: {rule_id!r}") from None


def check_group(check: ProtocolCheck) -> hd.sr.MeasurementsAndQualitativeEvaluations:
    """One TID 1501 group per check: rule as method, status as qualitative evaluation, length in mm."""
    measurements = []
    if check.covered_mm is not None:
        measurements.append(hd.sr.Measurement(name=COVERED_LENGTH, value=float(check.covered_mm), unit=MILLIMETER))
    return hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(uid=generate_uid(), identifier=f"{check.rule_id} protocol check"),
        finding_type=PROTOCOL_CHECK,
        method=rule_code(check.rule_id),
        measurements=measurements or None,
        qualitative_evaluations=[hd.sr.QualitativeEvaluation(CHECK_STATUS, STATUS_CODES[check.status])],
    )


def _series_line(s: SeriesInventory) -> str:
    parts = [
        s.sequence or s.modality,
        s.plane or "",
        f"{s.slice_thickness_mm:g} mm" if s.slice_thickness_mm else "",
    ]
    if s.fat_suppressed:
        parts.append("FS")
    if s.contrast:
        parts.append("+C")
    if s.b_values:
        parts.append("b=" + "/".join(f"{b:g}" for b in s.b_values))
    label = f"#{s.series_number}" if s.series_number is not None else s.series_uid[-8:]
    return f"{label} {s.description}: " + " ".join(p for p in parts if p)


def protocol_sections(inventory: Sequence[SeriesInventory], checks: Sequence[ProtocolCheck]) -> list[ReportSection]:
    """Two sections: the protocol checks (lines, flags, SR groups) and the series inventory (lines)."""
    lines = [f"{c.rule_id}: {_SYMBOL[c.status]} – {c.message}" for c in checks]
    flags = [f"{c.rule_id} {_SYMBOL[c.status]}" for c in checks if c.status in ("fail", "warn")]
    unsafe = [s for s in inventory if s.unsafe_geometry]
    flags += [f"unsafe geometry: #{s.series_number} {s.description}".strip() for s in unsafe]
    checks_section = ReportSection(
        title="Protocol checks",
        lines=lines,
        flags=flags,
        sr_groups=[check_group(c) for c in checks],
        needs_confirmation=False,
    )
    series_lines = [_series_line(s) for s in inventory]
    series_lines += [
        f"{s.description or s.series_uid}: geometry not trusted ({'; '.join(s.geometry_issues)})" for s in unsafe
    ]
    inventory_section = ReportSection(title="Series inventory", lines=series_lines)
    return [checks_section, inventory_section]
