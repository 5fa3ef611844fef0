"""Grey closings, openings and rectangle maxima and minima of a plane, to the bit as scipy's, on the columns a
result needs.

Every filter here computes each pixel from its neighbours alone, in the same order wherever it lies: on the
columns a result needs, widened by what each stage reads (and stopped at the plane's own edges, where the
boundary modes apply), it gives those columns to the bit as on the whole plane, at a fraction of the cost.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def widened(cols: slice, by: int, n: int) -> slice:
    """``cols`` and ``by`` columns either side, clipped to ``0..n``."""
    return slice(max(0, cols.start - by), min(n, cols.stop + by))


def part_columns(cols: slice, outer: slice) -> slice:
    """``cols`` as columns of the part ``outer`` of a plane."""
    return slice(cols.start - outer.start, cols.stop - outer.start)


def closing(img: np.ndarray, size: tuple[int, int], cols: slice, mode: str) -> np.ndarray:
    """``ndimage.grey_closing(img, size=size, mode=mode, cval=0)[:, cols]``: the dilation on the columns the
    erosion reads, the erosion on ``cols`` (each stage reads ``size[1] // 2`` columns either side)."""
    return _two_stage(img, size, cols, mode, np.maximum, np.minimum)


def opening(img: np.ndarray, size: tuple[int, int], cols: slice, mode: str) -> np.ndarray:
    """``ndimage.grey_opening(img, size=size, mode=mode, cval=0)[:, cols]`` (see :func:`closing`)."""
    return _two_stage(img, size, cols, mode, np.minimum, np.maximum)


def _two_stage(img: np.ndarray, size: tuple[int, int], cols: slice, mode: str, first: Any, then: Any) -> np.ndarray:
    half, n = size[1] // 2, img.shape[1]
    outer, middle = widened(cols, 2 * half, n), widened(cols, half, n)
    staged = rectangle(img[:, outer], size, mode, first)[:, part_columns(middle, outer)]
    return rectangle(staged, size, mode, then)[:, part_columns(cols, middle)]


#: scipy's boundary modes as numpy's padding modes (constant: 0).
_PADDING = {"constant": "constant", "reflect": "symmetric", "nearest": "edge"}


def rectangle(img: np.ndarray, size: tuple[int, ...], mode: str, pick: Any) -> np.ndarray:
    """The maximum (``pick`` np.maximum) or minimum (np.minimum) over the centred rectangle of odd ``size``
    around each pixel, the image extended by ``mode``: ``ndimage.maximum_filter`` (``grey_dilation``) or
    ``minimum_filter`` (``grey_erosion``), the same values (a maximum is exact, whatever the order), one axis
    at a time, by windows doubling in width (a few whole-array steps instead of a loop over each line)."""
    out = img
    if img.size == 0:  # nothing to extend (no column within reach)
        return np.array(img)
    for axis, width in enumerate(size):
        if width % 2 == 0:
            raise ValueError(f"rectangle sizes must be odd, got {size}")
        out = boundary_padded(out, axis, width // 2, mode)
        reached = 1
        while reached < width:
            step = min(reached, width - reached)
            n = out.shape[axis]
            head, tail = [slice(None)] * img.ndim, [slice(None)] * img.ndim
            head[axis], tail[axis] = slice(0, n - step), slice(step, n)
            out = pick(out[tuple(head)], out[tuple(tail)])
            reached += step
    return np.asarray(out)


def boundary_padded(img: np.ndarray, axis: int, width: int, mode: str) -> np.ndarray:
    """``np.pad`` of ``img`` by ``width`` on both sides of ``axis`` in scipy's boundary ``mode`` (constant 0,
    reflect, nearest; see :data:`_PADDING`): the same values, copied by one concatenation (``np.pad``'s own
    bookkeeping cost more than the copy on the small planes here)."""
    n = img.shape[axis]
    if width == 0:
        return img
    if n < width or n == 0:  # reflected more than once: np.pad's own rules
        pad = [(0, 0)] * img.ndim
        pad[axis] = (width, width)
        return np.asarray(np.pad(img, pad, mode=_PADDING[mode]))  # type: ignore[call-overload]
    head, tail = [slice(None)] * img.ndim, [slice(None)] * img.ndim
    if mode == "constant":
        shape = list(img.shape)
        shape[axis] = width
        before = after = np.zeros(shape, dtype=img.dtype)
    elif mode == "reflect":  # the first and last ``width`` values, mirrored
        head[axis], tail[axis] = slice(0, width), slice(n - width, n)
        before, after = np.flip(img[tuple(head)], axis), np.flip(img[tuple(tail)], axis)
    elif mode == "nearest":
        head[axis], tail[axis] = slice(0, 1), slice(n - 1, n)
        reps = [1] * img.ndim
        reps[axis] = width
        before, after = np.tile(img[tuple(head)], reps), np.tile(img[tuple(tail)], reps)
    else:
        raise ValueError(f"unknown boundary mode {mode!r}")
    return np.concatenate([before, img, after], axis=axis)
