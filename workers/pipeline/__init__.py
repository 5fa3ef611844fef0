"""The study pipeline: inventory -> analysers -> criteria -> results, as a sequence of steps."""

from workers.pipeline.context import PipelineContext, SeriesFiles
from workers.pipeline.runner import DEFAULT_STEPS, STEPS, run_pipeline

__all__ = ["DEFAULT_STEPS", "STEPS", "PipelineContext", "SeriesFiles", "run_pipeline"]
