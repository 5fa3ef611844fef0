"""Results to a RIS: HL7 v2.5 ORU^R01 over MLLP, or a FHIR R4 DiagnosticReport over REST."""

from node.ris.delivery import send_report
from node.ris.endpoints import RisEndpointSettings
from node.ris.errors import FhirError, MllpError, RisDeliveryError
from node.ris.summary import ReportSummary

__all__ = [
    "FhirError",
    "MllpError",
    "ReportSummary",
    "RisDeliveryError",
    "RisEndpointSettings",
    "send_report",
]
