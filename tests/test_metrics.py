"""helpers.analysis.metrics: the classification loss against a hand computation and Optax, class shares,
and the
record of generated-digit figures against the measures it is built from."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from helpers.analysis import distances, metrics
from helpers.networks import ffnn, layers

KEY = jax.random.key(0)


def test_classification_loss_is_the_mean_cross_entropy():
    logits = jnp.array([[2.0, 0.0, -1.0], [0.5, 0.5, 3.0]])
    labels = jnp.array([0, 1])
    p = np.exp(np.asarray(logits)) / np.exp(np.asarray(logits)).sum(1, keepdims=True)
    by_hand = -np.mean(np.log(p[[0, 1], [0, 1]]))
    assert float(metrics.classification_loss(logits, labels)) == pytest.approx(by_hand, rel=1e-6)
    z = 3 * jax.random.normal(KEY, (64, 10))
    y = jax.random.randint(jax.random.key(1), (64,), 0, 10)
    optax_value = optax.softmax_cross_entropy_with_integer_labels(z, y).mean()
    assert float(metrics.classification_loss(z, y)) == pytest.approx(float(optax_value), rel=1e-6)
    assert float(metrics.classification_loss(z, y)) == float(ffnn.cross_entropy(z, y))  # one implementation
    with pytest.raises(ValueError, match="labels"):
        metrics.classification_loss(z, y.at[0].set(10))


def test_class_shares_count_the_predicted_classes():
    def classifier(x):  # predicts class x[:, 0] of 4
        return jax.nn.one_hot(x[:, 0].astype(int), 4)

    x = jnp.array([[0.0], [1.0], [1.0], [3.0]])
    np.testing.assert_array_equal(metrics.class_shares(classifier, x), [0.25, 0.5, 0.0, 0.25])


def small_classifier():  # 16 inputs, 8 features, 3 classes, random weights: the record does not care
    return layers.MLP([16, 32, 8, 3], "tanh", rngs=nnx.Rngs(0))


def test_digit_quality_is_its_parts_and_anchors():
    classifier = small_classifier()
    k_ref, k_held, k_samples, k_noise = jax.random.split(KEY, 4)
    reference = jax.random.uniform(k_ref, (300, 16), minval=-1, maxval=1)
    held_out = jax.random.uniform(k_held, (100, 16), minval=-1, maxval=1)
    samples = 0.5 * jax.random.normal(k_samples, (100, 4, 4))  # images: flattened to (100, 16)
    got = metrics.digit_quality(k_noise, classifier, samples, reference, held_out, k=3, confidence=0.5)

    ref_features = np.asarray(classifier.features(reference))
    noise = jax.random.normal(k_noise, (100, 16))
    for record, x in ((got, samples.reshape(100, 16)), (got.floor, held_out), (got.ceiling, noise)):
        features = np.asarray(classifier.features(x))
        assert record.frechet == distances.frechet_distance(features, ref_features)
        assert (record.precision, record.recall) == distances.precision_recall(ref_features, features, k=3)
        np.testing.assert_array_equal(record.class_shares, metrics.class_shares(classifier, x))
        probabilities = np.asarray(jax.nn.softmax(classifier(x)))
        assert record.confident == pytest.approx(np.mean(probabilities.max(1) >= 0.5))
    assert got.floor.floor is None and got.floor.ceiling is got.ceiling and got.ceiling.ceiling is None
    assert got.relative_frechet == got.frechet / got.ceiling.frechet
    assert got.floor.relative_frechet == got.floor.frechet / got.ceiling.frechet
    with pytest.raises(ValueError, match="no ceiling"):
        _ = got.ceiling.relative_frechet
    assert got.class_shares.shape == (3,) and got.class_shares.sum() == pytest.approx(1.0)


def test_digit_quality_of_held_out_digits_is_the_floor():
    classifier = small_classifier()
    reference = jax.random.uniform(jax.random.key(1), (200, 16), minval=-1, maxval=1)
    held_out = jax.random.uniform(jax.random.key(2), (80, 16), minval=-1, maxval=1)
    got = metrics.digit_quality(KEY, classifier, held_out, reference, held_out)
    assert (got.frechet, got.precision, got.recall, got.confident) == (
        got.floor.frechet, got.floor.precision, got.floor.recall, got.floor.confident)
    np.testing.assert_array_equal(got.class_shares, got.floor.class_shares)
    assert got.frechet < got.ceiling.frechet and got.precision > got.ceiling.precision


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ({"held_out": jnp.zeros((9, 16))}, ValueError, r"held_out has shape \(9, 16\); expected \(10, 16\)"),
        ({"reference": jnp.zeros((50, 15))}, ValueError, r"reference has shape \(50, 15\)"),
        ({"classifier": lambda x: x}, TypeError, "has no features"),
        ({"confidence": 1.5}, ValueError, "confidence=1.5"),
        ({"key": 0}, TypeError, "key=0"),
        ({"k": 10}, ValueError, "k=10"),
        ({"samples": jnp.full((10, 16), jnp.nan)}, ValueError, "samples has 160 NaN"),
    ],
)
def test_digit_quality_refuses_bad_input(change, error, match):
    arguments = {"key": KEY, "classifier": small_classifier(), "samples": jnp.zeros((10, 16)),
                 "reference": jnp.ones((50, 16)), "held_out": jnp.zeros((10, 16))} | change
    with pytest.raises(error, match=match):
        metrics.digit_quality(**arguments)
