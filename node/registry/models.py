"""Registry tables: the source of truth for every study, job, result and delivery.

Study states (explicit, in this order): ``receiving`` -> ``stable`` -> ``queued`` -> ``analysing`` ->
``reported`` -> ``delivered``; or ``failed`` with a reason. Late-instance policy: an instance that arrives
after a study left ``receiving`` puts it back to ``receiving`` and bumps ``revision``; once stable again it
is re-analysed and an amended SR (Predecessor Documents Sequence -> the previous SR) is issued.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Enum, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from node.registry.clock import utcnow as utcnow
from node.routing.rules import Priority
from workers.pipeline_names import ResultKind as ResultKind


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class StudyState(enum.StrEnum):
    RECEIVING = "receiving"
    STABLE = "stable"
    QUEUED = "queued"
    ANALYSING = "analysing"
    REPORTED = "reported"
    DELIVERED = "delivered"
    FAILED = "failed"


class JobState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    SUPERSEDED = "superseded"


class DeliveryState(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    DELIVERED = "delivered"
    DEAD = "dead"


class DeliveryKind(enum.StrEnum):
    """What a delivery sends: the SR and card of a revision, the received originals, or a RIS report."""

    RESULTS = "results"
    ORIGINALS = "originals"
    RIS = "ris"


class EntrySource(enum.StrEnum):
    """Who or what made a findings entry: a finding's source in the findings contract, the clinical
    context of a findings document, or a radiologist's review of a coded finding."""

    RADIOLOGIST = "radiologist"
    AUTOMATED = "automated"
    IMPORTED = "imported"
    CLINICAL = "clinical"
    REVIEW = "review"


class FindingStatus(enum.StrEnum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"
    REJECTED = "rejected"


def _enum(cls: type[enum.Enum], length: int = 16) -> Enum:
    """An enum stored as its value in a plain string column (no database enum type, no migration)."""
    return Enum(cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


class Study(Base):
    __tablename__ = "study"
    id: Mapped[int] = mapped_column(primary_key=True)
    study_uid: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[StudyState] = mapped_column(_enum(StudyState), default=StudyState.RECEIVING, index=True)
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    patient_key: Mapped[str | None] = mapped_column(String(32), default=None)
    patient_name: Mapped[str | None] = mapped_column(String(256), default=None)
    patient_id: Mapped[str | None] = mapped_column(String(64), default=None)
    accession_number: Mapped[str | None] = mapped_column(String(64), default=None)
    study_date: Mapped[str | None] = mapped_column(String(8), default=None)
    study_description: Mapped[str | None] = mapped_column(String(256), default=None)
    institution_name: Mapped[str | None] = mapped_column(String(256), default=None)
    calling_aet: Mapped[str | None] = mapped_column(String(16), default=None)
    called_aet: Mapped[str | None] = mapped_column(String(16), default=None)
    priority: Mapped[Priority] = mapped_column(_enum(Priority), default=Priority.ROUTINE)
    flags: Mapped[list[Any]] = mapped_column(default=list)
    grades: Mapped[dict[str, Any]] = mapped_column(default=dict)
    first_received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    stable_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    reported_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)

    series: Mapped[list[Series]] = relationship(back_populates="study", cascade="all, delete-orphan")
    jobs: Mapped[list[Job]] = relationship(back_populates="study", cascade="all, delete-orphan")
    results: Mapped[list[Result]] = relationship(back_populates="study", cascade="all, delete-orphan")


class Series(Base):
    __tablename__ = "series"
    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"), index=True)
    series_uid: Mapped[str] = mapped_column(String(64), unique=True)
    modality: Mapped[str | None] = mapped_column(String(16), default=None)
    series_number: Mapped[int | None] = mapped_column(Integer, default=None)
    description: Mapped[str | None] = mapped_column(String(256), default=None)
    inventory: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)

    study: Mapped[Study] = relationship(back_populates="series")
    instances: Mapped[list[Instance]] = relationship(back_populates="series", cascade="all, delete-orphan")


class Instance(Base):
    __tablename__ = "instance"
    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"), index=True)
    sop_instance_uid: Mapped[str] = mapped_column(String(64), unique=True)
    sop_class_uid: Mapped[str] = mapped_column(String(64))
    transfer_syntax_uid: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    series: Mapped[Series] = relationship(back_populates="instances")


