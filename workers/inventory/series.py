"""The series inventory: one :class:`SeriesInventory` per series, from headers only.

``classify_series`` takes the instances of one series (read with ``stop_before_pixels``);
``inventory_path`` walks a folder, groups files by SeriesInstanceUID and classifies each group.
``SeriesInventory.to_json`` is the contract of ``spinenode inventory --json`` and of routing rules.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from workers.inventory import geometry, sequence
from workers.inventory.diffusion import diffusion_samples, summarise
from workers.inventory.exam import exam_of
from workers.inventory.headers import decode_numbers, number, private_element, text, to_float
from workers.inventory.region import region_of
from workers.inventory.vocabulary import ADC, MULTIBAND

log = logging.getLogger(__name__)


def _number_json(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(float(value), 3)


@dataclass
class SeriesInventory:
    """What one series is, as far as its headers tell (see the inventory contract)."""

    series_uid: str
    modality: str
    description: str
    images: int
    plane: str | None = None
    sequence: str | None = None
    fat_suppressed: bool = False
    contrast: bool = False
    b_values: list[float] = field(default_factory=list)
    slice_thickness_mm: float | None = None
    region: str | None = None
    study_uid: str | None = None
    series_number: int | None = None
    body_part: str | None = None
    manufacturer: str | None = None
    tr_ms: float | None = None
    te_ms: float | None = None
    ti_ms: float | None = None
    coverage_mm: float | None = None
    z_range: tuple[float, float] | None = None
    multiband_factor: int | None = None
    unsafe_geometry: bool = False
    geometry_issues: list[str] = field(default_factory=list)
    vendor_sequence_name: str | None = None
    diffusion_directions: int = 0
    exam: str | None = None  # ri_cisternography / ct_myelography for NM and CT series (workers.inventory.exam)

    def __post_init__(self) -> None:
        if not self.series_uid:
            raise ValueError(f"series_uid must not be empty, got {self.series_uid!r}")
        if self.images < 1:
            raise ValueError(f"images must be >= 1, got {self.images!r}")
        if self.plane is not None and self.plane not in geometry.PLANES:
            raise ValueError(f"plane must be one of {geometry.PLANES} or None, got {self.plane!r}")
        if self.sequence is not None and self.sequence not in sequence.SEQUENCE_FAMILIES:
            raise ValueError(f"sequence must be one of {sequence.SEQUENCE_FAMILIES} or None, got {self.sequence!r}")
        if self.b_values != sorted(set(self.b_values)):
            raise ValueError(f"b_values must be sorted and distinct, got {self.b_values!r}")
        if self.multiband_factor is not None and self.multiband_factor < 1:
            raise ValueError(f"multiband_factor must be >= 1, got {self.multiband_factor!r}")

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict: the contract keys first, then the extras."""
        return {
            "series_uid": self.series_uid,
            "modality": self.modality,
            "description": self.description,
            "images": self.images,
            "plane": self.plane,
            "sequence": self.sequence,
            "fat_suppressed": self.fat_suppressed,
            "contrast": self.contrast,
            "b_values": [_number_json(b) for b in self.b_values],
            "slice_thickness_mm": self.slice_thickness_mm,
            "region": self.region,
            "study_uid": self.study_uid,
            "series_number": self.series_number,
            "body_part": self.body_part,
            "manufacturer": self.manufacturer,
            "tr_ms": self.tr_ms,
            "te_ms": self.te_ms,
            "ti_ms": self.ti_ms,
            "coverage_mm": self.coverage_mm,
            "z_range": list(self.z_range) if self.z_range is not None else None,
            "multiband_factor": self.multiband_factor,
            "unsafe_geometry": self.unsafe_geometry,
            "geometry_issues": list(self.geometry_issues),
            "vendor_sequence_name": self.vendor_sequence_name,
            "diffusion_directions": self.diffusion_directions,
            "exam": self.exam,
        }


def _frames(ds: Dataset) -> int:
    value = to_float(ds.get("NumberOfFrames"))
    return int(value) if value and value >= 1 else 1


def _multiband(facts: sequence.HeaderFacts, ds: Dataset) -> int | None:
    """Multiband / SMS / hyperband factor where a header states it (CORD-QC-1)."""
    if facts.multiband_factor:
        return facts.multiband_factor
    ge = private_element(ds, 0x0043, "GEMS_PARM_01", 0xB6)  # "Multiband Parameters": factor\shift\cal
    if ge is not None:
        values = decode_numbers(ge)
        if values and values[0] >= 1:
            return int(values[0])
    for t in facts.texts + facts.names:
        match = MULTIBAND.search(t)
        if match:
            return int(match.group("factor"))
    return None


def _distinct_instances(datasets: Sequence[Dataset]) -> list[Dataset]:
    """One dataset per SOPInstanceUID (the same instance in several transfer syntaxes counts once)."""
    seen: dict[str, Dataset] = {}
    for index, ds in enumerate(datasets):
        seen.setdefault(str(ds.get("SOPInstanceUID", "") or f"#{index}"), ds)
    return list(seen.values())


