"""Delivery recording on a real SQLite registry, sending with the node's own SCU to the node's own storage
SCP on loopback (a real DICOM peer, no network beyond 127.0.0.1): delivered, retried after a refusal, dead
past its maximum age, and the study delivered once every result delivery is."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).parents[1] / "jobs"))

from jobs_support import make_runtime  # noqa: E402

from node.delivery.rows import create_forward_deliveries, create_report_deliveries  # noqa: E402
from node.delivery.send import attempt_delivery  # noqa: E402
from node.dicom.received import Received  # noqa: E402
from node.dicom.scp import StorageSCP  # noqa: E402
from node.dicom.spool import Spool  # noqa: E402
from node.registry.models import (  # noqa: E402
    Attempt,
    Delivery,
    DeliveryKind,
    DeliveryState,
    Result,
    ResultKind,
    Study,
    StudyState,
    utcnow,
)
from node.runtime import Runtime  # noqa: E402
from workers.phantom import write_phantom  # noqa: E402


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    study = write_phantom(tmp_path_factory.mktemp("phantom"), "simple", deterministic_uids=True)
    return sorted(study.files)[:3]


@pytest.fixture
def pacs(tmp_path: Path) -> Iterator[StorageSCP]:
    received: list[Received] = []
    scp = StorageSCP(
        ae_title="PACS", host="127.0.0.1", port=0, spool=Spool(tmp_path / "pacs"), on_received=received.append
    )
    scp.start()
    try:
        yield scp
    finally:
        scp.stop()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _runtime(tmp_path: Path, port: int, **destination: object) -> Runtime:
    dest = {"name": "pacs", "ae_title": "PACS", "host": "127.0.0.1", "port": port, **destination}
    return make_runtime(tmp_path, destinations=[dest])


def _reported_study(rt: Runtime, files: list[Path]) -> tuple[int, list[int]]:
    """A reported study whose revision has two results (their files are MR images: the SCU does not mind)."""
    with rt.registry.session() as session:
        study = Study(study_uid="1.2.3.4", state=StudyState.REPORTED, revision=1, flags=[], grades={})
        session.add(study)
        session.flush()
        for number, (kind, path) in enumerate(((ResultKind.SR, files[0]), (ResultKind.SC, files[1])), start=1):
            session.add(
                Result(
                    study_id=study.id,
                    revision=1,
                    kind=kind,
                    sop_class_uid="1.2.840.10008.5.1.4.1.1.4",
                    sop_instance_uid=f"1.2.3.4.{number}",
                    series_uid="1.2.3.4.9",
                    path=str(path),
                )
            )
        session.flush()
        deliveries = create_report_deliveries(session, rt.settings, study, 1, None)
        return study.id, [d.id for d in deliveries]


def test_a_stored_delivery_is_delivered_and_the_study_with_it(
    tmp_path: Path, files: list[Path], pacs: StorageSCP
) -> None:
    rt = _runtime(tmp_path, pacs.port)
    study_id, (delivery_id,) = _reported_study(rt, files)

    assert attempt_delivery(rt.registry, rt.settings, delivery_id) == DeliveryState.DELIVERED

    with rt.registry.session() as session:
        delivery = session.get(Delivery, delivery_id)
        assert delivery is not None and delivery.kind == DeliveryKind.RESULTS
        assert delivery.delivered_at is not None and delivery.last_error is None
        (attempt,) = delivery.attempts
        assert attempt.ok and attempt.detail == "2 stored" and attempt.finished_at is not None
        study = session.get(Study, study_id)
        assert study is not None and study.state == StudyState.DELIVERED
    assert len(list((tmp_path / "pacs").rglob("*.dcm"))) == 2


def test_a_refused_association_is_retried_after_the_first_retry_delay(tmp_path: Path, files: list[Path]) -> None:
    rt = _runtime(tmp_path, _closed_port(), first_retry_seconds=30.0)
    study_id, (delivery_id,) = _reported_study(rt, files)
    before = utcnow()

    assert attempt_delivery(rt.registry, rt.settings, delivery_id) == DeliveryState.PENDING

    with rt.registry.session() as session:
        delivery = session.get(Delivery, delivery_id)
        assert delivery is not None and delivery.last_error
        assert before + timedelta(seconds=29) <= delivery.next_attempt_at <= utcnow() + timedelta(seconds=31)
        (attempt,) = delivery.attempts
        assert not attempt.ok and attempt.detail == delivery.last_error
        study = session.get(Study, study_id)
        assert study is not None and study.state == StudyState.REPORTED  # not delivered


def test_a_delivery_past_its_maximum_age_is_dead(tmp_path: Path, files: list[Path]) -> None:
    rt = _runtime(tmp_path, _closed_port(), first_retry_seconds=30.0, max_age_seconds=10.0)
    _, (delivery_id,) = _reported_study(rt, files)

    assert attempt_delivery(rt.registry, rt.settings, delivery_id) == DeliveryState.DEAD

    with rt.registry.session() as session:
        delivery = session.get(Delivery, delivery_id)
        assert delivery is not None and delivery.state == DeliveryState.DEAD and delivery.last_error
    assert attempt_delivery(rt.registry, rt.settings, delivery_id) is None  # a dead delivery is not claimed


def test_missing_result_files_fail_the_attempt_without_sending(
    tmp_path: Path, files: list[Path], pacs: StorageSCP
) -> None:
    rt = _runtime(tmp_path, pacs.port)
    _, (delivery_id,) = _reported_study(rt, files)
    with rt.registry.session() as session:
        session.scalars(select(Result)).first().path = str(tmp_path / "gone.dcm")  # type: ignore[union-attr]

    assert attempt_delivery(rt.registry, rt.settings, delivery_id) == DeliveryState.PENDING

    with rt.registry.session() as session:
        (attempt,) = session.scalars(select(Attempt)).all()
        assert not attempt.ok and "result files missing: ['gone.dcm']" in (attempt.detail or "")
    assert not list((tmp_path / "pacs").rglob("*.dcm"))


def test_forwarded_originals_are_sent_by_path_and_created_once(
    tmp_path: Path, files: list[Path], pacs: StorageSCP
) -> None:
    rt = _runtime(tmp_path, pacs.port)
    study_id, _ = _reported_study(rt, files)
    paths = [str(f) for f in files]
    with rt.registry.session() as session:
        (created,) = create_forward_deliveries(session, study_id, 1, ["pacs"], paths)
        assert create_forward_deliveries(session, study_id, 1, ["pacs"], paths) == []
        assert created.original_paths == paths
        with pytest.raises(ValueError, match="originals, not results"):
            _ = created.result_ids
        delivery_id = created.id

    assert attempt_delivery(rt.registry, rt.settings, delivery_id) == DeliveryState.DELIVERED
    assert len(list((tmp_path / "pacs").rglob("*.dcm"))) == len(files)


def test_ris_deliveries_use_the_endpoint_retry_settings(tmp_path: Path, files: list[Path]) -> None:
    ris = {"name": "ris", "kind": "hl7_mllp", "host": "127.0.0.1", "port": _closed_port()}
    rt = make_runtime(tmp_path, ris=[{**ris, "first_retry_seconds": 60.0, "max_age_seconds": 30.0}])
    with rt.registry.session() as session:
        study = Study(study_uid="1.2.3.5", state=StudyState.REPORTED, revision=1, flags=[], grades={})
        session.add(study)
        session.flush()
        (delivery,) = create_report_deliveries(session, rt.settings, study, 1, ["ris"])
        assert delivery.kind == DeliveryKind.RIS and delivery.destination == "ris"
        delivery_id = delivery.id

    # the first retry (60 s) falls beyond the maximum age (30 s): dead after one refused connection
    assert attempt_delivery(rt.registry, rt.settings, delivery_id) == DeliveryState.DEAD


def test_what_a_delivery_sends_is_read_through_its_kind() -> None:
    results = Delivery.of_results(1, 2, "pacs", [5, 6])
    report = Delivery.of_results(1, 2, "ris", [5], kind=DeliveryKind.RIS)
    originals = Delivery.of_originals(1, 2, "research", ["/spool/a.dcm"])
    assert (results.kind, results.result_ids) == (DeliveryKind.RESULTS, [5, 6])
    assert (report.kind, report.result_ids) == (DeliveryKind.RIS, [5])
    assert (originals.kind, originals.original_paths) == (DeliveryKind.ORIGINALS, ["/spool/a.dcm"])
    with pytest.raises(ValueError, match="not originals"):
        _ = report.original_paths
    with pytest.raises(ValueError, match="results or ris"):
        Delivery.of_results(1, 2, "research", [5], kind=DeliveryKind.ORIGINALS)
