"""Discs along the canal on real data (shared/data, wrapped as DICOM: real pixels, SYNTHETIC headers).

Volume: the PAM50 T2 template of sct_testing_data (an average of real healthy T2 scans, brainstem to L2,
1 x 1 x 2 mm, linearly resampled to 1 mm in z so that its sagittal pixels are square), with its expert disc
labels (``PAM50_small_label_disc``: value N at the top of vertebra N, C2 ... L2). Tolerance: 5 mm (a third of
the smallest cervical pitch). The field holds no dens tip that stands out (the template's C1/C2 region is an
average; the tallest bone at the top of the field lies in the skull base), so no level may be named: the
bone taken for C2 there is caught by the heights of the bodies below it, and the verdict says so.
Other branches: two ways naming the same bodies differently disagree (bodies of the template); the
sct_testing_data t2 crop, cut by the field at both ends, names no level and says the bones are cut; the
disc chain drops a marrow spot between two discs and infers one disc it did not see (candidate lists).
"""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
from pydicom.dataset import Dataset
from scipy import ndimage
from series_inputs import series_input

from tests.unit.workers.analysis.conftest import SCT, header
from workers.analysis.base import QcStatus
from workers.analysis.levels import estimate_levels
from workers.analysis.levels.discs import chain, find_discs, to_z
from workers.analysis.levels.from_discs import disagreement, name_from_discs
from workers.analysis.levels.sagittal_canal import find_canal
from workers.analysis.volume import load_volume
from workers.phantom.nifti import WrapSpec, wrap_nifti

TEMPLATE = SCT / "template" / "template"


def _template() -> tuple[list[Dataset], dict[int, float]]:
    if not (TEMPLATE / "PAM50_small_t2.nii.gz").exists():
        pytest.skip("real data not available")
    image = nib.Nifti1Image.from_filename(TEMPLATE / "PAM50_small_t2.nii.gz")
    data = ndimage.zoom(np.asanyarray(image.dataobj).astype(np.float32), (1, 1, 2), order=1)
    square = nib.Nifti1Image(data, image.affine @ np.diag([1.0, 1.0, 0.5, 1.0]))
    labels = nib.Nifti1Image.from_filename(TEMPLATE / "PAM50_small_label_disc.nii.gz")
    values = np.asanyarray(labels.dataobj)
    discs = {}
    for index in np.argwhere(values > 0):
        point = nib.affines.apply_affine(labels.affine, index)
        if abs(point[1]) < 1e-6:  # the labels on the cord centre (the others are posterior disc points)
            discs[int(values[tuple(index)])] = float(point[2])
    return wrap_nifti(square, WrapSpec("Sag T2", "sagittal"), header()), discs


def test_discs_along_the_canal_of_the_real_template_match_the_expert_labels() -> None:
    datasets, truth = _template()
    volume = load_volume(datasets)
    canal = find_canal(volume)
    assert canal.slices_through_canal >= 5
    found = np.array([to_z(canal, arc) for arc in find_discs(volume, canal).discs])
    misses = {value: z for value, z in truth.items() if np.min(np.abs(found - z)) > 5.0}
    assert len(truth) >= 18
    assert not misses, f"labelled discs not found within 5 mm: {misses}"


def test_template_whose_top_bone_is_no_c2_is_not_named_and_says_why() -> None:
    datasets, _ = _template()
    series = series_input(datasets, sequence="T2", plane="sagittal", series_uid="t")
    estimate = estimate_levels([series])
    assert estimate is not None and estimate.levels == {}
    # The cord line leaves the canal over the skull base at the top of the field, where the marrow profile's
    # "C2" was: it is not profiled there. The disc chain says why its tall top bone is no C2.
    assert estimate.status is QcStatus.FAILED
    assert "taller than C2 with its dens could be" in estimate.anchor
    assert "along the cord: the line along the spine lies up to" in estimate.anchor
    assert "in front of the canal from z = 2" in estimate.anchor


def test_two_ways_that_name_the_same_bodies_differently_disagree() -> None:
    datasets, truth = _template()
    volume = load_volume(datasets)
    canal = find_canal(volume)
    bodies = find_discs(volume, canal).bodies()
    z_bodies = [(to_z(canal, top), to_z(canal, bottom)) for top, bottom in bodies[1:6]]
    names = ["C3", "C4", "C5", "C6", "C7"]
    assert disagreement(z_bodies, names, z_bodies, names) == ""
    shifted = disagreement(z_bodies, names, z_bodies, ["C4", "C5", "C6", "C7", "T1"])
    assert "apart" in shifted
    assert "in common" in disagreement(z_bodies, names, z_bodies, ["T1", "T2", "T3", "T4", "T5"])


def test_crop_cut_at_both_ends_names_no_level_and_says_the_bones_are_cut() -> None:
    if not (SCT / "t2/t2.nii.gz").exists():
        pytest.skip("real data not available")
    image = nib.Nifti1Image.from_filename(SCT / "t2/t2.nii.gz")
    volume = load_volume(wrap_nifti(image, WrapSpec("Sag T2", "sagittal"), header()))
    found = name_from_discs(volume, "SPINE Sag T2")
    assert found.naming.names is None and found.naming.status is QcStatus.FAILED
    assert found.discs >= 2
    assert "edges of the field" in found.naming.anchor and "no anchor" in found.naming.anchor


def test_chain_drops_a_marrow_spot_and_infers_one_missed_disc() -> None:
    regular = [(float(a), 4.0) for a in range(10, 200, 18)]
    spot = [(37.0, 3.0)]  # half way between two discs: two short spacings
    kept = chain(sorted(regular + spot))
    assert 37.0 not in kept
    assert kept == [a for a, _ in regular]
    missing = [c for c in regular if c[0] != 100.0]  # one disc not seen: twice the pitch between 82 and 118
    inferred = chain(missing)
    assert 100.0 in inferred and len(inferred) == len(regular)
