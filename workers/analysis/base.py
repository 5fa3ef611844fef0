"""What analysers take and return.

An analyser looks at the classified series of a study (:class:`~workers.inventory.series.SeriesInventory`
and datasets; the inventory's JSON, the contract of ``shared/spec/architecture.md``, is made only at the
edges), says which it needs (``select``), and computes (``run``) measurements, candidate findings and key
images. Analysers are pure: no database, no Celery, no network.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code

from workers.inventory.series import SeriesInventory
from workers.results.codes import PRIVATE_SCHEME
from workers.results.section import KeyImage

SOURCE = "automated"


@dataclass(frozen=True)
class SeriesInput:
    """One classified series: its inventory and all its datasets."""

    inventory: SeriesInventory
    datasets: Sequence[Dataset]

    def __post_init__(self) -> None:
        if not isinstance(self.inventory, SeriesInventory):
            raise TypeError(f"inventory must be a SeriesInventory, got {type(self.inventory).__name__}")
        if not self.datasets:
            raise ValueError(f"series {self.inventory.series_uid!r} has no datasets")

    @property
    def sequence(self) -> str | None:
        return self.inventory.sequence

    @property
    def plane(self) -> str | None:
        return self.inventory.plane

    @property
    def series_uid(self) -> str:
        return self.inventory.series_uid


class QcStatus(StrEnum):
    """How far an analyser output can be trusted (``qc[].status`` of ``spinenode analyse``)."""

    OK = "ok"
    UNRELIABLE = "unreliable"
    FAILED = "failed"


@dataclass(frozen=True)
class QcVerdict:
    """The quality verdict on one analyser's output for one series, with a reason a person can read.

    Only an ``ok`` output is graded, flagged or shown as a finding; ``unreliable`` and ``failed`` outputs are
    reported as such (SR qualitative evaluation, card, worklist, API) and never produce a candidate.
    """

    analyser: str
    series_uid: str
    status: QcStatus
    reason: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.status, QcStatus):
            raise TypeError(f"status must be a QcStatus, got {self.status!r}")
        if self.status is not QcStatus.OK and not self.reason.strip():
            raise ValueError(f"a {self.status.value} verdict of {self.analyser!r} needs a reason")

    @property
    def ok(self) -> bool:
        return self.status is QcStatus.OK

    def as_json(self) -> dict[str, str]:
        return {
            "analyser": self.analyser,
            "series_uid": self.series_uid,
            "status": self.status.value,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Measurement:
    """One numeric result with its coded concept, unit (UCUM), site and the images it came from."""

    name: str
    concept: Code
    value: float
    unit: str
    site: Code
    level: str | None = None
    sd: float | None = None
    voxels: int | None = None
    roi: str | None = None
    rule: str | None = None
    method: str = ""
    series_instance_uid: str = ""
    sop_instance_uids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.value != self.value:  # NaN
            raise ValueError(f"measurement {self.name!r}: value is NaN")
        if not self.unit:
            raise ValueError(f"measurement {self.name!r}: unit must not be empty")


@dataclass(frozen=True)
class CandidateFinding:
    """A finding the node proposes; ``finding`` uses the findings-document shape where a kind exists."""

    description: str
    confidence: float
    finding: dict[str, Any] | None = None
    rules: tuple[str, ...] = ()
    level: str | None = None
    series_instance_uid: str = ""
    sop_instance_uids: tuple[str, ...] = ()
    source: str = SOURCE

    def __post_init__(self) -> None:
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must be in [0, 1], got {self.confidence}")
        if self.finding is not None and self.finding.get("source", SOURCE) != SOURCE:
            raise ValueError(f"finding source must be {SOURCE!r}, got {self.finding.get('source')!r}")

    def as_json(self) -> dict[str, Any] | None:
        """This candidate in the findings-document shape (source ``automated``) with its traceability
        (confidence, series, instances); None when its kind has no place in the findings contract."""
        if not self.finding:
            return None
        item = dict(self.finding)
        item["source"] = SOURCE
        item.setdefault("confidence", round(float(self.confidence), 3))
        if self.series_instance_uid:
            item.setdefault("series_uid", self.series_instance_uid)
        if self.sop_instance_uids:
            item.setdefault("sop_instance_uids", list(self.sop_instance_uids))
        return item


@dataclass
class AnalyserResult:
    """What one analyser produced; ``details`` holds typed extras (e.g. per-slice morphometry)."""

    analyser: str
    version: str
    measurements: list[Measurement] = field(default_factory=list)
    findings: list[CandidateFinding] = field(default_factory=list)
    key_images: list[KeyImage] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    qc: list[QcVerdict] = field(default_factory=list)

    def verdict(self, series_uid: str) -> QcVerdict | None:
        """This result's verdict on ``series_uid`` (None when the analyser gave none)."""
        return next((v for v in self.qc if v.series_uid == series_uid), None)


