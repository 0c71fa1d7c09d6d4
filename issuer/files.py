"""Atomic file writes: a file is either its old content or its new content, never half of one.

Each file is written to a temporary sibling and renamed into place (`os.replace` is atomic on
POSIX). Staging several files before renaming any lets a caller write a whole set or none.

Modes are set whatever the umask: PUBLIC for what is meant to be read by others (the committed
Achievements, a credential the operator asked to write out), PRIVATE for secrets and personal
data (keys, mail, anything under the data directory). Directories created for a private file
are private too (0700): the file's mode guards its content, the directory its name and the
right to replace it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

PUBLIC = 0o644
PRIVATE = 0o600


def stage_file(target: Path, data: bytes, mode: int = PUBLIC) -> Path:
    """Write `data` to a temporary file beside `target` (with `mode`) and return its path."""
    make_directory(target.parent, private=not mode & 0o077)
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        os.fchmod(handle, mode)
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


def write_atomic(target: Path, data: bytes, mode: int = PUBLIC) -> None:
    """Replace `target` with `data` in one step."""
    os.replace(stage_file(target, data, mode), target)


def make_directory(path: Path, *, private: bool) -> None:
    """Create `path` and its missing parents, 0700 if `private` else 0755 (narrowed by the
    umask). A directory that exists is left as it is: it may not be ours to change (a shared
    parent, the working directory), and the private files in it keep their content to us."""
    missing = []
    while not path.is_dir():
        missing.append(path)
        path = path.parent
    for directory in reversed(missing):
        directory.mkdir(0o700 if private else 0o755, exist_ok=True)
