"""Run by tests/test_parallel.py in a fresh process with four simulated CPU devices
(``XLA_FLAGS=--xla_force_host_platform_device_count=4``): the same computations on one device
(``mesh=None``) and on a four-device mesh, the figures printed as one JSON object on the last line."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from helpers.analysis import metrics
from helpers.core import parallel, train
from helpers.data import datasets, toy
from helpers.generative import ais, ebm, rbm, vae
from helpers.networks import layers
from helpers.physics import ising_mc


def relative(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-12)))


def main() -> None:
    mesh = parallel.default_mesh()
    out = {"devices": jax.device_count(), "mesh": None if mesh is None else dict(mesh.shape),
           "describe": parallel.describe(mesh)}

    # Data-parallel training: an MLP on scikit-learn's digits, Adam, batch 64, three epochs.
    images, labels = datasets.load_digits()
    train_set = (images.reshape(-1, 64), labels)
    seen = []

    def loss_fn(model, batch, key):
        x, y = batch
        jax.debug.inspect_array_sharding(x, callback=seen.append)  # the batch's sharding at compile time
        return metrics.classification_loss(model(x), y)

    histories, finals = {}, {}
    for name, m in (("one", None), ("four", mesh)):
        model = layers.MLP([64, 128, 10], "relu", rngs=nnx.Rngs(0))
        optimizer = optax.adam(1e-3)
        step = train.gradient_step(loss_fn, optimizer)
        (model, _), history = train.fit(step, train.init(model, optimizer), train_set, key=jax.random.key(1),
                                        epochs=3, batch_size=64, progress=False, mesh=m)
        histories[name] = history["step_loss"]
        finals[name] = np.asarray(model(jnp.asarray(train_set[0][:200])))
    out["train_steps"] = int(histories["one"].shape[0])
    out["train_loss_relative_difference"] = relative(histories["four"], histories["one"])
    out["train_output_max_difference"] = float(np.max(np.abs(finals["four"] - finals["one"])))
    out["batch_sharding_devices"] = [len(s.device_set) for s in seen]
    # The spec's axis names, not its repr (which JAX versions print differently).
    out["batch_sharding_specs"] = [[str(a) for a in getattr(s, "spec", ())] for s in seen]
    try:
        train.fit(step, train.init(model, optimizer), train_set, key=jax.random.key(1), epochs=1,
                  batch_size=30, progress=False, mesh=mesh)
        out["indivisible_batch_error"] = None
    except ValueError as error:
        out["indivisible_batch_error"] = str(error)

    # Ising chains: 16 chains of 16 x 16 at four temperatures, 30 Metropolis + Wolff steps.
    spins = ising_mc.random_spins(jax.random.key(2), 16, 16)
    temps = np.repeat([1.8, 2.27, 2.6, 3.5], 4)
    results = {name: ising_mc.run_chains(jax.random.key(3), spins, temps, 30, mesh=m)
               for name, m in (("one", None), ("four", mesh))}
    out["ising_energy_max_difference"] = float(np.max(np.abs(np.asarray(results["four"][1])
                                                             - np.asarray(results["one"][1]))))
    out["ising_spins_equal"] = bool(np.array_equal(results["four"][0], results["one"][0]))
    out["ising_output_devices"] = len(results["four"][1].sharding.device_set)
    try:
        ising_mc.run_chains(jax.random.key(3), spins[:6], temps[:6], 2, mesh=mesh)
        out["indivisible_chains_error"] = None
    except ValueError as error:
        out["indivisible_chains_error"] = str(error)

    # AIS runs and IWAE samples split over the devices.
    params = rbm.init_params(jax.random.key(4), 20, 8, scale=0.3)
    betas = ais.beta_schedule(50, 200, 200)
    log_z = {name: ais.log_partition(jax.random.key(5), params, betas, n_runs=64, mesh=m)[0]
             for name, m in (("one", None), ("four", mesh))}
    out["ais_log_z"] = [float(log_z["one"]), float(log_z["four"])]
    out["ais_exact_log_z"] = float(rbm.exact_log_partition(params))
    model = vae.VAE(64, [32], 4, rngs=nnx.Rngs(6))
    binary = (images.reshape(-1, 64)[:64] > 0.5).astype(np.float32)
    bounds = {name: vae.iwae_bound(jax.random.key(7), model, binary, 16, mesh=m)
              for name, m in (("one", None), ("four", mesh))}
    out["iwae_relative_difference"] = relative(bounds["four"], bounds["one"])
    out.update(persistent_chains(mesh, (images.reshape(-1, 64) > 0.5).astype(np.float32)))
    print(json.dumps(out))


def scaled_difference(a, b) -> float:
    """The largest difference relative to the largest |b|: a loss that passes through 0 has no
    per-step relative difference to speak of."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def persistent_chains(mesh, binary) -> dict:
    """PCD-1 of an RBM (64 persistent chains) and an EBM with a replay buffer (512 entries), each
    trained on one device and on the mesh, with the chains and the buffer split over its devices."""
    out, pcd, buffers = {}, {}, {}
    for name, m in (("one", None), ("four", mesh)):
        # Plain gradient steps: Adam divides by the gradient's size, so it would turn the round-off of a
        # pixel's near-zero gradient (data and chains nearly agree there) into a step of full size.
        params = rbm.init_params(jax.random.key(8), 64, 32, data_mean=binary.mean(0))
        optimizer = optax.sgd(0.1)
        carry = (params, optimizer.init(params), jnp.asarray(binary[:64]))
        (params, _, chains), history = train.fit(rbm.cd_step(optimizer, k=1, persistent=True, mesh=m), carry,
                                                 binary, key=jax.random.key(9), epochs=2, batch_size=64,
                                                 progress=False, mesh=m)
        pcd[name] = (history["step_loss"], chains, params.W)
    out["pcd_steps"] = int(pcd["one"][0].shape[0])
    out["pcd_loss_relative_difference"] = relative(pcd["four"][0], pcd["one"][0])
    out["pcd_loss_scaled_difference"] = scaled_difference(pcd["four"][0], pcd["one"][0])
    out["pcd_chains_equal"] = bool(np.array_equal(pcd["four"][1], pcd["one"][1]))
    out["pcd_weights_max_difference"] = float(np.max(np.abs(np.asarray(pcd["four"][2])
                                                            - np.asarray(pcd["one"][2]))))
    out["pcd_chain_devices"] = len(pcd["four"][1].sharding.device_set)
    out["pcd_chain_spec"] = [str(a) for a in getattr(pcd["four"][1].sharding, "spec", ())]
    try:
        step = rbm.cd_step(optax.sgd(0.1), persistent=True, mesh=mesh)
        six_chains = (params, optax.sgd(0.1).init(params), jnp.asarray(binary[:6]))
        train.fit(step, six_chains, binary, key=jax.random.key(9), epochs=1, batch_size=64, progress=False,
                  mesh=mesh)
        out["indivisible_pcd_chains_error"] = None
    except ValueError as error:
        out["indivisible_pcd_chains_error"] = str(error)

    points = toy.sample_toy(jax.random.key(10), "eight_gaussians", 1024)

    def noise(k, n):
        return jax.random.uniform(k, (n, 2), minval=-3, maxval=3)

    for name, m in (("one", None), ("four", mesh)):
        model = layers.MLP([2, 32, 1], "swish", rngs=nnx.Rngs(11))
        optimizer = optax.adam(1e-3, b1=0.0)
        step = ebm.langevin_cd_step(optimizer, noise, langevin_steps=10, step_size=1e-2, alpha=0.01, mesh=m)
        carry = (*train.init(model, optimizer), noise(jax.random.key(12), 512))
        (_, _, buffer), history = train.fit(step, carry, points, key=jax.random.key(13), epochs=2,
                                            batch_size=64, progress=False, mesh=m)
        buffers[name] = (history["step_loss"], buffer)
    out["ebm_loss_scaled_difference"] = scaled_difference(buffers["four"][0], buffers["one"][0])
    out["ebm_buffer_max_difference"] = float(np.max(np.abs(np.asarray(buffers["four"][1])
                                                           - np.asarray(buffers["one"][1]))))
    out["ebm_buffer_devices"] = len(buffers["four"][1].sharding.device_set)
    out["ebm_buffer_spec"] = [str(a) for a in getattr(buffers["four"][1].sharding, "spec", ())]
    return out


if __name__ == "__main__":
    main()
