"""The findings document: input of ``spinenode criteria`` and of the findings API.

The contract is in ``spec/architecture.md`` ("The findings document"). :func:`parse_findings` turns a
decoded JSON object into a :class:`FindingsDocument` or raises :class:`FindingsError` whose message names
the field path and the value, e.g. ``findings[2].levels[0]: unknown level 'T13'``. Nothing is guessed:
unknown keys, a kind that does not belong to the exam, an attribute that does not apply to the kind,
bad levels and bad types are all rejected.

Levels are normalised: ``Th1``..``Th12`` -> ``T1``..``T12``; a disc level (``C7/T1``, ``C7/Th1``,
``Th1/2``, ``Th12/L1``) means the two vertebrae around it; the pair is ordered upper (cranial) first.

Besides the contract keys a finding may carry traceability that the pipeline fills: ``id``,
``study_instance_uid``, ``series_uid``, ``sop_instance_uids``, ``confidence``, and the claim items of
EBP-1, ``study_date`` (0008,0020) and ``institution_name`` (0008,0080). The clinical block may carry
``opening_pressure_position`` because ICH-DX-1/2 count a pressure measured supine or lateral only.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from workers.criteria.levels import LevelRange, parse_level

Exam = Literal["spinal_mri", "ri_cisternography", "ct_myelography", "brain_mri"]
Source = Literal["automated", "radiologist", "imported"]
Enhancement = Literal["absent", "present", "not_assessed"]
Pattern = Literal["unilateral_localized", "asymmetric", "symmetric_cervicothoracic", "symmetric_lumbar"]

EXAMS: tuple[str, ...] = ("spinal_mri", "ri_cisternography", "ct_myelography", "brain_mri")

#: Allowed kinds per exam (architecture.md).
KINDS: dict[str, tuple[str, ...]] = {
    "spinal_mri": ("epidural_fluid", "subdural_fluid", "perineural_cyst"),
    "ri_cisternography": ("epidural_accumulation", "circulation_failure", "early_bladder"),
    "ct_myelography": ("epidural_contrast", "subdural_contrast"),
    "brain_mri": (
        "diffuse_dural_enhancement",
        "subdural_effusion",
        "venous_plexus_dilation",
        "tonsillar_descent",
        "brainstem_flattening",
        "pituitary_enlargement",
        "brain_herniation",
        "chiari",
    ),
}

_ALL_SPINAL_MRI = {("spinal_mri", k) for k in KINDS["spinal_mri"]}
_ALL_CTM = {("ct_myelography", k) for k in KINDS["ct_myelography"]}
#: Which (exam, kind) each kind-specific attribute applies to; elsewhere it must be absent or null.
APPLIES_TO: dict[str, set[tuple[str, str]]] = {
    "pattern": {("ri_cisternography", "epidural_accumulation")},
    "levels": _ALL_SPINAL_MRI
    | _ALL_CTM
    | {("ri_cisternography", "epidural_accumulation"), ("brain_mri", "venous_plexus_dilation")},
    "enhancement": _ALL_SPINAL_MRI,
    "continuous_with_subarachnoid": _ALL_SPINAL_MRI | _ALL_CTM,
    "continuous_with_puncture_site": _ALL_CTM,
    "dural_defect": _ALL_SPINAL_MRI | _ALL_CTM,
    "cisternal_filling_seen": {("ri_cisternography", "circulation_failure")},
}
#: Attributes that must be given for an (exam, kind).
REQUIRED: dict[str, set[tuple[str, str]]] = {"pattern": {("ri_cisternography", "epidural_accumulation")}}


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a findings document, for a view that words it (the message stays the machine text).

    ``path``: keys and list indices down to the field (``("findings", 0, "pattern")``); ``kind``: pydantic's
    error type or one of this module's (``not_applicable``, ``required_for_kind``, ``kind_of_exam``,
    ``duplicate_id``); ``message``: the text after the path; ``value``: what was given; ``allowed``: the
    choices, where the field is a choice.
    """

    path: tuple[int | str, ...]
    kind: str
    message: str
    value: object = None
    allowed: tuple[str, ...] = ()


class FindingsError(ValueError):
    """An invalid findings document; the message names the field path and the value.

    ``problems`` holds the same, one :class:`Problem` per error, and ``document`` the object that was checked
    (so a view can name a finding by its exam and kind).
    """

    def __init__(self, message: str, problems: Sequence[Problem] = (), document: object = None) -> None:
        super().__init__(message)
        self.problems = tuple(problems)
        self.document = document


_UID_RE = re.compile(r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))+$")


def _parse_uid(value: object) -> str:
    """A DICOM UI value: dot-separated numbers without leading zeros, at most 64 characters."""
    if not isinstance(value, str):
        raise ValueError(f"UID must be a string, got {value!r}")
    if len(value) > 64 or _UID_RE.match(value) is None:
        raise ValueError(f"not a valid DICOM UID: {value!r}")
    return value


