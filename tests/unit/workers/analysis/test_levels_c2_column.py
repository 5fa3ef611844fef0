"""C2 named from the tall bone above the first disc, cut by the top edge of the field (no dens tip needed).

Real data (shared/data, wrapped as DICOM: real pixels, SYNTHETIC headers): the PAM50 T2 template of
sct_testing_data, whole and with its top cut 10 mm above its C2/C3 disc label. Neither may name a level: the
whole template's top bone runs from the skull base to the first disc of the chain, more than three bodies
tall, taller than C2 with its dens could be (it also holds disc-like signal); the cut one keeps only a bone
no taller than a vertebra below C2. The template with its top cut 1-21 mm (the top edge in the skull base,
above the C1/C2 junction that the chain takes for discs) was named C2-L5, three to four vertebrae off; it
must now name no level, because the tall region above its first "disc" is not marrow-like or is taller than
C2 with its dens. The rule itself (:func:`c2_column`) on
disc chains with stated positions: a tall disc-free bone at cervical spacing, marrow-like over at least half
its height and no taller than three bodies, is C2; at lumbar spacing, holding disc-like signal, taller than C2
with its dens, or not marrow-like, it is not. No shared
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
from workers.analysis.levels.discs import EDGE_MM, DiscChain, find_discs
from workers.analysis.levels.from_discs import COLUMN_MAX_BODIES, c2_column, name_from_discs
from workers.analysis.levels.sagittal_canal import find_canal
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


def test_whole_template_names_no_level_because_its_top_bone_is_taller_than_c2_with_its_dens() -> None:
    volume = _template_cut(None)
    result = name_from_discs(volume, "SPINE Sag T2")  # type: ignore[arg-type]
    assert result.naming.names is None
    assert "taller than C2 with its dens could be" in result.naming.anchor
    # The column runs from the skull base (below the field's edge) down to the first disc.
    chain = find_discs(volume, find_canal(volume))  # type: ignore[arg-type]
    column = chain.top_bone[1] - (chain.field_top + EDGE_MM)
    below = float(np.median([bottom - top for top, bottom in chain.bodies()[1:5]]))
    assert column > COLUMN_MAX_BODIES * below


@pytest.mark.parametrize("top_z", [252.0, 262.0, 272.0])  # the template's field ends at z = 273.5
def test_template_cut_in_the_skull_base_names_no_level(top_z: float) -> None:
    result = name_from_discs(_template_cut(top_z), "SPINE Sag T2")  # type: ignore[arg-type]
    assert result.naming.names is None, f"named {result.naming.names} ({result.naming.anchor})"
    assert result.naming.status is QcStatus.FAILED
    # Either cue refuses it: the column is not marrow-like, or it is taller than C2 with its dens.
    assert "looks like vertebral marrow over only" in result.naming.anchor or (
        "taller than C2 with its dens could be" in result.naming.anchor
    )
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


def test_top_bone_taller_than_c2_with_its_dens_is_not_c2() -> None:
    discs = [60.0, 77.0, 94.0, 111.0, 128.0]  # bodies 12.75 mm; column 60 - 2.1 - 3 = 54.9 mm (4.3 bodies)
    tall = c2_column(_chain(discs, 0.3, marrow_from=20.0))
    assert not tall.found and "taller than C2 with its dens" in tall.why
    assert c2_column(_chain([34.0, 51.0, 68.0, 85.0, 102.0], 0.3, marrow_from=14.0)).found  # 28.9 mm: 2.3 bodies


def test_tall_top_bone_not_marrow_like_over_half_its_height_is_not_c2() -> None:
    discs = [34.0, 51.0, 68.0, 85.0, 102.0]  # column 34 - 2.1 - 3 = 28.9 mm at cervical spacing, no disc in it
    assert c2_column(_chain(discs, 0.3, marrow_from=14.0)).found  # marrow over 17.9 of 28.9 mm
    soft = c2_column(_chain(discs, 0.3, marrow_from=18.0))  # marrow over 13.9 of 28.9 mm
    assert not soft.found and "may be the skull base" in soft.why
