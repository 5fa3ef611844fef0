"""A series as an analyser test states it: the datasets and the few inventory fields the test is about.

``series_input(datasets, sequence="MT", plane="axial")`` (or ``stated_inventory``, the inventory alone, for
``run_analysers``) holds those fields in a
:class:`~workers.inventory.series.SeriesInventory` and leaves every other field empty (no modality, no
description, no b-values), so the analyser sees only what the test says; the series UID defaults to the
datasets' own and the image count to the number of datasets.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydicom.dataset import Dataset

from workers.analysis.base import SeriesInput
from workers.inventory.series import SeriesInventory


def stated_inventory(datasets: Sequence[Dataset], **fields: Any) -> SeriesInventory:
    """The inventory of ``datasets`` that holds ``fields`` (SeriesInventory's names) and nothing else."""
    first = datasets[0] if datasets else Dataset()
    base: dict[str, Any] = {
        "series_uid": str(first.get("SeriesInstanceUID", "") or "unknown"),
        "modality": "",
        "description": "",
        "images": max(len(datasets), 1),
    }
    return SeriesInventory(**(base | fields))


def series_input(datasets: Sequence[Dataset], **fields: Any) -> SeriesInput:
    """A SeriesInput of ``datasets`` whose inventory holds ``fields`` and nothing else."""
    return SeriesInput(stated_inventory(datasets, **fields), list(datasets))
