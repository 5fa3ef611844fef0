"""Procedure Reported (TID 1500 row 4; CID 100) from the source headers.

LOINC imaging procedure codes are used where the modality and region are known (MR/CT of the cervical,
thoracic and lumbar spine; MR brain; CT and NM cisternography); otherwise the LOINC "unspecified body
region" code of the modality (in CID 100), and finally SNOMED CT "Imaging procedure".
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code

_MR_REGION = {
    "cervical": Code("24935-9", "LN", "MR Cervical spine"),
    "thoracic": Code("24980-5", "LN", "MR Thoracic spine"),
    "lumbar": Code("24968-0", "LN", "MR Lumbar spine"),
    "brain": Code("24590-2", "LN", "MR Brain"),
}
_CT_REGION = {
    "cervical": Code("24932-6", "LN", "CT Cervical spine"),
    "thoracic": Code("24978-9", "LN", "CT Thoracic spine"),
    "lumbar": Code("24963-1", "LN", "CT Lumbar spine"),
    "brain": Code("24725-4", "LN", "CT Head"),
}
_CT_INTRATHECAL = {
    "cervical": Code("24934-2", "LN", "CT Cervical spine W contrast IT"),
    "lumbar": Code("24965-6", "LN", "CT Lumbar spine W contrast IT"),
}
_CT_CISTERNOGRAPHY = Code("24734-6", "LN", "CT Cerebral cisterns W contrast IT")
_NM_CISTERNOGRAPHY = Code("24663-7", "LN", "NM Cerebral cisterns Views W radionuclide IT")
_UNSPECIFIED = {
    "MR": codes.cid100.MRIUnspecifiedBodyRegion,
    "CT": codes.cid100.CTUnspecifiedBodyRegion,
    "NM": codes.cid100.NMUnspecifiedBodyRegion,
    "PT": codes.cid100.PETUnspecifiedBodyRegion,
}

# Words (upper case, as in BodyPartExamined and descriptions) that name a region.
_REGION_PATTERNS = {
    "cervical": re.compile(r"\bC[\-\s]?SPINE\b|CSPINE|CERVICAL|\bHWS\b|CTSPINE|CERVICOTHORACIC"),
    "thoracic": re.compile(r"\bT[\-\s]?SPINE\b|TSPINE|THORACIC|\bBWS\b|CTSPINE|TLSPINE|CERVICOTHORACIC"),
    "lumbar": re.compile(r"\bL[\-\s]?SPINE\b|LSPINE|LUMBAR|\bLWS\b|TLSPINE|LSSPINE|THORACOLUMBAR"),
    "brain": re.compile(r"\bBRAIN\b|\bHEAD\b|CEREBR|\bSCHAEDEL\b|\bSKULL\b"),
}
_WHOLE_SPINE = re.compile(r"WHOLE[\s\-_]?SPINE|\bGANZE WS\b|TOTAL SPINE|ENTIRE SPINE")
#: "SPINE" with no segment named (BodyPartExamined SPINE, "Spine MR"): the whole spine.
_SPINE = re.compile(r"\bSPINE\b|\bWIRBELSAEULE\b|\bWS\b")
_INTRATHECAL = re.compile(r"MYELO|INTRATHECAL|\bIT\b")
_CISTERN = re.compile(r"CISTERN")


def _text(ds: Dataset) -> str:
    parts = (ds.get(k, "") for k in ("BodyPartExamined", "StudyDescription", "SeriesDescription"))
    return " ".join(str(p or "") for p in parts).upper()


def _regions(text: str) -> list[str]:
    if _WHOLE_SPINE.search(text):
        return ["cervical", "thoracic", "lumbar"]
    named = [name for name, pattern in _REGION_PATTERNS.items() if pattern.search(text)]
    if not [n for n in named if n != "brain"] and _SPINE.search(text):
        named += ["cervical", "thoracic", "lumbar"]
    return named


def _codes_for(modality: str, text: str) -> list[Code]:
    regions = _regions(text)
    if modality == "NM" and _CISTERN.search(text):
        return [_NM_CISTERNOGRAPHY]
    if modality == "CT" and _CISTERN.search(text):
        return [_CT_CISTERNOGRAPHY]
    if modality == "MR":
        return [_MR_REGION[r] for r in regions]
    if modality == "CT":
        if _INTRATHECAL.search(text):
            return [_CT_INTRATHECAL.get(r, _CT_REGION[r]) for r in regions]
        return [_CT_REGION[r] for r in regions]
    return []


def procedure_reported(sources: Sequence[Dataset]) -> list[Code]:
    """The procedure codes for a study, de-duplicated, in the order the sources first give them."""
    found: list[Code] = []
    modalities: list[str] = []
    for ds in sources:
        modality = str(ds.get("Modality", "") or "").upper()
        if modality and modality not in modalities:
            modalities.append(modality)
        for code in _codes_for(modality, _text(ds)):
            if code not in found:
                found.append(code)
    for modality in modalities:
        covered = any(_codes_for(modality, _text(ds)) for ds in sources if ds.get("Modality") == modality)
        generic = _UNSPECIFIED.get(modality)
        if not covered and generic is not None and generic not in found:
            found.append(generic)
    return found or [codes.cid100.ImagingProcedure]
