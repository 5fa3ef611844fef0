"""The line along the spine is checked before bodies are profiled along it (shared/data, wrapped: real pixels,
SYNTHETIC headers).

Volumes: the T2 of sct_testing_data (a 55 mm cervical crop) and the PAM50 T2 template of sct_testing_data (an
average of real healthy T2 scans, brainstem to L2, resampled to 1 mm in z, its AP field widened by 60 mm of
empty signal in front so that the spine can be moved forwards inside it). The real cord centre lines pass the
check. A cord line whose lower part is moved 60 mm forwards (as a shading correction once made the cord line of
a lumbar T2 jump in front of the spine) is refused: below the jump no body is profiled, and the levels come
only from the continuous part above it, with a note saying where. The image itself with its lower third
moved 60 mm forwards names no level, and the reason says the line lies in front of the canal.
"""

from __future__ import annotations

from functools import cache

import nibabel as nib
import numpy as np
import pytest
from pydicom.dataset import Dataset
from scipy import ndimage

from tests.unit.workers.analysis.conftest import SCT, header
from workers.analysis.base import QcStatus, SeriesInput
from workers.analysis.levels import LevelEstimate, canal_line, estimate_levels, levels_verdict, marrow_bodies
from workers.analysis.levels.line_check import MAX_TILT_DEG, WOBBLE_MM, breaks, outside, runs
from workers.analysis.levels.sagittal_canal import find_canal
from workers.analysis.volume import Volume, load_volume
from workers.inventory.series import SeriesInventory
from workers.phantom.nifti import WrapSpec, wrap_nifti

TEMPLATE = SCT / "template" / "template" / "PAM50_small_t2.nii.gz"
SHIFT_MM = 60


def _template_image(shift_mm: int) -> nib.Nifti1Image:
    """The template on a field 60 mm wider to the front, its lower third moved ``shift_mm`` forwards."""
    if not TEMPLATE.exists():
        pytest.skip("real data not available")
    image = nib.Nifti1Image.from_filename(TEMPLATE)
    assert nib.aff2axcodes(image.affine)[1] == "A"  # the second voxel axis runs to the front
    data = ndimage.zoom(np.asanyarray(image.dataobj).astype(np.float32), (1, 1, 2), order=1)
    nx, ny, nz = data.shape
    wide = np.zeros((nx, ny + SHIFT_MM, nz), np.float32)
    wide[:, :ny] = data
    low = nz // 3
    wide[:, :, :low] = 0.0
    wide[:, shift_mm : shift_mm + ny, :low] = data[:, :, :low]
    return nib.Nifti1Image(wide, image.affine @ np.diag([1.0, 1.0, 0.5, 1.0]))


@cache
def _template(shift_mm: int) -> tuple[Volume, list[Dataset]]:
    datasets = wrap_nifti(_template_image(shift_mm), WrapSpec("Sag T2", "sagittal"), header())
    return load_volume(datasets), datasets


def _estimate(datasets: list[Dataset]) -> LevelEstimate:
    series = SeriesInput(SeriesInventory("t", "", "", len(datasets), plane="sagittal", sequence="T2"), datasets)
    estimate = estimate_levels([series])
    assert estimate is not None
    return estimate


def test_the_real_cord_lines_pass_the_check() -> None:
    path = SCT / "t2" / "t2.nii.gz"
    if not path.exists():
        pytest.skip("real data not available")
    crop = load_volume(wrap_nifti(nib.load(path), WrapSpec("Sag T2", "sagittal"), header()))  # type: ignore[arg-type]
    line = canal_line(crop)
    assert breaks(line) == []
    assert outside(line, find_canal(crop).as_line()) == []
    volume, _ = _template(0)
    line = canal_line(volume)
    assert breaks(line) == []
    # The template's field starts in the brainstem: above the spine, the cord line (the brainstem) and the line
    # followed as a canal part. Over the spine they agree.
    parts = outside(line, find_canal(volume).as_line())
    assert all(part.z_low > 200.0 for part in parts)
    # The bound is physical, above what the real line does: its largest step is a few mm.
    d = np.diff(line, axis=0)
    assert np.hypot(d[:, 0], d[:, 1]).max() < WOBBLE_MM
    assert len(runs(line)) == 1 and runs(line)[0].shape == line.shape  # no break: one run, the whole line
    assert MAX_TILT_DEG <= 75.0


def test_a_cord_line_jumping_forwards_is_profiled_only_above_the_jump() -> None:
    volume, _ = _template(0)
    line = canal_line(volume)
    canal = find_canal(volume).as_line()
    # The jump alone (no canal to compare with: the template's brainstem part would be cut off too).
    whole, naming, notes = marrow_bodies(volume, volume, line, None, "SPINE Sag T2")
    assert notes == () and len(whole) >= 15  # the template's marrow profile: the bodies, named by its discs
    # The lower part of the line moved 60 mm forwards (-y in patient coordinates): it runs through the bodies
    # and in front of them.
    jump_z = -100.0
    moved = line.copy()
    moved[moved[:, 2] < jump_z, 1] -= SHIFT_MM
    found = breaks(moved)
    assert len(found) == 1 and found[0].words().startswith(f"the line along the spine jumps {SHIFT_MM} mm forwards")
    assert abs(found[0].z - jump_z) < 2.0
    parts = outside(moved, canal)
    below = [part for part in parts if part.z_high < jump_z]
    assert len(below) == 1 and below[0].forwards_mm >= SHIFT_MM - WOBBLE_MM  # the real line's own offset besides
    assert (
        below[0].z_high == pytest.approx(jump_z, abs=1.0) and "mm in front of the canal from z = " in below[0].words()
    )
    kept = runs(moved, canal)
    assert kept and all(run[:, 2].min() > jump_z for run in kept)
    bodies, naming, notes = marrow_bodies(volume, volume, moved, None, "SPINE Sag T2")
    assert naming.names is None and naming.status is not QcStatus.OK
    assert naming.anchor.startswith(f"the line along the spine jumps {SHIFT_MM} mm forwards at z = ")
    assert "levels cannot be counted across it; on its longest continuous part (z = -100 to" in naming.anchor
    assert notes and "levels cannot be counted across it" in notes[0]
    # Only the bodies above the jump are profiled (the marrow signal is that of the part profiled).
    assert len(bodies) >= 10 and min(bottom for _, bottom in bodies) > jump_z
    # Unmoved, the same line gives the marrow profile's own reason, with no break in it.
    assert "line along the spine" not in marrow_bodies(volume, volume, line, None, "SPINE Sag T2")[1].anchor


def test_an_image_with_its_lower_part_moved_forwards_names_no_level() -> None:
    _, datasets = _template(0)
    unperturbed = _estimate(datasets)
    assert unperturbed.status is QcStatus.OK and "C2" in unperturbed.levels
    _, moved = _template(SHIFT_MM)
    estimate = _estimate(moved)
    assert not estimate.levels
    verdict = levels_verdict(estimate)
    assert verdict.status is not QcStatus.OK
    assert (
        "in front of the canal from z = " in verdict.reason and "levels cannot be counted across it" in verdict.reason
    )
    assert estimate.notes and "in front of the canal" in estimate.notes[0]
