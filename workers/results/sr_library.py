"""The SR's TID 1600 Image Library, encoded once as it is built.

The library has an entry per source image: at a thousand images it is most of the SR, and as highdicom
content items each entry cost a build with its validation, then about ten elements for pydicom to check
and write, two or three times over (every nested dataset is walked again for ambiguous VRs when it is
written). Here each series' group (TID 1600 row 2) is encoded directly in Explicit VR Little Endian, the
SR's transfer syntax: its descriptors (TID 1602, highdicom's content items, shared by the series' images)
once per series, each entry (TID 1601: a reference to one image) as bytes joined from its two UIDs. The
library's Content Sequence holds those bytes as one raw element, which pydicom writes as it is (the SR
and the library are marked as encoded in that syntax). The bytes are the ones pydicom writes for the
same items (``tests/unit/workers/results/test_sr_library.py``); reading the SR back gives the datasets.

Descriptors are built once per distinct geometry (SOP class, matrix, spacing, thickness, orientation):
series of the same geometry differ only in their Frame of Reference UID, which is written per series.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from typing import cast

import highdicom as hd
from highdicom.sr.enum import RelationshipTypeValues
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code
from pydicom.tag import Tag

from workers.results.sr_precision import finish_content

_CONTAINS = RelationshipTypeValues.CONTAINS
_HAS_ACQ_CONTEXT = RelationshipTypeValues.HAS_ACQ_CONTEXT
_PIXELS = Code("{pixels}", "UCUM", "Pixels")
SOURCE = Code("260753009", "SCT", "Source")

_ITEM = struct.pack("<HH", 0xFFFE, 0xE000)
_LONG_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"})
CONTENT_SEQUENCE = 0x0040A730
_REFERENCED_SOP_SEQUENCE = 0x00081199
_REFERENCED_SOP_CLASS_UID = 0x00081150
_REFERENCED_SOP_INSTANCE_UID = 0x00081155

#: Descriptors that differ from image to image (Image Position (Patient) X/Y/Z), not stated for a group.
_PER_IMAGE_CODES = frozenset({"110901", "110902", "110903"})
_FRAME_OF_REFERENCE = codes.DCM.FrameOfReferenceUID.value
#: What highdicom's descriptors read from an image header, the Frame of Reference UID and the position apart.
_GEOMETRY = (
    "SOPClassUID",
    "Modality",
    "Rows",
    "Columns",
    "PixelSpacing",
    "SliceThickness",
    "ImageOrientationPatient",
    "SpacingBetweenSlices",
    "PatientOrientation",
    "ImagerPixelSpacing",
)


def element(tag: int, vr: str, value: bytes) -> bytes:
    """One data element in Explicit VR Little Endian (``value`` already padded to an even length)."""
    group, number = tag >> 16, tag & 0xFFFF
    if vr in _LONG_VRS:
        return struct.pack("<HH2sHL", group, number, vr.encode(), 0, len(value)) + value
    return struct.pack("<HH2sH", group, number, vr.encode(), len(value)) + value


def uid_element(tag: int, uid: str) -> bytes:
    value = uid.encode("ascii")
    return element(tag, "UI", value + b"\0" if len(value) % 2 else value)


def item(content: bytes) -> bytes:
    """A sequence item of defined length, as pydicom writes it."""
    return _ITEM + struct.pack("<L", len(content)) + content


def sequence(tag: int, items: Iterable[bytes]) -> bytes:
    """A sequence of defined length holding the encoded ``items``."""
    return element(tag, "SQ", b"".join(items))


def encoded_item(ds: Dataset, character_set: str) -> bytes:
    """``ds`` encoded by pydicom as a sequence item (Explicit VR Little Endian)."""
    fp = DicomBytesIO()
    fp.is_little_endian, fp.is_implicit_VR = True, False
    write_dataset(fp, ds, parent_encoding=character_set)
    return item(fp.getvalue())


class _EntryBytes:
    """TID 1601 entries as bytes: a reference to one image, named "Source", contained in its group."""

    def __init__(self, character_set: str) -> None:
        # The elements after the Referenced SOP Sequence (relationship, value type, concept name), encoded once.
        template = hd.sr.ImageContentItem(
            name=SOURCE,
            referenced_sop_class_uid="1.2.840.10008.5.1.4.1.1.4",
            referenced_sop_instance_uid="1.2",
            relationship_type=_CONTAINS,
        )
        del template.ReferencedSOPSequence
        self._tail = encoded_item(template, character_set)[8:]
        self._classes: dict[str, bytes] = {}

    def __call__(self, ds: Dataset) -> bytes:
        sop_class = str(ds.SOPClassUID)
        class_element = self._classes.get(sop_class)
        if class_element is None:
            class_element = self._classes[sop_class] = uid_element(_REFERENCED_SOP_CLASS_UID, sop_class)
        reference = item(class_element + uid_element(_REFERENCED_SOP_INSTANCE_UID, str(ds.SOPInstanceUID)))
        return item(element(_REFERENCED_SOP_SEQUENCE, "SQ", reference) + self._tail)


def _frame_of_reference_item(uid: str) -> hd.sr.UIDRefContentItem:
    return hd.sr.UIDRefContentItem(codes.DCM.FrameOfReferenceUID, uid, relationship_type=_HAS_ACQ_CONTEXT)


def group_descriptors(first: Dataset, coded_modality: Code | None) -> list[hd.sr.ContentItem]:
    """TID 1602 descriptors shared by a series' images, stated once for its Image Library Group: modality,
    frame of reference and matrix (and, when the header has them, orientation and pixel spacing of the
    series' first image). Per-image descriptors would cost a content item per attribute per image."""
    items: list[hd.sr.ContentItem] = []
    if coded_modality is not None:
        items.append(hd.sr.CodeContentItem(codes.DCM.Modality, coded_modality, relationship_type=_HAS_ACQ_CONTEXT))
    if first.get("FrameOfReferenceUID"):
        items.append(_frame_of_reference_item(first.FrameOfReferenceUID))
    for keyword, concept in (("Rows", codes.DCM.PixelDataRows), ("Columns", codes.DCM.PixelDataColumns)):
        if first.get(keyword):
            items.append(
                hd.sr.NumContentItem(concept, int(first[keyword].value), _PIXELS, relationship_type=_HAS_ACQ_CONTEXT)
            )
    try:
        template = cast(Sequence[hd.sr.ContentItem], hd.sr.ImageLibraryEntryDescriptors(first))
    except (AttributeError, KeyError, IndexError, TypeError, ValueError):
        return items
    present = {i.ConceptNameCodeSequence[0].CodeValue for i in items}
    for descriptor in template:
        code = descriptor.ConceptNameCodeSequence[0].CodeValue
        if code in present or code in _PER_IMAGE_CODES:
            continue
        items.append(descriptor)
    return items


class _Descriptors:
    """Encoded descriptors per group; built by :func:`group_descriptors` once per geometry, the Frame of
    Reference UID item encoded per series."""

    def __init__(self, character_set: str) -> None:
        self.character_set = character_set
        self._by_geometry: dict[tuple[object, ...], list[bytes | None]] = {}

    def __call__(self, first: Dataset, coded_modality: Code | None) -> bytes:
        present = ("FrameOfReferenceUID" in first, "ImagePositionPatient" in first)
        key = (coded_modality, *present, *(repr(first.get(k)) for k in _GEOMETRY))
        encoded = self._by_geometry.get(key)
        if encoded is None:
            items = group_descriptors(first, coded_modality)
            holder = Dataset()
            holder.ContentSequence = items
            finish_content(holder)  # numbers at the SR's precision, as everywhere in its tree
            encoded = self._by_geometry[key] = [
                None
                if d.ConceptNameCodeSequence[0].CodeValue == _FRAME_OF_REFERENCE
                else encoded_item(d, self.character_set)
                for d in items
            ]
        return b"".join(
            part
            if part is not None
            else encoded_item(_frame_of_reference_item(first.FrameOfReferenceUID), self.character_set)
            for part in encoded
        )


def mark_encoded(ds: Dataset) -> bool:
    """Mark ``ds`` as encoded in Explicit VR Little Endian in its own character set, so that pydicom writes
    its raw elements as they are instead of decoding them to look for ambiguous VRs; only when none of its
    own elements has one (the SR's root and its library have none). Returns whether it was marked."""
    if any(" or " in str(elem.VR) for elem in ds.elements()):
        return False  # pydicom resolves those when it writes (and decodes the raw elements to do so)
    ds.set_original_encoding(False, True, ds._character_set)
    return True


def image_library(
    groups: Sequence[Sequence[Dataset]], coded_modality: dict[str, Code | None], character_set: str
) -> hd.sr.ContainerContentItem:
    """TID 1600 Image Library with one group per series (``groups``: the image headers of each series), its
    Content Sequence encoded (see the module's description), finished as the rest of the SR's tree
    (:func:`~workers.results.sr_precision.finish_content`: containers SEPARATE, numbers at the SR's
    precision). ``coded_modality``: the CID 29 code of each Modality value of the sources."""
    descriptors = _Descriptors(character_set)
    entry = _EntryBytes(character_set)
    group_template = hd.sr.ContainerContentItem(
        name=codes.DCM.ImageLibraryGroup, relationship_type=_CONTAINS, is_content_continuous=False
    )
    head = encoded_item(group_template, character_set)[8:]
    encoded_groups = []
    for members in groups:
        first = members[0]
        content = descriptors(first, coded_modality.get(str(first.get("Modality", ""))))
        content += b"".join(entry(ds) for ds in members)
        encoded_groups.append(item(head + element(CONTENT_SEQUENCE, "SQ", content)))
    library = hd.sr.ContainerContentItem(
        name=codes.DCM.ImageLibrary, relationship_type=_CONTAINS, is_content_continuous=False
    )
    value = b"".join(encoded_groups)
    tag = Tag(CONTENT_SEQUENCE)
    library[tag] = RawDataElement(tag, "SQ", len(value), value, 0, False, True)
    mark_encoded(library)
    return library
