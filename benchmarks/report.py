"""The benchmarks' shared pieces: the machine's matmul rate, and the output format (a readable
two-column table, then the figures as one JSON line)."""

from __future__ import annotations

import json
import time

import numpy as np


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
