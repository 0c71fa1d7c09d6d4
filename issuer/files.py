"""Atomic file writes: a file is either its old content or its new content, never half of one.

Each file is written to a temporary sibling and renamed into place (`os.replace` is atomic on
POSIX). Staging several files before renaming any lets a caller write a whole set or none.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def stage_file(target: Path, data: bytes, mode: int = 0o644) -> Path:
    """Write `data` to a temporary file beside `target` (with `mode`) and return its path."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        os.fchmod(handle, mode)
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


def write_atomic(target: Path, data: bytes, mode: int = 0o644) -> None:
    """Replace `target` with `data` in one step."""
    os.replace(stage_file(target, data, mode), target)
