"""What the storage SCP hands on after each durable store: a :class:`Received` record."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from node.dicom.headers import InstanceHeader


@dataclass(frozen=True)
class Received:
    header: InstanceHeader
    path: Path
    size: int
    calling_aet: str | None = None
    called_aet: str | None = None
