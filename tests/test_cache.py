"""Caches that verify what they load: a damaged, foreign or unwritable cache gives a warning, never a
wrong result, and heals itself (helpers.core.cache, the Ising configurations, the digit classifier)."""

import json
import os
import signal
import struct
import subprocess
import sys
import tempfile
import time
import warnings
import zipfile
from pathlib import Path

import jax
import numpy as np
import pytest

from helpers.analysis import metrics
from helpers.core import cache
from helpers.data import datasets
from helpers.physics import ising_data

PARAMS = {"L": 4, "what": "test"}


def good_arrays():
    return {"spins": np.array([[1, -1], [-1, 1]], np.int8), "temps": np.array([2.0, 3.0], np.float32)}


def write_good(path):
    assert cache.store(path, PARAMS, **good_arrays())
    return path.read_bytes()


def flip_one_bit_in_member(path, member="spins.npy"):
    """Flip one data bit of an array inside the (compressed) .npz, keeping a well-formed zip."""
    with np.load(path) as stored:
        arrays = {name: stored[name] for name in stored.files}
    raw = bytearray(arrays[member.removesuffix(".npy")].tobytes())
    raw[0] ^= 0x02
    arrays[member.removesuffix(".npy")] = np.frombuffer(bytes(raw), arrays[member.removesuffix(".npy")].dtype)
    np.savez_compressed(path, **arrays)


