# ruff: noqa: F722  (jaxtyping shape strings in annotations)
r"""Generated digits judged by a fixed MNIST classifier: its loss, its class shares, and one record of
every figure notebooks 07 and 08 read (:func:`digit_quality`).

The Fréchet distance is measured in the feature space of the fixed classifier
(:func:`digit_classifier`), trained once and cached.  The distances themselves
live in :mod:`helpers.analysis.distances`.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from jaxtyping import Float, Int, Real

from helpers.analysis import distances
from helpers.core import cache, train, validate
from helpers.core.cache import load as cache_load
from helpers.core.cache import store
from helpers.core.validate import AnyArray, shaped
from helpers.data import datasets
from helpers.networks import ffnn, layers


@shaped
def classification_loss(logits: Float[AnyArray, "n K"], labels: Int[AnyArray, " n"]) -> jax.Array:
    r"""The loss of every classifier in the course, the mean softmax cross-entropy of integer labels:

    .. math:: C = -\frac{1}{n}\sum_{i=1}^{n} \log \mathrm{softmax}(\mathbf{z}_i)_{y_i}
              = \frac{1}{n}\sum_{i=1}^{n}\Big(\log\sum_{k=1}^{K} e^{z_{ik}} - z_{i y_i}\Big).

    logits ``(n, K)``, integer labels ``(n,)`` in [0, K) -> scalar.  As a loss of
    :func:`helpers.core.train.gradient_step`: ``lambda model, batch, key: classification_loss(model(batch[0]),
    batch[1])``.  It is the cost of notebook 01's hand-written network,
    :func:`helpers.networks.ffnn.cross_entropy`, which holds the one implementation (the network modules sit
    below this one, so the computation lives there).
    """
    return ffnn.cross_entropy(logits, validate.labels("labels", labels, logits.shape[-1]))


@shaped
def class_shares(classifier, x: Real[AnyArray, "n d ..."]) -> np.ndarray:
    r"""The share of each predicted class among images ``x (n, ...)``:
    :math:`\pi_c = \frac{1}{n}\sum_i [\arg\max_k z_{ik} = c]` with logits ``classifier(x) (n, K)``
    -> ``(K,)``, summing to 1 (a generator that drops a digit shows a share near 0)."""
    validate.callable_("classifier", classifier)
    return _shares(classifier(jnp.asarray(validate.finite("x", x))))


def _shares(logits: jax.Array) -> np.ndarray:
    predicted = np.asarray(jnp.argmax(logits, axis=1))
    return np.bincount(predicted, minlength=logits.shape[1]) / len(predicted)


class DigitScores(NamedTuple):
    """What :func:`digit_quality` measures of one set of n images, against the reference test digits in
    the classifier's features.  ``floor`` and ``ceiling`` are the same figures for n held-out test
    digits and for n draws of Gaussian noise; the floor's record carries the ceiling as well (so
    ``scores.floor.relative_frechet`` is the floor as a fraction of the ceiling), the others ``None``."""

    frechet: float  #: Fréchet distance between the features of the images and of the reference
    precision: float  #: share of the images inside the reference's manifold (:func:`precision_recall`)
    recall: float  #: share of the reference inside the images' manifold
    class_shares: np.ndarray  #: (K,) share of each predicted class (:func:`class_shares`)
    confident: float  #: share of the images whose largest class probability is >= ``confidence``
    floor: DigitScores | None = None  #: held-out test digits: what finite samples alone give
    ceiling: DigitScores | None = None  #: Gaussian noise N(0, I)

    @property
    def relative_frechet(self) -> float:
        """The Fréchet distance as a fraction of the noise ceiling's (a record with a ceiling only)."""
        if self.ceiling is None:
            raise ValueError("this record has no ceiling (it is the ceiling's own); ask the samples' record")
        return self.frechet / self.ceiling.frechet