class Job(Base):
    """One analysis of one revision of a study."""

    __tablename__ = "job"
    __table_args__ = (UniqueConstraint("study_id", "revision", name="uq_job_study_revision"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    state: Mapped[JobState] = mapped_column(_enum(JobState), default=JobState.QUEUED, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    step: Mapped[str | None] = mapped_column(String(32), default=None)
    worker: Mapped[str | None] = mapped_column(String(128), default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    enqueued_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    started_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)

    study: Mapped[Study] = relationship(back_populates="jobs")


class Result(Base):
    """A DICOM object the node issued (SR or SC) for one revision of a study."""

    __tablename__ = "result"
    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    kind: Mapped[ResultKind] = mapped_column(_enum(ResultKind, 8))
    sop_class_uid: Mapped[str] = mapped_column(String(64))
    sop_instance_uid: Mapped[str] = mapped_column(String(64), unique=True)
    series_uid: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(Text)
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    predecessor_uid: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    study: Mapped[Study] = relationship(back_populates="results")


class Delivery(Base):
    """One thing to send to one destination; its attempts say what happened."""

    __tablename__ = "delivery"
    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    destination: Mapped[str] = mapped_column(String(64))
    kind: Mapped[DeliveryKind] = mapped_column(_enum(DeliveryKind), default=DeliveryKind.RESULTS)
    state: Mapped[DeliveryState] = mapped_column(_enum(DeliveryState), default=DeliveryState.PENDING, index=True)
    # What it sends, one column per kind: read them through :attr:`result_ids` or :attr:`original_paths`,
    # which check the kind; rows are made by :meth:`of_results` and :meth:`of_originals`.
    _result_ids: Mapped[list[int]] = mapped_column("result_ids", JSON, default=list)
    _original_paths: Mapped[list[str]] = mapped_column("original_paths", JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    enqueued_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    worker: Mapped[str | None] = mapped_column(String(128), default=None)  # host:pid while sending
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)

    attempts: Mapped[list[Attempt]] = relationship(
        back_populates="delivery", cascade="all, delete-orphan", order_by="Attempt.id"
    )

    @classmethod
    def of_results(
        cls,
        study_id: int,
        revision: int,
        destination: str,
        result_ids: list[int],
        *,
        kind: DeliveryKind = DeliveryKind.RESULTS,
    ) -> Delivery:
        """A delivery of a revision's results: to a DICOM destination, or (``kind`` ris) their report to a RIS."""
        if kind == DeliveryKind.ORIGINALS:
            raise ValueError("a delivery of results is of kind results or ris")
        return cls(
            study_id=study_id, revision=revision, destination=destination, kind=kind, _result_ids=list(result_ids)
        )

    @classmethod
    def of_originals(cls, study_id: int, revision: int, destination: str, paths: list[str]) -> Delivery:
        """A delivery forwarding the received instances at ``paths``."""
        return cls(
            study_id=study_id,
            revision=revision,
            destination=destination,
            kind=DeliveryKind.ORIGINALS,
            _original_paths=list(paths),
        )

    @property
    def result_ids(self) -> list[int]:
        """The results a ``results`` or ``ris`` delivery sends."""
        if self.kind == DeliveryKind.ORIGINALS:
            raise ValueError(f"delivery {self.id} sends originals, not results")
        return list(self._result_ids or [])

    @property
    def original_paths(self) -> list[str]:
        """The received instances an ``originals`` delivery forwards."""
        if self.kind != DeliveryKind.ORIGINALS:
            raise ValueError(f"delivery {self.id} sends {self.kind}, not originals")
        return list(self._original_paths or [])


class Attempt(Base):
    __tablename__ = "attempt"
    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("delivery.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    ok: Mapped[bool] = mapped_column(default=False)
    detail: Mapped[str | None] = mapped_column(Text, default=None)

    delivery: Mapped[Delivery] = relationship(back_populates="attempts")


class FindingEntry(Base):
    """A findings document entry for a study (radiologist, imported or automated), kept with history."""

    __tablename__ = "finding"
    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"), index=True)
    source: Mapped[EntrySource] = mapped_column(_enum(EntrySource))
    body: Mapped[dict[str, Any]] = mapped_column()
    author: Mapped[str | None] = mapped_column(String(64), default=None)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[FindingStatus] = mapped_column(_enum(FindingStatus), default=FindingStatus.ACTIVE)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)


class ArchiveEntry(Base):
    """Search index of one SR the node issued (filled from its Result row and the SR file)."""

    __tablename__ = "archive_entry"
    id: Mapped[int] = mapped_column(primary_key=True)
    result_id: Mapped[int] = mapped_column(ForeignKey("result.id", ondelete="CASCADE"), unique=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"), index=True)
    sop_instance_uid: Mapped[str] = mapped_column(String(64), unique=True)
    study_uid: Mapped[str] = mapped_column(String(64), index=True)
    patient_key: Mapped[str | None] = mapped_column(String(32), default=None, index=True)
    study_date: Mapped[str | None] = mapped_column(String(8), default=None)
    issued_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    revision: Mapped[int] = mapped_column(Integer)
    predecessor_uid: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    grades: Mapped[dict[str, Any]] = mapped_column(default=dict)
    flags: Mapped[list[Any]] = mapped_column(default=list)
    codes: Mapped[list[Any]] = mapped_column(default=list)


class WorkerHeartbeat(Base):
    """A worker process as the registry last saw it (``node.broker.workers`` writes and reads these)."""

    __tablename__ = "worker_heartbeat"
    id: Mapped[int] = mapped_column(primary_key=True)
    worker: Mapped[str] = mapped_column(String(128), unique=True)  # host:pid, as in Job.worker
    hostname: Mapped[str] = mapped_column(String(128))
    pid: Mapped[int] = mapped_column(Integer)
    queues: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    stopped_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    jobs: Mapped[list[Any]] = mapped_column(default=list)  # job IDs in hand when it last beat