def _parse_number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"must be a finite number, got {value!r}")
    return float(value)


def check_text(value: object, max_length: int) -> str:
    """``value`` if it is a non-empty string of at most ``max_length`` characters fit for an SR text (no
    backslash, no control character); else ValueError saying which."""
    if not isinstance(value, str):
        raise ValueError(f"must be a string, got {value!r}")
    if not value.strip():
        raise ValueError(f"must not be empty: {value!r}")
    if len(value) > max_length:
        raise ValueError(f"longer than {max_length} characters: {value!r}")
    if "\\" in value or any(ord(c) < 32 for c in value):
        raise ValueError(f"contains a backslash or control character: {value!r}")
    return value


def parse_da(value: object) -> str:
    """A DICOM DA value ``YYYYMMDD`` that is a real calendar date."""
    if not isinstance(value, str) or len(value) != 8 or not value.isdigit():
        raise ValueError(f"study date must be YYYYMMDD, got {value!r}")
    try:
        datetime.date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        raise ValueError(f"not a calendar date: {value!r}") from None
    return value


Uid = Annotated[str, BeforeValidator(_parse_uid)]
LevelSpan = Annotated[tuple[int, int], BeforeValidator(parse_level)]
StudyDate = Annotated[str, BeforeValidator(parse_da)]
Number = Annotated[float, BeforeValidator(_parse_number)]


class Clinical(BaseModel):
    """Clinical inputs, entered by a person or imported (never automated)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    orthostatic_headache: StrictBool | None = None
    opening_pressure_mmh2o: Number | None = None
    opening_pressure_position: Literal["supine", "lateral", "sitting"] | None = None

    @field_validator("opening_pressure_mmh2o")
    @classmethod
    def _pressure_in_range(cls, value: float | None) -> float | None:
        if value is not None and not 0 <= value <= 1000:
            raise ValueError(f"opening pressure must be 0-1000 mmH2O, got {value!r}")
        return value


class Finding(BaseModel):
    """One finding of one exam (architecture.md); kind-specific attributes only where they apply."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    exam: Exam
    kind: str
    pattern: Pattern | None = Field(default=None, validate_default=True)
    levels: list[LevelSpan] | None = Field(default=None, validate_default=True)
    enhancement: Enhancement | None = Field(default=None, validate_default=True)
    continuous_with_subarachnoid: StrictBool | None = Field(default=None, validate_default=True)
    continuous_with_puncture_site: StrictBool | None = Field(default=None, validate_default=True)
    dural_defect: StrictBool | None = Field(default=None, validate_default=True)
    cisternal_filling_seen: StrictBool | None = Field(default=None, validate_default=True)
    source: Source = "radiologist"
    # traceability, filled by the pipeline
    id: str | None = None
    study_instance_uid: Uid | None = None
    series_uid: Uid | None = None
    sop_instance_uids: list[Uid] | None = None
    confidence: Number | None = None
    study_date: StudyDate | None = None
    institution_name: str | None = None

    @field_validator("kind")
    @classmethod
    def _kind_of_exam(cls, value: str, info: ValidationInfo) -> str:
        exam = info.data.get("exam")
        if exam is not None and value not in KINDS[exam]:
            raise PydanticCustomError(
                "kind_of_exam",
                "{given} is not a kind of exam {exam_given} (allowed: {allowed})",
                {"given": repr(value), "exam_given": repr(exam), "exam": exam, "allowed": ", ".join(KINDS[exam])},
            )
        return value

    @field_validator(*APPLIES_TO)
    @classmethod
    def _applies_to_kind(cls, value: Any, info: ValidationInfo) -> Any:
        exam, kind = info.data.get("exam"), info.data.get("kind")
        if exam is None or kind is None or info.field_name is None:
            return value
        where = (exam, kind)
        if value is None:
            if where in REQUIRED.get(info.field_name, set()):
                raise PydanticCustomError(
                    "required_for_kind", "required for {exam}/{kind}", {"exam": exam, "kind": kind}
                )
            return value
        if where not in APPLIES_TO[info.field_name]:
            raise PydanticCustomError(
                "not_applicable",
                "does not apply to {exam}/{kind}: {given}",
                {"exam": exam, "kind": kind, "given": repr(value)},
            )
        return value

    @field_validator("levels")
    @classmethod
    def _one_or_two_levels(cls, value: list[tuple[int, int]] | None) -> list[tuple[int, int]] | None:
        if value is not None and not 1 <= len(value) <= 2:
            raise ValueError(f"give the upper and lower level (1 or 2 entries), got {len(value)}")
        return value

    @field_validator("id")
    @classmethod
    def _id_text(cls, value: str | None) -> str | None:
        return None if value is None else check_text(value, 64)

    @field_validator("institution_name")
    @classmethod
    def _institution_lo(cls, value: str | None) -> str | None:
        return None if value is None else check_text(value, 64)

    @field_validator("sop_instance_uids")
    @classmethod
    def _some_instances(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not value:
            raise ValueError("must list at least one SOP Instance UID (or be omitted)")
        return value

    @field_validator("confidence")
    @classmethod
    def _confidence_0_1(cls, value: float | None) -> float | None:
        if value is not None and not 0 <= value <= 1:
            raise ValueError(f"confidence must be between 0 and 1, got {value!r}")
        return value

    @property
    def level_range(self) -> LevelRange | None:
        """The normalised extent (upper vertebra first), or None when no levels are given."""
        if not self.levels:
            return None
        return LevelRange(min(s[0] for s in self.levels), max(s[1] for s in self.levels))

    def describe(self) -> str:
        """Short text for tables: ``spinal_mri/epidural_fluid C7-T2``."""
        text = f"{self.exam}/{self.kind}"
        if self.pattern:
            text += f" ({self.pattern})"
        if self.level_range is not None:
            text += f" {self.level_range}"
        return text


class FindingsDocument(BaseModel):
    """``{"clinical": {...}, "findings": [...]}``; both keys optional (unknown clinical, no findings)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    clinical: Clinical = Field(default_factory=Clinical)
    findings: list[Finding] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_ids(self) -> FindingsDocument:
        seen: dict[str, int] = {}
        for index, finding in enumerate(self.findings):
            if finding.id is None:
                continue
            if finding.id in seen:
                raise PydanticCustomError(
                    "duplicate_id",
                    "findings[{index}].id: duplicate id {given} (also findings[{other}])",
                    {"index": index, "other": seen[finding.id], "given": repr(finding.id), "id": finding.id},
                )
            seen[finding.id] = index
        return self


def _parts(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """The keys and indices of an error location, without pydantic's validator and union steps."""
    skipped = ("function-", "tagged-union", "union[")
    return tuple(p for p in loc if isinstance(p, int) or not (p.startswith(skipped) or p in {"int", "float"}))


def _path(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in _parts(loc):
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


#: This module's own error types: their message is the whole text after the path.
_OWN_ERRORS = ("value_error", "not_applicable", "required_for_kind", "kind_of_exam", "duplicate_id")


def _detail(error: dict[str, Any]) -> str:
    """The text after the path."""
    msg = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix) :]
    if error["type"] == "extra_forbidden":
        return f"unknown field (value {error['input']!r})"
    if error["type"] == "missing":
        return "required field is missing"
    if error["type"] in _OWN_ERRORS:
        return msg
    return f"{msg} (value {error['input']!r})"


