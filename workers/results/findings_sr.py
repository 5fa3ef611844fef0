"""The study's coded findings as TID 1501 measurement groups, placed first among the Imaging Measurements.

One group per :class:`~workers.results.findings.ReportedFinding`: Finding (the finding's concept, SNOMED CT
where one exists), Finding Site (the structure and the vertebra of each level), the numbers as TID 300
measurements, and as qualitative evaluations its Severity (SCT), the verdict (the VB-ADC-1 verdict or the
criteria grade), whether it still needs a radiologist's confirmation, and the rule IDs as TEXT. The tracking
UID is derived from the study and the finding's key, so an amended report keeps tracking the same finding.
Outputs that were not assessable get one group of their own with the reasons in words.
"""

from __future__ import annotations

import highdicom as hd
from pydicom.sr.coding import Code

from workers.criteria import codes as cc
from workers.results import codes as rc
from workers.results.findings import FindingsReport, ReportedFinding
from workers.results.header import deterministic_uid

_CONTAINS = hd.sr.RelationshipTypeValues.CONTAINS
_UNITS = {
    "%": Code("%", "UCUM", "percent"),
    "mm2/s": Code("mm2/s", "UCUM", "square millimeter per second"),
    "mm": Code("mm", "UCUM", "millimeter"),
    "mm2": Code("mm2", "UCUM", "square millimeter"),
    "1": Code("1", "UCUM", "no units"),
}


def finding_tracking_uid(study_instance_uid: str, key: str) -> str:
    return deterministic_uid(study_instance_uid, "finding", key)


def finding_group(study_instance_uid: str, finding: ReportedFinding) -> hd.sr.MeasurementsAndQualitativeEvaluations:
    """One TID 1501 group for one finding."""
    sites = [hd.sr.FindingSite(site) for site in finding.sites] or None
    measurements = [
        hd.sr.Measurement(name=v.concept, value=v.value, unit=_UNITS[v.unit], finding_sites=sites)
        for v in finding.values
    ]
    measurements.append(hd.sr.Measurement(name=rc.CONFIDENCE, value=round(finding.confidence, 2), unit=_UNITS["1"]))
    evaluations = [hd.sr.QualitativeEvaluation(rc.SEVERITY, rc.SEVERITY_VALUES[finding.severity.value])]
    if finding.verdict is not None:
        name = (
            rc.ADC_VERDICT
            if finding.verdict.scheme_designator == rc.PRIVATE_SCHEME and finding.verdict.value.startswith("VB-ADC")
            else cc.GRADE
        )
        evaluations.append(hd.sr.QualitativeEvaluation(name, finding.verdict))
    evaluations.append(hd.sr.QualitativeEvaluation(cc.NEEDS_CONFIRMATION, cc.yes_no(finding.needs_confirmation)))
    group = hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(
            uid=finding_tracking_uid(study_instance_uid, finding.key), identifier=finding.headline[:64]
        ),
        finding_type=finding.concept,
        finding_sites=sites,
        measurements=measurements,
        qualitative_evaluations=evaluations,
    )
    texts = [finding.label] + ([finding.detail] if finding.detail else [])
    items: list[hd.sr.ContentItem] = [
        hd.sr.TextContentItem(rc.REPORT_SECTION, t, relationship_type=_CONTAINS) for t in texts
    ]
    items += [hd.sr.TextContentItem(cc.RULE, rule, relationship_type=_CONTAINS) for rule in finding.rules]
    group[0].ContentSequence.extend(items)
    return group


def findings_groups(
    study_instance_uid: str, report: FindingsReport
) -> list[hd.sr.MeasurementsAndQualitativeEvaluations]:
    """The findings' groups, then one "Not assessable" group when any output could not be trusted."""
    groups = [finding_group(study_instance_uid, f) for f in report.findings]
    if report.not_assessable:
        group = hd.sr.MeasurementsAndQualitativeEvaluations(
            tracking_identifier=hd.sr.TrackingIdentifier(
                uid=deterministic_uid(study_instance_uid, "not-assessable"), identifier="Not assessable"
            ),
            finding_type=rc.NOT_ASSESSABLE,
        )
        group[0].ContentSequence.extend(
            hd.sr.TextContentItem(rc.NOT_ASSESSABLE, n.text, relationship_type=_CONTAINS) for n in report.not_assessable
        )
        groups.append(group)
    return groups
