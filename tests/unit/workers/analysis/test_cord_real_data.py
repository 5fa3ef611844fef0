"""Cord segmentation on real MRI (sct_testing_data, wrapped as DICOM: real pixels, synthetic headers) against
the expert manual masks. No constant of the method was set against these masks; the bounds sit a little
below what the method gives (2026-12-01, closed polar contour) so that they catch a regression:
T2: Dice >= 0.97 and mean CSA within 5 % in both wrapped planes (measured 0.985, +0.1 %); T1 (CSF dark):
Dice >= 0.90 (0.926); T2* GRE: Dice >= 0.88 (0.905 with its top slice, left out by the QC; 0.859 before the slice
where the cord touches the canal wall behind it was found from its contour); thick-slice
MT-on: Dice >= 0.92 and CSA within 10 % (0.949, +4 %; it was 0.85 and +33 % with independent rays); thick-slice
MT-off: Dice >= 0.92 and CSA within 12 % (0.948, +10.1 % since the slope is read against the local rise; 0.941
and +12.1 % before; 0.920 and +3.2 % when its top slice was outlined on half the cord only, below; 0.41 before
the candidates had to lie inside the canal). Its expert outline lies at a quarter of the rise from cord to
fluid, the other volumes' at 35-42 % and ours at 42-45 % on all of them: the CSA bound is wider than the others
for that reason, not for a wrong structure.

The canal-interior score is also checked on a drawn slice: a grey cord in a bright CSF ring inside a dark
wall, and a darker line behind the ring."""

from __future__ import annotations

import numpy as np
import pytest

from workers.analysis.cord.axial_view import AxialView
from workers.analysis.cord.canal_score import canal_interior, canal_scores
from workers.analysis.cord.centreline import Polarity, _viterbi, polarity_of
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
    assert dice >= 0.97, dice
    assert abs(csa_error) <= 0.05, csa_error
    assert n == 55


def test_t1_cord_with_dark_csf(wrap) -> None:
    assert polarity_of("T1") is Polarity.CSF_DARK
    dice, _, _ = _dice_and_csa(wrap, "t1/t1w.nii.gz", "t1/t1w_seg-manual.nii.gz", "sagittal", "T1")
    assert dice >= 0.90, dice


def test_t2star_cord(wrap) -> None:
    dice, _, _ = _dice_and_csa(wrap, "t2s/t2s.nii.gz", "t2s/t2s_seg.nii.gz", "axial", "T2STAR")
    assert dice >= 0.88, dice


def test_t2star_slice_where_the_cord_touches_the_canal_wall_is_found(wrap) -> None:
    # On slice 7 no fluid lies behind the cord, so its canal score is below the threshold; it lies between
    # found slices and its contour is darker than the fluid around it: found, and on the cord.
    volume = load_volume(wrap("t2s/t2s.nii.gz", "axial"))
    view = AxialView.of(volume)
    manual = AxialView.of(load_volume(wrap("t2s/t2s_seg.nii.gz", "axial"))).array > 0.5
    seg = segment_cord(view, polarity=Polarity.CSF_BRIGHT)
    assert seg.path_scores[6] < 0.08 and seg.found.all()
    dice = 2 * (seg.mask[6] & manual[6]).sum() / (seg.mask[6].sum() + manual[6].sum())
    assert dice >= 0.85, dice  # measured 0.878


def test_thick_slice_mt_on_cord_is_not_overgrown(wrap) -> None:
    # 17 mm slices where little CSF separates the cord from the canal wall behind it: the outline must not
    # run on to the next edge outside the cord.
    dice, csa_error, n = _dice_and_csa(wrap, "mt/mt1.nii.gz", "mt/mt1_seg.nii.gz", "axial", "MT")
    assert dice >= 0.92, dice
    assert abs(csa_error) <= 0.10, csa_error
    assert n == 5


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


def test_thick_slice_mt_off_cord_is_not_the_dark_line_behind_the_canal(wrap) -> None:
    dice, csa_error, n = _dice_and_csa(wrap, "mt/mt0.nii.gz", "mt/mt0_seg.nii.gz", "axial", "MT")
    assert dice >= 0.92, dice
    assert abs(csa_error) <= 0.12, csa_error
    assert n == 5


def test_outline_is_not_stopped_by_an_edge_inside_the_cord(wrap) -> None:
    # The top slice of the 17 mm MT-off slices: an edge inside the cord, brighter tissue beyond it and cord
    # again before the fluid, stopped the outline at half the cord (Dice 0.71, 38 mm2). The cord left outside
    # between the outline and the fluid now costs what fluid inside it does: the whole cord (measured Dice
    # 0.87), and the same area as the MT-on image's outline of the same slice on the same grid (69.8 and 69.1).
    views = {name: AxialView.of(load_volume(wrap(f"mt/{name}.nii.gz", "axial"))) for name in ("mt0", "mt1")}
    manual = AxialView.of(load_volume(wrap("mt/mt0_seg.nii.gz", "axial"))).array[0] > 0.5
    areas = {}
    for name, view in views.items():
        seg = segment_cord(view, polarity=Polarity.CSF_BRIGHT)
        areas[name] = float(seg.mask[0].sum()) * view.spacing[1] * view.spacing[2]
        if name == "mt0":
            dice = 2 * (seg.mask[0] & manual).sum() / (seg.mask[0].sum() + manual.sum())
            assert dice >= 0.80, dice
    assert abs(areas["mt0"] / areas["mt1"] - 1) <= 0.10, areas


def test_canal_interior_scores_the_cord_and_not_a_darker_line_outside_the_canal() -> None:
    # One drawn 0.5 mm slice: dark wall (0.1), a bright CSF canal (1.0, 8 mm radius) holding a grey cord (0.5,
    # 4 mm), and behind the canal a darker band (0.0, 3 mm wide) between the wall and brighter muscle (0.6).
    yy, xx = np.mgrid[0:80, 0:80] * 0.5
    image = np.full((80, 80), 0.1, np.float32)
    image[yy > 30] = 0.6
    image[(yy > 26) & (yy <= 29) & (np.abs(xx - 20) < 6)] = 0.0
    canal = np.hypot(yy - 16, xx - 20)
    image[canal <= 8] = 1.0
    image[canal <= 4] = 0.5
    volume, spacing = image[None], (1.0, 0.5, 0.5)
    interior = canal_interior(volume, spacing)[0]
    cord, line = interior[32, 40], interior[55, 40]
    assert cord >= 0.3 and line <= 0.05, (cord, line)
    # The black top-hat alone prefers the darker line: that is why the interior score is needed.
    tophat = canal_scores(volume, spacing)[0]
    assert tophat[55, 40] > tophat[32, 40]


def test_centre_line_is_not_charged_for_a_peak_jittering_by_a_pixel_across_thick_columns() -> None:
    # Sagittal 3 mm slices seen axially: a cord spanning three columns has its score peak on column 6 or 7
    # from slice to slice (score 0.3); a weaker structure (0.05) lies still on column 7 far behind it. The
    # path must stay on the cord: a one-pixel jitter is the peak's localisation, not a displacement.
    cands = [np.array([[150.0, 6.0 + (k % 2)], [190.0, 7.0]]) for k in range(40)]
    vals = [np.array([0.3, 0.05]) for _ in range(40)]
    path = _viterbi(cands, vals, (1.0, 1.0, 3.0))
    assert np.all(path[:, 0] == 150.0)