def _message(error: dict[str, Any]) -> str:
    path = _path(tuple(error["loc"]))
    return f"{path}: {_detail(error)}" if path else _detail(error)


def _choices(annotation: object) -> tuple[str, ...]:
    """The values of a ``Literal`` field (also inside ``X | None``)."""
    if get_origin(annotation) is Literal:
        return tuple(str(a) for a in get_args(annotation))
    return next((_choices(arg) for arg in get_args(annotation) if get_origin(arg) is Literal), ())


def _problem(error: dict[str, Any]) -> Problem:
    loc = _parts(tuple(error["loc"]))
    ctx = dict(error.get("ctx") or {})
    kind = str(error["type"])
    if kind == "duplicate_id":
        loc, value = ("findings", int(ctx["index"]), "id"), ctx["id"]
        return Problem(loc, kind, _detail(error).split(": ", 1)[-1], value)
    allowed: tuple[str, ...] = ()
    if kind == "kind_of_exam":
        allowed = KINDS[str(ctx["exam"])]
    elif kind == "literal_error" and loc and isinstance(loc[-1], str):
        model = Clinical if loc[0] == "clinical" else Finding
        field = model.model_fields.get(loc[-1])
        allowed = _choices(field.annotation) if field is not None else ()
    return Problem(loc, kind, _detail(error), error.get("input"), allowed)


def parse_findings(obj: object) -> FindingsDocument:
    """Validate a decoded JSON object; raise :class:`FindingsError` naming the field and the value."""
    if not isinstance(obj, dict):
        problem = Problem((), "document_type", f"must be a JSON object, got {type(obj).__name__}", obj)
        raise FindingsError(f"document: {problem.message}", [problem], obj)
    try:
        return FindingsDocument.model_validate(obj)
    except ValidationError as exc:
        messages: list[str] = []
        problems: list[Problem] = []
        for error in exc.errors():
            text = _message(dict(error))
            if text not in messages:
                messages.append(text)
                problems.append(_problem(dict(error)))
        raise FindingsError("; ".join(messages), problems, obj) from None
