"""Data parallelism on 1, 2, 4 ... devices: training samples per second and Ising spin updates per second.

Each figure is measured on meshes over the first k devices (k = 1, 2, 4, ... up to all of them), in
this one process, and reported beside its ratio to one device:

* one MNIST epoch of an MLP 784-512-256-10 (Adam, batch 256) through ``helpers.core.train.fit(mesh=...)``;
* checkerboard Metropolis sweeps of 256 chains of 64 x 64 at T_c through
  ``helpers.physics.ising_mc.metropolis_sweeps(mesh=...)``.

On a machine without an accelerator the script simulates four CPU devices
(``--xla_force_host_platform_device_count=4``); they share the same cores, so there the figures
show the overhead of splitting, not a speed-up.  On a GPU node the devices are the GPUs.  Prints a
table, then one JSON object on the last line.
"""

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=4")  # CPU only; before jax

import json  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402

import jax  # noqa: E402
import optax  # noqa: E402
from flax import nnx  # noqa: E402
from jax.sharding import AxisType  # noqa: E402

from helpers.analysis import metrics
from helpers.core import train
from helpers.data import datasets
from helpers.networks import layers
from helpers.physics import ising, ising_mc

BATCH, EPOCHS, L, CHAINS, SWEEPS, REPEATS = 256, 2, 64, 256, 100, 3


def loss_fn(model, batch, key):
    x, y = batch
    return metrics.classification_loss(model(x), y)


def mesh_over(k: int):
    return None if k == 1 else jax.make_mesh((k,), ("data",), axis_types=(AxisType.Auto,),
                                             devices=jax.devices()[:k])


def best_time(run) -> float:
    run()  # compile
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    images, labels = datasets.load_mnist("train")
    train_set = (images.reshape(-1, 784), labels)
    spins = ising_mc.random_spins(jax.random.key(0), CHAINS, L)
    counts = [k for k in (1, 2, 4, 8, 16, 32) if k <= jax.device_count()]
    rows = []
    for k in counts:
        mesh = mesh_over(k)
        model = layers.MLP([784, 512, 256, 10], "relu", rngs=nnx.Rngs(0))
        optimizer = optax.adam(1e-3)
        step = train.gradient_step(loss_fn, optimizer)
        carry = train.init(model, optimizer)

        def fit(carry=carry, step=step, mesh=mesh):
            (model, _), history = train.fit(step, carry, train_set, key=jax.random.key(1), epochs=EPOCHS,
                                            batch_size=BATCH, progress=False, mesh=mesh)
            jax.block_until_ready(nnx.state(model))

        def sweeps(mesh=mesh):
            out = ising_mc.metropolis_sweeps(jax.random.key(2), spins, ising.T_C, SWEEPS, mesh=mesh)
            out.block_until_ready()

        samples = EPOCHS * (len(labels) // BATCH) * BATCH / best_time(fit)
        updates = CHAINS * L * L * SWEEPS / best_time(sweeps)
        rows.append({"devices": k, "train_samples_per_s": samples, "spin_updates_per_s": updates})
    base = rows[0]
    for row in rows:
        row["train_ratio"] = row["train_samples_per_s"] / base["train_samples_per_s"]
        row["ising_ratio"] = row["spin_updates_per_s"] / base["spin_updates_per_s"]

    kind = jax.devices()[0].platform.upper()
    print(f"{jax.device_count()} {kind} devices ({platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores), JAX {jax.__version__}")
    header = ("devices", "train samples/s", "x 1 device", "spin updates/s", "x 1 device")
    print(" ".join(f"{h:>{w}}" for h, w in zip(header, (8, 16, 11, 16, 11), strict=True)))
    for row in rows:
        print(f"{row['devices']:>8} {row['train_samples_per_s']:>16,.0f} {row['train_ratio']:>11.2f} "
              f"{row['spin_updates_per_s']:>16.3e} {row['ising_ratio']:>11.2f}")
    print(json.dumps({"platform": kind, "cores": os.cpu_count(), "batch": BATCH, "lattice": L,
                      "chains": CHAINS, "rows": rows}))


if __name__ == "__main__":
    main()
