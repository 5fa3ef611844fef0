"""The study pipeline: inventory -> analysers -> criteria -> results, as a sequence of steps."""

from workers.pipeline.context import PipelineContext, ResultObject, SeriesFiles
from workers.pipeline.steps import STEPS

__all__ = ["STEPS", "PipelineContext", "ResultObject", "SeriesFiles"]
