# ruff: noqa: F722  (jaxtyping shape strings in annotations)
r"""Distances between two sets of samples, and the area under the ROC curve, for judging generative models.

The distances take samples as rows: ``x (n, d)``, ``y (m, d)``: sliced and 1-D Wasserstein
distances, the maximum mean discrepancy, improved precision and recall, and the Fréchet distance
between Gaussians fitted to the two sets.  :mod:`helpers.analysis.metrics` measures generated digits with
them in the feature space of a fixed MNIST classifier (the pairwise squared distances
:func:`squared_distances` have their one home here).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Real

from helpers.core import validate
from helpers.core.validate import AnyArray, shaped


def _check_samples(x, y, names=("x", "y")):
    """Two sets ``(n, d)``, ``(m, d)`` (annotated by the callers), >= 2 finite samples each, as float32."""
    if x.shape[0] < 2 or y.shape[0] < 2:
        raise ValueError(f"{names[0]} {x.shape} and {names[1]} {y.shape}: expected at least 2 samples each")
    return (validate.finite(names[0], jnp.asarray(x, jnp.float32)),
            validate.finite(names[1], jnp.asarray(y, jnp.float32)))


@shaped
def squared_distances(a: Real[AnyArray, "n d"], b: Real[AnyArray, "m d"]):
    r"""Pairwise squared Euclidean distances ``(n, m)`` between the rows of ``a (n, d)`` and ``b (m, d)``,
    :math:`\lVert\mathbf{a}\rVert^2 + \lVert\mathbf{b}\rVert^2 - 2\mathbf{a}\cdot\mathbf{b}` clipped at 0
    (round-off), in the array library of ``a`` (NumPy float64 stays NumPy, JAX stays traceable)."""
    xp = np if isinstance(a, np.ndarray) else jnp
    return xp.maximum(xp.sum(a**2, 1)[:, None] + xp.sum(b**2, 1)[None, :] - 2.0 * a @ b.T, 0.0)


@shaped
def sliced_wasserstein(key, x: Real[AnyArray, "n d"], y: Real[AnyArray, "m d"],
                       n_projections: int = 256, n_quantiles: int = 512) -> float:
    r"""Sliced 2-Wasserstein distance between the empirical distributions of x and y.

    .. math:: SW_2(p, q) = \left( \mathbb{E}_{\mathbf{u} \sim U(S^{d-1})}
              W_2^2(\mathbf{u}^T_\# p,\ \mathbf{u}^T_\# q) \right)^{1/2},

    where in one dimension :math:`W_2^2 = \int_0^1 (F_p^{-1}(t) - F_q^{-1}(t))^2 dt` is computed
    from ``n_quantiles`` quantiles of the projected samples, and the expectation over directions
    from ``n_projections`` random unit vectors (drawn with ``key``).  In 1-D it is :math:`W_2`
    itself; for two Gaussians :math:`W_2^2 = (\mu_1 - \mu_2)^2 + (\sigma_1 - \sigma_2)^2`.
    The quantiles (linearly interpolated between order statistics, NumPy's default) are taken in
    NumPy float64 from one sort per projection: on a CPU that is some ten times faster than XLA's sort.
    """
    validate.key("key", key)
    validate.positive_int(n_projections=n_projections, n_quantiles=n_quantiles)
    x, y = _check_samples(x, y)
    directions = np.asarray(jax.random.normal(key, (x.shape[1], n_projections)), np.float64)
    directions /= np.linalg.norm(directions, axis=0, keepdims=True)
    levels = (np.arange(n_quantiles) + 0.5) / n_quantiles

    def quantiles(samples):  # (n, d) -> (n_quantiles, n_projections)
        ordered = np.sort(np.asarray(samples, np.float64) @ directions, axis=0)
        position = levels * (len(ordered) - 1)
        below = np.floor(position).astype(int)
        above = np.minimum(below + 1, len(ordered) - 1)
        weight = (position - below)[:, None]
        return (1 - weight) * ordered[below] + weight * ordered[above]

    return float(np.sqrt(np.mean((quantiles(x) - quantiles(y)) ** 2)))


@shaped
def wasserstein_1d(x: Real[AnyArray, " n"], y: Real[AnyArray, " n"]) -> float:
    r"""Exact 1-Wasserstein distance between two 1-D empirical distributions of equal size n:

    .. math:: W_1 = \int_0^1 \lvert F_x^{-1}(t) - F_y^{-1}(t)\rvert\,dt
              = \frac1n \sum_{i=1}^{n} \lvert x_{(i)} - y_{(i)}\rvert,

    the sorted samples paired in order (in 1-D the optimal transport plan is monotone).
    ``x (n,)``, ``y (n,)`` -> float, in float64.
    """
    x, y = np.asarray(validate.finite("x", x), np.float64), np.asarray(validate.finite("y", y), np.float64)
    if x.shape[0] < 1:
        raise ValueError("x and y are empty; expected at least one sample each")
    return float(np.mean(np.abs(np.sort(x) - np.sort(y))))


@shaped
def mmd(x: Real[AnyArray, "n d"], y: Real[AnyArray, "m d"], bandwidth: float) -> jax.Array:
    r"""Unbiased squared maximum mean discrepancy with the Gaussian kernel.

    .. math:: k(\mathbf{a}, \mathbf{b})
              = \exp\left(-\frac{\lVert \mathbf{a} - \mathbf{b} \rVert^2}{2h^2}\right),
              \quad \mathrm{MMD}^2 = \mathbb{E}\,k(x, x') + \mathbb{E}\,k(y, y') - 2\,\mathbb{E}\,k(x, y),

    the first two averages over distinct pairs (so the estimate is unbiased and can be slightly
    negative when p = q); h = ``bandwidth``.
    """
    x, y = _check_samples(x, y)
    validate.positive_number(bandwidth=bandwidth)

    def gram(a, b):
        return jnp.exp(-squared_distances(a, b) / (2.0 * bandwidth**2))

    n, m = x.shape[0], y.shape[0]
    kxx, kyy = gram(x, x), gram(y, y)
    within_x = (jnp.sum(kxx) - jnp.trace(kxx)) / (n * (n - 1))
    within_y = (jnp.sum(kyy) - jnp.trace(kyy)) / (m * (m - 1))
    return within_x + within_y - 2.0 * jnp.mean(gram(x, y))


@shaped
def auroc(positive_scores: Real[AnyArray, "*n"], negative_scores: Real[AnyArray, "*m"]) -> jax.Array:
    r"""Area under the ROC curve: :math:`P(s_+ > s_-) + \tfrac12 P(s_+ = s_-)`.

    The probability that a random positive example scores higher than a random negative one
    (the Mann-Whitney statistic), computed by sorting; 1 for perfect separation, 1/2 for
    identical score distributions.  positive ``(n,)``, negative ``(m,)``.
    """
    pos = jnp.asarray(positive_scores, jnp.float32).ravel()
    neg = jnp.asarray(negative_scores, jnp.float32).ravel()
    if pos.size == 0 or neg.size == 0:
        raise ValueError(f"got {pos.size} positive and {neg.size} negative scores; "
                         "expected at least one of each")
    pos = validate.finite("positive_scores", pos)  # a NaN sorts last and would count as the best score
    neg = validate.finite("negative_scores", neg)
    sorted_neg = jnp.sort(neg)
    below = jnp.searchsorted(sorted_neg, pos, side="left")  # negatives strictly below each positive
    at_or_below = jnp.searchsorted(sorted_neg, pos, side="right")
    return jnp.mean(below + 0.5 * (at_or_below - below)) / neg.size


@shaped
def precision_recall(real: Real[AnyArray, "n d"], fake: Real[AnyArray, "m d"],
                     k: int = 3) -> tuple[float, float]:
    r"""Improved precision and recall of generated samples (Kynkäänniemi et al., NeurIPS 2019).

    Each set of feature vectors stands for a manifold: the union of balls around its points whose
    radius is the distance to the point's k-th nearest neighbour in the same set. Then

    .. math:: \text{precision} = \frac{1}{|F|}\sum_{\mathbf{f} \in F} [\mathbf{f} \in \mathcal{M}(R)], \qquad
              \text{recall} = \frac{1}{|R|}\sum_{\mathbf{r} \in R} [\mathbf{r} \in \mathcal{M}(F)]:

    the fraction of generated samples that look real, and of real samples that the generator
    covers. Noise scores precision near 0; a second set of real samples scores both near 1.
    ``real (n, d)``, ``fake (m, d)`` -> ``(precision, recall)``.
    """
    real, fake = (np.asarray(a, np.float64) for a in _check_samples(real, fake, ("real", "fake")))
    _check_k(k, real, fake)
    return _covered(fake, real, _radii(real, k)), _covered(real, fake, _radii(fake, k))


def _check_k(k, *sets) -> None:
    n = min(len(s) for s in sets)
    if not validate.is_integer(k) or not 1 <= k < n:
        raise ValueError(f"k={k!r}; expected an integer in [1, {n - 1}]")


def _radii(a: np.ndarray, k: int) -> np.ndarray:
    """The distance of each point of ``a (n, d)`` to its k-th nearest neighbour in ``a`` (itself excluded)."""
    return np.sort(np.sqrt(squared_distances(a, a)), axis=1)[:, k]


def _covered(points: np.ndarray, centres: np.ndarray, radii: np.ndarray) -> float:
    """The share of ``points`` inside some ball of ``centres`` with ``radii`` (:func:`precision_recall`)."""
    return float(np.mean(np.any(np.sqrt(squared_distances(points, centres)) <= radii[None, :], axis=1)))


# --------------------------------------------------------------------------------------------
# Fréchet distance
# --------------------------------------------------------------------------------------------
@shaped
def gaussian_frechet_distance(mu1: Real[AnyArray, " d"], cov1: Real[AnyArray, "d d"],
                              mu2: Real[AnyArray, " d"], cov2: Real[AnyArray, "d d"]) -> float:
    r"""Fréchet (squared 2-Wasserstein) distance between :math:`\mathcal{N}(\boldsymbol\mu_1, \Sigma_1)`
    and :math:`\mathcal{N}(\boldsymbol\mu_2, \Sigma_2)`:

    .. math:: d^2 = \lVert\boldsymbol\mu_1 - \boldsymbol\mu_2\rVert^2
              + \mathrm{tr}\left(\Sigma_1 + \Sigma_2
              - 2\left(\Sigma_1^{1/2}\Sigma_2\Sigma_1^{1/2}\right)^{1/2}\right).

    The matrix square roots come from symmetric eigendecompositions in float64 (tiny negative
    eigenvalues from round-off are set to zero; a covariance that is not symmetric positive
    semi-definite is refused, since the formula would return a meaningless, possibly negative,
    number).  ``mu (d,)``, ``cov (d, d)`` -> float >= 0.
    """
    mu1, cov1, mu2, cov2 = (np.asarray(validate.finite(name, a), np.float64) for name, a in
                            (("mu1", mu1), ("cov1", cov1), ("mu2", mu2), ("cov2", cov2)))
    _check_covariance(cov1=cov1, cov2=cov2)

    def sqrtm(a):
        values, vectors = np.linalg.eigh((a + a.T) / 2)
        return (vectors * np.sqrt(np.maximum(values, 0.0))) @ vectors.T

    root1 = sqrtm(cov1)
    cross = np.trace(sqrtm(root1 @ cov2 @ root1))
    # Round-off can leave a distance between equal Gaussians a hair below zero.
    return max(0.0, float(np.sum((mu1 - mu2) ** 2) + np.trace(cov1) + np.trace(cov2) - 2 * cross))


def _check_covariance(**matrices) -> None:
    for name, cov in matrices.items():
        scale, asymmetry = max(np.abs(cov).max(), 1e-300), np.abs(cov - cov.T).max()
        if asymmetry > 1e-6 * scale:
            raise ValueError(f"{name} is not symmetric (largest |C - C^T| = {asymmetry:.3g}); "
                             "expected a covariance matrix")
        smallest = np.linalg.eigvalsh((cov + cov.T) / 2).min()
        if smallest < -1e-8 * scale * cov.shape[0]:
            raise ValueError(f"{name} has a negative eigenvalue {smallest:.3g}; expected a positive "
                             "semi-definite covariance matrix")


@shaped
def frechet_distance(x: Real[AnyArray, "n d"], y: Real[AnyArray, "m d"]) -> float:
    r"""Fréchet distance between Gaussians fitted to two sets of feature vectors (the FID recipe,
    here in any feature space): :func:`gaussian_frechet_distance` of the sample means and
    covariances.  ``x (n, d)``, ``y (m, d)`` -> float; 0 for a set against itself."""
    x, y = _check_samples(x, y)
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    return gaussian_frechet_distance(x.mean(0), np.cov(x, rowvar=False), y.mean(0), np.cov(y, rowvar=False))
