"""Report sections of the analysers: summary lines, flags, TID 1501 measurement groups, key images.

Each measurement becomes an ``hd.sr.Measurement`` (TID 300) inside one TID 1501
``MeasurementsAndQualitativeEvaluations`` group per analyser and site/level, with the finding site coded in
SNOMED CT (the vertebra of the level, or the spinal cord), the algorithm named with its version, and the
source images referenced. Every output carries its QC verdict: a quality group per analyser and series
(CODE qualitative evaluation ok / unreliable / failed and the reason as TEXT), the same CODE evaluation in
each of its measurement groups, and one short "Quality" line in its section, after the findings (card, SR text).
"""

from __future__ import annotations

from collections import defaultdict

import highdicom as hd
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code

from workers.analysis.base import (
    SPINAL_CORD,
    AnalyserResult,
    AnalysisOutput,
    Measurement,
    QcStatus,
    QcVerdict,
    vertebra_code,
)
from workers.results import codes as sn
from workers.results.section import ReportSection

_UCUM = {
    "mm2/s": Code("mm2/s", "UCUM", "square millimeter per second"),
    "mm2": Code("mm2", "UCUM", "square millimeter"),
    "mm": Code("mm", "UCUM", "millimeter"),
    "%": Code("%", "UCUM", "percent"),
    "1": Code("1", "UCUM", "no units"),
    "{z-score}": Code("{z-score}", "UCUM", "z-score"),
}
_TITLES = {
    "cord_morphometry": "Spinal cord morphometry (CORD-MORPH-1)",
    "marrow_adc": "Vertebral marrow ADC (VB-ADC-1, VB-SIG-1)",
    "cord_dti": "Spinal cord DTI (CORD-DTI-1)",
    "cord_mtr": "Spinal cord MTR (CORD-MT-1)",
    "canal_fluid": "Spinal canal: epidural fluid, anterior horns (CSF-LEAK-MR-1, DURO-MSAM-2)",
    "vertebral_levels": "Vertebral levels",
}
_CONTAINS = hd.sr.RelationshipTypeValues.CONTAINS


def _unit(unit: str) -> Code:
    if unit not in _UCUM:
        raise ValueError(f"unit {unit!r} has no UCUM code here; known: {sorted(_UCUM)}")
    return _UCUM[unit]


def _measurement(m: Measurement, algorithm: hd.sr.AlgorithmIdentification) -> hd.sr.Measurement:
    return hd.sr.Measurement(
        name=m.concept,
        value=float(m.value),
        unit=_unit(m.unit),
        algorithm_id=algorithm,
        derivation=codes.SCT.Mean if m.voxels is not None else None,
        finding_sites=[hd.sr.FindingSite(m.site)],
    )


def _evaluation(verdict: QcVerdict) -> hd.sr.QualitativeEvaluation:
    return hd.sr.QualitativeEvaluation(sn.QC_VERDICT, sn.QC_STATUS[verdict.status.value])


def qc_group(result: AnalyserResult, verdict: QcVerdict) -> hd.sr.MeasurementsAndQualitativeEvaluations:
    """TID 1501 quality group of one output: the verdict (CODE), the reason (TEXT) and the series (UIDREF)."""
    group = hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(uid=hd.UID(), identifier=f"QC {result.analyser}"[:64]),
        finding_type=sn.QC_OUTPUT,
        algorithm_id=hd.sr.AlgorithmIdentification(name=f"spinenode {result.analyser}", version=result.version),
        qualitative_evaluations=[_evaluation(verdict)],
    )
    items = group[0].ContentSequence
    if verdict.reason:
        items.append(hd.sr.TextContentItem(sn.QC_REASON, verdict.reason[:1024], relationship_type=_CONTAINS))
    if verdict.series_uid:
        items.append(hd.sr.UIDRefContentItem(sn.SERIES_INSTANCE_UID, verdict.series_uid, relationship_type=_CONTAINS))
    return group


def qc_line(verdicts: list[QcVerdict]) -> str:
    """One short line for the card: "Quality: ok", or the worst verdict with its reason."""
    if not verdicts:
        return "Quality: not assessed"
    bad = [v for v in verdicts if not v.ok]
    if not bad:
        return "Quality: ok"
    worst = next((v for v in bad if v.status is QcStatus.FAILED), bad[0])
    count = f" ({len(bad)} of {len(verdicts)} series)" if len(verdicts) > 1 else ""
    return f"Quality: {worst.status.value}{count}, not graded: {worst.reason}"


def measurement_groups(result: AnalyserResult) -> list[hd.sr.MeasurementsAndQualitativeEvaluations]:
    """One TID 1501 group per site/level of one analyser's measurements, with the output's QC verdict."""
    algorithm = hd.sr.AlgorithmIdentification(name=f"spinenode {result.analyser}", version=result.version)
    by_site: dict[tuple[str, str | None], list[Measurement]] = defaultdict(list)
    for m in result.measurements:
        by_site[(m.roi or "", m.level)].append(m)
    groups = []
    for (roi, level), items in by_site.items():
        site = items[0].site
        if site != SPINAL_CORD:
            site = vertebra_code(level)
        label = f"{result.analyser} {roi or 'cord'} {level or 'all levels'}"
        groups.append(
            hd.sr.MeasurementsAndQualitativeEvaluations(
                tracking_identifier=hd.sr.TrackingIdentifier(uid=hd.UID(), identifier=label[:64]),
                finding_type=site,
                algorithm_id=algorithm,
                finding_sites=[hd.sr.FindingSite(site)],
                measurements=[_measurement(m, algorithm) for m in items],
                qualitative_evaluations=[_evaluation(v)]
                if (v := result.verdict(items[0].series_instance_uid))
                else None,
            )
        )
    return groups


def _lines(result: AnalyserResult) -> list[str]:
    lines = [*(f.description for f in result.findings), qc_line(result.qc)]  # findings lead
    headline = [m for m in result.measurements if m.level is None or result.analyser != "cord_morphometry"]
    for m in headline[:6]:
        if result.analyser == "marrow_adc":
            continue
        scale, unit = (1e3, "x10^-3 mm2/s") if m.unit == "mm2/s" else (1.0, m.unit)
        lines.append(f"{m.name}: {m.value * scale:.3g} {unit}" + (f" at {m.level}" if m.level else ""))
    return lines + result.notes


def analysis_sections(output: AnalysisOutput) -> list[ReportSection]:
    """One :class:`ReportSection` per analyser that produced something."""
    sections = []
    for result in output.results:
        flags = []
        for f in result.findings:
            if any(word in f.description for word in ("suspicious", "narrowed", "epidural fluid")):
                flags.append(f.description.split(":")[0] + (f" ({f.level})" if f.level else ""))
        sections.append(
            ReportSection(
                title=_TITLES.get(result.analyser, result.analyser),
                lines=_lines(result),
                flags=flags,
                sr_groups=[qc_group(result, v) for v in result.qc]
                + (measurement_groups(result) if result.measurements else []),
                key_images=list(result.key_images),
                needs_confirmation=True,
            )
        )
    return sections
