"""The study pipeline: inventory -> analysers -> criteria -> results, as a sequence of steps."""

from workers.pipeline.context import PIPELINES, Pipeline, PipelineContext, ResultObject, SeriesFiles
from workers.pipeline.steps import STEPS

__all__ = ["PIPELINES", "STEPS", "Pipeline", "PipelineContext", "ResultObject", "SeriesFiles"]
