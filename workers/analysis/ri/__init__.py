"""RI (In-111 DTPA) cisternography: views, time points, paraspinal accumulation, circulation, bladder, residual."""

from workers.analysis.ri.analyser import RiCisternographyAnalyser

__all__ = ["RiCisternographyAnalyser"]
