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
class RoiValue:
    """A number measured on a key image's region (its concept, value and UCUM unit)."""

    concept: Any
    value: float
    unit: str


@dataclass(frozen=True)
class KeyImage:
    """A rendered key image for the Secondary Capture (RGB uint8, H x W x 3) and its caption.

    ``outline``: the region drawn on it as a closed polygon of (column, row) pixel positions of the source
    image ``source_sop_instance_uid`` (PS3.3 image coordinates: the centre of the top-left pixel is 0.5, 0.5),
    with ``roi_label`` and the ``values`` measured on it; the SR writes it as a TID 1410 planar ROI."""

    pixels: np.ndarray
    caption: str
    source_sop_instance_uid: str | None = None
    outline: tuple[tuple[float, float], ...] = ()
    roi_label: str = ""
    values: tuple[RoiValue, ...] = ()

    def __post_init__(self) -> None:
        if self.outline and (len(self.outline) < 4 or self.outline[0] != self.outline[-1]):
            raise ValueError(f"outline of {self.caption!r}: a closed polygon needs >= 3 points, first == last")
        if self.outline and not self.source_sop_instance_uid:
            raise ValueError(f"outline of {self.caption!r}: needs the source image's SOP Instance UID")


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
