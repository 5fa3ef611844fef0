"""Imported for its effect: highdicom's table of every DICOM module's attributes, parsed now.

highdicom parses that table from JSON on the first SR or Segmentation a process builds (about 0.5 s of CPU)
and keeps it for the life of the process. The analysis fork server imports this module
(:data:`workers.analysis.segmentations.FORKSERVER_PRELOAD`), so that every worker process forked from it
builds its first Segmentation without parsing it again (:func:`workers.results.seg_step.start_segmentations`).
"""

from __future__ import annotations


def load() -> None:
    """Parse the table now (once per process; later calls return at once)."""
    from highdicom import _standard_utils  # the table has no public accessor; its loader is cached

    _standard_utils.get_module_attribute_map()


load()
