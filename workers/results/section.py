"""What each pipeline step hands to the result writers (SR and Secondary Capture).

A step (inventory, an analyser, the criteria engine) returns one or more :class:`ReportSection`:
human-readable lines for the summary card, and the same content as highdicom TID 1501 measurement
groups for the SR. The result writers only assemble sections; they never interpret them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class KeyImage:
    """A rendered key image for the Secondary Capture (RGB uint8, H x W x 3) and its caption."""

    pixels: np.ndarray
    caption: str
    source_sop_instance_uid: str | None = None


@dataclass
class ReportSection:
    """One titled block of the report.

    ``lines``: short sentences for the summary card, most important first ("CSF leak: DEFINITE").
    ``flags``: one-line alerts for worklists ("CSF leak DEFINITE", "ADC <= 1.21 at L2").
    ``sr_groups``: highdicom ``MeasurementsAndQualitativeEvaluations`` (or other TID 1500 row-8
    content) built by the step's own code.
    ``needs_confirmation``: the section rests on automated findings only.
    """

    title: str
    lines: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    sr_groups: list[Any] = field(default_factory=list)
    key_images: list[KeyImage] = field(default_factory=list)
    needs_confirmation: bool = False
