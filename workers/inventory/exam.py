"""Which exam an NM or CT series belongs to, from headers only: RI cisternography, CT myelography, or neither.

NM: In-111 (radionuclide code 56609000, or the radiopharmaceutical's name) or a description that names a
cisternography (cisterno-, 脳槽, 髄液/CSF). CT: intrathecal contrast (ContrastBolusRoute) or a description that
names a myelogram (myelo, ミエロ, 脊髄腔造影). Anything else is None: a bone scan is not a cisternography and a
plain spine CT is not a myelogram.
"""

from __future__ import annotations

import re
import unicodedata

from pydicom.dataset import Dataset

_CISTERNO = re.compile(r"CISTERN|脳槽|髄液|\bCSF\b|MYELOSCINT", re.IGNORECASE)
_MYELO = re.compile(r"MYELO|ミエロ|脊髄腔造影|脊髄造影", re.IGNORECASE)
IN111 = "56609000"


def _texts(ds: Dataset) -> str:
    parts = (ds.get(k, "") for k in ("SeriesDescription", "StudyDescription", "ProtocolName", "ImageComments"))
    return unicodedata.normalize("NFKC", " ".join(str(p or "") for p in parts))


def exam_of(ds: Dataset) -> str | None:
    """``ri_cisternography``, ``ct_myelography`` or None for one representative instance of a series."""
    modality = str(ds.get("Modality", "")).upper()
    texts = _texts(ds)
    if modality == "NM":
        info = (ds.get("RadiopharmaceuticalInformationSequence") or [None])[0]
        if info is not None:
            codes = info.get("RadionuclideCodeSequence") or []
            if codes and str(codes[0].get("CodeValue", "")) == IN111:
                return "ri_cisternography"
            name = unicodedata.normalize("NFKC", str(info.get("Radiopharmaceutical", "") or "")).upper()
            if "111" in name and "IN" in name:
                return "ri_cisternography"
        return "ri_cisternography" if _CISTERNO.search(texts) else None
    if modality == "CT":
        if str(ds.get("ContrastBolusRoute", "")).strip().upper() == "INTRATHECAL":
            return "ct_myelography"
        return "ct_myelography" if _MYELO.search(texts) else None
    return None
