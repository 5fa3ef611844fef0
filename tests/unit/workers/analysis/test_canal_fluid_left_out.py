"""Ventral epidural fluid is looked for only on the slices the cord QC kept: a slice it left out (here an
outline far darker than the cord of the neighbouring slices) yields no fluid, even where the rays see it."""

from __future__ import annotations

import numpy as np

from workers.analysis.canal import _outcome, epidural_fluid_slices
from workers.analysis.cord.axial_view import AxialView
from workers.analysis.cord.boundary import rasterise
from workers.analysis.cord.segmentation import N_ANGLES, CordSegmentation
from workers.analysis.volume import Volume

NZ, NY, NX = 14, 96, 96
SPACING = (3.0, 0.5, 0.5)  # mm: slices, rows (AP), columns (RL)
CENTRE = (48.0, 48.0)
FLUID = (2, 3, 4, 5)  # slices with a ventral fluid layer in front of the dura
DARK_CORD = (2, 3)  # slices whose cord is far darker than that of the others: left out by the cord QC


def _synthetic() -> tuple[Volume, CordSegmentation]:
    """An axial stack (LPS, y along +y: anterior is -y): tissue, a CSF-bright canal of radius 7 mm, an
    elliptic cord (5 mm RL, 3.5 mm AP half-axes) inside; on ``FLUID`` a CSF-bright layer 8-11 mm in front of
    the centre, behind a dark line (the dura) at the canal's edge."""
    _, sy, sx = SPACING
    yy, xx = np.mgrid[0:NY, 0:NX]
    dy, dx = (yy - CENTRE[0]) * sy, (xx - CENTRE[1]) * sx
    canal = np.hypot(dy, dx) <= 7.0
    cord = (dx / 5.0) ** 2 + (dy / 3.5) ** 2 <= 1.0
    layer = (dy <= -8.0) & (dy >= -11.0) & (np.abs(dx) <= 6.0)
    array = np.full((NZ, NY, NX), 20.0)
    for k in range(NZ):
        array[k][canal] = 100.0
        array[k][cord] = 5.0 if k in DARK_CORD else 40.0
        if k in FLUID:
            array[k][layer] = 100.0
    volume = Volume(
        array=array,
        row_direction=np.array([1.0, 0.0, 0.0]),
        column_direction=np.array([0.0, 1.0, 0.0]),
        positions=np.array([[0.0, 0.0, -SPACING[0] * k] for k in range(NZ)]),
        pixel_spacing=(sy, sx),
        sop_instance_uids=tuple(f"1.2.3.{k}" for k in range(NZ)),
        series_instance_uid="1.2.3",
    )
    view = AxialView.of(volume)
    angles = np.arange(N_ANGLES) * 2 * np.pi / N_ANGLES
    ellipse = 1.0 / np.hypot(np.cos(angles) / 5.0, np.sin(angles) / 3.5)  # mm, angle from the view's x axis
    found = np.ones(NZ, dtype=bool)
    centres = np.tile(CENTRE, (NZ, 1))
    radii = np.tile(ellipse, (NZ, 1))
    mask = rasterise(view.array.shape, view.spacing, centres, radii, found)
    seg = CordSegmentation(
        view=view,
        centres=centres,
        radii=radii,
        found=found,
        mask=mask,
        raw_path=centres.copy(),
        midline_x=np.full(NZ, CENTRE[1]),
    )
    return volume, seg


def test_a_left_out_slice_yields_no_fluid() -> None:
    volume, seg = _synthetic()
    seen = np.nonzero(epidural_fluid_slices(seg))[0].tolist()
    assert seen == list(FLUID)  # the rays see the layer on every slice that has it, the left-out ones too
    outcome = _outcome("canal_fluid", "1.2.3", volume, seg)
    assert outcome.verdict.ok, outcome.verdict.reason
    assert "left out" in outcome.verdict.reason  # the dark-cord slices, named
    assert outcome.fluid is not None
    kept = sorted(set(FLUID) - set(DARK_CORD))
    assert outcome.fluid.sop_instance_uids == tuple(volume.sop_instance_uids[k] for k in kept)
