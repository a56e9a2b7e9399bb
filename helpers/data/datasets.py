"""Data sets: MNIST and Fashion-MNIST from their original IDX files, and scikit-learn's digits.

Where the files live
    ``data_dir()`` is ``$ADVML_DATA_DIR`` if set, else ``~/.cache/advml``.  Each data set is a
    folder in it (``mnist/``, ``fashion-mnist/``) holding the four original gzip IDX files.

How a file is trusted
    Every file is checked against the SHA-256 below before it is parsed.  A missing file is
    downloaded from the canonical mirrors (the next mirror is tried when one fails) to a temporary
    name in the same folder, verified, and only then renamed into place; a crash or a second
    process therefore never leaves a half file behind, and a file that fails verification is
    deleted, never used.  A download killed mid-way leaves its temporary behind; the next call for
    that file removes it (:func:`helpers.core.cache.remove_stale_temporaries`).

The 2-D toy distributions live in :mod:`helpers.data.toy`.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import jax
import numpy as np
from jaxtyping import Float, Real

from helpers.core import cache, rng, validate
from helpers.core.validate import AnyArray, shaped

SPLITS = ("train", "test")


@dataclass(frozen=True)
class IDXDataset:
    """The four gzip IDX files of an MNIST-format data set, their SHA-256 and mirrors."""

    folder: str
    sha256: dict[str, str]
    mirrors: tuple[str, ...]

    def files(self, split: str) -> tuple[str, str]:
        prefix = {"train": "train", "test": "t10k"}[split]
        return f"{prefix}-images-idx3-ubyte.gz", f"{prefix}-labels-idx1-ubyte.gz"


MNIST = IDXDataset(
    folder="mnist",
    sha256={
        "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    },
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ),
)

FASHION_MNIST = IDXDataset(
    folder="fashion-mnist",
    sha256={
        "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    },
    mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
)

class DataUnavailableError(FileNotFoundError):
    """A data file is missing and could not be downloaded."""


class ChecksumError(ValueError):
    """A data file does not have the SHA-256 it must have."""


def data_dir() -> Path:
    """The data directory: ``$ADVML_DATA_DIR`` if set, else ``~/.cache/advml``.

    A set ``ADVML_DATA_DIR`` must name an existing folder: a mistyped path would otherwise become a
    new, empty data folder and a silent download (``DataUnavailableError`` says so instead).
    """
    root = cache.data_root()
    if os.environ.get("ADVML_DATA_DIR") and not root.is_dir():
        raise DataUnavailableError(
            f"ADVML_DATA_DIR={os.environ['ADVML_DATA_DIR']!r} is not an existing folder; create it, or point "
            f"it at the folder that holds mnist/ and fashion-mnist/ (or unset it to use ~/.cache/advml)"
        )
    return root


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verify(path: Path, expected: str) -> None:
    actual = sha256_of(path)
    if actual != expected:
        raise ChecksumError(
            f"{path} failed verification: expected SHA-256 {expected}, got {actual}"
        )


def _download(url: str, destination: Path, expected: str, timeout: float) -> None:
    """Fetch ``url`` to a temporary file beside ``destination``, verify it, rename it in place."""
    with cache.atomic_file(destination) as tmp:  # readers see no file or the whole, verified file
        with open(tmp, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            while block := response.read(1 << 20):
                out.write(block)
        _verify(tmp, expected)


def ensure_file(
    dataset: IDXDataset,
    filename: str,
    root: Path | None = None,
    download: bool = True,
    mirrors: tuple[str, ...] | None = None,
    timeout: float = 60.0,
) -> Path:
    """Return the path of a verified data file, downloading it first if it is missing.

    A file on disk that fails its SHA-256 is never used: with ``download`` on it is removed and a
    good copy fetched; with ``download`` off, or when it cannot be removed (a read-only folder),
    ``ChecksumError`` says so, with the expected and actual SHA-256.  ``DataUnavailableError`` is
    raised if the file is missing and no mirror delivers a verified copy; its message also says
    which file on disk failed verification and was removed.
    """
    validate.choice("filename", filename, sorted(dataset.sha256))
    folder = (Path(root) if root is not None else data_dir()) / dataset.folder
    path = folder / filename
    expected = dataset.sha256[filename]
    removed = ""
    cache.remove_stale_temporaries(path)  # a download killed mid-way left its temporary behind
    if path.is_dir():
        raise DataUnavailableError(f"{path} is a folder; expected the data file {filename} "
                                   f"(sha256 {expected}) there: remove the folder")
    if path.exists():
        try:
            _verify(path, expected)
            return path
        except OSError as error:  # unreadable (permissions): say so rather than fail in a parser
            raise DataUnavailableError(f"{path} exists but cannot be read ({error})") from None
        except ChecksumError as error:
            if not download:
                raise ChecksumError(f"{error}; the file was left in place (download=False): replace it with "
                                    f"a good copy") from None
            try:
                path.unlink()  # a corrupt file is never used and not kept
            except OSError as unlink_error:
                raise ChecksumError(f"{error}; it could not be removed ({unlink_error}), so no good copy can "
                                    f"be saved there: replace it by hand") from None
            removed = f"{error}; the corrupt file was removed.\n"
    if not download:
        raise DataUnavailableError(_missing_message(dataset, folder))
    failures = []
    for mirror in mirrors if mirrors is not None else dataset.mirrors:
        try:
            _download(mirror + filename, path, expected, timeout)
            return path
        except (OSError, urllib.error.URLError, ChecksumError) as error:
            failures.append(f"  {mirror}{filename}: {error}")
    raise DataUnavailableError(
        removed + _missing_message(dataset, folder) + "\nDownload attempts:\n" + "\n".join(failures)
    )


def _missing_message(dataset: IDXDataset, folder: Path) -> str:
    names = "\n".join(f"  {name}  (sha256 {digest})" for name, digest in dataset.sha256.items())
    return (
        f"The {dataset.folder} files are not available. Put these four files in {folder}:\n"
        f"{names}\n"
        f"or set ADVML_DATA_DIR to a folder that has a '{dataset.folder}/' subfolder with them."
    )


def read_idx(path: Path) -> np.ndarray:
    """Parse an IDX file (optionally gzip-compressed) into a NumPy array.

    Format: two zero bytes, a type code (0x08 = uint8, ...), the number of dimensions d, then d
    big-endian uint32 sizes and the data in row-major order.
    """
    types = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as handle:
        raw = handle.read()
    if len(raw) < 4 or raw[:2] != b"\x00\x00" or raw[2] not in types:
        raise ValueError(f"{path} is not an IDX file: bad magic number {raw[:4]!r}")
    ndim = raw[3]
    shape = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    dtype = np.dtype(types[raw[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    body = raw[4 + 4 * ndim :]
    if len(body) != expected:
        raise ValueError(f"{path}: header promises {expected} data bytes, file has {len(body)}")
    return np.frombuffer(body, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def _load_idx_pair(
    dataset: IDXDataset, split: str, binarize: str | None, root: Path | None, download: bool
) -> tuple[np.ndarray, np.ndarray]:
    validate.choice("split", split, SPLITS)
    validate.choice("binarize", binarize, (None, "threshold", "bernoulli"))
    image_file, label_file = dataset.files(split)
    images = read_idx(ensure_file(dataset, image_file, root, download)).astype(np.float32) / 255.0
    labels = read_idx(ensure_file(dataset, label_file, root, download)).astype(np.int32)
    if binarize == "threshold":
        images = (images > 0.5).astype(np.float32)
    elif binarize == "bernoulli":
        # A fixed seed per split, so a "statically binarised" set is the same on every machine.
        rng = np.random.default_rng(20170 + SPLITS.index(split))
        images = (rng.random(images.shape, dtype=np.float32) < images).astype(np.float32)
    return images, labels


def load_mnist(
    split: str = "train",
    binarize: str | None = None,
    root: Path | None = None,
    download: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """MNIST digits: images ``(N, 28, 28)`` float32 in [0, 1] and labels ``(N,)`` int32.

    ``split`` is ``"train"`` (N = 60000) or ``"test"`` (N = 10000).  ``binarize`` is ``None``
    (grey levels), ``"threshold"`` (pixel > 0.5) or ``"bernoulli"`` (one fixed-seed draw
    x ~ Bernoulli(pixel), the usual static binarisation).  For a fresh draw each epoch use
    :func:`dynamic_binarize`.
    """
    return _load_idx_pair(MNIST, split, binarize, root, download)


def load_fashion_mnist(
    split: str = "train",
    binarize: str | None = None,
    root: Path | None = None,
    download: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST articles, same shapes and options as :func:`load_mnist`."""
    return _load_idx_pair(FASHION_MNIST, split, binarize, root, download)


