"""The benchmarks' shared pieces: the machine's matmul rate, the ``--all-devices`` switch, and the output
format (a readable two-column table, then the figures as one JSON line)."""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from helpers.core import parallel


def all_devices_mesh(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Add the ``--all-devices`` switch to ``parser`` and parse the command line; ``args.mesh`` is the
    mesh over every device (:func:`helpers.core.parallel.default_mesh`) with the switch, else ``None``."""
    parser.add_argument("--all-devices", action="store_true",
                        help="split each batch and the Monte Carlo chains over every device "
                             "(helpers.core.parallel.default_mesh)")
    args = parser.parse_args()
    args.mesh = parallel.default_mesh() if args.all_devices else None
    return args


def matmul_gflops(n: int = 2048, repeats: int = 5) -> float:
    """NumPy's float32 ``n x n`` matrix product rate in GFLOP/s, best of ``repeats``: the reference
    against which a training loop's achieved rate is read."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


def print_report(rows: list[tuple[str, str]], figures: dict) -> None:
    """Print ``rows`` (label, value) aligned in two columns, then ``figures`` as JSON on the last line."""
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print(json.dumps(figures))
