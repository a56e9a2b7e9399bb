"""The self-checking exercises of notebook 10 (attention and transformers)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from helpers.checks._core import Mismatch, Verdict, expect, f32, run

__all__ = ["alibi_attention", "causal_linear_attention"]


def _softmax(scores):
    scores = scores - scores.max(axis=-1, keepdims=True)
    e = np.exp(scores)
    return e / e.sum(axis=-1, keepdims=True)


def _inputs(rng, n, d, dv):
    return rng.normal(size=(n, d)), rng.normal(size=(n, d)), rng.normal(size=(n, dv))


def alibi_attention(student: Callable) -> Verdict:
    r"""``student(q, k, v, m)`` -> :math:`\mathrm{softmax}(QK^\top/\sqrt{d} - m|i - j|)\,V` for one head,
    ``q, k (n, d)``, ``v (n, d_v)`` -> ``(n, d_v)``.  Compared in float64 with the exact formula for
    three sizes and slopes, including m = 0 (plain attention)."""
    rng = np.random.default_rng(10)

    def trial():
        for n, d, dv, m in [(6, 4, 3, 0.5), (9, 8, 2, 0.0), (5, 16, 4, 2.0)]:
            q, k, v = _inputs(rng, n, d, dv)
            dist = np.abs(np.arange(n)[:, None] - np.arange(n)[None, :])
            scores = q @ k.T / np.sqrt(d)
            want = _softmax(scores - m * dist) @ v
            got = student(*f32(q, k, v), m)
            expect(
                got,
                want,
                f"output for n = {n}, d = {d}, m = {m}",
                known=[
                    (
                        _softmax(scores + m * dist) @ v,
                        "the bias must lower the score of distant keys: subtract m |i - j|",
                    ),
                    (
                        _softmax(q @ k.T - m * dist) @ v,
                        "the scores are divided by sqrt(d) before the bias is added",
                    ),
                    (
                        _softmax((scores - m * dist).T).T @ v,
                        "the softmax runs over the keys j for each "
                        "query i (the last axis), so that each row of weights sums to one",
                    ),
                ],
                rtol=1e-4,
            )
        return "equals softmax(q k^T / sqrt(d) - m |i - j|) v for three sizes and slopes"

    return run(
        "attention with a linear distance bias",
        student,
        "A = softmax(Q K^T / sqrt(d) - m |i - j|), one row per query; the output is A V",
        trial,
    )


def causal_linear_attention(student: Callable) -> Verdict:
    r"""``student(q, k, v)`` -> :math:`\mathbf{y}_i = \frac1i\sum_{j\le i}(\mathbf{q}_i\cdot\mathbf{k}_j)
    \mathbf{v}_j` (positions from 1), ``q, k (n, d)``, ``v (n, d_v)`` -> ``(n, d_v)``.  Compared with the
    masked n x n formula for three sizes; an output that depends on a later key fails with a note."""
    rng = np.random.default_rng(11)

    def trial():
        for n, d, dv in [(7, 3, 2), (12, 5, 4), (4, 8, 1)]:
            q, k, v = _inputs(rng, n, d, dv)
            full = q @ k.T
            mask = np.tril(np.ones((n, n)))
            counts = np.arange(1, n + 1)[:, None]
            want = (full * mask) @ v / counts
            got = student(*f32(q, k, v))
            expect(
                got,
                want,
                f"output for n = {n}, d = {d}, d_v = {dv}",
                known=[
                    (
                        full @ v / n,
                        "that is the non-causal average over all n keys: output i may use "
                        "the keys j <= i only",
                    ),
                    ((full * mask) @ v / n, "divide by the number of keys output i sees, i, not by n"),
                    ((full * mask) @ v, "the sum over j <= i is divided by i"),
                    (
                        (full * np.tril(np.ones((n, n)), -1)) @ v / counts,
                        "j <= i includes j = i: each token sees itself",
                    ),
                ],
                rtol=1e-4,
            )
            later = np.array(v)
            later[-1] += 10.0
            first = np.asarray(student(*f32(q, k, later)), np.float64)[:-1]
            if not np.allclose(first, want[:-1], rtol=1e-4, atol=1e-4 * np.abs(want).max()):
                raise Mismatch("changing the last value changed earlier outputs: they see the future")
        return "equals (1/i) sum_{j<=i} (q_i . k_j) v_j for three sizes, and never sees a later key"

    return run(
        "causal linear attention",
        student,
        "y_i = q_i^T S_i / i with S_i = sum_{j<=i} k_j v_j^T, the running sum of outer products",
        trial,
    )
