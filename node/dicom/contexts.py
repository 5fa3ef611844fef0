"""The storage SOP classes and transfer syntaxes the SCP accepts (stored as received, never recompressed)."""

from __future__ import annotations

from pydicom import uid as sc
from pydicom.uid import (
    JPEG2000,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    RLELossless,
)

#: In preference order: pynetdicom accepts, per presentation context, the first of these the requestor
#: proposed. Compressed pixel syntaxes come first so that a sender proposing a file's own (compressed)
#: syntax alongside the uncompressed ones sends it as it is stored: never decompressed or recompressed.
#: Deflate comes after the native little endian syntaxes: DCMTK's storescu (and others) propose it for
#: every uncompressed file, and preferring it made the sender deflate each dataset on the fly and the node
#: inflate it again (most of both sides' CPU per image); a sender that proposes only deflate (a file
#: stored deflated, as :func:`node.dicom.scu.send_files` proposes it) still has it accepted.
VERIFICATION = "1.2.840.10008.1.1"  # Verification SOP Class (C-ECHO)

TRANSFER_SYNTAXES: list[str] = [
    RLELossless,
    JPEGLosslessSV1,
    JPEGLossless,
    JPEGLSLossless,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLSNearLossless,
    JPEG2000,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    DeflatedExplicitVRLittleEndian,
]

STORAGE_SOP_CLASSES: dict[str, str] = {
    "MR": sc.MRImageStorage,
    "Enhanced MR": sc.EnhancedMRImageStorage,
    "Enhanced MR Color": sc.EnhancedMRColorImageStorage,
    "MR Spectroscopy": sc.MRSpectroscopyStorage,
    "CT": sc.CTImageStorage,
    "Enhanced CT": sc.EnhancedCTImageStorage,
    "NM": sc.NuclearMedicineImageStorage,
    "Secondary Capture": sc.SecondaryCaptureImageStorage,
    "Multi-frame Grayscale Byte SC": sc.MultiFrameGrayscaleByteSecondaryCaptureImageStorage,
    "Multi-frame Grayscale Word SC": sc.MultiFrameGrayscaleWordSecondaryCaptureImageStorage,
    "Multi-frame True Color SC": sc.MultiFrameTrueColorSecondaryCaptureImageStorage,
    "Basic Text SR": sc.BasicTextSRStorage,
    "Enhanced SR": sc.EnhancedSRStorage,
    "Comprehensive SR": sc.ComprehensiveSRStorage,
    "Comprehensive 3D SR": sc.Comprehensive3DSRStorage,
    "Key Object Selection": sc.KeyObjectSelectionDocumentStorage,
    "Grayscale Softcopy Presentation State": sc.GrayscaleSoftcopyPresentationStateStorage,
}
