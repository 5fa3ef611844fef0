"""What the pipeline steps share while one revision of one study is analysed.

The context holds objects (the series inventory, the criteria result); they become JSON only at the edges
(the registry, routing facts, the API), with their own ``to_json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydicom import Dataset, dcmread

from workers.analysis.contract import measurement_json
from workers.pipeline_names import PIPELINES as PIPELINES  # re-exported: the pipeline names live apart
from workers.pipeline_names import Pipeline as Pipeline
from workers.pipeline_names import ResultKind as ResultKind
from workers.results.section import KeyImage, ReportSection

if TYPE_CHECKING:
    from workers.analysis.base import AnalysisOutput, CandidateFinding, Measurement, QcVerdict
    from workers.criteria.result import CriteriaResult
    from workers.inventory.protocol import ProtocolCheck
    from workers.inventory.series import SeriesInventory
    from workers.results.findings import FindingsReport

#: A finding in the findings contract (``findings[]`` of the findings JSON), as entered or proposed.
FindingJson = dict[str, Any]


@dataclass(frozen=True)
class SeriesFiles:
    series_uid: str
    paths: tuple[Path, ...]


@dataclass(frozen=True)
class ResultObject:
    """A DICOM object the results step wrote: its kind, file and UIDs."""

    kind: ResultKind
    path: Path
    sop_class_uid: str
    sop_instance_uid: str
    series_instance_uid: str


_IDENTIFIERS = {
    "StudyInstanceUID": "Study Instance UID",
    "SeriesInstanceUID": "Series Instance UID",
    "SOPInstanceUID": "SOP Instance UID",
}


def usable(path: Path, study_uid: str) -> tuple[Dataset | None, str | None]:
    """The header of the instance at ``path`` (pixels not read), or None and why (in words) it cannot be used
    for study ``study_uid``: an identifier missing or not a UID, another study, a file that cannot be read."""
    try:
        ds = dcmread(path, stop_before_pixels=True)
        for keyword, words in _IDENTIFIERS.items():
            element = ds.data_element(keyword)
            if element is None or element.VR not in ("UI", "UN") or not str(element.value or ""):
                return None, f"its {words} is missing or not stored as a UID"
        if str(ds.StudyInstanceUID) != study_uid:
            return None, "it names another study"
    except Exception as exc:  # pydicom raises whatever a broken file makes it hit
        return None, f"the file cannot be read ({type(exc).__name__})"
    return ds, None


@dataclass
class PipelineContext:
    """Inputs (study, files, entered findings) and what each step adds (inventory, sections, ...)."""

    study_uid: str
    revision: int
    series: list[SeriesFiles]
    content_datetime: datetime
    findings_entries: list[FindingJson] = field(default_factory=list)
    clinical: dict[str, Any] = field(default_factory=dict)
    previous_sr_path: Path | None = None
    output_dir: Path | None = None
    segmentation_cache: Path | None = None  # segmentations made while the study arrived (workers.pipeline.early)
    pipelines: tuple[Pipeline, ...] = PIPELINES
    settled_candidates: set[str] = field(default_factory=set)
    finding_reviews: dict[str, str] = field(default_factory=dict)
    # filled by steps
    headers: dict[str, list[Dataset]] = field(default_factory=dict)
    inventory: dict[str, SeriesInventory] = field(default_factory=dict)
    sections_by_step: dict[str, list[ReportSection]] = field(default_factory=dict)
    candidate_findings: list[CandidateFinding] = field(default_factory=list)  # JSON: candidates_json
    analysis_context: dict[str, Any] = field(default_factory=dict)
    measurements: list[Measurement] = field(default_factory=list)
    qc: list[QcVerdict] = field(default_factory=list)  # one verdict per analyser output and series
    levels: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # series -> level -> [top, bottom]
    analysis: AnalysisOutput | None = None  # the analysers' output (its masks feed the DICOM Segmentation)
    criteria: CriteriaResult | None = None
    flags: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    result_objects: dict[str, ResultObject] = field(default_factory=dict)
    protocol_checks: list[ProtocolCheck] = field(default_factory=list)
    findings_report: FindingsReport | None = None
    stage_seconds: dict[str, float] = field(default_factory=dict)

    def load_headers(self) -> dict[str, list[Dataset]]:
        """Headers of every usable instance. One that cannot be read, or whose identifying UIDs are not
        UIDs of this study, is left out of every step (and of :attr:`series`) with a note in the report:
        one bad instance never costs the study its analysis."""
        if not self.headers:
            kept: list[SeriesFiles] = []
            for s in self.series:
                good: list[tuple[Path, Dataset]] = []
                for path in s.paths:
                    ds, problem = usable(path, self.study_uid)
                    if ds is None:
                        self.errors.append(f"One image ({path.name}) was left out of the analysis: {problem}.")
                    else:
                        good.append((path, ds))
                if good:
                    self.headers[s.series_uid] = [ds for _, ds in good]
                    kept.append(SeriesFiles(s.series_uid, tuple(p for p, _ in good)))
            self.series = kept
        return self.headers

    def load_series(self, series_uid: str) -> list[Dataset]:
        """Full datasets (with pixels) of one series."""
        for s in self.series:
            if s.series_uid == series_uid:
                return [dcmread(p) for p in s.paths]
        raise KeyError(f"series {series_uid} is not part of study {self.study_uid}")

    def series_headers(self, series_uid: str) -> list[Dataset]:
        """The headers of one series (no pixels; each knows its file)."""
        headers = self.load_headers()
        if series_uid not in headers:
            raise KeyError(f"series {series_uid} is not part of study {self.study_uid}")
        return headers[series_uid]

    def analysis_series(self, series_uid: str, modality: str) -> list[Dataset]:
        """The datasets an analyser gets for one series. MR: the headers; the volume of a series is read
        from its files when an analyser builds it (:func:`workers.analysis.volume.load_volume`), slice by
        slice, so that a series no analyser selects is never read past its header. CT and NM: the full
        datasets (their analysers read the pixels from the datasets)."""
        return self.series_headers(series_uid) if modality == "MR" else self.load_series(series_uid)

    @property
    def sources(self) -> list[Dataset]:
        return [ds for group in self.load_headers().values() for ds in group]

    @property
    def results(self) -> dict[str, Path]:
        return {kind: obj.path for kind, obj in self.result_objects.items()}

    def inventory_json(self) -> list[dict[str, Any]]:
        """The series inventory as JSON (``spinenode inventory --json`` items), for routing and the registry."""
        return [inv.to_json() for inv in self.inventory.values()]

    def measurements_json(self) -> list[dict[str, Any]]:
        """The measurements in the contract shape (``spinenode analyse`` output); concepts it does not name left out."""
        return [j for m in self.measurements if (j := measurement_json(m)) is not None]

    def criteria_json(self) -> dict[str, Any] | None:
        """The criteria result as JSON (``spinenode criteria`` output), or None before the criteria ran."""
        return self.criteria.to_json() if self.criteria is not None else None

    def add_sections(self, step: str, sections: list[ReportSection]) -> None:
        self.sections_by_step.setdefault(step, []).extend(sections)

    @property
    def sections(self) -> list[ReportSection]:
        """Most important first: the grades, then measurements, then protocol and inventory."""
        order = ["processing", "criteria", "analysis", "inventory"]
        keys = sorted(self.sections_by_step, key=lambda k: order.index(k) if k in order else len(order))
        return [s for k in keys for s in self.sections_by_step[k]]

    @property
    def key_images(self) -> list[KeyImage]:
        return [k for s in self.sections for k in s.key_images]
