"""pydicom's own test files and pydicom-data's, read from their package folders.

pydicom's ``get_testdata_file(s)`` downloads every file it does not ship (and retries each for ~20 s when the
machine is offline), so tests never call it: they read the two folders that are installed with the packages.
"""

from __future__ import annotations

from pathlib import Path

import pydicom.data


def _folders() -> list[Path]:
    folders = [Path(pydicom.data.__file__).parent / "test_files"]
    try:
        import data_store  # pydicom-data, a test dependency
    except ImportError:
        pass
    else:
        folders.append(Path(data_store.__file__).parent / "data")
    return folders


def dicom_test_files(pattern: str = "**/*") -> list[Path]:
    """Every file matching ``pattern`` in pydicom's test files and pydicom-data's (no Python sources)."""
    found: set[Path] = set()
    for folder in _folders():
        found.update(p for p in folder.glob(pattern) if p.is_file() and p.suffix != ".py")
    return sorted(found)


def dicom_test_file(name: str) -> Path:
    """The one file called ``name`` in either folder; a clear error when neither has it."""
    for folder in _folders():
        path = folder / name
        if path.is_file():
            return path
    raise FileNotFoundError(f"{name} is in neither pydicom's test files nor pydicom-data ({_folders()})")
