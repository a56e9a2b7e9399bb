"""helpers.data.datasets: the download path against a local server, the IDX parser, the loaders."""

import contextlib
import functools
import gzip
import hashlib
import http.server
import os
import re
import socket
import struct
import subprocess
import sys
import threading
from pathlib import Path

import jax
import numpy as np
import pytest

from helpers.data import datasets, toy

# ---------------------------------------------------------------------------------------------
# A small IDX file and a local HTTP server on 127.0.0.1
# ---------------------------------------------------------------------------------------------


def idx_bytes(array: np.ndarray) -> bytes:
    header = b"\x00\x00\x08" + bytes([array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


GOOD = gzip.compress(idx_bytes(np.arange(2 * 3 * 4).reshape(2, 3, 4)), mtime=0)
NAME = "train-images-idx3-ubyte.gz"


def fake_dataset(mirrors) -> datasets.IDXDataset:
    sha = {n: "0" * 64 for n in datasets.MNIST.sha256}
    sha[NAME] = hashlib.sha256(GOOD).hexdigest()
    return datasets.IDXDataset(folder="fake", sha256=sha, mirrors=tuple(mirrors))


@contextlib.contextmanager
def serve(folder: Path):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def closed_port_url() -> str:
    with socket.socket() as sock:  # bind, read the port, close: nothing listens there now
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name != NAME) if folder.exists() else []


@pytest.fixture
def site(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    with serve(served) as url:
        yield served, url


def test_download_verifies_and_renames_into_place(tmp_path, site):
    served, url = site
    (served / NAME).write_bytes(GOOD)
    root = tmp_path / "data"
    path = datasets.ensure_file(fake_dataset([url]), NAME, root=root)
    assert path == root / "fake" / NAME
    assert path.read_bytes() == GOOD
    assert leftovers(root / "fake") == []  # no temporary file left behind
    assert datasets.read_idx(path).shape == (2, 3, 4)


@pytest.mark.parametrize("bad", [GOOD[: len(GOOD) // 2], b"x" * len(GOOD)], ids=["truncated", "wrong-bytes"])
def test_bad_download_is_rejected_and_not_kept(tmp_path, site, bad):
    served, url = site
    (served / NAME).write_bytes(bad)
    root = tmp_path / "data"
    with pytest.raises(datasets.DataUnavailableError) as info:
        datasets.ensure_file(fake_dataset([url]), NAME, root=root)
    message = str(info.value)
    assert NAME in message
    assert hashlib.sha256(GOOD).hexdigest() in message  # expected hash
    assert hashlib.sha256(bad).hexdigest() in message  # actual hash
    assert not (root / "fake" / NAME).exists()
    assert leftovers(root / "fake") == []


def test_server_down_then_next_mirror(tmp_path, site):
    served, url = site
    (served / NAME).write_bytes(GOOD)
    root = tmp_path / "data"
    path = datasets.ensure_file(fake_dataset([closed_port_url(), url]), NAME, root=root, timeout=5)
    assert path.read_bytes() == GOOD


def test_server_down_everywhere_gives_a_clear_error(tmp_path):
    root = tmp_path / "data"
    with pytest.raises(datasets.DataUnavailableError) as info:
        datasets.ensure_file(fake_dataset([closed_port_url()]), NAME, root=root, timeout=5)
    message = str(info.value)
    assert str(root / "fake") in message and "ADVML_DATA_DIR" in message and NAME in message
    assert leftovers(root / "fake") == []


def test_corrupt_file_on_disk_is_replaced(tmp_path, site):
    served, url = site
    (served / NAME).write_bytes(GOOD)
    root = tmp_path / "data"
    (root / "fake").mkdir(parents=True)
    (root / "fake" / NAME).write_bytes(b"corrupt")
    with pytest.raises(datasets.ChecksumError, match="expected SHA-256"):
        datasets.ensure_file(fake_dataset([url]), NAME, root=root, download=False)
    assert datasets.ensure_file(fake_dataset([url]), NAME, root=root).read_bytes() == GOOD


def test_corrupt_file_offline_says_it_failed_and_was_removed(tmp_path):
    root = tmp_path / "data"
    (root / "fake").mkdir(parents=True)
    (root / "fake" / NAME).write_bytes(b"corrupt")
    with pytest.raises(datasets.DataUnavailableError) as info:
        datasets.ensure_file(fake_dataset([closed_port_url()]), NAME, root=root, timeout=5)
    message = str(info.value)
    assert str(root / "fake" / NAME) in message and "failed verification" in message
    assert hashlib.sha256(GOOD).hexdigest() in message  # expected
    assert hashlib.sha256(b"corrupt").hexdigest() in message  # actual
    assert "was removed" in message and "Download attempts" in message
    assert not (root / "fake" / NAME).exists()


def test_corrupt_file_that_cannot_be_removed_says_why(tmp_path, monkeypatch):
    # A read-only folder, simulated (as root a chmod would not stop the removal).
    root = tmp_path / "data"
    (root / "fake").mkdir(parents=True)
    (root / "fake" / NAME).write_bytes(b"corrupt")

    def refuse(self, missing_ok=False):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "unlink", refuse)
    with pytest.raises(datasets.ChecksumError) as info:
        datasets.ensure_file(fake_dataset([closed_port_url()]), NAME, root=root, timeout=5)
    message = str(info.value)
    assert "failed verification" in message and "could not be removed" in message
    assert "Permission denied" in message and "replace it by hand" in message


def test_corrupt_file_left_in_place_without_download(tmp_path):
    root = tmp_path / "data"
    (root / "fake").mkdir(parents=True)
    (root / "fake" / NAME).write_bytes(b"corrupt")
    with pytest.raises(datasets.ChecksumError, match="left in place"):
        datasets.ensure_file(fake_dataset([]), NAME, root=root, download=False)
    assert (root / "fake" / NAME).read_bytes() == b"corrupt"


def test_folder_where_a_data_file_belongs(tmp_path):
    (tmp_path / "fake" / NAME).mkdir(parents=True)
    with pytest.raises(datasets.DataUnavailableError, match="is a folder"):
        datasets.ensure_file(fake_dataset([]), NAME, root=tmp_path, download=False)


def test_missing_data_dir_is_reported_not_created(tmp_path, monkeypatch):
    missing = tmp_path / "typo"
    monkeypatch.setenv("ADVML_DATA_DIR", str(missing))
    message = "ADVML_DATA_DIR=.*typo.* is not an existing folder"
    with pytest.raises(datasets.DataUnavailableError, match=message):
        datasets.load_mnist("test")
    assert not missing.exists()


def test_offline_without_files_says_what_to_put_where(tmp_path):
    with pytest.raises(datasets.DataUnavailableError) as info:
        datasets.load_mnist("test", root=tmp_path, download=False)
    message = str(info.value)
    assert str(tmp_path / "mnist") in message and "ADVML_DATA_DIR" in message
    for name, digest in datasets.MNIST.sha256.items():
        assert name in message and digest in message


def test_data_dir_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("ADVML_DATA_DIR", str(tmp_path))
    assert datasets.data_dir() == tmp_path
    monkeypatch.delenv("ADVML_DATA_DIR")
    assert datasets.data_dir() == Path.home() / ".cache" / "advml"


def test_a_killed_download_leaves_a_temporary_that_the_next_call_removes(tmp_path):
    folder = tmp_path / "fake"
    folder.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a process that no longer runs, as a download killed by SIGKILL
    host = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:32]
    stale = folder / f".{NAME}.{host}_{dead.pid}.x1y2z3.tmp"
    stale.write_bytes(GOOD[:10])
    alive = folder / f".{NAME}.{host}_{os.getpid()}.a1b2c3.tmp"  # this process: a writer at work
    alive.write_bytes(GOOD[:10])
    with pytest.raises(datasets.DataUnavailableError):
        datasets.ensure_file(fake_dataset([]), NAME, root=tmp_path, download=False)
    assert not stale.exists() and alive.exists()


# ---------------------------------------------------------------------------------------------
# IDX parser
# ---------------------------------------------------------------------------------------------


def test_read_idx_plain_and_gzip(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    labels = np.arange(5, dtype=np.uint8)
    (tmp_path / "a.idx").write_bytes(idx_bytes(images))
    (tmp_path / "b.idx.gz").write_bytes(gzip.compress(idx_bytes(labels)))
    np.testing.assert_array_equal(datasets.read_idx(tmp_path / "a.idx"), images)
    np.testing.assert_array_equal(datasets.read_idx(tmp_path / "b.idx.gz"), labels)


def test_read_idx_rejects_bad_files(tmp_path):
    (tmp_path / "magic.idx").write_bytes(b"\x01\x02\x08\x01" + b"\x00" * 8)
    with pytest.raises(ValueError, match="bad magic"):
        datasets.read_idx(tmp_path / "magic.idx")
    (tmp_path / "short.idx").write_bytes(idx_bytes(np.zeros((4, 4)))[:-3])
    with pytest.raises(ValueError, match="header promises 16 data bytes, file has 13"):
        datasets.read_idx(tmp_path / "short.idx")


# ---------------------------------------------------------------------------------------------
# Real data (the verified copies in ADVML_DATA_DIR)
# ---------------------------------------------------------------------------------------------


def test_mnist_shapes_ranges_and_classes(mnist_available):
    x, y = datasets.load_mnist("train", download=False)
    assert x.shape == (60000, 28, 28) and x.dtype == np.float32
    assert y.shape == (60000,) and y.dtype == np.int32
    assert x.min() == 0.0 and x.max() == 1.0
    np.testing.assert_array_equal(np.bincount(y)[:3], [5923, 6742, 5958])  # published counts
    xt, yt = datasets.load_mnist("test", download=False)
    assert xt.shape == (10000, 28, 28) and np.bincount(yt).sum() == 10000


def test_mnist_binarisation(mnist_available):
    grey, _ = datasets.load_mnist("test", download=False)
    thr, _ = datasets.load_mnist("test", binarize="threshold", download=False)
    b1, _ = datasets.load_mnist("test", binarize="bernoulli", download=False)
    b2, _ = datasets.load_mnist("test", binarize="bernoulli", download=False)
    assert set(np.unique(thr)) == {0.0, 1.0}
    np.testing.assert_array_equal(b1, b2)  # the static draw is the same every time
    assert abs(b1.mean() - grey.mean()) < 1e-3  # E[Bernoulli(p)] = p
    d1 = datasets.dynamic_binarize(jax.random.key(0), grey[:100])
    d2 = datasets.dynamic_binarize(jax.random.key(1), grey[:100])
    assert d1.shape == (100, 28, 28) and not np.array_equal(d1, d2)
    assert set(np.unique(np.asarray(d1))) == {0.0, 1.0}
    fresh = np.asarray(datasets.dynamic_binarize(jax.random.key(2), jax.numpy.asarray(grey)))
    assert abs(fresh.mean() - grey.mean()) < 1e-3  # E[Bernoulli(p)] = p


def test_fashion_mnist_loads(fashion_available):
    x, y = datasets.load_fashion_mnist("test", download=False)
    assert x.shape == (10000, 28, 28) and np.bincount(y).tolist() == [1000] * 10


def test_loader_bad_arguments():
    with pytest.raises(ValueError, match="split='valid'"):
        datasets.load_mnist("valid")
    with pytest.raises(ValueError, match="binarize='yes'"):
        datasets.load_mnist("train", binarize="yes")
    with pytest.raises(ValueError, match="filename='x.gz'"):
        datasets.ensure_file(datasets.MNIST, "x.gz")


def test_digits():
    x, y = datasets.load_digits()
    assert x.shape == (1797, 8, 8) and y.shape == (1797,)
    assert 0.0 <= x.min() and x.max() == 1.0


# ---------------------------------------------------------------------------------------------
# 2-D toy distributions
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(toy.TOY_DISTRIBUTIONS))
def test_toy_samplers(name):
    x = toy.sample_toy(jax.random.key(0), name, 4000)
    assert x.shape == (4000, 2) and x.dtype == np.float32
    np.testing.assert_array_equal(x, toy.sample_toy(jax.random.key(0), name, 4000))
    assert np.all(np.abs(np.mean(x, axis=0)) < 0.3) and np.all((0.5 < x.std(0)) & (x.std(0) < 2))


def test_checkerboard_only_on_dark_squares():
    x = np.asarray(toy.sample_toy(jax.random.key(1), "checkerboard", 5000)) * 1.15
    col, row = np.floor(x[:, 0] + 2), np.floor(x[:, 1] + 2)
    assert np.all((col + row) % 2 == 1)


def test_toy_bad_input():
    with pytest.raises(ValueError, match="name='spiral'"):
        toy.sample_toy(jax.random.key(0), "spiral", 10)
    with pytest.raises(ValueError, match="n=0"):
        toy.sample_toy(jax.random.key(0), "two_moons", 0)


def test_eight_gaussians_centres_and_nearest_centre():
    x = toy.sample_toy(jax.random.key(5), "eight_gaussians", 40_000)
    index, distance = toy.nearest_centre(x)
    shares = np.bincount(index, minlength=8) / len(index)
    assert np.all(np.abs(shares - 1 / 8) < 0.01)  # equal weights
    # |x - mu|^2 / s^2 is chi-squared with 2 degrees of freedom: P(|x - mu| < 3 s) = 1 - exp(-9/2)
    assert abs(np.mean(distance < 3 * toy.EIGHT_GAUSSIANS_STD) - (1 - np.exp(-4.5))) < 0.003
    np.testing.assert_allclose(np.linalg.norm(toy.EIGHT_GAUSSIANS_CENTRES, axis=1), 1.4)
    assert toy.nearest_centre(toy.EIGHT_GAUSSIANS_CENTRES[[3, 5]])[0].tolist() == [3, 5]


def test_test_functions():
    # Franke's function: F(0, 0) from its four terms by hand; Rosenbrock's minimum.
    terms = [0.75 * np.exp(-2), 0.75 * np.exp(-1 / 49 - 0.1), 0.5 * np.exp(-58 / 4), -0.2 * np.exp(-65)]
    expected = sum(terms)
    assert float(toy.franke(np.array(0.0), np.array(0.0))) == pytest.approx(expected, rel=1e-6)
    assert float(toy.rosenbrock(np.array([1.0, 1.0]))) == 0.0
    assert float(toy.rosenbrock(np.array([0.0, 0.0]))) == 1.0
