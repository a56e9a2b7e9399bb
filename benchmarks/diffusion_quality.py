"""Diffusion on full-resolution MNIST: Fréchet distance and speed of DDPM-1000 and DDIM-50 samples.

A longer run than notebook 07's (minutes, not part of the test suite), at 28 x 28.  Targets:
DDIM with 50 steps at least 15x faster than DDPM with 1000 steps, with a Fréchet distance
within 1.5x of DDPM's.  Same recipe as the notebook: a residual MLP with a sinusoidal time
embedding that predicts the velocity v (``denoisers.VPrediction``; ``--prediction eps`` for plain
noise prediction), Nichol and Dhariwal's cosine schedule (T = 1000), the simple loss with
min-SNR-5 weights (``--gamma 0`` for none), Adam with warm-up and cosine decay, x0-clipping to
[-1, 1] while sampling.  Quality is the Fréchet
distance in the 128 penultimate features of the fixed 28 x 28 MNIST classifier
(``helpers.analysis.metrics.digit_classifier(jax.random.key(0), 28)``), against 5000 test digits, with
held-out test digits
as the floor and Gaussian noise as the ceiling (``helpers.analysis.metrics.digit_quality``, as notebooks 07
and 08 judge their 14 x 14 digits).  Both samplers are compiled before they are timed.

Prints a readable table, then one JSON object on the last line.

    python benchmarks/diffusion_quality.py [--epochs 20] [--samples 1000]
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import optax
from flax import nnx
from report import all_devices_mesh, print_report

from helpers.analysis import metrics
from helpers.core import train
from helpers.data import datasets
from helpers.generative import denoisers, diffusion, diffusion_sampling


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--width", type=int, default=768)
    parser.add_argument("--depth", type=int, default=3)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--prediction", choices=("v", "eps"), default="v")
    parser.add_argument(
        "--gamma", type=float, default=5.0, help="min-SNR weight cap; 0 for the plain simple loss"
    )
    parser.add_argument("--ddim-steps", type=int, default=50)
    args = all_devices_mesh(parser)
    mesh = args.mesh

    schedule = diffusion.cosine_schedule(1000)
    x_train = jnp.asarray(
        datasets.prepare_images(datasets.load_mnist("train")[0], 28, (-1.0, 1.0)).reshape(-1, 784)
    )
    test = datasets.prepare_images(datasets.load_mnist("test")[0], 28, (-1.0, 1.0)).reshape(-1, 784)
    k_init, k_fit, k_ddpm, k_ddim, k_noise = jax.random.split(jax.random.key(1000), 5)
    model = denoisers.MLPDenoiser(784, args.width, args.depth, T=schedule.T, rngs=nnx.Rngs(k_init))
    if args.prediction == "v":
        model = denoisers.VPrediction(model, schedule)
    gamma = args.gamma if args.gamma > 0 else None

    steps = args.epochs * (x_train.shape[0] // args.batch)
    optimizer = optax.adam(optax.warmup_cosine_decay_schedule(0.0, args.lr, 500, steps, args.lr * 0.05))
    step = train.gradient_step(diffusion.denoising_loss, optimizer, schedule=schedule, min_snr_gamma=gamma)
    t0 = time.perf_counter()
    (model, _), history = train.fit(
        step,
        train.init(model, optimizer),
        x_train,
        key=k_fit,
        epochs=args.epochs,
        batch_size=args.batch,
        progress=False,
        mesh=mesh,
    )
    train_seconds = time.perf_counter() - t0

    shape = (args.samples, 784)
    samplers = {
        "DDPM-1000": lambda k: diffusion_sampling.ddpm_sample(k, model, schedule, shape, clip=1.0),
        f"DDIM-{args.ddim_steps}": lambda k: diffusion_sampling.ddim_sample(
            k, model, schedule, shape, steps=args.ddim_steps, clip=1.0
        ),
    }
    samples, seconds = {}, {}
    for (name, sample), key in zip(samplers.items(), (k_ddpm, k_ddim), strict=True):
        jax.block_until_ready(sample(jax.random.fold_in(key, 1)))  # compile
        t0 = time.perf_counter()
        samples[name] = jax.block_until_ready(sample(key))
        seconds[name] = time.perf_counter() - t0

    classifier = metrics.digit_classifier(jax.random.key(0), 28)
    held_out = test[5000 : 5000 + args.samples]
    quality = {
        name: metrics.digit_quality(k_noise, classifier, x, test[:5000], held_out)
        for name, x in samples.items()
    }
    anchors = next(iter(quality.values()))  # the floor and ceiling are the same for every sampler
    judged = [("test digits (floor)", anchors.floor), ("Gaussian noise (ceiling)", anchors.ceiling)]
    scores = {name: (q.frechet, q.confident) for name, q in judged + list(quality.items())}
    ddpm_name, ddim_name = list(samplers)
    speedup = seconds[ddpm_name] / seconds[ddim_name]
    fd_ratio = scores[ddim_name][0] / scores[ddpm_name][0]

    rows = [
        (
            "model",
            f"residual MLP 784-{args.width}x{args.depth}-784 predicting {args.prediction}, T = 1000 cosine "
            f"schedule, simple loss" + (f" with min-SNR-{args.gamma:g} weights" if gamma else ""),
        ),
        (
            "training",
            f"{args.epochs} epochs, batch {args.batch}, Adam {args.lr}: {train_seconds:.0f} s, "
            f"final loss {history['loss'][-1]:.4f}",
        ),
        ("feature classifier test accuracy", f"{classifier.accuracy:.4f}"),
    ]
    rows += [
        (f"FD, {name}", f"{fd:.2f} (confident >= 0.9: {conf:.1%})") for name, (fd, conf) in scores.items()
    ]
    rows += [
        (f"sampling time, {name}", f"{s:.1f} s for {args.samples} samples") for name, s in seconds.items()
    ]
    rows += [
        ("DDIM speed-up over DDPM", f"{speedup:.1f}x (target >= 15x)"),
        ("FD ratio DDIM / DDPM", f"{fd_ratio:.2f} (target <= 1.5)"),
    ]
    print_report(
        rows,
        {
            "benchmark": "diffusion_quality",
            "epochs": args.epochs,
            "width": args.width,
            "depth": args.depth,
            "prediction": args.prediction,
            "min_snr_gamma": gamma,
            "samples": args.samples,
            "train_seconds": round(train_seconds, 1),
            "fd": {name: round(fd, 3) for name, (fd, _) in scores.items()},
            "confident": {name: round(c, 4) for name, (_, c) in scores.items()},
            "sampling_seconds": {name: round(s, 2) for name, s in seconds.items()},
            "speedup": round(speedup, 2),
            "fd_ratio": round(fd_ratio, 3),
            "meets_target": bool(speedup >= 15 and fd_ratio <= 1.5),
        },
    )


if __name__ == "__main__":
    main()