@dataclass
class AnalysisOutput:
    """Everything :func:`workers.analysis.run_analysers` produced, and what it skipped and why."""

    results: list[AnalyserResult] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    levels: dict[str, tuple[float, float]] = field(default_factory=dict)
    level_source: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def candidate_findings(self) -> list[dict[str, Any]]:
        """Candidates in the findings-document shape (kinds of the contract only), with traceability."""
        return [item for c in self.findings if (item := c.as_json()) is not None]

    @property
    def context_hints(self) -> dict[str, Any]:
        """Study facts for the criteria engine's StudyContext, as level names, e.g.
        ``{"anterior_horn_hyperintensity": ("C3", "C4")}`` (upper, lower); see ``study_context_kwargs``."""
        hints: dict[str, Any] = {}
        for r in self.results:
            hints.update(r.details.get("context_hints") or {})
        return hints

    @property
    def measurements(self) -> list[Measurement]:
        return [m for r in self.results for m in r.measurements]

    @property
    def qc(self) -> list[QcVerdict]:
        return [v for r in self.results for v in r.qc]

    @property
    def findings(self) -> list[CandidateFinding]:
        return [f for r in self.results for f in r.findings]

    @property
    def key_images(self) -> list[KeyImage]:
        return [k for r in self.results for k in r.key_images]


class Analyser(Protocol):
    """The interface every analyser implements."""

    name: str
    version: str

    def select(self, series: Sequence[SeriesInput]) -> Any | None:
        """The inputs this analyser needs from ``series``, or None when they are absent."""
        ...

    def run(self, inputs: Any, context: Mapping[str, Any]) -> AnalyserResult:
        """Compute from the selected inputs; ``context`` may carry known vertebral levels."""
        ...


@runtime_checkable
class EarlyStart(Protocol):
    """An analyser whose work on its inputs can begin before the vertebral levels are known."""

    def start(self, inputs: Any) -> None:
        """Begin the work on the selected inputs (on the run's pool); :meth:`Analyser.run` collects it."""
        ...


# Codes used by the analysers: DICOM (DCM), SNOMED CT (SCT), and the node's private scheme for concepts
# without a standard code (listed in workers/analysis/CODES.md). Units are UCUM.
ADC_CODE = codes.DCM.ApparentDiffusionCoefficient
FA_CODE = codes.DCM.FractionalAnisotropy
MD_CODE = codes.DCM.MeanDiffusivity
MTR_CODE = codes.DCM.MagnetizationTransferRatio
AREA_CODE = codes.SCT.Area
SPINAL_CORD = codes.SCT.SpinalCord
VERTEBRA = codes.SCT.Vertebra
AP_DIAMETER_CODE = Code("ANA-APDIAM", PRIVATE_SCHEME, "Antero-posterior diameter")
RL_DIAMETER_CODE = Code("ANA-RLDIAM", PRIVATE_SCHEME, "Right-left (transverse) diameter")
COMPRESSION_RATIO_CODE = Code("ANA-CMPRATIO", PRIVATE_SCHEME, "Compression ratio (AP/RL)")
MSCC_CODE = Code("ANA-MSCC", PRIVATE_SCHEME, "Maximum cord compression")
CSA_ZSCORE_CODE = Code("ANA-CSAZ", PRIVATE_SCHEME, "Cord area z-score against normative")


def vertebra_code(level: str | None) -> Code:
    """SCT code of vertebra ``level`` (C1-L5), or the generic vertebra code."""
    if level is None:
        return VERTEBRA
    code = getattr(codes.SCT, f"{level}Vertebra", None)
    return VERTEBRA if code is None else code
