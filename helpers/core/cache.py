"""Writing files so that nothing is ever half-written, and caches that verify what they load: every
file the helpers save, and every cache they read, goes through here.

A file is written under a temporary name in its destination folder and renamed into place only
once it is complete (``os.replace`` is atomic on POSIX and Windows), so a crash, a killed kernel or
a second process sees either no file or the whole file, never a part of one.  A writer killed
mid-write (``SIGKILL``, a lost machine) cannot delete its temporary: the next write or read of the
same file removes it (:func:`remove_stale_temporaries`).

Where files live: :func:`data_root` (``$ADVML_DATA_DIR`` or ``~/.cache/advml``) and
:func:`cache_dir` for computed results.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import tempfile
import time
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np


def data_root() -> Path:
    """The data folder as configured: ``$ADVML_DATA_DIR`` if set, else ``~/.cache/advml`` (unchecked;
    :func:`helpers.data.datasets.data_dir` checks that a set folder exists)."""
    env = os.environ.get("ADVML_DATA_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "advml"


def cache_dir() -> Path:
    """Where computed data (Ising configurations, trained reference models) are cached.

    ``$ADVML_CACHE_DIR`` if set; else the data folder (:func:`data_root`) if it is writable; else
    ``~/.cache/advml`` (CI points the data folder at a read-only shared copy).
    """
    env = os.environ.get("ADVML_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    root = data_root()
    if root.is_dir() and os.access(root, os.W_OK):
        return root
    return Path.home() / ".cache" / "advml"


# A temporary is named ".<file>.<host>_<pid>.<random>.tmp", so a later process can tell whether its
# writer still runs.  Whose writer is alive, or cannot be asked (another host, not POSIX), is kept
# until it has not been written to for STALE_AFTER seconds.
STALE_AFTER = 24 * 3600.0
_HOST = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:32] or "host"


def _writer_is_dead(host: str, pid: int) -> bool:
    if host != _HOST or os.name != "posix" or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except OSError:  # it exists (another user's process)
        return False
    return False


def remove_stale_temporaries(path: Path) -> list[Path]:
    """Remove the temporaries that :func:`atomic_file` left beside ``path`` when its writer died: those
    of a process on this host that no longer runs, and any not written to for :data:`STALE_AFTER`
    seconds.  A live writer's temporary, and other files' temporaries, are never touched.  Never
    raises (a read-only folder keeps its files); returns the paths removed."""
    path = Path(path)
    pattern = re.compile(r"\." + re.escape(path.name) + r"\.(?:([A-Za-z0-9-]+)_(\d+)\.)?[A-Za-z0-9_]+\.tmp")
    removed = []
    try:
        candidates = list(path.parent.iterdir()) if path.parent.is_dir() else []
    except OSError:
        return removed
    now = time.time()
    for candidate in candidates:
        found = pattern.fullmatch(candidate.name)
        if found is None:
            continue
        try:
            dead = found.group(1) is not None and _writer_is_dead(found.group(1), int(found.group(2)))
            if dead or now - candidate.stat().st_mtime > STALE_AFTER:
                candidate.unlink()
                removed.append(candidate)
        except OSError:
            continue
    return removed


@contextmanager
def atomic_file(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block ends without an error, rename it to
    ``path``, otherwise delete it.  The block may also check the finished file and raise to reject it.
    Stale temporaries of ``path`` left by killed writers are removed first."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.{_HOST}_{os.getpid()}.", suffix=".tmp",
                                    dir=path.parent)
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
    remove_stale_temporaries(path)
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
