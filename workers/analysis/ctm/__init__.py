"""CT myelography: contrast in the dural sac, epidural and subdural contrast, levels from anatomical anchors."""

from workers.analysis.ctm.analyser import CtMyelographyAnalyser

__all__ = ["CtMyelographyAnalyser"]