def damage(path, how):
    original = path.read_bytes()
    if how == "truncated":
        path.write_bytes(original[: len(original) // 2])
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "garbage":
        path.write_bytes(b"not a zip file at all" * 10)
    elif how == "bit-flipped-zip":  # a byte of a member's compressed stream: zlib or the zip's CRC catches it
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo("spins.npy")
        raw = bytearray(original)
        name_len, extra_len = struct.unpack("<HH", raw[info.header_offset + 26: info.header_offset + 30])
        start = info.header_offset + 30 + name_len + extra_len
        raw[start + info.compress_size // 2] ^= 0xFF
        path.write_bytes(bytes(raw))
    elif how == "bit-flipped-data":  # a well-formed file whose array content changed: the SHA-256 catches it
        flip_one_bit_in_member(path)
    elif how == "folder":
        path.unlink()
        path.mkdir()
    else:
        raise AssertionError(how)


DAMAGES = ["truncated", "empty", "garbage", "bit-flipped-zip", "bit-flipped-data", "folder"]


def test_store_then_load_round_trip(tmp_path):
    path = tmp_path / "c.npz"
    write_good(path)
    loaded = cache.load(path, PARAMS)
    assert set(loaded) == set(good_arrays())
    for name, value in good_arrays().items():
        np.testing.assert_array_equal(loaded[name], value)
    assert cache.load(tmp_path / "absent.npz", PARAMS) is None


@pytest.mark.parametrize("how", DAMAGES)
def test_damaged_file_is_reported_removed_and_rewritable(tmp_path, how):
    path = tmp_path / "c.npz"
    write_good(path)
    damage(path, how)
    with pytest.warns(cache.CacheWarning, match=f"{path}.*unusable.*removed it"):
        assert cache.load(path, PARAMS) is None
    assert not path.exists()
    write_good(path)  # the caller recomputes and saves again
    assert cache.load(path, PARAMS) is not None


def test_file_made_for_other_parameters_is_refused(tmp_path):
    path = tmp_path / "c.npz"
    cache.store(path, {"L": 8}, **good_arrays())
    with pytest.warns(cache.CacheWarning, match="other parameters"):
        assert cache.load(path, PARAMS) is None
    assert not path.exists()


def test_file_without_fingerprint_is_refused(tmp_path):
    path = tmp_path / "c.npz"
    np.savez_compressed(path, **good_arrays())  # a well-formed file not written by cache.store
    with pytest.warns(cache.CacheWarning, match="content hash"):
        assert cache.load(path, PARAMS) is None


def test_check_rejects_wrong_arrays(tmp_path):
    path = tmp_path / "c.npz"
    write_good(path)

    def check(stored):
        if stored["spins"].shape != (3, 3):
            raise ValueError("spins of the wrong shape")

    with pytest.warns(cache.CacheWarning, match="spins of the wrong shape"):
        assert cache.load(path, PARAMS, check) is None


def test_unwritable_folder_warns_and_keeps_going(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)  # what a read-only folder does to atomic_file
    with pytest.warns(cache.CacheWarning, match="could not write the cache.*Permission denied"):
        assert cache.store(tmp_path / "c.npz", PARAMS, **good_arrays()) is False
    assert list(tmp_path.iterdir()) == []


def test_damaged_file_that_cannot_be_removed_still_gives_none(tmp_path, monkeypatch):
    path = tmp_path / "c.npz"
    path.write_bytes(b"garbage")

    def refuse(self, missing_ok=False):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(type(path), "unlink", refuse)
    with pytest.warns(cache.CacheWarning, match="could not remove it"):
        assert cache.load(path, PARAMS) is None


# ---------------------------------------------------------------------------------------------
# A writer killed mid-write: its temporary is removed by the next write or read of the same file
# ---------------------------------------------------------------------------------------------
REPO = Path(__file__).resolve().parent.parent
WRITER = """import sys, time
from helpers.core import cache
with cache.atomic_file(sys.argv[1]) as tmp:
    open(tmp, "wb").write(b"half a file")
    print("writing", flush=True)
    time.sleep(600)
"""


def start_writer(path):
    """Another process inside ``atomic_file(path)``, its temporary half written; returns it running."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True,
                              cwd=REPO, env=env)
    assert writer.stdout.readline().strip() == "writing"
    return writer


def kill(writer):
    os.kill(writer.pid, signal.SIGKILL)  # no finally block runs: the temporary stays
    writer.wait()
    writer.stdout.close()


def temporaries(path):
    return sorted(path.parent.glob(f".{path.name}.*.tmp"))


@pytest.mark.parametrize("then", ["store", "load"])
def test_a_killed_writer_leaves_a_temporary_that_the_next_write_or_read_removes(tmp_path, then):
    path = tmp_path / "c.npz"
    other = tmp_path / "d.npz"
    writers = [start_writer(path), start_writer(other)]
    try:
        left = temporaries(path)
        assert len(left) == 1 and left[0].read_bytes() == b"half a file"
        write_good(path)  # a live writer's temporary survives a write and a read by another process
        assert cache.load(path, PARAMS) is not None and temporaries(path) == left
        for writer in writers:
            kill(writer)
        assert temporaries(path) == left and len(temporaries(other)) == 1
        if then == "store":
            write_good(path)
        else:
            assert cache.load(path, PARAMS) is not None
        assert temporaries(path) == []
        assert len(temporaries(other)) == 1  # another file's temporary is left to that file's next use
    finally:
        for writer in writers:
            if writer.poll() is None:
                kill(writer)


def test_temporaries_whose_writer_cannot_be_asked_are_removed_only_when_long_untouched(tmp_path):
    path = tmp_path / "c.npz"
    names = {"old_naming": ".c.npz.k2j4h5f.tmp", "other_host": ".c.npz.elsewhere_4242.ab_c1.tmp"}
    for name in names.values():
        (tmp_path / name).write_bytes(b"part")
    (tmp_path / ".d.npz.k2j4h5f.tmp").write_bytes(b"part")  # another file's
    assert cache.remove_stale_temporaries(path) == []  # fresh: a writer elsewhere may be at work
    stale = time.time() - cache.STALE_AFTER - 60
    for name in [*names.values(), ".d.npz.k2j4h5f.tmp"]:
        os.utime(tmp_path / name, (stale, stale))
    assert sorted(p.name for p in cache.remove_stale_temporaries(path)) == sorted(names.values())
    assert [p.name for p in tmp_path.iterdir()] == [".d.npz.k2j4h5f.tmp"]


def test_cache_dir_avoids_read_only_data_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("ADVML_CACHE_DIR", raising=False)
    monkeypatch.setenv("ADVML_DATA_DIR", str(tmp_path))
    assert cache.cache_dir() == tmp_path
    monkeypatch.setenv("ADVML_DATA_DIR", str(tmp_path / "missing"))
    assert cache.cache_dir() == Path.home() / ".cache" / "advml"
    monkeypatch.setenv("ADVML_CACHE_DIR", str(tmp_path / "c"))
    assert cache.cache_dir() == tmp_path / "c"


# ---------------------------------------------------------------------------------------------
# The two caches of the course: Ising configurations and the digit classifier
# ---------------------------------------------------------------------------------------------
ISING = dict(L=4, temperatures=[1.5, 3.0], n_per_T=8, chains_per_T=4, pilot_steps=20)


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("ADVML_CACHE_DIR", str(tmp_path))
    return tmp_path


def ising_file(folder):
    files = list((folder / "ising").glob("*.npz"))
    assert len(files) == 1
    return files[0]


@pytest.mark.parametrize("how", DAMAGES + ["wrong-arrays"])
def test_ising_cache_heals(cache_dir, how):
    key = jax.random.key(3)
    spins, temps, info = ising_data.sample_configurations(key, **ISING)
    path = ising_file(cache_dir)
    if how == "wrong-arrays":  # well-formed and fingerprinted, but the arrays are not configurations
        with np.load(path) as stored:
            params = json.loads(str(stored["_params"]))
        cache.store(path, params, spins=np.zeros((16, 4, 4), np.int8), temps=temps, info=json.dumps(info))
    else:
        damage(path, how)
    with pytest.warns(cache.CacheWarning, match=str(path)):
        again, temps_again, _ = ising_data.sample_configurations(key, **ISING)
    np.testing.assert_array_equal(again, spins)  # the same key gives the same configurations
    np.testing.assert_array_equal(temps_again, temps)
    assert path.is_file()  # rewritten
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
    with warnings.catch_warnings():
        warnings.simplefilter("error", cache.CacheWarning)  # now it reads back without a warning
        loaded, _, _ = ising_data.sample_configurations(key, **ISING)
    np.testing.assert_array_equal(loaded, spins)


def test_ising_cache_in_unwritable_folder_still_returns_the_result(cache_dir, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.warns(cache.CacheWarning, match="could not write"):
        spins, temps, _ = ising_data.sample_configurations(jax.random.key(4), **ISING)
    assert spins.shape == (16, 4, 4) and np.all(np.abs(spins) == 1)


@pytest.mark.usefixtures("mnist_available")
def test_digit_classifier_cache_heals(cache_dir):
    model = metrics.digit_classifier(jax.random.key(0), size=14, epochs=1)
    path = cache_dir / "classifiers" / "mnist14_mlp_v3_e1_k0-0.npz"
    assert path.is_file() and 0.9 < model.accuracy <= 1
    x = np.asarray(datasets.prepare_images(datasets.load_mnist("test")[0][:50], 14, (-1.0, 1.0)))
    reference = np.asarray(model(x))
    again = metrics.digit_classifier(jax.random.key(0), size=14, epochs=1)
    np.testing.assert_array_equal(np.asarray(again(x)), reference)

    with np.load(path) as stored:  # a well-formed file whose first weight matrix has the wrong shape
        arrays = {name: stored[name] for name in stored.files if not name.startswith("_")}
        params = json.loads(str(stored["_params"]))
    arrays["leaf0"] = arrays["leaf0"][:-1]
    cache.store(path, params, **arrays)
    with pytest.warns(cache.CacheWarning, match="leaf0"):
        healed = metrics.digit_classifier(jax.random.key(0), size=14, epochs=1)
    np.testing.assert_allclose(np.asarray(healed(x)), reference, rtol=1e-5, atol=1e-5)

    damage(path, "garbage")
    with pytest.warns(cache.CacheWarning, match="unusable"):
        metrics.digit_classifier(jax.random.key(0), size=14, epochs=1)
    healed = metrics.digit_classifier(jax.random.key(0), size=14, epochs=1)
    assert healed.accuracy == pytest.approx(model.accuracy)
