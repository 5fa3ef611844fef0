"""Which exams of the study nothing could assess automatically, from the analysers' QC verdicts.

The criteria engine gets them as :class:`~workers.criteria.context.ExamNotAssessed` in its StudyContext, so that
a NONE resting on nothing but those exams is "not graded" (:mod:`workers.criteria.grading`). An exam is not
assessed when the analysis that reads it gave no ``ok`` output: every output failed or was unreliable (the
verdicts' reasons say why), the analysis found no series it can use, or no analysis reads that exam at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from workers.criteria.context import ExamNotAssessed
from workers.criteria.findings import EXAMS

if TYPE_CHECKING:
    from workers.analysis.base import AnalysisOutput

#: The analyser that reads each exam for the criteria (brain MRI has none).
EXAM_ANALYSERS: dict[str, str] = {
    "spinal_mri": "canal_fluid",
    "ct_myelography": "ct_myelography",
    "ri_cisternography": "ri_cisternography",
}
#: Why an exam was not analysed when its analysis found nothing to read, in words.
NO_INPUT_WORDS: dict[str, str] = {
    "spinal_mri": "no axial T2 series to look for epidural fluid",
    "ct_myelography": "no series the CT myelography analysis can use",
    "ri_cisternography": "no views the RI cisternography analysis can use",
    "brain_mri": "the node does not analyse brain MRI; only a radiologist's findings can grade it",
}


def exams_not_assessed(performed: Iterable[str], analysis: AnalysisOutput | None) -> tuple[ExamNotAssessed, ...]:
    """The exams among ``performed`` with no ``ok`` output of the analysis that reads them, in rule-book order."""
    out = []
    for exam in (e for e in EXAMS if e in set(performed)):
        analyser = EXAM_ANALYSERS.get(exam)
        results = [r for r in (analysis.results if analysis is not None else []) if r.analyser == analyser]
        verdicts = [v for r in results for v in r.qc]
        if analyser is not None and any(v.ok for v in verdicts):
            continue
        reasons = list(dict.fromkeys(v.reason for v in verdicts if v.reason.strip()))
        out.append(ExamNotAssessed(exam, "; ".join(reasons) if reasons else NO_INPUT_WORDS[exam]))
    return tuple(out)
