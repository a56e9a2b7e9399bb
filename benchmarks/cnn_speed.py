"""Training speed of notebook 02's MNIST CNN against the machine's matmul rate, in four forms.

The network: conv 3x3 (1 -> 32, zero padding), ReLU, 2x2 max-pool, conv 3x3 (32 -> 64), ReLU,
pool, dense 3136 -> 128, ReLU, dense 128 -> 10; cross-entropy, Adam, batch 128, trained through
``helpers.core.train.fit``.  FLOPs per training image: 6 per multiply-add of every layer (forward, weight
gradient, input gradient) except the first convolution, whose input gradient is never needed (4):
25.0 MFLOP, so 1.5 TFLOP an epoch.  Achieved GFLOP/s = FLOPs per image x images/s.  The reference
is NumPy's float32 2048x2048 matmul, measured in the same run.

Forms compared:

* ``helpers.networks.conv`` (a convolution as the patch matrix times the kernel, pooling as a reshape with a
  one-pass gradient), the whole epoch as one ``lax.scan`` (``loop="scan"``): what the notebook runs.
* the same, each step compiled alone and called from Python (``loop="steps"``).
* ``nnx.Conv`` + ``nnx.max_pool`` (XLA's convolution and ``reduce_window``), steps compiled alone.
* ``nnx.Conv`` + ``nnx.max_pool`` inside the epoch's ``lax.scan``.

The first form runs a full epoch (after a warm-up epoch that compiles it); the others a slice of
the data (their rates are per image, so they compare).  Target: the notebook's form reaches at
least 45 % of the matmul rate.  Prints a table, then one JSON object on the last line.
"""

import argparse
import os
import time

import jax
import jax.numpy as jnp
import optax
from flax import nnx
from report import matmul_gflops, print_report

from helpers.analysis import metrics
from helpers.core import train
from helpers.data import datasets
from helpers.networks import conv

BATCH = 128
MACS = {"conv1": 28 * 28 * 32 * 9, "conv2": 14 * 14 * 64 * 9 * 32, "dense1": 3136 * 128, "dense2": 128 * 10}
FLOPS_PER_IMAGE = 4 * MACS["conv1"] + 6 * (MACS["conv2"] + MACS["dense1"] + MACS["dense2"])


class FlaxCNN(nnx.Module):
    """The same network from Flax's own layers, the obvious way to write it."""

    def __init__(self, rngs: nnx.Rngs):
        self.c1 = nnx.Conv(1, 32, (3, 3), padding="SAME", rngs=rngs)
        self.c2 = nnx.Conv(32, 64, (3, 3), padding="SAME", rngs=rngs)
        self.d1, self.d2 = nnx.Linear(3136, 128, rngs=rngs), nnx.Linear(128, 10, rngs=rngs)

    def __call__(self, x):
        h = x[..., None]
        for layer in (self.c1, self.c2):
            h = nnx.max_pool(jax.nn.relu(layer(h)), (2, 2), (2, 2))
        return self.d2(jax.nn.relu(self.d1(h.reshape(h.shape[0], -1))))


def loss(model, batch, key):
    images, labels = batch
    return metrics.classification_loss(model(images), labels)


def images_per_second(model, arrays, loop: str) -> float:
    """Images per second of one epoch over ``arrays``, after a warm-up epoch that compiles it."""
    optimizer = optax.adam(1e-3)
    step, carry = train.gradient_step(loss, optimizer), train.init(model, optimizer)

    def run(seed):
        out, _ = train.fit(
            step,
            carry,
            arrays,
            key=jax.random.key(seed),
            epochs=1,
            batch_size=BATCH,
            loop=loop,
            progress=False,
        )
        return jax.block_until_ready(out)

    run(0)
    start = time.perf_counter()
    run(1)
    return (arrays[0].shape[0] // BATCH) * BATCH / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    tags = ("patches_scan", "patches_steps", "flax_steps", "flax_scan")
    parser.add_argument("--forms", nargs="+", choices=tags, default=list(tags),
                        help="forms to time (default: all four; flax_scan alone takes about 10 minutes)")
    chosen = parser.parse_args().forms
    images, labels = datasets.load_mnist("train")
    full = (jnp.asarray(images), jnp.asarray(labels))
    part = lambda n: (full[0][: n * BATCH], full[1][: n * BATCH])  # noqa: E731  the first n batches
    reference = matmul_gflops()
    cases = {  # name: (model, data, loop)
        "helpers.networks.conv, epoch as one lax.scan": (
            lambda: conv.CNN((1, 32, 64), (3136, 128, 10), rngs=nnx.Rngs(0)),
            full,
            "scan",
        ),
        "helpers.networks.conv, steps compiled alone": (
            lambda: conv.CNN((1, 32, 64), (3136, 128, 10), rngs=nnx.Rngs(0)),
            part(60),
            "steps",
        ),
        "nnx.Conv + nnx.max_pool, steps alone": (lambda: FlaxCNN(nnx.Rngs(0)), part(60), "steps"),
        "nnx.Conv + nnx.max_pool, in lax.scan": (lambda: FlaxCNN(nnx.Rngs(0)), part(6), "scan"),
    }
    rows = [
        ("NumPy float32 2048x2048 matmul", f"{reference:.1f} GFLOP/s ({os.cpu_count()} cores)"),
        (
            "FLOPs per training image",
            f"{FLOPS_PER_IMAGE / 1e6:.1f} M (an epoch {60000 * FLOPS_PER_IMAGE / 1e12:.2f} T)",
        ),
    ]
    figures = {
        "numpy_matmul_2048_gflops": round(reference, 1),
        "cpu_count": os.cpu_count(),
        "batch": BATCH,
        "mflop_per_image": round(FLOPS_PER_IMAGE / 1e6, 2),
    }
    for (name, (make, arrays, loop)), tag in zip(
        cases.items(), tags, strict=True
    ):
        if tag not in chosen:
            continue
        rate = images_per_second(make(), arrays, loop)
        gflops = FLOPS_PER_IMAGE * rate / 1e9
        rows.append(
            (
                name,
                f"{rate:8,.0f} images/s  epoch {60000 / rate:6.1f} s  {gflops:6.1f} GFLOP/s  "
                f"{gflops / reference:5.1%} of matmul",
            )
        )
        figures |= {
            f"{tag}_images_per_s": round(rate),
            f"{tag}_epoch_s": round(60000 / rate, 1),
            f"{tag}_gflops": round(gflops, 1),
            f"{tag}_fraction_of_matmul": round(gflops / reference, 3),
        }
    print_report(rows, figures)


if __name__ == "__main__":
    main()
