"""Writing files so that nothing is ever half-written, and caches that verify what they load: every
file the helpers save, and every cache they read, goes through here.

A file is written under a temporary name in its destination folder and renamed into place only
once it is complete (``os.replace`` is atomic on POSIX and Windows), so a crash, a killed kernel or
a second process sees either no file or the whole file, never a part of one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterator
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


# --------------------------------------------------------------------------------------------
# Caches of computed results: verified on load, healed when damaged, never fatal to save
# --------------------------------------------------------------------------------------------
class CacheWarning(UserWarning):
    """A cache file was damaged, made for other parameters, or could not be written.  The result
    the caller gets is still correct: it is recomputed (and the cache rewritten where possible)."""


_PARAMS, _DIGEST = "_params", "_sha256"


def _content_digest(arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 over every array's name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        value = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{value.dtype.str}|{value.shape}|".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()


def _check(path, params) -> str:
    """The JSON text of ``params`` (a dict of plain values), for a ``.npz`` ``path``."""
    if not str(path).endswith(".npz"):
        raise ValueError(f"path={str(path)!r}; expected a .npz file")
    if not isinstance(params, dict):
        raise TypeError(f"params={params!r}; expected a dict of the values the result was made from")
    try:
        return json.dumps(params, sort_keys=True)
    except TypeError as error:
        raise TypeError(f"params: {error}; expected plain numbers, strings and lists (convert arrays "
                        f"with .tolist())") from None


def store(path: Path, params: dict, **arrays) -> bool:
    """Write a cache file: the arrays, the JSON of the ``params`` they were made for, and a SHA-256
    of their content, atomically.  If the file cannot be written (a read-only folder, a full disk),
    warn with a :class:`CacheWarning` and return ``False``: the caller keeps its result."""
    fingerprint = _check(path, params)
    if not arrays or {_PARAMS, _DIGEST} & set(arrays):
        raise ValueError(f"arrays {sorted(arrays)}; expected at least one array, none named "
                         f"{_PARAMS} or {_DIGEST}")
    arrays = {name: np.asarray(value) for name, value in arrays.items()}
    try:
        save_arrays(path, **arrays, **{_PARAMS: fingerprint, _DIGEST: _content_digest(arrays)})
        return True
    except OSError as error:
        warnings.warn(f"could not write the cache {path} ({error}); the result is correct but will be "
                      f"recomputed next time", CacheWarning, stacklevel=2)
        return False


def load(path: Path, params: dict, check: Callable[[dict[str, np.ndarray]], None] | None = None):
    """The arrays of the cache file ``path`` if it holds a verified result made for ``params``;
    ``None`` if there is no such file.

    A file that cannot be read (empty, truncated, garbage), whose content hash does not match, that
    was made for other parameters, or whose arrays fail ``check`` (which raises ``ValueError`` with
    the reason: a shape, a dtype, a value range) is reported with a :class:`CacheWarning` naming the
    file and the reason, and removed, so the caller recomputes and rewrites it.
    """
    fingerprint = _check(path, params)
    if check is not None and not callable(check):
        raise TypeError(f"check={check!r}; expected None or a function of the loaded arrays")
    path = Path(path)
    if not path.exists():
        return None
    try:
        if not path.is_file():
            raise ValueError("it is not a file")
        with np.load(path, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
        meta = {name: str(arrays.pop(name)) if name in arrays else None for name in (_PARAMS, _DIGEST)}
        if meta[_DIGEST] != _content_digest(arrays):
            raise ValueError("its content hash does not match (a damaged or foreign file)")
        if meta[_PARAMS] != fingerprint:
            raise ValueError(f"it was made for other parameters ({meta[_PARAMS]})")
        if check is not None:
            check(arrays)
        return arrays
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile, zlib.error) as error:
        _discard(path, f"{type(error).__name__}: {error}")
        return None


def _discard(path: Path, reason: str) -> None:
    try:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
        outcome = "removed it; the result is recomputed and saved again"
    except OSError as error:
        outcome = f"could not remove it ({error}); the result is recomputed"
    warnings.warn(f"the cache {path} is unusable ({reason}): {outcome}", CacheWarning, stacklevel=3)
