"""A volume re-indexed (never interpolated) so that its slices are as close to axial as the data allow."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workers.analysis.volume import Volume


@dataclass(frozen=True)
class AxialView:
    """``array[z, y, x]`` with z along patient superior-inferior, y along AP, x along RL (any sign).

    ``affine`` maps ``(z, y, x, 1)`` to patient coordinates; ``axes`` tells which axis of the source volume
    each axis of the view is, so that masks can be put back with :meth:`to_source`.
    """

    array: np.ndarray
    affine: np.ndarray
    axes: tuple[int, int, int]

    @classmethod
    def of(cls, volume: Volume) -> AxialView:
        directions = np.abs(volume.affine[:3, :3] / np.linalg.norm(volume.affine[:3, :3], axis=0))
        # For each patient axis (z, y, x) pick the source axis best aligned with it, without repeats.
        axes: list[int] = []
        for patient_axis in (2, 1, 0):
            order = np.argsort(-directions[patient_axis])
            axes.append(int(next(a for a in order if a not in axes)))
        array = np.transpose(volume.array, axes)
        affine = np.eye(4)
        affine[:3, :3] = volume.affine[:3, :3][:, axes]
        affine[:3, 3] = volume.affine[:3, 3]
        return cls(np.asarray(array), affine, (axes[0], axes[1], axes[2]))

    @property
    def spacing(self) -> tuple[float, float, float]:
        s = np.linalg.norm(self.affine[:3, :3], axis=0)
        return (float(s[0]), float(s[1]), float(s[2]))

    @property
    def slice_normal(self) -> np.ndarray:
        """Unit normal of the view's slices (the cross product of its in-plane axes)."""
        n = np.cross(self.affine[:3, 1], self.affine[:3, 2])
        return np.asarray(n / np.linalg.norm(n))

    def to_patient(self, index: np.ndarray) -> np.ndarray:
        index = np.atleast_2d(np.asarray(index, dtype=float))
        return np.asarray(index @ self.affine[:3, :3].T + self.affine[:3, 3])

    def to_source(self, array: np.ndarray) -> np.ndarray:
        """An array on this view's grid -> the same array on the source volume's grid."""
        return np.asarray(np.transpose(array, np.argsort(self.axes)))
