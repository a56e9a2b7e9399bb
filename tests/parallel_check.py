"""Run by tests/test_parallel.py in a fresh process with four simulated CPU devices
(``XLA_FLAGS=--xla_force_host_platform_device_count=4``): the same computations on one device
(``mesh=None``) and on a four-device mesh, the figures printed as one JSON object on the last line."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from helpers import ais, data, ising, nets, parallel, rbm, train, vae


def relative(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-12)))


def main() -> None:
    mesh = parallel.default_mesh()
    out = {"devices": jax.device_count(), "mesh": None if mesh is None else dict(mesh.shape),
           "describe": parallel.describe(mesh)}

    # Data-parallel training: an MLP on scikit-learn's digits, Adam, batch 64, three epochs.
    images, labels = data.load_digits()
    train_set = (images.reshape(-1, 64), labels)
    seen = []

    def loss_fn(model, batch, key):
        x, y = batch
        jax.debug.inspect_array_sharding(x, callback=seen.append)  # the batch's sharding at compile time
        return optax.softmax_cross_entropy_with_integer_labels(model(x), y).mean()

    histories, finals = {}, {}
    for name, m in (("one", None), ("four", mesh)):
        model = nets.MLP([64, 128, 10], "relu", rngs=nnx.Rngs(0))
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
    spins = ising.random_spins(jax.random.key(2), 16, 16)
    temps = np.repeat([1.8, 2.27, 2.6, 3.5], 4)
    results = {name: ising.run_chains(jax.random.key(3), spins, temps, 30, mesh=m)
               for name, m in (("one", None), ("four", mesh))}
    out["ising_energy_max_difference"] = float(np.max(np.abs(np.asarray(results["four"][1])
                                                             - np.asarray(results["one"][1]))))
    out["ising_spins_equal"] = bool(np.array_equal(results["four"][0], results["one"][0]))
    out["ising_output_devices"] = len(results["four"][1].sharding.device_set)
    try:
        ising.run_chains(jax.random.key(3), spins[:6], temps[:6], 2, mesh=mesh)
        out["indivisible_chains_error"] = None
    except ValueError as error:
        out["indivisible_chains_error"] = str(error)

    # AIS runs and IWAE samples split over the devices.
    params = rbm.init_params(jax.random.key(4), 20, 8, scale=0.3)
    betas = ais.schedule(50, 200, 200)
    log_z = {name: ais.log_partition(jax.random.key(5), params, betas, n_runs=64, mesh=m)[0]
             for name, m in (("one", None), ("four", mesh))}
    out["ais_log_z"] = [float(log_z["one"]), float(log_z["four"])]
    out["ais_exact_log_z"] = float(rbm.exact_log_partition(params))
    model = vae.VAE(64, [32], 4, rngs=nnx.Rngs(6))
    binary = (images.reshape(-1, 64)[:64] > 0.5).astype(np.float32)
    bounds = {name: vae.iwae_bound(jax.random.key(7), model, binary, 16, mesh=m)
              for name, m in (("one", None), ("four", mesh))}
    out["iwae_relative_difference"] = relative(bounds["four"], bounds["one"])
    print(json.dumps(out))


if __name__ == "__main__":
    main()
