"""Two-dimensional toy data: distributions for generative models, test functions for fitting.

Each sampler returns points ``(n, 2)`` float32, scaled so each coordinate has a standard
deviation of roughly one, which keeps one set of hyper-parameters usable across all four.
The test functions are the course's Franke function and Rosenbrock's valley.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Real

from helpers.core import validate
from helpers.core.validate import AnyArray, shaped


def _swiss_roll(key: jax.Array, n: int) -> jax.Array:
    # Sohl-Dickstein et al. (2015): the 2-D projection (t cos t, t sin t), t in [1.5 pi, 4.5 pi].
    k_t, k_noise = jax.random.split(key)
    t = 1.5 * jnp.pi * (1.0 + 2.0 * jax.random.uniform(k_t, (n,)))
    x = jnp.stack([t * jnp.cos(t), t * jnp.sin(t)], axis=1) / 7.5
    return x + 0.05 * jax.random.normal(k_noise, (n, 2))


def _two_moons(key: jax.Array, n: int) -> jax.Array:
    k_side, k_angle, k_noise = jax.random.split(key, 3)
    upper = jax.random.bernoulli(k_side, 0.5, (n,))
    angle = jnp.pi * jax.random.uniform(k_angle, (n,))
    x_upper = jnp.stack([jnp.cos(angle), jnp.sin(angle)], axis=1)
    x_lower = jnp.stack([1.0 - jnp.cos(angle), 0.5 - jnp.sin(angle)], axis=1)
    x = jnp.where(upper[:, None], x_upper, x_lower) - jnp.array([0.5, 0.25])
    return 1.6 * x + 0.08 * jax.random.normal(k_noise, (n, 2))


EIGHT_GAUSSIANS_RADIUS, EIGHT_GAUSSIANS_STD = 1.4, 0.1
EIGHT_GAUSSIANS_CENTRES = EIGHT_GAUSSIANS_RADIUS * np.stack(
    [np.cos(2 * np.pi * np.arange(8) / 8), np.sin(2 * np.pi * np.arange(8) / 8)], axis=1)
r"""The eight centres ``(8, 2)``: centre c at angle :math:`2\pi c/8` on the circle of radius 1.4."""


def _eight_gaussians(key: jax.Array, n: int) -> jax.Array:
    k_mode, k_noise = jax.random.split(key)
    centres = jnp.asarray(EIGHT_GAUSSIANS_CENTRES, jnp.float32)[jax.random.randint(k_mode, (n,), 0, 8)]
    return centres + EIGHT_GAUSSIANS_STD * jax.random.normal(k_noise, (n, 2))


@shaped
def nearest_centre(x: Real[AnyArray, "n d"], centres: Real[AnyArray, "k d"] | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    r"""For points ``x (n, d)``: the index of the nearest of ``centres (K, d)`` ``(n,)`` and the distance
    :math:`\min_c \lVert\mathbf{x} - \boldsymbol\mu_c\rVert` to it ``(n,)``, in NumPy float64: which mode a
    sample belongs to, and how far it sits from it.  ``centres`` defaults to the eight Gaussians'
    (``EIGHT_GAUSSIANS_CENTRES``, d = 2), whose samples are within :math:`3s` of their centre in 98.9 %
    of draws, since :math:`\lVert\mathbf{x} - \boldsymbol\mu_c\rVert^2/s^2 \sim \chi^2_2`."""
    return _nearest(EIGHT_GAUSSIANS_CENTRES if centres is None else centres, x)


@shaped
def _nearest(centres: Real[AnyArray, "k d"], x: Real[AnyArray, "n d"]) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(validate.finite("x", x), np.float64)  # a NaN sample has no nearest centre
    centres = np.asarray(validate.finite("centres", centres), np.float64)
    distances = np.linalg.norm(x[:, None, :] - centres[None], axis=2)  # (n, K)
    return np.argmin(distances, axis=1), np.min(distances, axis=1)


@shaped
def eight_gaussians_log_density(x: Real[AnyArray, "*batch 2"], noise_std=0.0) -> jax.Array:
    r"""Exact log density of the eight-Gaussians toy, smoothed by Gaussian noise of ``noise_std``:

    .. math:: \log p_\sigma(\mathbf{x}) = \log \frac18 \sum_{c=1}^{8}
              \mathcal{N}(\mathbf{x}; \boldsymbol\mu_c, (s^2 + \sigma^2) I_2),

    centres :math:`\boldsymbol\mu_c` on a circle of radius 1.4, :math:`s = 0.1` (the density of
    ``sample_toy(key, "eight_gaussians", n)`` plus :math:`\sigma\boldsymbol\epsilon`).
    Shapes ``(..., 2)`` -> ``(...)``.
    """
    validate.nonnegative_number(noise_std=noise_std)
    x = jnp.asarray(x, jnp.result_type(x.dtype, jnp.float32))  # integer points as floats
    centres = jnp.asarray(EIGHT_GAUSSIANS_CENTRES, x.dtype)  # (8, 2)
    var = EIGHT_GAUSSIANS_STD**2 + noise_std**2
    sq = jnp.sum((x[..., None, :] - centres) ** 2, axis=-1)  # (..., 8)
    return jax.scipy.special.logsumexp(-0.5 * sq / var, axis=-1) - jnp.log(8.0 * 2.0 * jnp.pi * var)


def _checkerboard(key: jax.Array, n: int) -> jax.Array:
    # Uniform on the 8 dark squares of a 4x4 board covering [-2, 2]^2.
    k_x, k_y, k_row = jax.random.split(key, 3)
    x = 4.0 * jax.random.uniform(k_x, (n,)) - 2.0
    column = jnp.floor(x + 2.0)
    row_offset = 2.0 * jax.random.randint(k_row, (n,), 0, 2)
    row = jnp.mod(column + 1.0, 2.0) + row_offset  # dark squares: row + column odd
    y = row - 2.0 + jax.random.uniform(k_y, (n,))
    return jnp.stack([x, y], axis=1) / 1.15


TOY_DISTRIBUTIONS = {
    "swiss_roll": _swiss_roll,
    "two_moons": _two_moons,
    "eight_gaussians": _eight_gaussians,
    "checkerboard": _checkerboard,
}


def sample_toy(key: jax.Array, name: str, n: int) -> jax.Array:
    """Draw ``n`` points ``(n, 2)`` float32 from the toy distribution ``name``.

    ``name`` is one of ``TOY_DISTRIBUTIONS``: ``"swiss_roll"``, ``"two_moons"``,
    ``"eight_gaussians"`` or ``"checkerboard"``.  The same key gives the same points.
    """
    validate.key("key", key)
    validate.choice("name", name, sorted(TOY_DISTRIBUTIONS))
    validate.positive_int(n=n)
    return _sample(key, name, n)


@partial(jax.jit, static_argnames=("name", "n"))
def _sample(key: jax.Array, name: str, n: int) -> jax.Array:
    return TOY_DISTRIBUTIONS[name](key, n).astype(jnp.float32)


@shaped
def franke(x: Real[AnyArray, "*grid"], y: Real[AnyArray, "*grid"]) -> jax.Array:
    r"""Franke's function on the unit square (the course's regression benchmark), elementwise:

    .. math:: F = \tfrac34 e^{-\frac{(9x-2)^2}{4} - \frac{(9y-2)^2}{4}}
              + \tfrac34 e^{-\frac{(9x+1)^2}{49} - \frac{9y+1}{10}}
              + \tfrac12 e^{-\frac{(9x-7)^2}{4} - \frac{(9y-3)^2}{4}}
              - \tfrac15 e^{-(9x-4)^2 - (9y-7)^2}.

    ``x`` and ``y`` of the same shape (no broadcasting, so a grid must be built with ``meshgrid``).
    """
    return (
        0.75 * jnp.exp(-((9 * x - 2) ** 2) / 4 - (9 * y - 2) ** 2 / 4)
        + 0.75 * jnp.exp(-((9 * x + 1) ** 2) / 49 - (9 * y + 1) / 10)
        + 0.5 * jnp.exp(-((9 * x - 7) ** 2) / 4 - (9 * y - 3) ** 2 / 4)
        - 0.2 * jnp.exp(-((9 * x - 4) ** 2) - (9 * y - 7) ** 2)
    )


@shaped
def rosenbrock(theta: Real[AnyArray, "2 ..."]):  # NumPy in, NumPy out
    r"""Rosenbrock's valley, minimum 0 at (1, 1):

    .. math:: f(\theta) = (1 - \theta_0)^2 + 100 (\theta_1 - \theta_0^2)^2.

    ``theta (2, ...)`` -> ``(...)`` (a point, or a grid of them stacked on the first axis; JAX would
    read a missing :math:`\theta_1` as a clamped :math:`\theta_0`, so the annotation asks for two).
    """
    return (1.0 - theta[0]) ** 2 + 100.0 * (theta[1] - theta[0] ** 2) ** 2
