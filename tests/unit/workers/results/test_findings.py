"""The findings report: built once from analyser outputs, QC verdicts, criteria and protocol checks."""

from __future__ import annotations

import pytest

from workers.analysis.base import AnalyserResult, AnalysisOutput, CandidateFinding, QcStatus, QcVerdict
from workers.analysis.cord.morphometry import CompressionSummary
from workers.inventory.protocol import ProtocolCheck
from workers.results.findings import FindingsReport, ReportedFinding, Review, Severity
from workers.results.findings_build import build_findings

SERIES = "1.2.3.4"


def _cord(percent: float, status: QcStatus = QcStatus.OK, reason: str = "") -> AnalyserResult:
    result = AnalyserResult("cord_morphometry", "1")
    result.details["compression"] = CompressionSummary(
        z_mm=0.0,
        level="C5",
        min_ap_mm=4.3,
        min_csa_mm2=40.0,
        compression_ratio=0.4,
        reference_ap_mm=7.8,
        mscc_percent=percent,
    )
    result.findings.append(
        CandidateFinding(
            f"cord narrowed by {percent:.0f} %", 0.8, rules=("CORD-MORPH-1",), level="C5", series_instance_uid=SERIES
        )
    )
    result.qc.append(QcVerdict("cord_morphometry", SERIES, status, reason))
    return result


def test_cord_compression_is_a_severe_coded_finding_with_level_and_percent() -> None:
    report = build_findings(AnalysisOutput(results=[_cord(46.2)]), None)
    (finding,) = report.findings
    assert finding.headline == "Cord compression 46 % at C5"
    assert finding.severity is Severity.SEVERE and report.priority == "urgent"
    assert finding.concept.value == "71173004" and [s.meaning for s in finding.sites] == ["Spinal cord", "C5 vertebra"]
    assert finding.values[0].value == 46 and finding.needs_confirmation


def test_mild_compression_is_moderate_and_leaves_the_priority() -> None:
    report = build_findings(AnalysisOutput(results=[_cord(25.0)]), None)
    assert report.findings[0].severity is Severity.MODERATE and report.priority is None


@pytest.mark.parametrize("status", [QcStatus.UNRELIABLE, QcStatus.FAILED])
def test_an_output_whose_qc_is_not_ok_is_never_a_finding(status: QcStatus) -> None:
    report = build_findings(AnalysisOutput(results=[_cord(46.0, status, "cord not found on 6 of 20 slices")]), None)
    assert report.findings == () and report.priority is None
    (item,) = report.not_assessable
    assert item.text == "Spinal cord shape and area: not assessable: cord not found on 6 of 20 slices"


def test_rejected_and_confirmed_reviews() -> None:
    output = AnalysisOutput(results=[_cord(46.0)])
    rejected = build_findings(output, None, reviews={"cord-compression": Review.REJECTED})
    assert rejected.findings == () and rejected.rejected[0].review is Review.REJECTED
    confirmed = build_findings(output, None, reviews={"cord-compression": Review.CONFIRMED})
    assert confirmed.findings[0].label == "Cord compression 46 % at C5 (confirmed)"
    assert not confirmed.findings[0].needs_confirmation


def test_protocol_notes_are_words_and_relevant_only_where_they_matter() -> None:
    checks = [
        ProtocolCheck("DURO-PROTO-1", "fail", "no thin axial steady-state series"),
        ProtocolCheck("VB-ADC-1", "fail", "no diffusion"),
        ProtocolCheck("CSF-LEAK-MR-2", "pass", "post-contrast present"),
    ]
    plain = build_findings(AnalysisOutput(results=[_cord(46.0)]), None, checks)
    assert [(n.rule, n.relevant) for n in plain.notes] == [("DURO-PROTO-1", False), ("VB-ADC-1", False)]
    assert "DURO" not in plain.notes[0].text and "C7–T3" in plain.notes[0].text
    headache = build_findings(None, None, checks, clinical={"orthostatic_headache": True})
    assert [n.rule for n in headache.relevant_notes] == ["DURO-PROTO-1"]


def test_a_failed_step_is_not_assessable_in_words() -> None:
    report = build_findings(None, None, errors=["analysis failed: ValueError: no cord"])
    assert report.not_assessable[0].text == "Analysis failed: not assessable: ValueError: no cord"


def test_json_round_trip() -> None:
    report = build_findings(AnalysisOutput(results=[_cord(46.0)]), None)
    again = FindingsReport.from_json(report.as_json())
    assert again == report
    with pytest.raises(ValueError, match="confidence"):
        ReportedFinding.from_json({**report.as_json()["findings"][0], "confidence": 2})


def test_outputs_that_cannot_be_assessed_are_named_in_words() -> None:
    from workers.results.findings_build import analyser_words

    assert analyser_words("ct_myelography") == "CT myelography"
    assert analyser_words("ri_cisternography") == "RI cisternography"
    assert analyser_words("vertebral_levels") == "Vertebral levels"
    assert analyser_words("some_new_analyser") == "Some new analyser"


def test_the_sr_summary_text_opens_with_the_findings_most_severe_first() -> None:
    from pydicom.sr.coding import Code as _Code

    from workers.results.findings import FindingKind, FindingsReport, NotAssessable, ReportedFinding, Severity
    from workers.results.findings import ordered as _ordered
    from workers.results.section import ReportSection
    from workers.results.sr_content import section_text_container

    def finding(key: str, headline: str, severity: Severity) -> ReportedFinding:
        concept = _Code("1", "99X", headline)
        return ReportedFinding(key=key, kind=FindingKind.CORD_COMPRESSION, headline=headline, severity=severity,
                               concept=concept)  # fmt: skip

    mild = finding("a", "Cord narrowed 22 % at C4", Severity.MILD)
    severe = finding("b", "Cord compression 46 % at C5", Severity.SEVERE)
    report = FindingsReport(
        findings=_ordered([mild, severe]), not_assessable=(NotAssessable("Vertebral marrow ADC", "no sagittal T1"),)
    )
    container = section_text_container([ReportSection(title="Criteria", lines=["CSF leak: none"])], report)
    assert container is not None
    texts = [str(i.TextValue) for i in container.ContentSequence]
    assert texts[0].split("\r\n") == ["Findings", f"SEVERE: {severe.label}", f"MILD: {mild.label}"]
    assert texts[1] == "Vertebral marrow ADC: not assessable: no sagittal T1"
    assert texts[-1].startswith("Criteria")
    nothing = section_text_container([], FindingsReport(nothing_assessed=True))
    assert nothing is not None
    assert str(nothing.ContentSequence[0].TextValue).split("\r\n")[1].startswith("Nothing could be assessed")
