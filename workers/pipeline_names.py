"""The names the pipeline shares with routing and the registry: the pipelines routing can select, in the
order they run, and the kinds of DICOM object the results step issues.

Kept apart from :mod:`workers.pipeline` so that the settings (``[routing]`` rules name pipelines) and the
registry (its result rows) can be read without importing the pipeline's steps and their DICOM and imaging
libraries.
"""

from __future__ import annotations

from enum import StrEnum


class Pipeline(StrEnum):
    """What routing can select for a study (``then.pipelines``), in the order they run."""

    INVENTORY = "inventory"
    CRITERIA = "criteria"
    MARROW_ADC = "marrow_adc"
    CORD = "cord"


#: Every pipeline, in order: what runs when no rule chooses.
PIPELINES: tuple[Pipeline, ...] = tuple(Pipeline)


class ResultKind(StrEnum):
    """A DICOM object the node issues for a study revision."""

    SR = "SR"
    SC = "SC"
    SEG = "SEG"
