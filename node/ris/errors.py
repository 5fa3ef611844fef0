"""Errors of the RIS senders; every failure to deliver raises :class:`RisDeliveryError`."""

from __future__ import annotations


class RisDeliveryError(RuntimeError):
    """A report was not accepted by the RIS; the message says why (never reported as success)."""

    def __init__(self, endpoint: str, reason: str) -> None:
        super().__init__(f"{endpoint}: {reason}")
        self.endpoint = endpoint
        self.reason = reason


class MllpError(RisDeliveryError):
    """MLLP transport or acknowledgement failure (refused, timed out, closed, AE/AR)."""


class FhirError(RisDeliveryError):
    """The FHIR server did not accept the DiagnosticReport (transport error or non-2xx status)."""

    def __init__(self, endpoint: str, reason: str, status_code: int | None = None) -> None:
        super().__init__(endpoint, reason)
        self.status_code = status_code
