"""What routing rules look at: :class:`StudyFacts`, and how to build it from DICOM headers.

``attributes`` holds the study's first instance as ``keyword -> value`` (multi-valued attributes as lists,
numbers as ``int``/``float``, person names as text); private and unknown tags are keyed ``"GGGG,EEEE"``.
``inventory`` is the series inventory (the JSON contract of ``spinenode inventory --json``); ``results`` is
the criteria result document and ``flags`` the worklist flags, both ``None`` before analysis.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydicom import Dataset, dcmread
from pydicom.errors import InvalidDicomError
from pydicom.multival import MultiValue
from pydicom.valuerep import PersonName

_SKIPPED_VRS = {"SQ", "OB", "OW", "OF", "OD", "OL", "OV", "UN"}


@dataclass(frozen=True)
class StudyFacts:
    """Everything a rule may test for one study."""

    attributes: Mapping[str, Any] = field(default_factory=dict)
    calling_aet: str = ""
    called_aet: str = ""
    inventory: list[dict[str, Any]] = field(default_factory=list)
    results: dict[str, Any] | None = None
    flags: list[str] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.attributes, Mapping):
            raise TypeError(f"attributes must be a mapping, got {type(self.attributes).__name__}")
        if not isinstance(self.inventory, list) or not all(isinstance(s, dict) for s in self.inventory):
            raise TypeError("inventory must be a list of dicts (the inventory JSON contract)")
        if self.results is not None and not isinstance(self.results, dict):
            raise TypeError(f"results must be a dict or None, got {type(self.results).__name__}")
        if self.flags is not None and not all(isinstance(f, str) for f in self.flags):
            raise TypeError("flags must be a list of strings or None")

    @property
    def has_results(self) -> bool:
        return self.results is not None or self.flags is not None

    @property
    def study_instance_uid(self) -> str:
        return str(self.attributes.get("StudyInstanceUID", ""))


def _plain(value: Any) -> Any:
    if isinstance(value, MultiValue | list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, PersonName):
        return str(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, bytes):
        return None
    return str(value) if value is not None else None


def attributes_of(dataset: Dataset) -> dict[str, Any]:
    """``keyword -> value`` for every top-level non-binary, non-sequence element of ``dataset``."""
    out: dict[str, Any] = {}
    for element in dataset:
        if element.VR in _SKIPPED_VRS:
            continue
        value = _plain(element.value)
        if value is None:
            continue
        key = element.keyword or f"{element.tag.group:04X},{element.tag.element:04X}"
        out[key] = value
    return out


def dicom_files(path: Path) -> Iterator[Path]:
    """Files under ``path`` (or ``path`` itself) in a stable order; DICOM-ness is decided on reading."""
    if path.is_file():
        yield path
        return
    yield from sorted(p for p in path.rglob("*") if p.is_file())


@dataclass
class StudyHeaders:
    """The first instance's attributes of one study and the series UIDs seen in it."""

    attributes: dict[str, Any]
    series_uids: set[str] = field(default_factory=set)
    instances: int = 0


def read_studies(path: Path) -> dict[str, StudyHeaders]:
    """Read headers (no pixels) of every DICOM file under ``path``, grouped by Study Instance UID."""
    studies: dict[str, StudyHeaders] = {}
    for file in dicom_files(path):
        try:
            dataset = dcmread(file, stop_before_pixels=True)
        except (InvalidDicomError, OSError, ValueError, EOFError):
            continue
        study_uid = str(dataset.get("StudyInstanceUID", ""))
        if not study_uid:
            continue
        headers = studies.get(study_uid)
        if headers is None:
            headers = studies[study_uid] = StudyHeaders(attributes_of(dataset))
        headers.instances += 1
        series_uid = dataset.get("SeriesInstanceUID")
        if series_uid:
            headers.series_uids.add(str(series_uid))
    return studies
