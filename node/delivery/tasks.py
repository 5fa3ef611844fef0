"""Celery task that sends one delivery (on its own queue)."""

from __future__ import annotations

from node import runtime
from node.delivery.send import attempt_delivery
from workers.celery_app import app


@app.task(name="node.delivery.tasks.deliver", acks_late=True)
def deliver(delivery_id: int) -> str | None:
    rt = runtime.current()
    state = attempt_delivery(rt.registry, rt.settings, delivery_id)
    return state.value if state else None
