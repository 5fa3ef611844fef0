"""Which exams of the study nothing could assess automatically, from the analysers' QC verdicts.

The criteria engine gets them as :class:`~workers.criteria.context.ExamNotAssessed` in its StudyContext, so that
a NONE resting on nothing but those exams is "not graded" (:mod:`workers.criteria.grading`). An exam is not
assessed when the analysis that reads it gave no ``ok`` output: every output failed or was unreliable (the
verdicts' reasons say why), the analysis found no series it can use, or no analysis reads that exam at all.
An exam the inventory did not name is not assessed either when its analysis looked at a series and gave no ``ok``
output: a CT without contrast in the sac ("not a CT myelogram") or a bone scan ("not a cisternography") read by
the myelography or cisternography analysis would otherwise leave a CSF-leak grade "none" resting on nothing read.
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
    """The exams among ``performed``, and those whose analysis gave a verdict on some series, with no ``ok`` output
    of the analysis that reads them, in rule-book order."""
    out = []
    results_of = {
        exam: [r for r in (analysis.results if analysis is not None else []) if r.analyser == analyser]
        for exam, analyser in EXAM_ANALYSERS.items()
    }
    looked_at = {exam for exam, results in results_of.items() if any(r.qc for r in results)}
    for exam in (e for e in EXAMS if e in set(performed) | looked_at):
        analyser = EXAM_ANALYSERS.get(exam)
        verdicts = [v for r in results_of.get(exam, []) for v in r.qc]
        if analyser is not None and any(v.ok for v in verdicts):
            continue
        reasons = list(dict.fromkeys(v.reason for v in verdicts if v.reason.strip()))
        out.append(ExamNotAssessed(exam, "; ".join(reasons) if reasons else NO_INPUT_WORDS[exam]))
    return tuple(out)
