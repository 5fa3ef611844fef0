"""Settings of one RIS endpoint: :class:`RisEndpointSettings` (HL7 v2 over MLLP, or FHIR R4 REST)."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, model_validator


class RisEndpointSettings(BaseModel):
    """Where reports go. ``kind = "hl7_mllp"`` needs ``host`` and ``port``; ``kind = "fhir"`` needs the
    FHIR base ``url`` (reports are POSTed to ``{url}/DiagnosticReport``)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    kind: Literal["hl7_mllp", "fhir"]
    host: str = ""
    port: int = Field(0, ge=0, le=65535)
    url: str = ""
    connect_timeout_seconds: float = Field(5.0, gt=0, le=300)
    timeout_seconds: float = Field(30.0, gt=0, le=600, description="waiting for the ACK or the response")
    sending_application: str = "SPINENODE"
    sending_facility: str = ""
    receiving_application: str = "RIS"
    receiving_facility: str = ""
    patient_id_authority: str = Field("", description="assigning authority / identifier system")
    patient_id: Literal["pseudonym", "dicom"] = Field(
        "pseudonym",
        description="what PID-3 / subject carries: the pseudonymous key, or the DICOM Patient ID the RIS matches on",
    )
    bearer_token: str = Field("", description="FHIR only: Authorization: Bearer <token>")
    first_retry_seconds: float = Field(5.0, gt=0, description="first retry after a failed delivery")
    max_age_seconds: float = Field(24 * 3600.0, gt=0, description="a delivery not done by then is dead")

    @model_validator(mode="after")
    def _check_kind(self) -> RisEndpointSettings:
        if self.kind == "hl7_mllp":
            if not self.host or not self.port:
                raise ValueError(
                    f"RIS endpoint {self.name!r}: hl7_mllp needs host and port "
                    f"(got host={self.host!r}, port={self.port})"
                )
            if self.url:
                raise ValueError(f"RIS endpoint {self.name!r}: hl7_mllp takes no url (got {self.url!r})")
        else:
            parsed = urlparse(self.url)
            if parsed.scheme not in ("http", "https") or not parsed.netloc:
                raise ValueError(f"RIS endpoint {self.name!r}: fhir needs an http(s) url (got {self.url!r})")
            if self.host or self.port:
                raise ValueError(f"RIS endpoint {self.name!r}: fhir takes url, not host/port")
        return self
