r"""Distances between samples, and the area under the ROC curve, for judging generative models.

The distances take samples as rows: ``x (n, d)``, ``y (m, d)``.  The Fréchet distance is measured
in the feature space of a fixed MNIST classifier (:func:`digit_classifier`), trained once and cached.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from helpers import data, nets, train, validate
from helpers.cache import load as cache_load
from helpers.cache import store


def _check_samples(x, y):
    x, y = jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"x {x.shape} and y {y.shape}: expected (n, d) and (m, d) with the same d")
    if x.shape[0] < 2 or y.shape[0] < 2:
        raise ValueError(f"x {x.shape} and y {y.shape}: expected at least 2 samples each")
    validate.finite("x", x)
    validate.finite("y", y)
    return x, y


def sliced_wasserstein(key: jax.Array, x, y, n_projections: int = 256, n_quantiles: int = 512) -> float:
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


def wasserstein_1d(x, y) -> float:
    r"""Exact 1-Wasserstein distance between two 1-D empirical distributions of equal size n:

    .. math:: W_1 = \int_0^1 \lvert F_x^{-1}(t) - F_y^{-1}(t)\rvert\,dt
              = \frac1n \sum_{i=1}^{n} \lvert x_{(i)} - y_{(i)}\rvert,

    the sorted samples paired in order (in 1-D the optimal transport plan is monotone).
    ``x (n,)``, ``y (n,)`` -> float, in float64.
    """
    x = np.asarray(validate.array("x", x, ndim=1, kind="number"), np.float64)
    y = np.asarray(validate.array("y", y, (x.shape[0],), kind="number"), np.float64)
    if x.shape[0] < 1:
        raise ValueError("x and y are empty; expected at least one sample each")
    return float(np.mean(np.abs(np.sort(x) - np.sort(y))))


def mmd(x, y, bandwidth: float) -> jax.Array:
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
    validate.finite("positive_scores", pos)  # a NaN sorts last and would count as the best score
    validate.finite("negative_scores", neg)
    sorted_neg = jnp.sort(neg)
    below = jnp.searchsorted(sorted_neg, pos, side="left")  # negatives strictly below each positive
    at_or_below = jnp.searchsorted(sorted_neg, pos, side="right")
    return jnp.mean(below + 0.5 * (at_or_below - below)) / neg.size


def precision_recall(real, fake, k: int = 3) -> tuple[float, float]:
    r"""Improved precision and recall of generated samples (Kynkäänniemi et al., NeurIPS 2019).

    Each set of feature vectors stands for a manifold: the union of balls around its points whose
    radius is the distance to the point's k-th nearest neighbour in the same set. Then

    .. math:: \text{precision} = \frac{1}{|F|}\sum_{\mathbf{f} \in F} [\mathbf{f} \in \mathcal{M}(R)], \qquad
              \text{recall} = \frac{1}{|R|}\sum_{\mathbf{r} \in R} [\mathbf{r} \in \mathcal{M}(F)]:

    the fraction of generated samples that look real, and of real samples that the generator
    covers. Noise scores precision near 0; a second set of real samples scores both near 1.
    ``real (n, d)``, ``fake (m, d)`` -> ``(precision, recall)``.
    """
    real, fake = (np.asarray(a, np.float64) for a in _check_samples(real, fake))
    if not validate.is_integer(k) or not 1 <= k < min(len(real), len(fake)):
        raise ValueError(f"k={k!r}; expected an integer in [1, {min(len(real), len(fake)) - 1}]")

    def distances(a, b):  # (n, m) Euclidean distances
        sq = np.sum(a**2, 1)[:, None] + np.sum(b**2, 1)[None, :] - 2.0 * a @ b.T
        return np.sqrt(np.maximum(sq, 0.0))

    def radii(a):  # distance of each point to its k-th nearest neighbour in its own set (self excluded)
        return np.sort(distances(a, a), axis=1)[:, k]

    def covered(points, centres):  # is each point inside some centre's ball?
        return np.mean(np.any(distances(points, centres) <= radii(centres)[None, :], axis=1))

    return float(covered(fake, real)), float(covered(real, fake))


# --------------------------------------------------------------------------------------------
# Fréchet distance, and the fixed MNIST classifier whose features it is measured in
# --------------------------------------------------------------------------------------------
def gaussian_frechet_distance(mu1, cov1, mu2, cov2) -> float:
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
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    cov1, cov2 = np.atleast_2d(np.asarray(cov1, np.float64)), np.atleast_2d(np.asarray(cov2, np.float64))
    d = mu1.shape[0]
    if mu1.shape != (d,) or mu2.shape != (d,) or cov1.shape != (d, d) or cov2.shape != (d, d):
        raise ValueError(f"mu1 {mu1.shape}, cov1 {cov1.shape}, mu2 {mu2.shape}, cov2 {cov2.shape}; "
                         "expected (d,), (d, d), (d,), (d, d)")

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
        validate.finite(name, cov)
        scale, asymmetry = max(np.abs(cov).max(), 1e-300), np.abs(cov - cov.T).max()
        if asymmetry > 1e-6 * scale:
            raise ValueError(f"{name} is not symmetric (largest |C - C^T| = {asymmetry:.3g}); "
                             "expected a covariance matrix")
        smallest = np.linalg.eigvalsh((cov + cov.T) / 2).min()
        if smallest < -1e-8 * scale * cov.shape[0]:
            raise ValueError(f"{name} has a negative eigenvalue {smallest:.3g}; expected a positive "
                             "semi-definite covariance matrix")


def frechet_distance(x, y) -> float:
    r"""Fréchet distance between Gaussians fitted to two sets of feature vectors (the FID recipe,
    here in any feature space): :func:`gaussian_frechet_distance` of the sample means and
    covariances.  ``x (n, d)``, ``y (m, d)`` -> float; 0 for a set against itself."""
    x, y = _check_samples(x, y)
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    return gaussian_frechet_distance(x.mean(0), np.cov(x, rowvar=False), y.mean(0), np.cov(y, rowvar=False))


def digit_classifier(size: int = 14, epochs: int = 8, seed: int = 0) -> nets.MLP:
    r"""The fixed feature classifier of generated digits: an MLP ``size**2 -> 512 -> 128 -> 10`` (ReLU) on
    MNIST in [-1, 1] (:func:`helpers.data.prepare_images`), trained once (Adam 1e-3, ``epochs`` epochs,
    batch 128, key ``seed``) and cached in ``data.cache_dir()/classifiers``; later calls load it.

    ``classifier.features(x)`` gives the 128 penultimate activations, the space in which
    :func:`frechet_distance` compares generated digits with real ones; its test accuracy is
    ``classifier.accuracy``.  (An MLP rather than a convolutional network because it trains in
    seconds on a laptop CPU.)
    """
    validate.choice("size", size, (14, 28))
    validate.positive_int(epochs=epochs)
    validate.nonnegative_int(seed=seed)
    path = data.cache_dir() / "classifiers" / f"mnist{size}_mlp_v2_e{epochs}_s{seed}.npz"
    params = {"size": size, "epochs": epochs, "seed": seed, "version": 2}
    model = nets.MLP([size * size, 512, 128, 10], "relu", rngs=nnx.Rngs(seed))
    graphdef, state = nnx.split(model)
    leaves, treedef = jax.tree.flatten(state)

    def check(stored):  # the weights the network expects, finite, and a test accuracy that is one
        for i, leaf in enumerate(leaves):
            value = stored.get(f"leaf{i}")
            if value is None or value.shape != leaf.shape or value.dtype != leaf.dtype:
                raise ValueError(f"leaf{i} missing or not {leaf.dtype}{list(leaf.shape)}")
            if not np.all(np.isfinite(value)):
                raise ValueError(f"leaf{i} has non-finite weights")
        if "accuracy" not in stored or not 0 <= float(stored["accuracy"]) <= 1:
            raise ValueError("accuracy missing or outside [0, 1]")

    stored = cache_load(path, params, check)
    if stored is not None:
        model = nnx.merge(graphdef, jax.tree.unflatten(treedef, [jnp.asarray(stored[f"leaf{i}"])
                                                                 for i in range(len(leaves))]))
        model.accuracy = float(stored["accuracy"])
        return model

    def images(split):
        return data.prepare_images(data.load_mnist(split)[0], size, value_range=(-1.0, 1.0))

    optimizer = optax.adam(1e-3)
    step = train.gradient_step(_classification_loss, optimizer)
    train_set = (images("train"), data.load_mnist("train")[1])
    (model, _), _ = train.fit(step, train.init(model, optimizer), train_set, key=jax.random.key(seed),
                              epochs=epochs, batch_size=128, progress=False)
    predicted = np.asarray(jnp.argmax(model(jnp.asarray(images("test"))), 1))
    model.accuracy = float(np.mean(predicted == data.load_mnist("test")[1]))
    arrays = {f"leaf{i}": np.asarray(v) for i, v in enumerate(jax.tree.leaves(nnx.state(model)))}
    store(path, params, accuracy=model.accuracy, **arrays)
    return model


def _classification_loss(model, batch, key):
    images, labels = batch
    return optax.softmax_cross_entropy_with_integer_labels(model(images), labels).mean()