@shaped
def digit_quality(key, classifier, samples: Real[AnyArray, "n d ..."],
                  reference: Real[AnyArray, "m d_ref ..."], held_out: Real[AnyArray, "n_held d_held ..."],
                  k: int = 3, confidence: float = 0.9) -> DigitScores:
    r"""Every figure by which the course judges n generated digit images, in one record.

    In the penultimate features :math:`\phi` of ``classifier`` (:func:`digit_classifier`), against
    the ``reference`` test digits ``(m, d)``:

    * the Fréchet distance (:func:`frechet_distance`) :math:`d^2 = \lVert\boldsymbol\mu_g - \boldsymbol\mu_r
      \rVert^2 + \mathrm{tr}(\Sigma_g + \Sigma_r - 2(\Sigma_g^{1/2}\Sigma_r\Sigma_g^{1/2})^{1/2})` of the
      Gaussians fitted to :math:`\phi(\text{samples})` and :math:`\phi(\text{reference})`;
    * improved precision and recall (:func:`precision_recall`, ``k``-th neighbour balls);
    * the share of each predicted class (:func:`class_shares`) and the confident share
      :math:`\frac1n\sum_i [\max_c \mathrm{softmax}(\mathbf{z}_i)_c \ge \gamma]`,
      :math:`\gamma` = ``confidence``;

    and the same figures for two anchors of n images each: the floor, the ``held_out`` test digits
    (what finite samples of real digits score), and the ceiling, :math:`\mathcal{N}(0, I)` noise drawn
    with ``key``.  ``samples`` and ``held_out`` ``(n, d)`` (or ``(n, h, w)``, flattened) in the
    classifier's input range, [-1, 1] for :func:`digit_classifier`.  Returns the samples'
    :class:`DigitScores` with ``.floor`` and ``.ceiling``; ``.relative_frechet`` is
    :math:`d^2/d^2_\text{ceiling}` (also ``.floor.relative_frechet``).  The reference's neighbour radii
    are computed once for all three sets.
    """
    validate.key("key", key)
    validate.callable_("classifier", classifier)
    if not callable(getattr(classifier, "features", None)):
        raise TypeError(f"classifier={classifier!r} has no features(x); expected metrics.digit_classifier()")
    validate.fraction(confidence=confidence)
    samples, held_out, reference = (_flat(name, x) for name, x in
                                    (("samples", samples), ("held_out", held_out), ("reference", reference)))
    validate.array("held_out", held_out, samples.shape)  # the floor must be measured on as many images
    validate.array("reference", reference, (None, samples.shape[1]))
    distances._check_k(k, samples, reference)
    ref = np.asarray(classifier.features(reference))
    ref_radii = distances._radii(np.asarray(ref, np.float64), k)

    def scores(x, **anchors) -> DigitScores:
        features, logits = np.asarray(classifier.features(x)), classifier(x)
        real, fake = np.asarray(ref, np.float64), np.asarray(features, np.float64)
        confident = float(jnp.mean(jnp.max(jax.nn.softmax(logits), axis=1) >= confidence))
        precision = distances._covered(fake, real, ref_radii)
        recall = distances._covered(real, fake, distances._radii(fake, k))
        fd = distances.frechet_distance(features, ref)
        return DigitScores(fd, precision, recall, _shares(logits), confident, **anchors)

    ceiling = scores(jax.random.normal(key, samples.shape))
    return scores(samples, floor=scores(held_out, ceiling=ceiling), ceiling=ceiling)


def _flat(name: str, x) -> jax.Array:
    return jnp.asarray(validate.finite(name, x)).reshape(x.shape[0], -1)


def digit_classifier(key: jax.Array, size: int = 14, epochs: int = 8) -> layers.MLP:
    r"""The fixed feature classifier of generated digits: an MLP ``size**2 -> 512 -> 128 -> 10`` (ReLU) on
    MNIST in [-1, 1] (:func:`helpers.data.datasets.prepare_images`), trained once (Adam 1e-3, ``epochs``
    epochs, batch 128, initial weights and batches from ``key``) and cached in
    ``cache.cache_dir()/classifiers``; later calls with the same key load it.  The course uses
    ``digit_classifier(jax.random.key(0))``.

    ``classifier.features(x)`` gives the 128 penultimate activations, the space in which
    :func:`frechet_distance` compares generated digits with real ones; its test accuracy is
    ``classifier.accuracy``.  (An MLP rather than a convolutional network because it trains in
    seconds on a laptop CPU.)
    """
    validate.key("key", key)
    validate.choice("size", size, (14, 28))
    validate.positive_int(epochs=epochs)
    key_data = jax.random.key_data(key).ravel().tolist() if jax.dtypes.issubdtype(
        key.dtype, jax.dtypes.prng_key) else np.asarray(key).tolist()
    # Version 3: trained on classification_loss (ffnn.cross_entropy; version 2 used Optax's cross-entropy,
    # whose gradient differs in the last bits, so its weights are not the ones this code trains).
    name = f"mnist{size}_mlp_v3_e{epochs}_k{'-'.join(map(str, key_data))}.npz"
    path = cache.cache_dir() / "classifiers" / name
    params = {"size": size, "epochs": epochs, "key": key_data, "version": 3}
    model = layers.MLP([size * size, 512, 128, 10], "relu", rngs=nnx.Rngs(key))
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
        return datasets.prepare_images(datasets.load_mnist(split)[0], size, value_range=(-1.0, 1.0))

    optimizer = optax.adam(1e-3)
    step = train.gradient_step(_classification_loss, optimizer)
    train_set = (images("train"), datasets.load_mnist("train")[1])
    (model, _), _ = train.fit(step, train.init(model, optimizer), train_set, key=key,
                              epochs=epochs, batch_size=128, progress=False)
    predicted = np.asarray(jnp.argmax(model(jnp.asarray(images("test"))), 1))
    model.accuracy = float(np.mean(predicted == datasets.load_mnist("test")[1]))
    arrays = {f"leaf{i}": np.asarray(v) for i, v in enumerate(jax.tree.leaves(nnx.state(model)))}
    store(path, params, accuracy=model.accuracy, **arrays)
    return model


def _classification_loss(model, batch, key):
    images, labels = batch
    return classification_loss(model(images), labels)
