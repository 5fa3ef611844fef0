"""C2 named from the tall bone above the first disc, cut by the top edge of the field (no dens tip needed).

Real data (shared/data, wrapped as DICOM: real pixels, SYNTHETIC headers): the PAM50 T2 template of
sct_testing_data, whole and with its top cut 10 mm above its C2/C3 disc label. Neither may name a level: the
whole template has disc-like signal in its skull base and C1/C2 region above the first disc of the chain
(the bone "may hold a disc that was not found"); the cut one keeps only a bone no taller than a vertebra
below C2. The template with its top cut 1-21 mm (the top edge in the skull base, above the C1/C2 junction
that the chain takes for discs) was named C2-L5, three to four vertebrae off; it must now name no level,
because the tall region above its first "disc" is not marrow-like. The rule itself (:func:`c2_column`) on
disc chains with stated positions: a tall disc-free bone at cervical spacing, marrow-like over at least half
its height, is C2; at lumbar spacing, holding disc-like signal, or not marrow-like, it is not. No shared
volume shows enough of C2 for the named branch to name levels on real pixels; that is measured by
``benchmarks/accuracy_levels.py`` on the public full-field scan (not in the tests).
"""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
from scipy import ndimage

from tests.unit.workers.analysis.conftest import header
from tests.unit.workers.analysis.test_levels_discs_real_data import TEMPLATE
from workers.analysis.base import QcStatus
from workers.analysis.levels.discs import DiscChain
from workers.analysis.levels.from_discs import c2_column, name_from_discs
from workers.analysis.volume import load_volume
from workers.phantom.nifti import WrapSpec, wrap_nifti

C2_C3_LABEL_Z = 180.0  # PAM50_small_label_disc value 3 (top of C3) on the cord centre, patient z


def _template_cut(top_z: float | None) -> object:
    if not (TEMPLATE / "PAM50_small_t2.nii.gz").exists():
        pytest.skip("real data not available")
    image = nib.Nifti1Image.from_filename(TEMPLATE / "PAM50_small_t2.nii.gz")
    data = ndimage.zoom(np.asanyarray(image.dataobj).astype(np.float32), (1, 1, 2), order=1)
    affine = image.affine @ np.diag([1.0, 1.0, 0.5, 1.0])
    if top_z is not None:
        data = data[:, :, : int(round((top_z - affine[2, 3]) / affine[2, 2])) + 1]
    return load_volume(wrap_nifti(nib.Nifti1Image(data, affine), WrapSpec("Sag T2", "sagittal"), header()))


def test_template_cut_just_above_c2_c3_names_no_level_and_says_the_top_bone_is_short() -> None:
    result = name_from_discs(_template_cut(C2_C3_LABEL_Z + 10.0), "SPINE Sag T2")  # type: ignore[arg-type]
    assert result.naming.names is None
    assert result.naming.status is QcStatus.FAILED
    assert "no taller than a vertebra below C2" in result.naming.anchor
    tops = [top for top, _ in result.bodies]
    assert min(abs(t - C2_C3_LABEL_Z) for t in tops[1:3]) < 8.0  # the C2/C3 disc itself was found


def test_whole_template_names_no_level_because_its_top_bone_holds_disc_like_signal() -> None:
    result = name_from_discs(_template_cut(None), "SPINE Sag T2")  # type: ignore[arg-type]
    assert result.naming.names is None
    assert "may hold a disc that was not found" in result.naming.anchor


@pytest.mark.parametrize("top_z", [252.0, 262.0, 272.0])  # the template's field ends at z = 273.5
def test_template_cut_in_the_skull_base_names_no_level(top_z: float) -> None:
    result = name_from_discs(_template_cut(top_z), "SPINE Sag T2")  # type: ignore[arg-type]
    assert result.naming.names is None, f"named {result.naming.names} ({result.naming.anchor})"
    assert result.naming.status is QcStatus.FAILED
    assert "looks like vertebral marrow over only" in result.naming.anchor
    # The chain did take a disc-like junction above the C2/C3 disc for a disc (what misled the rule).
    assert result.bodies[0][1] > C2_C3_LABEL_Z + 20.0


def _chain(discs: list[float], signal_above: float, field_top: float = 0.0, marrow_from: float = 8.0) -> DiscChain:
    """A chain whose top bone is marrow-like from ``marrow_from`` mm below the field's top to the first disc."""
    half = 0.125 * float(np.median(np.diff(discs)))
    return DiscChain(
        tuple(discs), (field_top + marrow_from, discs[0] - half), (discs[-1] + half, discs[-1] + 12.0), True,
        False, discs[-1] + 20.0, field_top, signal_above,
    )  # fmt: skip


def test_tall_disc_free_top_bone_at_cervical_spacing_is_c2() -> None:
    assert c2_column(_chain([24.0, 41.0, 58.0, 75.0, 92.0], 0.3)).found


def test_top_bone_with_disc_like_signal_or_lumbar_spacing_or_short_is_not_c2() -> None:
    missed = c2_column(_chain([24.0, 41.0, 58.0, 75.0, 92.0], 0.7))
    assert not missed.found and "may hold a disc" in missed.why
    lumbar = c2_column(_chain([50.0, 84.0, 118.0, 152.0, 186.0], 0.2))
    assert not lumbar.found and "not cervical" in lumbar.why
    short = c2_column(_chain([14.0, 31.0, 48.0, 65.0, 82.0], 0.2))
    assert not short.found and "no taller than a vertebra below C2" in short.why
    short_lumbar = c2_column(_chain([20.0, 54.0, 88.0, 122.0, 156.0], 0.2))
    assert not short_lumbar.found and short_lumbar.why == ""  # nothing said about C2 at a lumbar spacing


def test_tall_top_bone_not_marrow_like_over_half_its_height_is_not_c2() -> None:
    discs = [34.0, 51.0, 68.0, 85.0, 102.0]  # column 34 - 2.1 - 3 = 28.9 mm at cervical spacing, no disc in it
    assert c2_column(_chain(discs, 0.3, marrow_from=14.0)).found  # marrow over 17.9 of 28.9 mm
    soft = c2_column(_chain(discs, 0.3, marrow_from=18.0))  # marrow over 13.9 of 28.9 mm
    assert not soft.found and "may be the skull base" in soft.why
