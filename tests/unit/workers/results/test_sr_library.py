"""The SR's image library, encoded as it is built: the same bytes as highdicom's content items written by
pydicom, on real headers (MR of four vendors, enhanced MR, CT), read back as the same datasets."""

from __future__ import annotations

import copy
from io import BytesIO

import highdicom as hd
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.uid import generate_uid

from workers.results.sr import build_measurement_report
from workers.results.sr_content import coded_modality
from workers.results.sr_library import SOURCE, encoded_item, group_descriptors, image_library, mark_encoded
from workers.results.sr_precision import finish_content

from .conftest import SHARED_DICOM

CHARACTER_SET = "ISO_IR 192"
REAL_SERIES = (
    "dicom2nifti/ge/anatomical/001",
    "dicom2nifti/siemens/anatomical/001",
    "dicom2nifti/philips/anatomical/001",
    "dicom2nifti/hitachi/anatomical/001",
    "dicom2nifti/failing/gantrytilting/001",  # CT
    "dcm_qa_enh/In/Philips",  # enhanced (multi-frame) MR
)


def _series(relative: str, limit: int = 4) -> list[Dataset]:
    folder = SHARED_DICOM / relative
    files = sorted(folder.glob("*.dcm"))[:limit]
    if not files:
        pytest.fail(f"shared test data missing: {folder}")
    return [pydicom.dcmread(f, stop_before_pixels=True) for f in files]


def _copy_as_new_series(series: list[Dataset]) -> list[Dataset]:
    """The same geometry in another series and frame of reference (as a repeated acquisition has)."""
    series_uid, frame_uid = generate_uid(), generate_uid()
    out = []
    for ds in series:
        twin = copy.deepcopy(ds)
        twin.SeriesInstanceUID, twin.FrameOfReferenceUID, twin.SOPInstanceUID = series_uid, frame_uid, generate_uid()
        out.append(twin)
    return out


def _highdicom_library(groups: list[list[Dataset]]) -> hd.sr.ContainerContentItem:
    """The library as highdicom content items: descriptors per group, an IMAGE item per image."""
    library = hd.sr.ContainerContentItem(name=codes.DCM.ImageLibrary, relationship_type="CONTAINS")
    library.ContentSequence = hd.sr.ContentSequence()
    for members in groups:
        group = hd.sr.ContainerContentItem(name=codes.DCM.ImageLibraryGroup, relationship_type="CONTAINS")
        group.ContentSequence = hd.sr.ContentSequence(
            group_descriptors(members[0], coded_modality(str(members[0].Modality)))
        )
        group.ContentSequence.extend(
            hd.sr.ImageContentItem(
                name=SOURCE,
                referenced_sop_class_uid=ds.SOPClassUID,
                referenced_sop_instance_uid=ds.SOPInstanceUID,
                relationship_type="CONTAINS",
            )
            for ds in members
        )
        library.ContentSequence.append(group)
    tree = Dataset()  # finished as in the SR's tree, the library a container in it
    tree.ContentSequence = [library]
    finish_content(tree)
    return library


@pytest.fixture(scope="module")
def groups() -> list[list[Dataset]]:
    real = [_series(relative) for relative in REAL_SERIES]
    return [*real, _copy_as_new_series(real[0]), _copy_as_new_series(real[4])]


def test_the_library_is_encoded_as_pydicom_writes_highdicom_items(groups) -> None:
    modalities = {str(g[0].Modality): coded_modality(str(g[0].Modality)) for g in groups}
    built = image_library(groups, modalities, CHARACTER_SET)
    assert encoded_item(built, CHARACTER_SET) == encoded_item(_highdicom_library(groups), CHARACTER_SET)


def test_series_of_one_geometry_keep_their_own_frame_of_reference(groups) -> None:
    built = image_library(groups, {"MR": coded_modality("MR"), "CT": coded_modality("CT")}, CHARACTER_SET)
    frames = []
    for group in built.ContentSequence:  # the raw sequence, decoded on access
        uids = [i.UID for i in group.ContentSequence if i.ValueType == "UIDREF"]
        frames.append(uids[0] if uids else None)
    assert frames == [g[0].get("FrameOfReferenceUID") for g in groups]
    assert frames[0] != frames[-2], "the copy of the first series has a frame of reference of its own"


def test_the_library_reads_back_as_the_images(groups) -> None:
    built = image_library(groups, {"MR": coded_modality("MR"), "CT": coded_modality("CT")}, CHARACTER_SET)
    holder = Dataset()
    holder.SpecificCharacterSet = CHARACTER_SET
    holder.ContentSequence = [built]
    buffer = BytesIO()
    pydicom.dcmwrite(buffer, holder, implicit_vr=False, little_endian=True)
    read = pydicom.dcmread(BytesIO(buffer.getvalue()), force=True).ContentSequence[0]
    entries = [
        (i.ReferencedSOPSequence[0].ReferencedSOPClassUID, i.ReferencedSOPSequence[0].ReferencedSOPInstanceUID)
        for group in read.ContentSequence
        for i in group.ContentSequence
        if i.ValueType == "IMAGE"
    ]
    assert entries == [(ds.SOPClassUID, ds.SOPInstanceUID) for g in groups for ds in g]
    assert all(
        i.ConceptNameCodeSequence[0].CodeValue == "260753009" for i in read.ContentSequence[0].ContentSequence[-1:]
    )


def test_a_dataset_with_an_ambiguous_vr_is_left_for_pydicom_to_resolve(groups) -> None:
    library = image_library(groups[:1], {"MR": coded_modality("MR")}, CHARACTER_SET)
    holder = Dataset()
    holder.SpecificCharacterSet = CHARACTER_SET
    holder.ContentSequence = [library]
    holder.add_new(0x00280106, "US or SS", 0)  # Smallest Image Pixel Value: its VR depends on Pixel Representation
    holder.PixelRepresentation = 0
    assert not mark_encoded(holder)
    buffer = BytesIO()
    pydicom.dcmwrite(buffer, holder, implicit_vr=False, little_endian=True)
    read = pydicom.dcmread(BytesIO(buffer.getvalue()), force=True)
    assert read["SmallestImagePixelValue"].VR == "US"
    images = [i for group in read.ContentSequence[0].ContentSequence for i in group.ContentSequence]
    assert sum(i.ValueType == "IMAGE" for i in images) == len(groups[0])


def test_the_sr_is_written_with_its_library_as_encoded(mr_sources, new_uids, when, reread) -> None:
    sr = build_measurement_report(
        mr_sources,
        [],
        series_number=901,
        instance_number=1,
        algorithm_name="spinenode",
        algorithm_version="1",
        content_datetime=when,
        **new_uids,
    )
    assert sr.original_encoding == (False, True), "the root is marked: pydicom writes the library's bytes as they are"
    library = next(i for i in sr.ContentSequence if i.ConceptNameCodeSequence[0].CodeMeaning == "Image Library")
    assert library.get_item(0x0040A730).is_raw
    read = reread(sr)
    entries = [
        entry.ReferencedSOPSequence[0].ReferencedSOPInstanceUID
        for top in read.ContentSequence
        if top.ConceptNameCodeSequence[0].CodeMeaning == "Image Library"
        for group in top.ContentSequence
        for entry in group.ContentSequence
        if entry.ValueType == "IMAGE"
    ]
    assert entries == [ds.SOPInstanceUID for ds in mr_sources]
