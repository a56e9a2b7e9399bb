"""Writing files so that nothing is ever half-written: every file the helpers save goes through here.

A file is written under a temporary name in its destination folder and renamed into place only
once it is complete (``os.replace`` is atomic on POSIX and Windows), so a crash, a killed kernel or
a second process sees either no file or the whole file, never a part of one.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np


@contextmanager
def atomic_file(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block ends without an error, rename it to
    ``path``, otherwise delete it.  The block may also check the finished file and raise to reject it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def save_arrays(path: Path, **arrays) -> None:
    """Save NumPy arrays to the ``.npz`` file ``path`` (compressed), atomically."""
    with atomic_file(path) as tmp, open(tmp, "wb") as handle:
        np.savez_compressed(handle, **arrays)
