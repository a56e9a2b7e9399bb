r"""Distances between samples, and the area under the ROC curve, for judging generative models.

All three take samples as rows: ``x (n, d)``, ``y (m, d)``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def _check_samples(x, y):
    x, y = jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"x {x.shape} and y {y.shape}: expected (n, d) and (m, d) with the same d")
    if x.shape[0] < 2 or y.shape[0] < 2:
        raise ValueError(f"x {x.shape} and y {y.shape}: expected at least 2 samples each")
    return x, y


def sliced_wasserstein(key: jax.Array, x, y, n_projections: int = 256, n_quantiles: int = 512) -> jax.Array:
    r"""Sliced 2-Wasserstein distance between the empirical distributions of x and y.

    .. math:: SW_2(p, q) = \left( \mathbb{E}_{\mathbf{u} \sim U(S^{d-1})}
              W_2^2(\mathbf{u}^T_\# p,\ \mathbf{u}^T_\# q) \right)^{1/2},

    where in one dimension :math:`W_2^2 = \int_0^1 (F_p^{-1}(t) - F_q^{-1}(t))^2 dt` is computed
    from ``n_quantiles`` quantiles of the projected samples, and the expectation over directions
    from ``n_projections`` random unit vectors (drawn with ``key``).  In 1-D it is :math:`W_2`
    itself; for two Gaussians :math:`W_2^2 = (\mu_1 - \mu_2)^2 + (\sigma_1 - \sigma_2)^2`.
    """
    x, y = _check_samples(x, y)
    directions = jax.random.normal(key, (x.shape[1], n_projections))
    directions = directions / jnp.linalg.norm(directions, axis=0, keepdims=True)
    levels = (jnp.arange(n_quantiles) + 0.5) / n_quantiles
    qx = jnp.quantile(x @ directions, levels, axis=0)
    qy = jnp.quantile(y @ directions, levels, axis=0)
    return jnp.sqrt(jnp.mean((qx - qy) ** 2))


def mmd(x, y, bandwidth: float) -> jax.Array:
    r"""Unbiased squared maximum mean discrepancy with the Gaussian kernel.

    .. math:: k(\mathbf{a}, \mathbf{b})
              = \exp\left(-\frac{\lVert \mathbf{a} - \mathbf{b} \rVert^2}{2h^2}\right),
              \quad \mathrm{MMD}^2 = \mathbb{E}\,k(x, x') + \mathbb{E}\,k(y, y') - 2\,\mathbb{E}\,k(x, y),

    the first two averages over distinct pairs (so the estimate is unbiased and can be slightly
    negative when p = q); h = ``bandwidth``.
    """
    x, y = _check_samples(x, y)
    if not bandwidth > 0:
        raise ValueError(f"bandwidth={bandwidth!r}; expected a positive number")

    def gram(a, b):
        sq = jnp.sum(a**2, 1)[:, None] + jnp.sum(b**2, 1)[None, :] - 2.0 * a @ b.T
        return jnp.exp(-jnp.maximum(sq, 0.0) / (2.0 * bandwidth**2))

    n, m = x.shape[0], y.shape[0]
    kxx, kyy = gram(x, x), gram(y, y)
    within_x = (jnp.sum(kxx) - jnp.trace(kxx)) / (n * (n - 1))
    within_y = (jnp.sum(kyy) - jnp.trace(kyy)) / (m * (m - 1))
    return within_x + within_y - 2.0 * jnp.mean(gram(x, y))


def auroc(positive_scores, negative_scores) -> jax.Array:
    r"""Area under the ROC curve: :math:`P(s_+ > s_-) + \tfrac12 P(s_+ = s_-)`.

    The probability that a random positive example scores higher than a random negative one
    (the Mann-Whitney statistic), computed by sorting; 1 for perfect separation, 1/2 for
    identical score distributions.  positive ``(n,)``, negative ``(m,)``.
    """
    pos = jnp.asarray(positive_scores, jnp.float32).ravel()
    neg = jnp.asarray(negative_scores, jnp.float32).ravel()
    if pos.size == 0 or neg.size == 0:
        raise ValueError(
            f"got {pos.size} positive and {neg.size} negative scores; expected at least one of each"
        )
    sorted_neg = jnp.sort(neg)
    below = jnp.searchsorted(sorted_neg, pos, side="left")  # negatives strictly below each positive
    at_or_below = jnp.searchsorted(sorted_neg, pos, side="right")
    return jnp.mean(below + 0.5 * (at_or_below - below)) / neg.size
