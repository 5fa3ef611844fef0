"""Second cues on the bodies found on real T2w MRI (sct_testing_data t2, wrapped: real pixels, synthetic
headers): its three bodies (C3-C5 by ``labels.nii.gz``) are named as an anchor would name them, and then

- a header saying head or brain (a brain field ends near C4) contradicts names that run below C4: no level
  is named and the reason says so, while the same names under a cervical header, or names ending at C4
  under a head header, are kept;
- a bone at the end of the chain that is only a fragment (cut by the field: under half the median body) is
  left unnamed, so no level extent is given to it; the real bodies are all kept;
- the PAM50 T2 template upside down: the tall bone at the bottom lies under bodies at cervical spacing, so it
  is no sacrum (bodies above a sacrum are lumbar, at least 24 mm apart).
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from scipy import ndimage

from tests.unit.workers.analysis.conftest import SCT, header
from tests.unit.workers.analysis.test_levels_discs_real_data import TEMPLATE
from workers.analysis.base import QcStatus
from workers.analysis.levels import body_profile, canal_line, find_bodies, name_bodies, without_end_fragments
from workers.analysis.levels.naming import FRAGMENT, HEAD_LOWEST, LUMBAR_PITCH_MM, confirm, region_of
from workers.analysis.volume import load_volume
from workers.phantom.nifti import WrapSpec, wrap_nifti

ANCHOR = "C2 (body and dens at the top of the field)"


def _real_bodies() -> list[tuple[float, float]]:
    if not Path(SCT / "t2/t2.nii.gz").exists():
        pytest.skip("real data not available")
    volume = load_volume(wrap_nifti(nib.load(SCT / "t2/t2.nii.gz"), WrapSpec("Sag T2", "sagittal"), header()))
    z, deviation = body_profile(volume, canal_line(volume))
    bodies = find_bodies(z, deviation)
    assert len(bodies) == 3
    return bodies


def test_head_header_contradicts_names_below_c4() -> None:
    bodies = _real_bodies()
    assert region_of("HEAD Sag T2 brain") == "head"
    refused = confirm(bodies, ["C3", "C4", "C5"], ANCHOR, "cervical", "HEAD Sag T2 brain")
    assert refused.names is None and refused.status is QcStatus.UNRELIABLE
    assert f"the header says head (HEAD Sag T2 brain), whose field ends near {HEAD_LOWEST}" in refused.anchor
    assert "run to C5" in refused.anchor
    kept = confirm(bodies, ["C3", "C4", "C5"], ANCHOR, "cervical", "CSPINE Sag T2 C-spine")
    assert kept.names == ["C3", "C4", "C5"] and kept.status is QcStatus.OK
    upper = confirm(bodies, ["C2", "C3", "C4"], ANCHOR, "cervical", "HEAD Sag T2 brain")
    assert upper.names == ["C2", "C3", "C4"]


def test_end_fragment_is_left_unnamed_and_real_bodies_kept() -> None:
    bodies = _real_bodies()
    names = ["C3", "C4", "C5"]
    assert without_end_fragments(bodies, names) == (bodies, names)
    last_bottom = bodies[-1][1]
    fragment = (last_bottom - 4.0, last_bottom - 5.0)  # 1 mm of bone below the last disc, cut by the field
    kept, named = without_end_fragments([*bodies, fragment], [*names, "C6"])
    assert kept == bodies and named == names
    # The anchor's own end is kept however short: C2 at the top (its dens may be cut by the field).
    short_top = (bodies[0][0] + 6.0, bodies[0][0] + 5.0)
    kept, named = without_end_fragments([short_top, *bodies], ["C2", *names])
    assert named[0] == "C2" and len(kept) == 4
    heights = [top - bottom for top, bottom in bodies]
    assert min(heights) >= FRAGMENT * max(heights)  # no real body is a fragment


def test_flipped_template_bottom_bone_is_not_a_sacrum() -> None:
    """The PAM50 T2 template (real data) upside down: its skull base and C1-C2 are now the tallest bone at
    the bottom of the field, under bodies at cervical spacing; it is not taken for a sacrum."""
    if not (TEMPLATE / "PAM50_small_t2.nii.gz").exists():
        pytest.skip("real data not available")
    image = nib.Nifti1Image.from_filename(TEMPLATE / "PAM50_small_t2.nii.gz")
    data = ndimage.zoom(np.asanyarray(image.dataobj).astype(np.float32), (1, 1, 2), order=1)[:, :, ::-1]
    affine = image.affine @ np.diag([1.0, 1.0, 0.5, 1.0])
    flipped = nib.Nifti1Image(np.ascontiguousarray(data), affine)
    volume = load_volume(wrap_nifti(flipped, WrapSpec("Sag T2", "sagittal"), header()))
    z, deviation = body_profile(volume, canal_line(volume))
    bodies = find_bodies(z, deviation)
    naming = name_bodies(bodies, (float(z[0]), float(z[-1])), "SPINE Sag T2")
    assert naming.names is None and naming.status is QcStatus.UNRELIABLE
    assert naming.anchor.startswith("sacrum") and "it is not a sacrum" in naming.anchor
    pitch = float(np.median(-np.diff([top for top, _ in bodies[-5:]])))
    assert pitch < LUMBAR_PITCH_MM
