"""Training throughput of helpers.core.train against the machine's dense matrix-multiply rate.

One MNIST epoch (60000 images, batch 128, Adam, ``helpers.core.train.fit``) of notebook 01's
classifier (784-512-512-10, ReLU) and of a VAE-sized MLP (784-400-20-400-784, trained to
reconstruct its input), each after one warm-up epoch that compiles it.  A training step costs 6
FLOPs per weight per example (2 forward, 2 for the weight gradient, 2 for the input gradient)
except in the first layer, whose input gradient is never needed (4 FLOPs per weight), so achieved
GFLOP/s = flops_per_example * samples/s (biases and activations, a fraction of a percent, are not
counted).  The reference is NumPy's float32 2048x2048 matmul, measured in the same run.  Target:
training reaches at least 50% of that rate.  Prints a table, then one JSON object on the last line.
"""

import json
import os
import time

import jax
import jax.numpy as jnp
import optax
from flax import nnx
from report import matmul_gflops

from helpers.analysis import metrics
from helpers.core import train
from helpers.data import datasets
from helpers.networks import ffnn, layers

BATCH = 128


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def epoch_rate(sizes, loss_fn, arrays) -> tuple[float, float]:
    """(samples per second, seconds per epoch) of one compiled epoch of ``train.fit``, best of two."""
    model = layers.MLP(sizes, "relu", rngs=nnx.Rngs(0))
    optimizer = optax.adam(1e-3)
    step, carry = train.gradient_step(loss_fn, optimizer), train.init(model, optimizer)

    def run(seed):
        out, _ = train.fit(step, carry, arrays, key=jax.random.key(seed), epochs=1, batch_size=BATCH,
                           progress=False)
        return jax.block_until_ready(out)

    run(0)  # compile
    seconds = min(_timed(lambda: run(1)), _timed(lambda: run(2)))
    n_used = (arrays[0].shape[0] // BATCH) * BATCH
    return n_used / seconds, seconds


def flops_per_example(sizes) -> int:
    weights = [a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    return 4 * weights[0] + 6 * sum(weights[1:])


def main() -> None:
    images, labels = datasets.load_mnist("train")
    x = jnp.asarray(images.reshape(len(images), -1))
    y = jnp.asarray(labels)
    reference = matmul_gflops()
    cases = {
        "classifier 784-512-512-10": (
            [784, 512, 512, 10], lambda m, b, k: metrics.classification_loss(m(b[0]), b[1]), (x, y)
        ),
        "VAE-sized 784-400-20-400-784": (
            [784, 400, 20, 400, 784], lambda m, b, k: ffnn.mse(m(b[0]), b[0]), (x,)
        ),
    }
    figures = {"numpy_matmul_2048_gflops": round(reference, 1), "cpu_count": os.cpu_count(), "batch": BATCH}
    print(f"NumPy float32 2048x2048 matmul: {reference:.1f} GFLOP/s ({os.cpu_count()} cores)")
    print(f"{'model':<32}{'epoch s':>9}{'samples/s':>12}{'GFLOP/s':>10}{'of matmul':>11}")
    for name, (sizes, loss_fn, arrays) in cases.items():
        rate, seconds = epoch_rate(sizes, loss_fn, arrays)
        gflops = flops_per_example(sizes) * rate / 1e9
        print(f"{name:<32}{seconds:>9.2f}{rate:>12,.0f}{gflops:>10.1f}{gflops / reference:>10.0%}")
        tag = "classifier" if name.startswith("classifier") else "vae_mlp"
        figures[f"{tag}_samples_per_s"] = round(rate)
        figures[f"{tag}_epoch_s"] = round(seconds, 2)
        figures[f"{tag}_gflops"] = round(gflops, 1)
        figures[f"{tag}_fraction_of_matmul"] = round(gflops / reference, 3)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
