"""The sacrum anchor needs sacral anatomy in the image (shared/data, wrapped: real pixels, SYNTHETIC headers).

Volume: the PAM50 T2 template of sct_testing_data (an average of real healthy T2 scans, brainstem to L2,
resampled to 1 mm in z). Its disc chain's lowest two bodies, with the disc between them, are taken as one
tall bone at the bottom of the field (as a coil-shading ramp made a lumbar field's lowest body and disc look
like one bone): the height and lumbar-spacing rules alone would name it S1 (checked below), but the image
shows a disc of normal signal under its first body, so it is not fused as the sacrum is, and no level is
named; the reason says so in words. Without the image (no sacral check) no sacrum is named at all. The turn
of the canal, the second cue, is checked on a drawn canal: straight, and bending backwards.
"""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
from scipy import ndimage

from tests.unit.workers.analysis.conftest import header
from tests.unit.workers.analysis.test_levels_discs_real_data import TEMPLATE
from workers.analysis.base import QcStatus
from workers.analysis.levels import name_bodies
from workers.analysis.levels.discs import find_discs, to_z
from workers.analysis.levels.sacrum import TURN_DEG, SacrumCheck, _turn, check_sacrum
from workers.analysis.levels.sagittal_canal import SagittalCanal, along, find_canal
from workers.analysis.volume import Volume, load_volume
from workers.phantom.nifti import WrapSpec, wrap_nifti


def _template() -> tuple[Volume, SagittalCanal, list[tuple[float, float]]]:
    if not (TEMPLATE / "PAM50_small_t2.nii.gz").exists():
        pytest.skip("real data not available")
    image = nib.Nifti1Image.from_filename(TEMPLATE / "PAM50_small_t2.nii.gz")
    data = ndimage.zoom(np.asanyarray(image.dataobj).astype(np.float32), (1, 1, 2), order=1)
    square = nib.Nifti1Image(data, image.affine @ np.diag([1.0, 1.0, 0.5, 1.0]))
    volume = load_volume(wrap_nifti(square, WrapSpec("Sag T2", "sagittal"), header()))
    canal = find_canal(volume)
    bodies = [(to_z(canal, top), to_z(canal, bottom)) for top, bottom in find_discs(volume, canal).bodies()]
    assert len(bodies) >= 15
    return volume, canal, bodies


def test_a_lumbar_body_and_the_disc_below_it_are_not_taken_for_the_sacrum() -> None:
    volume, canal, bodies = _template()
    merged = [*bodies[:-2], (bodies[-2][0], bodies[-1][1])]  # the lowest body and the disc under it as one bone
    field = (merged[-1][1] - 1.0, merged[0][0] + 1.0)
    # The rules on heights and spacing alone take it for a sacrum: it is the sacral anatomy that is missing.
    assumed = name_bodies(merged, field, "SPINE Sag T2", sacrum=lambda b: SacrumCheck(True, "assumed"))
    assert assumed.status is QcStatus.OK and assumed.names is not None and assumed.names[-1] == "S1"
    check = check_sacrum(volume, canal, merged)
    assert not check.found
    assert check.why.startswith("the lowest bone does not continue as a sacrum")
    assert "it is not fused as S1 and S2 are" in check.why
    naming = name_bodies(merged, field, "SPINE Sag T2", sacrum=lambda b: check_sacrum(volume, canal, b))
    assert naming.names is None and naming.status is QcStatus.UNRELIABLE
    assert naming.anchor.startswith("sacrum") and "does not continue as a sacrum" in naming.anchor
    # The real, unmerged lowest bodies (lumbar, with their discs) are not a sacrum either.
    assert not check_sacrum(volume, canal, bodies).found


def test_no_sacrum_is_named_without_looking_at_the_image() -> None:
    _, _, bodies = _template()
    merged = [*bodies[:-2], (bodies[-2][0], bodies[-1][1])]
    naming = name_bodies(merged, (merged[-1][1] - 1.0, merged[0][0] + 1.0), "SPINE Sag T2")
    assert naming.names is None and naming.status is QcStatus.UNRELIABLE
    assert "not examined" in naming.anchor


def _drawn(bend_deg: float, at_z: float) -> SagittalCanal:
    """A canal from z 0 down to -200 mm, 10 degrees forward (lumbar lordosis), bending ``bend_deg`` backwards
    (+y in patient coordinates) below ``at_z``."""
    z = np.arange(0.0, -200.0, -1.0)
    upper = np.tan(np.radians(-10.0)) * -z
    lower = upper[z == at_z][0] + np.tan(np.radians(-10.0 + bend_deg)) * (at_z - z)
    y = np.where(z > at_z, upper, lower)
    return along(np.column_stack([np.zeros_like(z), y, z]))


def test_the_canal_must_turn_backwards_over_the_bottom_bone() -> None:
    bodies = [(-20.0, -45.0), (-55.0, -80.0), (-90.0, -115.0), (-125.0, -185.0)]
    turned, why = _turn(_drawn(35.0, -125.0), bodies)
    assert turned and "turns 35 degrees" in why
    straight, why = _turn(_drawn(0.0, -125.0), bodies)
    assert not straight and f"a sacrum turns at least {TURN_DEG:.0f}" in why
    forward, _ = _turn(_drawn(-30.0, -125.0), bodies)  # bending forwards is no sacrum
    assert not forward
