"""Which exams nothing could assess, from the analysers' verdicts (workers.pipeline.assessed)."""

from __future__ import annotations

from workers.analysis.base import AnalyserResult, AnalysisOutput, QcStatus, QcVerdict
from workers.pipeline.assessed import NO_INPUT_WORDS, exams_not_assessed


def _output(*verdicts: QcVerdict) -> AnalysisOutput:
    output = AnalysisOutput()
    for analyser in dict.fromkeys(v.analyser for v in verdicts):
        output.results.append(AnalyserResult(analyser, "1", qc=[v for v in verdicts if v.analyser == analyser]))
    return output


def test_one_ok_output_of_an_exam_is_enough() -> None:
    output = _output(
        QcVerdict("ri_cisternography", "1.1", QcStatus.UNRELIABLE, "motion"),
        QcVerdict("ri_cisternography", "1.2", QcStatus.OK),
    )
    assert exams_not_assessed({"ri_cisternography"}, output) == ()


def test_every_output_not_ok_gives_the_reasons_once_each() -> None:
    output = _output(
        QcVerdict("ri_cisternography", "1.1", QcStatus.UNRELIABLE, "counts too low"),
        QcVerdict("ri_cisternography", "1.2", QcStatus.UNRELIABLE, "counts too low"),
        QcVerdict("ri_cisternography", "1.3", QcStatus.FAILED, "no column found"),
        QcVerdict("cord_morphometry", "2.1", QcStatus.OK),
    )
    (unassessed,) = exams_not_assessed({"ri_cisternography"}, output)
    assert (unassessed.exam, unassessed.reason) == ("ri_cisternography", "counts too low; no column found")


def test_an_exam_no_analysis_read_says_why_in_words() -> None:
    got = exams_not_assessed({"brain_mri", "spinal_mri", "ct_myelography"}, None)
    assert [u.exam for u in got] == ["spinal_mri", "ct_myelography", "brain_mri"], "rule-book order"
    assert [u.reason for u in got] == [NO_INPUT_WORDS[u.exam] for u in got]
    assert got[2].text == "Brain MRI could not be assessed: " + NO_INPUT_WORDS["brain_mri"]
    # an ok output of another analyser does not read the brain
    assert [u.exam for u in exams_not_assessed({"brain_mri"}, _output(QcVerdict("canal_fluid", "3", QcStatus.OK)))] == [
        "brain_mri"
    ]


def test_an_exam_the_inventory_did_not_name_is_not_assessed_when_its_analysis_failed_on_a_series() -> None:
    # a plain CT read by the myelography analysis: the inventory names no exam, the analysis failed on it
    why = "no contrast in the dural sac: not a CT myelogram"
    (unassessed,) = exams_not_assessed(set(), _output(QcVerdict("ct_myelography", "4.1", QcStatus.FAILED, why)))
    assert (unassessed.exam, unassessed.reason) == ("ct_myelography", why)
    # an ok verdict of it is an assessed exam; no verdict at all names nothing
    assert exams_not_assessed(set(), _output(QcVerdict("ct_myelography", "4.1", QcStatus.OK))) == ()
    assert exams_not_assessed(set(), _output(QcVerdict("cord_morphometry", "4.2", QcStatus.FAILED, "no cord"))) == ()
