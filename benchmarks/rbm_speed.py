"""RBM training speed: one epoch of PCD-1 on MNIST for a 784x500 RBM at batch 100, against scikit-learn.

scikit-learn's ``BernoulliRBM`` (n_components=500, batch_size=100, n_iter=1) trains with persistent
CD-1; ours runs PCD-1 too (``helpers.generative.rbm.cd_step(..., persistent=True)`` through
``helpers.core.train.fit``, the epoch compiled as one ``lax.scan``).  Both see the same statically
binarised training images as float32, in the same process, so the ratio is a fair comparison on
this machine.  Compilation is timed separately (a first epoch), then a second epoch is timed.

Both are bound by float32 matrix products of a batch against the weights, 2 * B * n_v * n_h FLOPs
each.  A PCD-1 step of ours does six: the chain's hidden and visible draws, the hidden
probabilities of the data and of the new samples, and the two weight-gradient products.
scikit-learn does five (it keeps the chains' hidden samples from the previous step's negative
phase, drawn with the weights before the update, and so skips the first product).  The achieved
GFLOP/s is set against NumPy's float32 2048x2048 matmul measured in the same run.  Target: at least
1.5x scikit-learn's samples per second.

Prints a readable table, then one JSON object on the last line.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from report import matmul_gflops, print_report
from sklearn.neural_network import BernoulliRBM

from helpers.core import train
from helpers.data import datasets
from helpers.generative import rbm

N_VISIBLE, N_HIDDEN, BATCH, LEARNING_RATE = 784, 500, 100, 0.05


def main() -> None:
    images = datasets.load_mnist("train", binarize="bernoulli")[0].reshape(-1, N_VISIBLE)  # float32
    n = images.shape[0]
    steps = n // BATCH
    flops_per_product = 2 * BATCH * N_VISIBLE * N_HIDDEN
    peak = matmul_gflops()

    params = rbm.init_params(jax.random.key(0), N_VISIBLE, N_HIDDEN, data_mean=images.mean(0))
    optimizer = optax.sgd(LEARNING_RATE)
    step = rbm.cd_step(optimizer, k=1, persistent=True)
    x = jnp.asarray(images)
    carry = (params, optimizer.init(params), x[:BATCH])

    def epoch(carry, seed):
        carry, history = train.fit(step, carry, x, key=jax.random.key(seed), epochs=1, batch_size=BATCH,
                                   progress=False)
        return jax.block_until_ready(carry), history

    t0 = time.perf_counter()
    carry, _ = epoch(carry, 1)
    first = time.perf_counter() - t0
    times = []
    for seed in (2, 3):
        t0 = time.perf_counter()
        carry, history = epoch(carry, seed)
        times.append(time.perf_counter() - t0)
    ours = min(times)

    sk = BernoulliRBM(n_components=N_HIDDEN, batch_size=BATCH, n_iter=1, learning_rate=LEARNING_RATE,
                      random_state=0)
    sk_times = []
    for _ in range(2):
        t0 = time.perf_counter()
        sk.fit(images)
        sk_times.append(time.perf_counter() - t0)
    theirs = min(sk_times)

    ours_gflops = 6 * flops_per_product * steps / ours / 1e9
    theirs_gflops = 5 * flops_per_product * steps / theirs / 1e9
    rows = [
        ("NumPy float32 2048x2048 matmul", f"{peak:.0f} GFLOP/s"),
        ("JAX PCD-1 epoch (compiled, best of 2)", f"{ours:.2f} s, {n / ours:,.0f} samples/s, "
         f"{ours_gflops:.0f} GFLOP/s ({ours_gflops / peak:.0%} of matmul; 6 products per step)"),
        ("JAX first epoch (with compilation)", f"{first:.2f} s"),
        ("scikit-learn BernoulliRBM, n_iter=1 (best of 2)", f"{theirs:.2f} s, {n / theirs:,.0f} samples/s, "
         f"{theirs_gflops:.0f} GFLOP/s ({theirs_gflops / peak:.0%} of matmul; 5 products per step)"),
        ("speed-up", f"{theirs / ours:.2f}x (target >= 1.5x)"),
    ]
    print_report(rows, {
        "benchmark": "rbm_speed", "n_hidden": N_HIDDEN, "batch": BATCH, "samples": n,
        "jax_epoch_s": round(ours, 3), "jax_first_epoch_s": round(first, 3),
        "sklearn_epoch_s": round(theirs, 3),
        "jax_gflops": round(ours_gflops, 1), "sklearn_gflops": round(theirs_gflops, 1),
        "numpy_matmul_gflops": round(peak, 1), "speedup": round(theirs / ours, 2), "target": 1.5,
        "meets_target": theirs / ours >= 1.5, "device": jax.devices()[0].platform,
        "free_energy_gap_last_epoch": float(np.asarray(history["loss"])[-1]),
    })


if __name__ == "__main__":
    main()
