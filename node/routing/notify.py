"""Carry out a ``notify`` action: a structured log line, or a JSON POST to a webhook (no patient data)."""

from __future__ import annotations

import logging
from typing import Any

import httpx

from node.routing.evaluate import RoutingDecision
from node.routing.rules import Notifier

log = logging.getLogger(__name__)


class NotificationError(RuntimeError):
    """A webhook did not accept the notification; the message names the notifier and the reason."""


def notification(study_instance_uid: str, decision: RoutingDecision) -> dict[str, Any]:
    """The payload: the study UID and what the rules decided (no names, no patient IDs)."""
    return {
        "study_instance_uid": study_instance_uid,
        "phase": str(decision.phase),
        "priority": str(decision.priority),
        "matched_rules": decision.matched,
        "pipelines": list(decision.pipelines),
        "results_to": list(decision.results_to),
    }


def send_notification(notifier: Notifier, study_instance_uid: str, decision: RoutingDecision) -> None:
    """Notify through ``notifier``; raise :class:`NotificationError` when a webhook fails or refuses."""
    payload = notification(study_instance_uid, decision)
    if notifier.kind == "log":
        log.warning("routing notification %s", notifier.name, extra={"notification": payload})
        return
    try:
        response = httpx.post(notifier.url, json=payload, timeout=notifier.timeout_seconds)
    except httpx.HTTPError as exc:
        raise NotificationError(f"notifier {notifier.name!r}: {type(exc).__name__}: {exc}") from None
    if not 200 <= response.status_code < 300:
        excerpt = " ".join(response.text.split())[:200]
        raise NotificationError(f"notifier {notifier.name!r}: webhook answered {response.status_code}: {excerpt}")
