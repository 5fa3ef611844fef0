"""A delivery left 'sending' by a worker process that died is given back within one reconcile pass."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from node.broker.liveness import current_worker
from node.broker.reconciler import deliveries_to_send
from node.delivery.rows import claim, release_stale_claims
from node.registry.db import Registry
from node.registry.models import Delivery, DeliveryState, Study


def _registry_with_delivery(tmp_path: Path) -> tuple[Registry, int]:
    registry = Registry(f"sqlite:///{tmp_path / 'r.sqlite'}")
    with registry.session() as session:
        study = Study(study_uid="1.2.3")
        session.add(study)
        session.flush()
        delivery = Delivery(study_id=study.id, revision=1, destination="pacs")
        session.add(delivery)
        session.flush()
        return registry, delivery.id


def test_dead_worker_delivery_is_sent_again_at_once(tmp_path: Path) -> None:
    registry, delivery_id = _registry_with_delivery(tmp_path)
    assert claim(registry, delivery_id)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = current_worker().rpartition(":")[0]
    with registry.session() as session:
        row = session.get(Delivery, delivery_id)
        assert row is not None and row.worker == current_worker(), "the claim names its worker"
        row.worker = f"{host}:{dead.pid}"
    with registry.session() as session:
        assert deliveries_to_send(session) == [delivery_id]
        assert session.get(Delivery, delivery_id).state == DeliveryState.PENDING  # type: ignore[union-attr]
    registry.dispose()


def test_live_worker_keeps_its_delivery(tmp_path: Path) -> None:
    registry, delivery_id = _registry_with_delivery(tmp_path)
    assert claim(registry, delivery_id)
    with registry.session() as session:
        assert release_stale_claims(session) == 0
        assert session.get(Delivery, delivery_id).state == DeliveryState.SENDING  # type: ignore[union-attr]
    registry.dispose()
