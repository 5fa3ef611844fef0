"""IOD validation of written objects with dicom3tools ``dciodvfy``.

Every SR and Secondary Capture the node writes must give no "Error" line. Warnings (for example about
the private coding scheme ``99SPINENODE``) are allowed.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

DCIODVFY = "dciodvfy"


class ValidatorMissingError(RuntimeError):
    """dciodvfy (Debian package ``dicom3tools``) is not installed or not on PATH."""


def dciodvfy_errors(path: str | Path, *, timeout_seconds: float = 120.0) -> list[str]:
    """Run ``dciodvfy`` on the file at ``path`` and return its lines that contain "Error".

    Raises :class:`ValidatorMissingError` when dciodvfy is missing, ``FileNotFoundError`` when ``path``
    does not exist, and ``subprocess.TimeoutExpired`` when the run takes longer than ``timeout_seconds``.
    """
    executable = shutil.which(DCIODVFY)
    if executable is None:
        raise ValidatorMissingError(
            f"{DCIODVFY} not found on PATH; install the Debian package 'dicom3tools' (apt-get install dicom3tools)"
        )
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"path: {str(file)!r} is not a file")
    completed = subprocess.run(
        [executable, str(file)],
        capture_output=True,
        text=True,
        errors="replace",
        timeout=timeout_seconds,
        check=False,
    )
    output = completed.stdout + completed.stderr
    return [line.strip() for line in output.splitlines() if "Error" in line]
