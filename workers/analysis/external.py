"""Plug point for external segmenters, used only when installed locally with their weights.

Supported when found on PATH (never downloaded): Spinal Cord Toolbox (``sct_deepseg_sc``,
``sct_propseg``), TotalSpineSeg (``totalspineseg``) and SPINEPS (``spineps``). The node's own classical
methods are always available; an external tool, when present, can replace the cord or vertebra masks by
writing a NIfTI mask that :func:`workers.analysis.volume` geometry can read back. Detection is all this
module does by default, so that the node's results stay reproducible unless a site opts in.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass

EXECUTABLES: dict[str, tuple[str, ...]] = {
    "spinal_cord_toolbox": ("sct_deepseg_sc", "sct_propseg", "sct_deepseg"),
    "totalspineseg": ("totalspineseg",),
    "spineps": ("spineps",),
}


@dataclass(frozen=True)
class ExternalSegmenter:
    """An external segmenter found on PATH."""

    name: str
    executable: str
    path: str


def available_segmenters() -> list[ExternalSegmenter]:
    """The external segmenters found on PATH (empty on a plain installation)."""
    found = []
    for name, executables in EXECUTABLES.items():
        for exe in executables:
            path = shutil.which(exe)
            if path:
                found.append(ExternalSegmenter(name, exe, path))
                break
    return found
