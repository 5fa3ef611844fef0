"""What the criteria engine may know about the study besides the findings document.

All fields are optional. ``study_date`` (0008,0020) and ``institution_name`` (0008,0080) are the claim
items of EBP-1 for findings that do not carry their own. The rest comes from the series inventory and
the analysers: whether a post-contrast spinal MR series exists (CSF-LEAK-MR-2/4 need one), whether a thin
axial steady-state series exists and which levels it covers (DURO-PROTO-1), the exams performed
(PATHWAY), the extent of anterior-horn T2 hyperintensity when an analyser found one (DURO-MSAM-2), and the
exams that could not be assessed (:class:`ExamNotAssessed`: a grade NONE that rests on nothing but those is
"not graded", never "none").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from workers.criteria.findings import EXAMS, check_text, parse_da
from workers.criteria.levels import LevelRange
from workers.criteria.words import EXAM_WORDS

#: A series counts as thin axial steady state at or below this slice thickness (source: 1 mm).
THIN_SLICE_MM = 1.5


def _exam_in_a_sentence(exam: str) -> str:
    """ "Brain MRI" -> "brain MRI" ("CT myelography" and "RI cisternography" keep their capitals)."""
    words = EXAM_WORDS[exam]
    return words if words[:2].isupper() else words[:1].lower() + words[1:]


@dataclass(frozen=True)
class ExamNotAssessed:
    """An exam of the study that nothing could assess automatically (every output of its analysis failed or was
    unreliable, or no analysis applies to it), with the reason in words."""

    exam: str
    reason: str
    in_study: bool = True
    """False: the study holds no such exam (a spine-only study has no brain MRI to read signs of ICH on)."""

    def __post_init__(self) -> None:
        if self.exam not in EXAMS:
            raise ValueError(f"ExamNotAssessed.exam: unknown exam {self.exam!r}")
        if not isinstance(self.reason, str) or not self.reason.strip():
            raise ValueError(f"ExamNotAssessed.reason: the reason for {self.exam} must be words, got {self.reason!r}")

    @classmethod
    def absent(cls, exam: str) -> ExamNotAssessed:
        """An exam the study does not hold: "no brain MRI in the study"."""
        return cls(exam, f"no {_exam_in_a_sentence(exam)} in the study", in_study=False)

    @property
    def text(self) -> str:
        """ "CT myelography could not be assessed: metal artefact on 9 slices"; "no brain MRI in the study" """
        if not self.in_study:
            return self.reason
        return f"{EXAM_WORDS[self.exam]} could not be assessed: {self.reason}"

    @property
    def brief(self) -> str:
        """The same said short, where a line above gave the reason: "the brain MRI could not be assessed"."""
        if not self.in_study:
            return self.reason
        return f"the {_exam_in_a_sentence(self.exam)} could not be assessed"

    def to_json(self) -> dict[str, str]:
        return {"exam": self.exam, "reason": self.reason, "text": self.text}


@dataclass(frozen=True)
class StudyContext:
    """Study-level facts; the constructor validates and raises ``ValueError`` naming the field."""

    study_date: str | None = None
    institution_name: str | None = None
    spinal_mr_post_contrast: bool | None = None
    thin_axial_ssfp: bool | None = None
    thin_axial_ssfp_coverage: tuple[LevelRange, ...] = ()
    exams_performed: frozenset[str] | None = None
    anterior_horn_hyperintensity: LevelRange | None = None
    exams_not_assessed: tuple[ExamNotAssessed, ...] = ()

    def __post_init__(self) -> None:
        if self.study_date is not None:
            try:
                parse_da(self.study_date)
            except ValueError as exc:
                raise ValueError(f"StudyContext.study_date: {exc}") from None
        if self.institution_name is not None:
            try:
                check_text(self.institution_name, 64)
            except ValueError as exc:
                raise ValueError(f"StudyContext.institution_name: {exc}") from None
        for name in ("spinal_mr_post_contrast", "thin_axial_ssfp"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, bool):
                raise ValueError(f"StudyContext.{name}: must be true, false or None, got {value!r}")
        if not isinstance(self.thin_axial_ssfp_coverage, tuple) or not all(
            isinstance(r, LevelRange) for r in self.thin_axial_ssfp_coverage
        ):
            raise ValueError(
                f"StudyContext.thin_axial_ssfp_coverage: must be a tuple of LevelRange, got "
                f"{self.thin_axial_ssfp_coverage!r}"
            )
        if self.thin_axial_ssfp_coverage and self.thin_axial_ssfp is False:
            raise ValueError("StudyContext.thin_axial_ssfp: false, but thin_axial_ssfp_coverage is given")
        if self.exams_performed is not None:
            unknown = set(self.exams_performed) - set(EXAMS)
            if not isinstance(self.exams_performed, frozenset) or unknown:
                raise ValueError(f"StudyContext.exams_performed: unknown exam(s) {sorted(unknown)!r}")
        if self.anterior_horn_hyperintensity is not None and not isinstance(
            self.anterior_horn_hyperintensity, LevelRange
        ):
            raise ValueError(
                "StudyContext.anterior_horn_hyperintensity: must be a LevelRange, got "
                f"{self.anterior_horn_hyperintensity!r}"
            )

        if not isinstance(self.exams_not_assessed, tuple) or not all(
            isinstance(e, ExamNotAssessed) for e in self.exams_not_assessed
        ):
            raise ValueError(
                f"StudyContext.exams_not_assessed: must be a tuple of ExamNotAssessed, got {self.exams_not_assessed!r}"
            )

    def not_assessed(self, exam: str) -> ExamNotAssessed | None:
        """Why ``exam`` could not be assessed, or None when it was (or is not known not to be)."""
        return next((e for e in self.exams_not_assessed if e.exam == exam), None)

    @property
    def has_thin_axial_ssfp(self) -> bool | None:
        return True if self.thin_axial_ssfp_coverage else self.thin_axial_ssfp


def thin_axial_ssfp_in_inventory(series: Iterable[Mapping[str, Any]]) -> bool:
    """True when the inventory (``spinenode inventory --json``) lists a thin axial SSFP MR series."""
    for item in series:
        thickness = item.get("slice_thickness_mm")
        if (
            item.get("modality") == "MR"
            and item.get("plane") == "axial"
            and item.get("sequence") == "SSFP"
            and isinstance(thickness, int | float)
            and not isinstance(thickness, bool)
            and thickness <= THIN_SLICE_MM
        ):
            return True
    return False
