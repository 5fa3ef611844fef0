"""What the pipeline steps share while one revision of one study is analysed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydicom import Dataset, dcmread

from workers.results.section import KeyImage, ReportSection


@dataclass(frozen=True)
class SeriesFiles:
    series_uid: str
    paths: tuple[Path, ...]


@dataclass(frozen=True)
class ResultObject:
    """A DICOM object the results step wrote (SR or SC)."""

    path: Path
    sop_class_uid: str
    sop_instance_uid: str
    series_instance_uid: str


@dataclass
class PipelineContext:
    """Inputs (study, files, entered findings) and what each step adds (inventory, sections, ...)."""

    study_uid: str
    revision: int
    series: list[SeriesFiles]
    content_datetime: datetime
    findings_entries: list[dict[str, Any]] = field(default_factory=list)
    clinical: dict[str, Any] = field(default_factory=dict)
    previous_sr_path: Path | None = None
    output_dir: Path | None = None
    pipelines: tuple[str, ...] = ("inventory", "criteria", "marrow_adc", "cord")
    settled_candidates: set[str] = field(default_factory=set)
    finding_reviews: dict[str, str] = field(default_factory=dict)
    # filled by steps
    headers: dict[str, list[Dataset]] = field(default_factory=dict)
    inventory: dict[str, dict[str, Any]] = field(default_factory=dict)
    sections_by_step: dict[str, list[ReportSection]] = field(default_factory=dict)
    candidate_findings: list[dict[str, Any]] = field(default_factory=list)
    analysis_context: dict[str, Any] = field(default_factory=dict)
    measurements: list[dict[str, Any]] = field(default_factory=list)
    qc: list[dict[str, str]] = field(default_factory=list)  # one verdict per analyser output and series
    levels: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # series -> level -> [top, bottom]
    analysis: Any = None  # the AnalysisOutput (typed; its masks feed the DICOM Segmentation)
    criteria: dict[str, Any] | None = None
    flags: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    result_objects: dict[str, ResultObject] = field(default_factory=dict)
    criteria_result: Any = None
    protocol_checks: list[Any] = field(default_factory=list)
    findings_report: Any = None
    stage_seconds: dict[str, float] = field(default_factory=dict)

    def load_headers(self) -> dict[str, list[Dataset]]:
        if not self.headers:
            for s in self.series:
                self.headers[s.series_uid] = [dcmread(p, stop_before_pixels=True) for p in s.paths]
        return self.headers

    def load_series(self, series_uid: str) -> list[Dataset]:
        """Full datasets (with pixels) of one series."""
        for s in self.series:
            if s.series_uid == series_uid:
                return [dcmread(p) for p in s.paths]
        raise KeyError(f"series {series_uid} is not part of study {self.study_uid}")

    @property
    def sources(self) -> list[Dataset]:
        return [ds for group in self.load_headers().values() for ds in group]

    @property
    def results(self) -> dict[str, Path]:
        return {kind: obj.path for kind, obj in self.result_objects.items()}

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
