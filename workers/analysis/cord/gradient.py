"""The gradient magnitude of a volume (scipy's Sobel in-plane, to the bit), a few slices at a time."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

#: Slices are filtered a few at a time, about this many pixels (the float64 passes stay in the cache).
_GRADIENT_CHUNK = 1 << 18


def gradient_magnitude(image: np.ndarray) -> np.ndarray:
    """``np.hypot(ndimage.sobel(image, axis=1), ndimage.sobel(image, axis=2))`` of a float32 volume, to the bit,
    a few slices at a time (about :data:`_GRADIENT_CHUNK` pixels, with one slice either side for the smoothing
    along z).

    scipy's sobel is three 1-D correlations, each in float64 and rounded to float32 (the input's type), with
    the ends reflected: the difference ``[-1, 0, 1]`` (the difference of two float32 values, rounded once:
    float32's own subtraction), then ``[1, 2, 1]`` along each other axis (``x * 2 + (left + right)`` in
    float64, rounded to float32). Here the same operations run in numpy on a few slices at a time, so that
    the float64 intermediates stay in the cache, and scipy itself smooths along the last axis, where its line
    buffers are cheap (along the first two axes they were most of the cost)."""
    if image.dtype != np.float32 or image.ndim != 3 or 0 in image.shape:
        return np.asarray(np.hypot(ndimage.sobel(image, axis=1), ndimage.sobel(image, axis=2)))
    nz, ny, nx = image.shape
    chunk = max(1, _GRADIENT_CHUNK // (ny * nx))
    out = np.empty(image.shape, dtype=np.float32)
    for k0 in range(0, nz, chunk):
        k1 = min(nz, k0 + chunk)
        # The chunk's slices and one either side, reflected at the volume's ends (scipy's "reflect": the end
        # slice again).
        ext = image[max(k0 - 1, 0) : min(k1 + 1, nz)]
        if k0 == 0:
            ext = np.concatenate([image[:1], ext])
        if k1 == nz:
            ext = np.concatenate([ext, image[-1:]])
        along_y = _smoothed_z(_differences(ext, 1))
        ndimage.correlate1d(along_y, [1, 2, 1], 2, along_y, "reflect")
        along_x = _smoothed_z(_differences(ext, 2))
        _smoothed_along(along_x.astype(np.float64), 1, along_x)
        np.hypot(along_y, along_x, out=out[k0:k1])
    return out


def _along(axis: int, start: int | None, stop: int | None) -> tuple[slice, ...]:
    return (slice(None),) * axis + (slice(start, stop),)


def _differences(x: np.ndarray, axis: int) -> np.ndarray:
    """``x[i + 1] - x[i - 1]`` along ``axis``, the ends reflected: scipy's ``correlate1d(x, [-1, 0, 1])``
    (``x[i] * 0 + (x[i - 1] - x[i + 1]) * -1`` in float64: the exact difference, rounded once to float32)."""
    n = x.shape[axis]
    out = np.empty_like(x)
    if n == 1:
        out[...] = 0.0
        return out
    np.subtract(x[_along(axis, 2, None)], x[_along(axis, None, -2)], out=out[_along(axis, 1, -1)])
    np.subtract(x[_along(axis, 1, 2)], x[_along(axis, 0, 1)], out=out[_along(axis, 0, 1)])
    np.subtract(x[_along(axis, n - 1, n)], x[_along(axis, n - 2, n - 1)], out=out[_along(axis, n - 1, n)])
    return out


def _smoothed_z(d32: np.ndarray) -> np.ndarray:
    """scipy's ``correlate1d(d, [1, 2, 1], axis=0)`` of the inner slices of a chunk extended by a slice either
    side: ``d * 2 + (before + after)`` in float64, rounded to float32."""
    d = d32.astype(np.float64)
    z = d[1:-1] * 2.0
    z += d[:-2] + d[2:]
    return z.astype(np.float32)


def _smoothed_along(e: np.ndarray, axis: int, out: np.ndarray) -> np.ndarray:
    """scipy's ``correlate1d(x, [1, 2, 1], axis)`` (ends reflected) of the float64 copy ``e`` of a float32
    array ``x``: ``e * 2 + (left + right)``, rounded into the float32 ``out``."""
    n = e.shape[axis]
    t = e * 2.0
    if n == 1:
        t += e + e
    else:
        t[_along(axis, 1, -1)] += e[_along(axis, None, -2)] + e[_along(axis, 2, None)]
        t[_along(axis, 0, 1)] += e[_along(axis, 0, 1)] + e[_along(axis, 1, 2)]
        t[_along(axis, n - 1, n)] += e[_along(axis, n - 2, n - 1)] + e[_along(axis, n - 1, n)]
    out[...] = t
    return out
