"""Results to a RIS: HL7 v2.5 ORU^R01 over MLLP, or a FHIR R4 DiagnosticReport over REST.

Names are imported on first use (PEP 562): the settings read :mod:`node.ris.endpoints` without loading the
HTTP client and the HL7 library.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from node.ris.delivery import send_report
    from node.ris.endpoints import RisEndpointSettings
    from node.ris.errors import FhirError, MllpError, RisDeliveryError
    from node.ris.summary import ReportSummary

_WHERE: dict[str, str] = {
    "send_report": "delivery",
    "RisEndpointSettings": "endpoints",
    **dict.fromkeys(("FhirError", "MllpError", "RisDeliveryError"), "errors"),
    "ReportSummary": "summary",
}

__all__ = [
    "FhirError",
    "MllpError",
    "ReportSummary",
    "RisDeliveryError",
    "RisEndpointSettings",
    "send_report",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
