"""MR signal of each phantom tissue for the contrasts the phantom can write.

Values are arbitrary units chosen to look like clinical spine MR at 1.5-3 T (CSF bright on T2, fatty marrow
bright on T1, fat dark on STIR). Diffusion signal follows S(b) = S0 exp(-b ADC) with the ADC per tissue
below, S0 being the fat-suppressed T2 signal.
"""

from __future__ import annotations

import numpy as np

from workers.phantom.anatomy import Tissue

CONTRASTS: tuple[str, ...] = ("T1", "T2", "STIR", "DWI")

# Signal (a.u.) per tissue, per contrast. DWI gives S0 (b = 0) with fat suppression.
_SIGNAL: dict[str, dict[Tissue, float]] = {
    "T2": {
        Tissue.BACKGROUND: 0.0, Tissue.FAT: 1100.0, Tissue.MUSCLE: 350.0, Tissue.CORTEX: 60.0,
        Tissue.MARROW: 700.0, Tissue.DISC_ANNULUS: 300.0, Tissue.DISC_NUCLEUS: 1300.0, Tissue.CSF: 1900.0,
        Tissue.CORD: 750.0, Tissue.CORD_LESION: 1500.0, Tissue.EPIDURAL_FLUID: 1850.0,
        Tissue.MARROW_LESION: 1200.0, Tissue.DURA: 80.0,
        Tissue.MARROW_LESION_B: 1200.0,
    },
    "T1": {
        Tissue.BACKGROUND: 0.0, Tissue.FAT: 1400.0, Tissue.MUSCLE: 550.0, Tissue.CORTEX: 60.0,
        Tissue.MARROW: 1000.0, Tissue.DISC_ANNULUS: 450.0, Tissue.DISC_NUCLEUS: 500.0, Tissue.CSF: 250.0,
        Tissue.CORD: 750.0, Tissue.CORD_LESION: 700.0, Tissue.EPIDURAL_FLUID: 260.0,
        Tissue.MARROW_LESION: 420.0, Tissue.DURA: 80.0,
        Tissue.MARROW_LESION_B: 420.0,
    },
    "STIR": {
        Tissue.BACKGROUND: 0.0, Tissue.FAT: 90.0, Tissue.MUSCLE: 300.0, Tissue.CORTEX: 40.0,
        Tissue.MARROW: 200.0, Tissue.DISC_ANNULUS: 250.0, Tissue.DISC_NUCLEUS: 1100.0, Tissue.CSF: 1700.0,
        Tissue.CORD: 600.0, Tissue.CORD_LESION: 1300.0, Tissue.EPIDURAL_FLUID: 1650.0,
        Tissue.MARROW_LESION: 1250.0, Tissue.DURA: 60.0,
        Tissue.MARROW_LESION_B: 1250.0,
    },
    "DWI": {
        Tissue.BACKGROUND: 0.0, Tissue.FAT: 60.0, Tissue.MUSCLE: 500.0, Tissue.CORTEX: 40.0,
        Tissue.MARROW: 900.0, Tissue.DISC_ANNULUS: 400.0, Tissue.DISC_NUCLEUS: 1200.0, Tissue.CSF: 1800.0,
        Tissue.CORD: 800.0, Tissue.CORD_LESION: 1200.0, Tissue.EPIDURAL_FLUID: 1800.0,
        Tissue.MARROW_LESION: 1300.0, Tissue.DURA: 60.0,
        Tissue.MARROW_LESION_B: 1300.0,
    },
}  # fmt: skip

# Apparent diffusion coefficient per tissue (mm^2/s). Normal marrow 0.30-0.60e-3 (criteria VB-ADC-2).
ADC_MM2_S: dict[Tissue, float] = {
    Tissue.BACKGROUND: 0.0, Tissue.FAT: 0.1e-3, Tissue.MUSCLE: 1.4e-3, Tissue.CORTEX: 0.3e-3,
    Tissue.MARROW: 0.45e-3, Tissue.DISC_ANNULUS: 1.2e-3, Tissue.DISC_NUCLEUS: 1.7e-3, Tissue.CSF: 3.0e-3,
    Tissue.CORD: 1.0e-3, Tissue.CORD_LESION: 1.3e-3, Tissue.EPIDURAL_FLUID: 3.0e-3,
    Tissue.MARROW_LESION: 0.8e-3, Tissue.DURA: 1.0e-3,
        Tissue.MARROW_LESION_B: 0.8e-3,
}  # fmt: skip


def _lookup(table: dict[Tissue, float]) -> np.ndarray:
    values = np.zeros(max(Tissue) + 1, dtype=float)
    for tissue, value in table.items():
        values[int(tissue)] = value
    return values


def signal(
    labels: np.ndarray,
    contrast: str,
    *,
    b_value: float = 0.0,
    adc_overrides: dict[Tissue, float] | None = None,
) -> np.ndarray:
    """Noise-free signal for a label array; ``b_value`` (s/mm^2) applies to ``contrast="DWI"`` only."""
    if contrast not in _SIGNAL:
        raise ValueError(f"contrast must be one of {CONTRASTS}, got {contrast!r}")
    if b_value < 0:
        raise ValueError(f"b_value must be >= 0, got {b_value}")
    if b_value and contrast != "DWI":
        raise ValueError(f"b_value applies to contrast 'DWI' only, got contrast {contrast!r}")
    s0 = _lookup(_SIGNAL[contrast])[labels]
    if contrast != "DWI" or b_value == 0:
        return np.asarray(s0)
    adc_table = dict(ADC_MM2_S)
    adc_table.update(adc_overrides or {})
    adc = _lookup(adc_table)[labels]
    return np.asarray(s0 * np.exp(-b_value * adc))
