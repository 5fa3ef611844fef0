"""A RIS summary of one study for tests that read its grades: the identifiers fixed, the results given."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from node.ris.summary import ReportSummary


def summary_of(grades: Mapping[str, str], not_graded: Mapping[str, str], flags: Sequence[str] = ()) -> ReportSummary:
    return ReportSummary(
        study_instance_uid="1.2.3",
        accession_number="A1",
        patient_key="k" * 16,
        study_date=None,
        grades=dict(grades),
        flags=list(flags),
        not_graded=dict(not_graded),
    )
