"""The summary card for the web page: the Secondary Capture's pixels decoded and encoded as PNG."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import numpy as np
from PIL import Image
from pydicom import dcmread


def sc_png(path: Path) -> bytes:
    """PNG of a Secondary Capture file (RGB or MONOCHROME2, 8 bit). Raises ``ValueError`` if it is not one."""
    ds = dcmread(path)
    photometric = str(ds.get("PhotometricInterpretation", ""))
    if int(ds.get("BitsAllocated", 0)) != 8 or photometric not in ("RGB", "MONOCHROME2", "MONOCHROME1"):
        raise ValueError(f"{path.name}: not an 8-bit RGB or grey image ({photometric})")
    pixels = np.asarray(ds.pixel_array)
    if pixels.ndim == 4 or (pixels.ndim == 3 and photometric != "RGB"):
        pixels = pixels[0]
    if photometric == "MONOCHROME1":
        pixels = 255 - pixels
    image = Image.fromarray(pixels.astype(np.uint8), mode="RGB" if photometric == "RGB" else "L")
    buffer = BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
