"""Codes of the RI cisternography and CT myelography measurements (private ones listed in CODES.md)."""

from __future__ import annotations

from pydicom.sr.coding import Code

from workers.results.codes import PRIVATE_SCHEME

CTM_HU = Code("ANA-CTMHU", PRIVATE_SCHEME, "Contrast attenuation (CT number)")
CTM_EXTENT = Code("ANA-CTMEXT", PRIVATE_SCHEME, "Craniocaudal extent of contrast")
RI_LR_RATIO = Code("ANA-RILR", PRIVATE_SCHEME, "Left/right paraspinal count ratio")
RI_CONVEXITY_RATIO = Code("ANA-RICONV", PRIVATE_SCHEME, "Convexity/basal cistern count ratio at 24 h")
RI_RESIDUAL = Code("ANA-RIRES", PRIVATE_SCHEME, "Neuraxis residual activity at 24 h")
DURAL_SAC = Code("ANA-DURALSAC", PRIVATE_SCHEME, "Dural sac (spinal subarachnoid space)")
EPIDURAL_SPACE = Code("ANA-EPIDURAL", PRIVATE_SCHEME, "Spinal epidural space")
SUBDURAL_SPACE = Code("ANA-SUBDURAL", PRIVATE_SCHEME, "Spinal subdural space")
NEURAXIS = Code("ANA-NEURAXIS", PRIVATE_SCHEME, "Neuraxis CSF spaces")
