"""Sequence family, fat suppression, contrast and region of one series, from headers only.

The facts are read once per series (:class:`HeaderFacts`) from a representative instance; the
decisions below use every header that helps, most specific first: image type, vendor sequence
names (GE (0019,xx9C/9E) "GEMS_ACQU_01", Siemens SequenceName and CSA protocol, Philips
(2001,xx20) "Philips Imaging DD 001" scanning technique, enhanced PulseSequenceName), then the
descriptions (English and Japanese), then the physics (ScanningSequence, SequenceVariant,
ScanOptions, TR/TE/TI).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from pydicom.dataset import Dataset

from workers.inventory import siemens
from workers.inventory import vocabulary as v
from workers.inventory.diffusion import DiffusionSummary
from workers.inventory.headers import decode_text, number, private_element, raw_value, text, tokens

SEQUENCE_FAMILIES = (
    "T1",
    "T2",
    "PD",
    "STIR",
    "FLAIR",
    "T2STAR",
    "SWI",
    "SSFP",
    "DWI",
    "ADC",
    "DTI",
    "MT",
    "LOCALIZER",
    "OTHER",
)
STIR_TI_MS = (80.0, 300.0)  # short-tau inversion nulls fat: ~150 ms at 1.5 T, ~230 ms at 3 T
FLAIR_MIN_TI_MS = 1400.0  # fluid-attenuating inversion: ~1700-2500 ms
DTI_MIN_DIRECTIONS = 6  # a tensor needs six independent directions


def _norm(value: str) -> str:
    return unicodedata.normalize("NFKC", value).upper()


@dataclass
class HeaderFacts:
    """The header values classification needs, read once from a representative instance."""

    modality: str = ""
    manufacturer: str = ""
    is_image: bool = True
    description: str = ""
    protocol: str = ""
    study_description: str = ""
    comments: str = ""
    body_part: str = ""
    sequence_name: str = ""
    vendor_names: list[str] = field(default_factory=list)
    image_type: list[str] = field(default_factory=list)
    scanning_sequence: list[str] = field(default_factory=list)
    sequence_variant: list[str] = field(default_factory=list)
    scan_options: list[str] = field(default_factory=list)
    echo_pulse_sequence: str = ""
    acquisition_contrast: str = ""
    complex_component: str = ""
    tr: float | None = None
    te: float | None = None
    ti: float | None = None
    inversion_recovery: bool = False
    magnetization_transfer: str = ""
    spectral_suppression: str = ""
    spectral_excitation: str = ""
    contrast_agent: str = ""
    contrast_administered: bool = False
    protocol_directions: int | None = None
    multiband_factor: int | None = None

    @property
    def texts(self) -> list[str]:
        """Descriptive texts a person typed or chose (upper case, NFKC-normalised)."""
        return [_norm(t) for t in (self.description, self.protocol, self.comments) if t]

    @property
    def names(self) -> list[str]:
        """Technical sequence names the scanner wrote."""
        return [_norm(t) for t in [self.sequence_name, *self.vendor_names] if t]


def _inversion_time(ds: Dataset) -> float | None:
    ti = number(ds, "InversionTime")
    if ti is None:
        times = raw_value(ds, "InversionTimes")
        if times is not None:
            try:
                ti = float(times[0]) if len(times) else None
            except (TypeError, ValueError, IndexError):
                ti = None
    return ti


def read_facts(ds: Dataset) -> HeaderFacts:
    """Collect :class:`HeaderFacts` from one dataset (classic or enhanced)."""
    f = HeaderFacts()
    f.modality = text(ds, "Modality").upper()
    f.manufacturer = text(ds, "Manufacturer").upper()
    f.is_image = "Rows" in ds and "Columns" in ds
    f.description = text(ds, "SeriesDescription")
    f.protocol = text(ds, "ProtocolName")
    f.study_description = text(ds, "StudyDescription")
    f.comments = text(ds, "ImageComments")
    f.body_part = text(ds, "BodyPartExamined").upper()
    f.sequence_name = text(ds, "SequenceName") or text(ds, "PulseSequenceName")
    names = [
        decode_text(private_element(ds, 0x0019, "GEMS_ACQU_01", 0x9C)),
        decode_text(private_element(ds, 0x0019, "GEMS_ACQU_01", 0x9E)),
        decode_text(private_element(ds, 0x2001, "Philips Imaging DD 001", 0x20)),
        text(ds, "PulseSequenceName"),
    ]
    protocol = siemens.phoenix_protocol(ds) if "SIEMENS" in f.manufacturer else {}
    seq_file = protocol.get("tSequenceFileName", "")
    if seq_file:
        names.append(seq_file.replace("%SiemensSeq%", "").replace("%CustomerSeq%", "").strip("\\/"))
    f.vendor_names = [n for n in dict.fromkeys(names) if n]
    f.image_type = tokens(ds, "ImageType")
    f.scanning_sequence = tokens(ds, "ScanningSequence")
    f.sequence_variant = tokens(ds, "SequenceVariant")
    f.scan_options = tokens(ds, "ScanOptions")
    f.echo_pulse_sequence = text(ds, "EchoPulseSequence").upper()
    f.acquisition_contrast = text(ds, "AcquisitionContrast").upper()
    f.complex_component = text(ds, "ComplexImageComponent").upper()
    f.tr = number(ds, "RepetitionTime")
    f.te = number(ds, "EchoTime")
    if f.te is None:
        f.te = number(ds, "EffectiveEchoTime")
    f.ti = _inversion_time(ds)
    f.inversion_recovery = text(ds, "InversionRecovery").upper() == "YES"
    f.magnetization_transfer = text(ds, "MagnetizationTransfer").upper()
    f.spectral_suppression = text(ds, "SpectrallySelectedSuppression").upper()
    f.spectral_excitation = text(ds, "SpectrallySelectedExcitation").upper()
    f.contrast_agent = text(ds, "ContrastBolusAgent")
    agent_seq = raw_value(ds, "ContrastBolusAgentSequence")
    usage = raw_value(ds, "ContrastBolusUsageSequence")
    f.contrast_administered = bool(agent_seq) or any(
        str(item.get("ContrastBolusAgentAdministered", "")).upper() == "YES" for item in (usage or [])
    )
    f.protocol_directions = siemens.diffusion_directions(protocol)
    f.multiband_factor = siemens.multiband_factor(protocol)
    return f


def _is_inversion(f: HeaderFacts) -> bool:
    return (
        "IR" in f.scanning_sequence
        or f.inversion_recovery
        or any(o.startswith("IR") for o in f.scan_options)
        or "IR" in f.image_type
        or "M_IR" in f.image_type
    )


def _is_gradient_echo(f: HeaderFacts) -> bool:
    if "GR" in f.scanning_sequence and "SE" not in f.scanning_sequence:
        return True
    if f.echo_pulse_sequence == "GRADIENT":
        return True
    return any(t in ("FFE", "M_FFE") for t in f.image_type) or v.any_match(v.SIEMENS_FLASH_NAME, f.names)


def _is_diffusion(f: HeaderFacts, diffusion: DiffusionSummary) -> bool:
    if any(b > 0 for b in diffusion.b_values):
        return True
    if "DIFFUSION" in f.image_type or f.acquisition_contrast == "DIFFUSION":
        return True
    if v.any_match(v.SIEMENS_DIFFUSION_NAME, f.names):
        return True
    return v.any_match(v.DWI, f.texts + f.names) or v.any_match(v.DTI, f.texts)


def sequence_family(f: HeaderFacts, diffusion: DiffusionSummary) -> str | None:
    """One of :data:`SEQUENCE_FAMILIES`; None for non-MR or non-image objects."""
    if f.modality != "MR" or not f.is_image:
        return None
    texts, names, described = f.texts, f.names, f.texts + f.names
    if "LOCALIZER" in f.image_type or v.any_match(v.LOCALIZER, texts):
        return "LOCALIZER"
    if "ADC" in f.image_type or v.any_match(v.ADC, [_norm(f.description), _norm(f.comments)]):
        return "ADC"
    if any(t in f.image_type for t in ("FA", "TENSOR", "COLFA", "TRACE_W_FA")):
        return "DTI"
    if "TRACEW" in f.image_type:
        return "DWI"
    if _is_diffusion(f, diffusion):
        directions = max(diffusion.directions, f.protocol_directions or 0)
        if directions >= DTI_MIN_DIRECTIONS or v.any_match(v.DTI, texts):
            return "DTI"
        return "DWI"
    if "SWI" in f.image_type or v.any_match(v.SIEMENS_SWI_NAME, names) or v.any_match(v.SWI, described):
        return "SWI"
    if v.any_match(v.SIEMENS_SSFP_NAME, names) or v.any_match(v.SSFP, described):
        return "SSFP"
    if v.any_match(v.ANGIOGRAPHY, texts) or "ANGIO" in f.image_type or "PROJECTION IMAGE" in f.image_type:
        return "OTHER"
    if f.magnetization_transfer in ("ON_RESONANCE", "OFF_RESONANCE") or "MT" in f.scan_options:
        return "MT"
    if v.any_match(v.MT, texts):
        return "MT"
    if (
        v.any_match(v.FIELD_MAP, texts)
        or f.complex_component in ("PHASE", "REAL", "IMAGINARY", "MIXED")
        or any(t in f.image_type for t in ("P", "PHASE", "B0", "FIELD_MAP", "R", "I"))
    ):
        return "OTHER"
    if v.any_match(v.STIR, described) or f.acquisition_contrast == "STIR":
        return "STIR"
    if v.any_match(v.FLAIR, described) or f.acquisition_contrast == "FLUID_ATTENUATED":
        return "FLAIR"
    from_physics = _family_from_inversion(f)
    if from_physics is not None:
        return from_physics
    if v.any_match(v.T2STAR, described) or f.acquisition_contrast == "T2_STAR":
        return "T2STAR"
    for family, pattern in (("T1", v.T1), ("PD", v.PD), ("T2", v.T2)):
        if v.any_match(pattern, texts):
            return family
    contrast_map = {"T1": "T1", "T2": "T2", "PROTON_DENSITY": "PD"}
    if f.acquisition_contrast in contrast_map:
        return contrast_map[f.acquisition_contrast]
    return _family_from_timing(f)


def _family_from_inversion(f: HeaderFacts) -> str | None:
    """STIR / FLAIR / T1 (inversion-prepared) from the inversion time."""
    if f.ti is None or f.ti <= 0:
        return None
    gradient = _is_gradient_echo(f)
    short_te = f.te is not None and f.te < 30
    if STIR_TI_MS[0] <= f.ti <= STIR_TI_MS[1] and not gradient:
        return "STIR"
    if not (_is_inversion(f) or gradient or "MP" in f.sequence_variant):
        return None
    if f.ti >= FLAIR_MIN_TI_MS and not gradient and ((f.te or 0) >= 60 or (f.tr or 0) >= 4000):
        return "FLAIR"
    if gradient or short_te:
        return "T1"  # MPRAGE / BRAVO / T1-FLAIR
    return None


def _family_from_timing(f: HeaderFacts) -> str:
    """T1 / T2 / PD / T2STAR from TR and TE when no name or description says."""
    if f.tr is None or f.te is None:
        return "OTHER"
    if _is_gradient_echo(f) or v.any_match(v.GRADIENT_ECHO, f.texts):
        return "T2STAR" if f.te >= 12 and f.tr >= 100 else "T1"
    if f.te >= 60:
        return "T2"
    if f.tr >= 1500 and f.te < 45:
        return "PD"
    if f.tr < 1200 and f.te < 30:
        return "T1"
    return "OTHER"


_FAT_SCAN_OPTIONS = (
    "FS",
    "SFS",
    "FAT",
    "FATSAT",
    "SPIR",
    "SPAIR",
    "FSA_GEMS",
    "FSS_GEMS",
    "FSI_GEMS",
    "FSL_GEMS",
)


def fat_suppressed(f: HeaderFacts, family: str | None) -> bool:
    """True when any header says fat signal is suppressed (STIR, fat-sat, water excitation, Dixon W)."""
    if family == "STIR":
        return True
    if v.any_match(v.NOT_FAT_SUPPRESSED, f.texts):
        return False
    if any(o in _FAT_SCAN_OPTIONS for o in f.scan_options):
        return True
    if f.spectral_suppression in ("FAT", "FAT_AND_WATER") or f.spectral_excitation == "WATER":
        return True
    if any(t in ("W", "WATER") for t in f.image_type):
        return True
    return v.any_match(v.FAT_SUPPRESSED, f.texts + f.names)


_NO_AGENT = {"", "NONE", "NO", "N", "0", "-", "NULL", "なし", "無"}


def contrast_given(f: HeaderFacts) -> bool:
    """True for a post-contrast series: an agent recorded or the description says so (造影, +C, Gd)."""
    if v.any_match(v.NOT_CONTRAST, f.texts):
        return False
    if _norm(f.contrast_agent).strip() not in _NO_AGENT or f.contrast_administered:
        return True
    return v.any_match(v.CONTRAST, f.texts)
