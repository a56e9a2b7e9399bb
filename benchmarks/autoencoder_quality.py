"""Deep autoencoder on MNIST with a 30-number code: test squared reconstruction error per image.

A longer run than notebook 03's (minutes, not part of the test suite).  Reference: Hinton and
Salakhutdinov, *Reducing the dimensionality of data with neural networks*, Science 313, 504 (2006),
Fig. 2: their RBM-pretrained 784-1000-500-250-30 autoencoder reaches an average squared error of
3.00 per test image (summed over the 784 pixels in [0, 1]), logistic PCA 8.01 and PCA 13.87.
Target: 3.00 or better, with the same architecture trained from a random start (no pretraining):
ReLU hidden units, a sigmoid output, Adam (optionally with decoupled weight decay, AdamW) on the
squared error itself, or on the denoising loss (``--noise``) as a regulariser.  PCA's figure is computed
here from the training set's covariance.

Prints a readable table, then one JSON object on the last line.

    python benchmarks/autoencoder_quality.py [--epochs 150] [--weight-decay 0.05] [--code 30]
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import optax
from flax import nnx
from report import all_devices_mesh, print_report

from helpers.analysis import pca
from helpers.core import train
from helpers.data import datasets
from helpers.generative import autoencoder

HINTON_AUTOENCODER, HINTON_LOGISTIC_PCA, HINTON_PCA = 3.00, 8.01, 13.87  # Science 2006, Fig. 2, 30-D codes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=150)
    parser.add_argument("--hidden", type=str, default="1000,500,250")
    parser.add_argument("--code", type=int, default=30)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--weight-decay", type=float, default=0.05, help="AdamW's decoupled weight decay")
    parser.add_argument("--noise", type=float, default=0.0,
                        help="train on the denoising loss with this Gaussian noise (0: plain reconstruction)")
    args = all_devices_mesh(parser)
    mesh = args.mesh
    hidden = [int(v) for v in args.hidden.split(",")]

    train_images = jnp.asarray(datasets.load_mnist("train")[0].reshape(-1, 784))
    test_images = jnp.asarray(datasets.load_mnist("test")[0].reshape(-1, 784))
    principal = pca.from_data(train_images, args.code)
    pca_error = float(jnp.mean(pca.squared_error(principal, test_images)))

    k_init, k_fit = jax.random.split(jax.random.key(2006))
    model = autoencoder.Autoencoder(784, hidden, args.code, output="sigmoid", rngs=nnx.Rngs(k_init))
    steps = args.epochs * (train_images.shape[0] // args.batch)
    schedule = optax.cosine_decay_schedule(args.lr, steps, alpha=0.02)
    optimizer = optax.adamw(schedule, weight_decay=args.weight_decay)

    @jax.jit
    def test_error(carry):
        return {"test_error": jnp.mean(autoencoder.squared_error(carry[0], test_images))}

    t0 = time.perf_counter()
    if args.noise > 0:
        step = train.gradient_step(autoencoder.denoising_autoencoder_loss, optimizer, sigma=args.noise)
    else:
        step = train.gradient_step(autoencoder.reconstruction_loss, optimizer)
    (model, _), history = train.fit(step,
                                    train.init(model, optimizer), train_images, key=k_fit, epochs=args.epochs,
                                    batch_size=args.batch, evaluate=test_error, progress=False,
                                    mesh=mesh)
    train_seconds = time.perf_counter() - t0
    errors = history["test_error"]
    final = float(errors[-1])

    checkpoints = sorted({e for e in (1, 5, 10, 20, 40, 60, 100, 200) if e < args.epochs} | {args.epochs})
    rows = [
        ("architecture", f"784-{'-'.join(map(str, hidden))}-{args.code} (ReLU), sigmoid output"),
        ("initialisation", "random (no pretraining)"),
        ("training", f"{args.epochs} epochs, batch {args.batch}, AdamW {args.lr:g} cosine-decayed to 2 %, "
                     f"weight decay {args.weight_decay:g}"),
        ("loss", f"denoising, sigma = {args.noise:g}" if args.noise > 0 else "squared reconstruction error"),
        ("training time", f"{train_seconds:.0f} s ({train_seconds / args.epochs:.2f} s/epoch)"),
        *[(f"test squared error after {e} epochs", f"{float(errors[e - 1]):.2f}") for e in checkpoints],
        ("training loss (last epoch's mean)", f"{float(history['loss'][-1]):.2f}"),
        (f"PCA, {args.code} components (computed here)", f"{pca_error:.2f}"),
        ("Hinton & Salakhutdinov 2006: autoencoder / logistic PCA / PCA",
         f"{HINTON_AUTOENCODER} / {HINTON_LOGISTIC_PCA} / {HINTON_PCA}"),
        ("ratio to PCA", f"{final / pca_error:.3f}"),
        ("target", f"<= {HINTON_AUTOENCODER}"),
    ]
    print_report(rows, {
        "benchmark": "autoencoder_quality", "epochs": args.epochs, "hidden": hidden, "code": args.code,
        "batch": args.batch, "lr": args.lr, "weight_decay": args.weight_decay, "noise": args.noise,
        "train_seconds": round(train_seconds, 1),
        "test_error": round(final, 3), "best_test_error": round(float(errors.min()), 3),
        "pca_error": round(pca_error, 3), "ratio_to_pca": round(final / pca_error, 4),
        "target": HINTON_AUTOENCODER, "meets_target": final <= HINTON_AUTOENCODER,
        "device": jax.devices()[0].platform,
    })


if __name__ == "__main__":
    main()
