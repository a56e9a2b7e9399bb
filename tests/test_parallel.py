"""Several devices: the same training losses, Ising chains, AIS and IWAE figures, persistent RBM chains and
an EBM's replay buffer on one device and on a four-device mesh.  CI has two CPU cores, so the four
devices are simulated in a fresh process (``XLA_FLAGS=--xla_force_host_platform_device_count=4``, the
README's command) running ``tests/parallel_check.py``."""

import json
import os
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

from helpers.core import parallel

CHECK = Path(__file__).with_name("parallel_check.py")


@pytest.fixture(scope="module")
def four_devices() -> dict:
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4", "JAX_PLATFORMS": "cpu"}
    run = subprocess.run([sys.executable, str(CHECK)], capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_four_devices_and_one_mesh_axis(four_devices):
    assert four_devices["devices"] == 4 and four_devices["mesh"] == {"data": 4}
    assert four_devices["describe"].startswith("4 CPU devices")


def test_training_on_four_devices_gives_the_one_device_losses(four_devices):
    assert four_devices["train_steps"] == 3 * (1797 // 64)
    assert four_devices["train_loss_relative_difference"] < 1e-5
    assert four_devices["train_output_max_difference"] < 1e-4


def test_each_batch_is_split_over_all_four_devices(four_devices):
    # Compiled twice (one device, then the mesh): the second run's batch lives on all four.
    assert four_devices["batch_sharding_devices"] == [1, 4]
    assert four_devices["batch_sharding_specs"][1] == ["data"]


def test_a_batch_that_does_not_divide_is_refused(four_devices):
    assert four_devices["indivisible_batch_error"] == (
        "batch_size=30 does not divide over the 4 devices of the mesh; expected a multiple of 4")
    assert "spins.shape[0]=6 does not divide" in four_devices["indivisible_chains_error"]


def test_ising_chains_are_the_same_on_four_devices(four_devices):
    assert four_devices["ising_spins_equal"] and four_devices["ising_energy_max_difference"] == 0.0
    assert four_devices["ising_output_devices"] == 4


def test_ais_and_iwae_are_the_same_on_four_devices(four_devices):
    one, four = four_devices["ais_log_z"]
    assert abs(four - one) < 1e-4 * abs(one)
    assert abs(one - four_devices["ais_exact_log_z"]) < 0.05  # and right: exact enumeration
    assert four_devices["iwae_relative_difference"] < 1e-5


def test_persistent_rbm_chains_are_split_and_give_the_one_device_loss(four_devices):
    assert four_devices["pcd_steps"] == 2 * (1797 // 64)
    # The loss is a difference of two free-energy means some 40 times its size, so its round-off is a
    # few 1e-6 of its own scale; per step, where it passes near 0, the relative difference means little.
    assert four_devices["pcd_loss_scaled_difference"] < 1e-5
    assert four_devices["pcd_chains_equal"] and four_devices["pcd_weights_max_difference"] < 1e-6
    assert four_devices["pcd_chain_devices"] == 4 and four_devices["pcd_chain_spec"] == ["data"]
    error = four_devices["indivisible_pcd_chains_error"]
    assert "chains.shape[0]=6 does not divide over the 4 devices" in error


def test_the_replay_buffer_is_split_and_gives_the_one_device_loss(four_devices):
    assert four_devices["ebm_loss_scaled_difference"] < 1e-5
    assert four_devices["ebm_buffer_max_difference"] < 1e-5
    assert four_devices["ebm_buffer_devices"] == 4 and four_devices["ebm_buffer_spec"] == ["data"]


def test_one_device_is_the_plain_path():
    if jax.device_count() == 1:
        assert parallel.default_mesh() is None
        assert parallel.describe(None) == f"1 {jax.devices()[0].platform.upper()} device"
    x = np.ones((6, 2))
    assert parallel.shard(x, None) is x and parallel.replicate(x, None) is x
    with pytest.raises(ValueError, match="mesh='cpu'"):
        parallel.check_mesh("cpu")
