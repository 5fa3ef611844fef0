"""What the steps load on first use, loaded ahead: ``serve`` calls :func:`warm_up` off its start-up path, so
that the first study after a start does not wait for it.

The steps import their modules when they run (the command line stays light); the results step's SR and
Segmentation builds read highdicom's table of every DICOM module's attributes, which highdicom parses from
JSON on first use (about 0.5 s of CPU) and keeps for the life of the process.
"""

from __future__ import annotations

import importlib

#: The modules :mod:`workers.pipeline.steps` imports inside its steps.
STEP_MODULES = (
    "pydicom",
    "workers.inventory",
    "workers.inventory.protocol",
    "workers.inventory.sections",
    "workers.analysis",
    "workers.analysis.contract",
    "workers.criteria",
    "workers.criteria.context",
    "workers.criteria.sections",
    "workers.pipeline.assessed",
    "workers.pipeline.candidates",
    "workers.results",
    "workers.results.sc",
    "workers.results.seg_step",
    "workers.results.sr",
    "workers.results.thumbnail",
)


def warm_up() -> None:
    """Import the steps' modules and load highdicom's module attribute table."""
    for name in STEP_MODULES:
        importlib.import_module(name)
    from highdicom import _standard_utils  # the table has no public accessor; its loader is cached

    _standard_utils.get_module_attribute_map()
