"""The self-checking exercises of notebook 11 (normalizing flows)."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from scipy.special import expit, log_expit

from helpers.checks._core import Mismatch, Verdict, expect, f32, run

__all__ = ["glow_coupling", "jacobian_trace"]


def _net(w, x_kept):
    """A fixed conditioner: raw scale and shift from the kept entries, ``(n, d)`` each."""
    h = np.tanh(x_kept @ w[0])
    return h @ w[1], h @ w[2]


def _glow(x, mask, raw_s, t):
    scale = expit(raw_s + 2.0)
    y = mask * x + (1 - mask) * (x + t) * scale
    return y, np.sum((1 - mask) * log_expit(raw_s + 2.0), axis=1)


def glow_coupling(student: Callable) -> Verdict:
    r"""``student(x, mask, net)`` -> ``(y, log_det)`` for Glow's affine coupling with a sigmoid scale
    (Kingma and Dhariwal 2018): :math:`\mathbf{y} = \mathbf{m}\odot\mathbf{x} + (1 - \mathbf{m})\odot
    (\mathbf{x} + \mathbf{t})\odot\sigma(\mathbf{s} + 2)`, ``(s, t) = net(m * x)``; ``x (n, d)``,
    ``mask (d,)``; ``log_det (n,)`` is :math:`\log|\det\partial\mathbf{y}/\partial\mathbf{x}|`, which
    the reference also takes from the autodiff Jacobian's slogdet."""
    rng = np.random.default_rng(11)
    n, d = 5, 6
    x = rng.normal(size=(n, d))
    masks = {"alternate entries": np.arange(d) % 2 == 0, "the first half kept": np.arange(d) < d // 2}
    w = [rng.normal(0, 0.8, size=(d, 8)), rng.normal(0, 1.5, size=(8, d)), rng.normal(size=(8, d))]

    def jax_net(x_kept):
        h = jnp.tanh(x_kept @ w[0])
        return h @ w[1], h @ w[2]

    for mask in masks.values():  # the reference's log-determinant against the autodiff Jacobian
        m = mask.astype(np.float64)

        def forward(v, m=m):
            raw_s, t = jax_net(m * v)
            return m * v + (1 - m) * (v + t) * jax.nn.sigmoid(raw_s + 2.0)

        with jax.enable_x64(True):
            slogdet = jnp.linalg.slogdet(jax.vmap(jax.jacobian(forward))(jnp.asarray(x)))[1]
        raw_s, t = _net(w, m * x)
        assert np.allclose(np.asarray(slogdet), _glow(x, m, raw_s, t)[1], atol=1e-8)

    def trial():
        for name, mask in masks.items():
            m = mask.astype(np.float64)
            raw_s, t = _net(w, m * x)
            y_want, ld_want = _glow(x, m, raw_s, t)
            out = student(*f32(x, m), lambda v: tuple(jnp.asarray(a, jnp.float32) for a in jax_net(v)))
            if not isinstance(out, tuple | list) or len(out) != 2:
                raise Mismatch("the function should return a pair (y, log_det)")
            expect(out[0], y_want, f"y, {name}", rtol=1e-4)
            expect(
                out[1],
                ld_want,
                f"log_det, {name}",
                rtol=1e-4,
                known=[
                    (
                        np.sum(log_expit(raw_s + 2.0), axis=1),
                        "the kept entries pass unchanged: their "
                        "diagonal entries of the Jacobian are 1 and add nothing to log|det|",
                    ),
                    (
                        np.sum((1 - m) * expit(raw_s + 2.0), axis=1),
                        "the determinant is the product of the "
                        "diagonal; its logarithm sums the logarithms of the scales",
                    ),
                    (np.sum((1 - m) * log_expit(raw_s), axis=1), "the scale is sigma(s + 2), not sigma(s)"),
                    (
                        -ld_want,
                        "each transformed entry is multiplied by sigma(s + 2) < 1, "
                        "so each term of log|det| is negative",
                    ),
                ],
            )
        return "y and log|det| match the reference (itself checked against slogdet of the Jacobian)"

    return run(
        "Glow's sigmoid-scaled coupling",
        student,
        "write the Jacobian in the order kept entries "
        "first: it is triangular, so log|det| is the sum of the logarithms of its diagonal",
        trial,
    )


def jacobian_trace(student: Callable) -> Verdict:
    r"""``student(z, W, b)`` -> :math:`\mathrm{tr}\,\partial\mathbf{f}/\partial\mathbf{z}` for the vector
    field :math:`\mathbf{f}(\mathbf{z}) = \tanh(W\mathbf{z} + \mathbf{b})` of a continuous-time flow,
    whose log-density obeys :math:`d\log p/dt = -\mathrm{tr}\,\partial\mathbf{f}/\partial\mathbf{z}`
    (Chen et al., NeurIPS 2018).  ``z (n, d)``, ``W (d, d)``, ``b (d,)`` -> ``(n,)``; the reference is
    checked against the trace of the autodiff Jacobian."""
    rng = np.random.default_rng(12)
    n, d = 7, 5
    z, W, b = rng.normal(size=(n, d)), rng.normal(size=(d, d)), rng.normal(size=d)
    a = z @ W.T + b
    want = np.sum((1 - np.tanh(a) ** 2) * np.diag(W), axis=1)
    with jax.enable_x64(True):

        def field(v):
            return jnp.tanh(jnp.asarray(W) @ v + jnp.asarray(b))

        autodiff = jax.vmap(lambda v: jnp.trace(jax.jacfwd(field)(v)))(jnp.asarray(z))
    assert np.allclose(np.asarray(autodiff), want, atol=1e-10)

    def trial():
        expect(
            student(*f32(z, W, b)),
            want,
            "the trace",
            rtol=1e-4,
            known=[
                (
                    np.sum((1 - np.tanh(a) ** 2) * W.sum(axis=1), axis=1),
                    "the trace takes the diagonal dF_i/dz_i only, not every entry of the Jacobian",
                ),
                (np.sum(np.tanh(a) * np.diag(W), axis=1), "differentiate tanh: tanh'(a) = 1 - tanh(a)^2"),
                (np.full(n, np.trace(W)), "the chain rule multiplies W by tanh'(Wz + b), which depends on z"),
                (
                    np.sum((1 - np.tanh(z @ W + b) ** 2) * np.diag(W), axis=1),
                    "the pre-activation is W z + b (in rows: z @ W.T + b)",
                ),
            ],
        )
        return "matches the trace of the autodiff Jacobian at every point"

    return run(
        "the trace of a continuous flow's Jacobian",
        student,
        "the Jacobian of tanh(Wz + b) is "
        "diag(tanh'(Wz + b)) W; its trace is the sum over i of its diagonal entries",
        trial,
    )
