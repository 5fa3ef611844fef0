"""FA/MD and MTR on real cord MRI (sct_testing_data dmri and mt, wrapped as DICOM: real pixels, synthetic
headers), against references computed directly on the NIfTI files."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from dipy.core.gradients import gradient_table
from dipy.reconst.dti import TensorModel
from scipy import ndimage
from series_inputs import series_input

from workers.analysis.base import QcStatus
from workers.analysis.cord.axial_view import AxialView
from workers.analysis.cord.quantitative import DtiAnalyser, MtrAnalyser, load_diffusion, mtr_map
from workers.analysis.volume import Volume, load_volume

SCT = str(Path(__file__).resolve().parents[5] / "shared" / "data" / "sct_testing_data") + "/"


def test_dti_fa_md_match_dipy_on_the_nifti(wrap) -> None:
    bvals = np.loadtxt(SCT + "dmri/bvals.txt")
    bvecs = np.loadtxt(SCT + "dmri/bvecs.txt")
    datasets = wrap("dmri/dmri.nii.gz", "axial", b_values=bvals, b_vectors=bvecs)
    series = series_input(datasets, series_uid="x", sequence="DTI", plane="axial")
    analyser = DtiAnalyser()
    assert analyser.select([series]) is series
    result = analyser.run(series, {})
    mask = result.details["mask"]
    assert 200 <= mask.sum() <= 710  # a cord of 30-100 mm2 over 5 slices of 0.84 mm pixels
    # Reference: dipy on the NIfTI itself, FSL gradients, in the same voxels.
    img = nib.load(SCT + "dmri/dmri.nii.gz")
    grid = load_diffusion(datasets).grid
    view = AxialView.of(grid)
    k, r, c = np.nonzero(mask)
    ras = grid.to_patient(np.column_stack([k, r, c])) * [-1, -1, 1]
    ijk = np.rint(nib.affines.apply_affine(np.linalg.inv(img.affine), ras)).astype(int)
    ref_mask = np.zeros(img.shape[:3], dtype=bool)
    ref_mask[tuple(ijk.T)] = True
    fit = TensorModel(gradient_table(bvals, bvecs=bvecs)).fit(np.asanyarray(img.dataobj).astype(float), mask=ref_mask)
    fa = next(m for m in result.measurements if m.name == "cord FA").value
    md = next(m for m in result.measurements if m.name == "cord MD").value
    assert fa == pytest.approx(float(fit.fa[ref_mask].mean()), abs=0.005)
    assert md == pytest.approx(float(fit.md[ref_mask].mean()), rel=0.01)
    assert view.array.shape == grid.array.shape
    # The automatic mask lies on the cord: within 3 mm of SCT's centre line (OptiC) of this series.
    centre_line = np.asanyarray(nib.load(SCT + "dmri/dwi_mean_centerline-optic.nii.gz").dataobj) > 0
    ref_points = nib.affines.apply_affine(img.affine, np.argwhere(centre_line))
    ours = ras.mean(axis=0)
    assert np.min(np.linalg.norm(ref_points[:, :2] - ours[:2], axis=1)) <= 3.0


def test_mtr_in_reference_cord_mask_within_2_points(wrap) -> None:
    off = series_input(
        wrap("mt/mt0.nii.gz", "axial"), series_uid="off", sequence="MT", plane="axial", description="mt0"
    )
    on_ds = wrap("mt/mt1.nii.gz", "axial")
    for ds in on_ds:
        ds.SequenceVariant = ["SP", "MTC"]
    on = series_input(on_ds, series_uid="on", sequence="MT", plane="axial", description="mt1")
    analyser = MtrAnalyser()
    assert analyser.select([off, on]) == (off, on)
    # The reference map is on the MT-on grid (MT-off registered onto it) with its mask mt1_seg; ours is on the
    # MT-off grid (MT-on registered onto it), so the given mask is the expert's MT-off mask.
    mask_on = load_volume(wrap("mt/mt1_seg.nii.gz", "axial")).array > 0.5
    mask_off = load_volume(wrap("mt/mt0_seg.nii.gz", "axial")).array > 0.5
    result = analyser.run((off, on), {"mt_cord_mask": mask_off})
    ref = load_volume(wrap("mt/mtr.nii.gz", "axial")).array
    reference = float(np.mean(ref[mask_on & np.isfinite(ref)]))
    measured = result.measurements[0].value
    assert abs(measured - reference) <= 2.0, (measured, reference)


def test_mtr_map_rejects_different_grids(wrap) -> None:
    a = load_volume(wrap("mt/mt0.nii.gz", "axial"))
    b = Volume(a.array, a.row_direction, a.column_direction, a.positions + 5.0, a.pixel_spacing, a.sop_instance_uids)
    with pytest.raises(ValueError, match="one grid"):
        mtr_map(a, b)


def test_mtr_in_the_automatic_eroded_mask_within_3_points_of_the_reference(wrap) -> None:
    off = series_input(wrap("mt/mt0.nii.gz", "axial"), series_uid="off", sequence="MT", plane="axial")
    on_ds = wrap("mt/mt1.nii.gz", "axial")
    for ds in on_ds:
        ds.SequenceVariant = ["SP", "MTC"]
    on = series_input(on_ds, series_uid="on", sequence="MT", plane="axial")
    result = MtrAnalyser().run((off, on), {})
    ref = load_volume(wrap("mt/mtr.nii.gz", "axial")).array
    mask_on = load_volume(wrap("mt/mt1_seg.nii.gz", "axial")).array > 0.5
    reference = float(np.mean(ref[mask_on & np.isfinite(ref)]))
    measured = result.measurements[0].value
    assert abs(measured - reference) <= 3.0, (measured, reference)
    # The eroded mask is smaller than the contour but keeps every slice of it.
    mask = result.details["mask"]
    assert 0 < mask.sum() and all(mask[k].any() for k in range(mask.shape[0]))


@pytest.mark.parametrize(("rows", "cols", "degrees"), [(6, 0, 0.0), (4, 4, 0.0), (3, -3, 10.0)])
def test_mtr_stays_within_3_points_with_the_mt_on_image_moved(wrap, rows: int, cols: int, degrees: float) -> None:
    # The patient moved between MT-off and MT-on: the real MT-on pixels shifted (up to 6 pixels, 5 mm), once
    # with a 10 degree in-plane turn. The in-plane registration puts them back: the MTR in the automatic mask
    # keeps within 3 points of the reference map in the expert mask, with an ok verdict (without registration
    # the shifted pairs give -3 to 12 %).
    off = series_input(wrap("mt/mt0.nii.gz", "axial"), series_uid="off", sequence="MT", plane="axial")
    on_ds = wrap("mt/mt1.nii.gz", "axial")
    for ds in on_ds:
        pixels = ds.pixel_array.astype(np.float64)
        moved = ndimage.shift(pixels, (rows, cols), order=1, mode="nearest")
        if degrees:
            moved = ndimage.rotate(moved, degrees, reshape=False, order=1, mode="nearest")
        dtype = ds.pixel_array.dtype
        ds.PixelData = np.clip(np.rint(moved), 0, np.iinfo(dtype).max).astype(dtype).tobytes()
        ds.SequenceVariant = ["SP", "MTC"]
    on = series_input(on_ds, series_uid="on", sequence="MT", plane="axial")
    result = MtrAnalyser().run((off, on), {})
    assert result.qc[0].status is QcStatus.OK, result.qc[0].reason
    ref = load_volume(wrap("mt/mtr.nii.gz", "axial")).array
    mask_on = load_volume(wrap("mt/mt1_seg.nii.gz", "axial")).array > 0.5
    reference = float(np.mean(ref[mask_on & np.isfinite(ref)]))
    assert abs(result.measurements[0].value - reference) <= 3.0, (result.measurements[0].value, reference)