def classify_series(datasets: Sequence[Dataset]) -> SeriesInventory:
    """Classify one series from the headers of its instances (pixels are never read)."""
    if not datasets:
        raise ValueError("datasets must hold at least one instance, got an empty sequence")
    uids = {str(ds.get("SeriesInstanceUID", "")) for ds in datasets}
    if len(uids) != 1:
        raise ValueError(f"datasets must share one SeriesInstanceUID, got {len(uids)}: {sorted(uids)!r}")
    datasets = _distinct_instances(datasets)
    first = next((ds for ds in datasets if "Rows" in ds), datasets[0])
    facts = sequence.read_facts(first)
    samples = [s for ds in datasets for s in diffusion_samples(ds)]
    diffusion = summarise(samples)
    family = sequence.sequence_family(facts, diffusion)
    b_values: list[float] = []
    if family in ("DWI", "DTI") or (family is None and any(b > 0 for b in diffusion.b_values)):
        b_values = diffusion.b_values
    if family == "ADC" or (family is None and ADC.search(facts.description.upper())):
        b_values = []
    slices = [s for ds in datasets for s in geometry.slices_of(ds)]
    tilt = next((t for ds in datasets if (t := number(ds, "GantryDetectorTilt"))), None)
    geo = geometry.summarise(slices, tilt)
    if "MOSAIC" in facts.image_type:  # each Siemens mosaic image holds a whole volume
        geo.issues = [i for i in geo.issues if "not a volume" not in i]
    thickness = number(first, "SliceThickness")
    if thickness is None:
        thickness = next((s.thickness_mm for s in slices if s.thickness_mm), None)
    series_number = number(first, "SeriesNumber")
    vendor_name = next(iter(facts.vendor_names), None) or facts.sequence_name or None
    return SeriesInventory(
        series_uid=uids.pop() or "unknown",
        modality=facts.modality,
        description=facts.description,
        images=sum(_frames(ds) for ds in datasets),
        plane=geo.plane,
        sequence=family,
        fat_suppressed=sequence.fat_suppressed(facts, family) if family else False,
        contrast=sequence.contrast_given(facts) if facts.is_image else False,
        b_values=b_values,
        slice_thickness_mm=round(thickness, 3) if thickness is not None else None,
        region=region_of(facts.body_part, [facts.description, facts.protocol], [facts.study_description]),
        study_uid=text(first, "StudyInstanceUID") or None,
        series_number=int(series_number) if series_number is not None else None,
        body_part=facts.body_part or None,
        manufacturer=text(first, "Manufacturer") or None,
        tr_ms=facts.tr,
        te_ms=facts.te,
        ti_ms=facts.ti,
        coverage_mm=geo.coverage_mm,
        z_range=geo.z_range,
        multiband_factor=_multiband(facts, first) if facts.modality == "MR" else None,
        unsafe_geometry=bool(geo.issues),
        geometry_issues=geo.issues,
        vendor_sequence_name=vendor_name,
        diffusion_directions=diffusion.directions if family in ("DWI", "DTI") else 0,
        exam=exam_of(first),
    )


def _files(root: Path) -> Iterator[Path]:
    if root.is_file():
        yield root
        return
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        for name in sorted(names):
            yield Path(folder) / name


def read_header(path: Path) -> Dataset | None:
    """The header of a DICOM file (no pixels), or None when the file is not DICOM."""
    try:
        return pydicom.dcmread(path, stop_before_pixels=True)
    except (InvalidDicomError, OSError, EOFError, ValueError, TypeError, KeyError, AttributeError) as exc:
        log.debug("skipping non-DICOM file", extra={"path": str(path), "error": type(exc).__name__})
        return None


def inventory_path(
    path: str | os.PathLike[str],
    progress: Callable[[int], None] | None = None,
    *,
    skipped: list[tuple[Path, str]] | None = None,
    folders: dict[str, Path] | None = None,
) -> list[SeriesInventory]:
    """Classify every series under ``path`` (a file or folder); non-DICOM files are skipped.

    ``progress`` is called with the number of files read so far (every 100 files and at the end). Files
    left out are appended to ``skipped`` with the reason in words; ``folders`` receives, per series UID,
    the deepest folder holding all its files.
    """
    root = Path(path)
    if not root.exists():
        raise FileNotFoundError(f"path does not exist: {str(root)!r}")
    groups: dict[str, list[Dataset]] = {}
    places: dict[str, str] = {}
    count = 0
    for file in _files(root):
        ds = read_header(file)
        count += 1
        if progress is not None and count % 100 == 0:
            progress(count)
        if ds is None or "SeriesInstanceUID" not in ds:
            if skipped is not None:
                skipped.append((file, "not DICOM or unreadable" if ds is None else "no Series Instance UID"))
            continue
        uid = str(ds.SeriesInstanceUID)
        groups.setdefault(uid, []).append(ds)
        folder = str(file.parent)
        places[uid] = os.path.commonpath([places[uid], folder]) if uid in places else folder
    if progress is not None:
        progress(count)
    if folders is not None:
        folders.update({uid: Path(place) for uid, place in places.items()})
    result = [classify_series(group) for group in groups.values()]
    return sorted(result, key=lambda s: (s.study_uid or "", s.series_number or 0, s.series_uid))
