"""RBM training speed: one epoch of CD-1 on MNIST for a 784x500 RBM at batch 100, against scikit-learn.

scikit-learn's ``BernoulliRBM`` (n_components=500, batch_size=100, n_iter=1) trains with persistent
CD-1; ours runs PCD-1 too (``helpers.rbm.make_epoch(..., persistent=True)``), the epoch compiled as
one ``lax.scan``.  Both see the same statically binarised training images, in the same process, so
the ratio is a fair comparison on this machine.  Compilation is timed separately (a first epoch),
then a second epoch is timed.  Target: at least 5x scikit-learn's samples per second.

Prints a readable table, then one JSON object on the last line.
"""

from __future__ import annotations

import time

import jax
import numpy as np
import optax
from report import print_report
from sklearn.neural_network import BernoulliRBM

from helpers import data, rbm

N_HIDDEN, BATCH = 500, 100


def main() -> None:
    images = data.load_mnist("train", binarize="bernoulli")[0].reshape(-1, 784)
    n = images.shape[0]

    params = rbm.init_params(jax.random.key(0), 784, N_HIDDEN, data_mean=images.mean(0))
    optimizer = optax.sgd(0.05)
    epoch = rbm.make_epoch(optimizer, BATCH, k=1, persistent=True)
    state, chains, x = optimizer.init(params), jax.numpy.asarray(images[:BATCH]), jax.numpy.asarray(images)
    t0 = time.perf_counter()
    out = epoch(params, state, chains, jax.random.key(1), x)
    jax.block_until_ready(out)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = epoch(*out[:3], jax.random.key(2), x)
    jax.block_until_ready(out)
    ours = time.perf_counter() - t0

    sk = BernoulliRBM(n_components=N_HIDDEN, batch_size=BATCH, n_iter=1, learning_rate=0.05, random_state=0)
    t0 = time.perf_counter()
    sk.fit(images)
    theirs = time.perf_counter() - t0

    rows = [
        ("JAX PCD-1 epoch (compiled)", f"{ours:.2f} s, {n / ours:,.0f} samples/s"),
        ("JAX first epoch (with compilation)", f"{first:.2f} s"),
        ("scikit-learn BernoulliRBM, n_iter=1", f"{theirs:.2f} s, {n / theirs:,.0f} samples/s"),
        ("speed-up", f"{theirs / ours:.1f}x (target >= 5x)"),
    ]
    print_report(rows, {
        "benchmark": "rbm_speed", "n_hidden": N_HIDDEN, "batch": BATCH, "samples": n,
        "jax_epoch_s": round(ours, 3), "jax_first_epoch_s": round(first, 3),
        "sklearn_epoch_s": round(theirs, 3),
        "speedup": round(theirs / ours, 2), "target": 5.0, "meets_target": theirs / ours >= 5.0,
        "device": jax.devices()[0].platform, "recon_error_last_batch": float(np.asarray(out[3])[-1]),
    })


if __name__ == "__main__":
    main()
