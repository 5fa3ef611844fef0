"""Cord segmentation on real MRI (sct_testing_data, wrapped as DICOM: real pixels, synthetic headers) against
the expert manual masks. T2: Dice >= 0.93 and mean CSA within 10 % in both wrapped planes (no constant of the
method was set on this volume's mask any more); T1 (CSF dark): Dice >= 0.85; T2* GRE: Dice >= 0.80 (below the
0.90 target: the method is not there yet on this contrast, the test keeps it from getting worse; it was 0.70
before the centre line was re-tracked without candidates far darker than the cord)."""

from __future__ import annotations

import numpy as np
import pytest

from workers.analysis.cord.axial_view import AxialView
from workers.analysis.cord.centreline import Polarity, polarity_of
from workers.analysis.cord.morphometry import slice_morphometry
from workers.analysis.cord.segmentation import segment_cord
from workers.analysis.volume import load_volume


def _dice_and_csa(wrap, image: str, mask: str, plane: str, sequence: str) -> tuple[float, float, int]:
    volume = load_volume(wrap(image, plane))
    manual = load_volume(wrap(mask, plane)).array > 0.5
    view = AxialView.of(volume)
    seg = segment_cord(view, polarity=polarity_of(sequence))
    ours = view.to_source(seg.mask)
    dice = 2.0 * (ours & manual).sum() / (ours.sum() + manual.sum())
    # Mean CSA: ours (angle-corrected contour area) vs the manual mask's voxel area with the same angle.
    slices = slice_morphometry(seg)
    manual_view = AxialView.of(volume.with_array(manual.astype(np.float32))).array > 0.5
    _, sy, sx = view.spacing
    manual_csa = [manual_view[s.slice_index].sum() * sy * sx * np.cos(np.radians(s.angle_deg)) for s in slices]
    ours_csa = [s.csa_mm2 for s in slices]
    return float(dice), float(np.mean(ours_csa) / np.mean(manual_csa) - 1.0), len(slices)


@pytest.mark.parametrize("plane", ["sagittal", "axial"])
def test_t2_cord_mask_matches_manual_mask(plane: str, wrap) -> None:
    dice, csa_error, n = _dice_and_csa(wrap, "t2/t2.nii.gz", "t2/t2_seg-manual.nii.gz", plane, "T2")
    assert dice >= 0.93, dice
    assert abs(csa_error) <= 0.10, csa_error
    assert n == 55


def test_t1_cord_with_dark_csf(wrap) -> None:
    assert polarity_of("T1") is Polarity.CSF_DARK
    dice, _, _ = _dice_and_csa(wrap, "t1/t1w.nii.gz", "t1/t1w_seg-manual.nii.gz", "sagittal", "T1")
    assert dice >= 0.85, dice


def test_t2star_cord(wrap) -> None:
    dice, _, _ = _dice_and_csa(wrap, "t2s/t2s.nii.gz", "t2s/t2s_seg.nii.gz", "axial", "T2STAR")
    assert dice >= 0.80, dice


def test_centre_line_on_t2_within_a_millimetre(wrap) -> None:
    volume = load_volume(wrap("t2/t2.nii.gz", "sagittal"))
    manual = AxialView.of(load_volume(wrap("t2/t2_seg-manual.nii.gz", "sagittal"))).array > 0.5
    view = AxialView.of(volume)
    seg = segment_cord(view)
    errors = [
        np.hypot(*((np.argwhere(manual[k]).mean(axis=0) - seg.centres[k]) * view.spacing[1:]))
        for k in range(len(manual))
        if manual[k].any() and seg.found[k]
    ]
    assert np.median(errors) <= 1.0 and len(errors) == 55