@shaped
def dynamic_binarize(key, images: Float[AnyArray, "*shape"]) -> jax.Array:
    r"""Draw :math:`x_i \sim \mathrm{Bernoulli}(p_i)` per pixel; same shape and dtype as ``images``,
    whose grey levels :math:`p_i` must lie in [0, 1] (images of 0..255 would all come out white).

    Call it with a new key every epoch so the model never sees the same binary image twice.  The
    bits are :mod:`helpers.core.rng`'s counter-based ones, four times faster on a CPU than
    ``jax.random.uniform`` (they are drawn for every pixel of every training step).
    """
    validate.key("key", key)
    images = validate.unit_interval("images", images, _GREY)  # also checked under jit
    return _dynamic_binarize(key, images)


_GREY = "grey levels in [0, 1] (divide 0..255 images by 255)"


@jax.jit
def _dynamic_binarize(key, images):
    return rng.bernoulli(key, images).astype(images.dtype)


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8x8 digits (shipped with the package, no download).

    Returns images ``(1797, 8, 8)`` float32 in [0, 1] (grey levels 0..16 divided by 16) and
    labels ``(1797,)`` int32.
    """
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    return (bunch.images / 16.0).astype(np.float32), bunch.target.astype(np.int32)


@shaped
def prepare_images(images: Real[AnyArray, "n 28 28"], size=28, value_range=(0.0, 1.0)) -> np.ndarray:
    r"""Grey-level images ``(n, 28, 28)`` in [0, 1] at ``size`` 28 or 14 (means of 2x2 blocks), mapped
    linearly to ``value_range``: :math:`x \mapsto lo + (hi - lo)\,x`.  Diffusion models use [-1, 1].

    Returns ``(n, size, size)`` float32.
    """
    images = validate.unit_interval("images", np.asarray(images, np.float32), _GREY)
    if size not in (14, 28) or isinstance(size, bool):
        raise ValueError(f"size={size!r}; expected 28 (full resolution) or 14 (2 x 2 averages)")
    if not (isinstance(value_range, tuple | list) and len(value_range) == 2):
        raise ValueError(f"value_range={value_range!r}; expected a pair (lo, hi)")
    validate.number(lo=value_range[0], hi=value_range[1])
    if size == 14:
        images = images.reshape(-1, 14, 2, 14, 2).mean((2, 4))
    lo, hi = value_range
    return (lo + (hi - lo) * images).astype(np.float32)
