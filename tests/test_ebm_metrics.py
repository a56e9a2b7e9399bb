"""helpers.generative.ebm samplers and loss, helpers.analysis.metrics against closed forms, and bad input."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx
from jax.scipy.stats import norm

from helpers.analysis import distances
from helpers.core import train
from helpers.data import toy
from helpers.generative import ebm
from helpers.networks import layers

MU, SIGMA = 1.0, 0.5
KEY = jax.random.key(0)


def gaussian_energy(x):  # N(MU, SIGMA^2) in 1-D, as E = (x - MU)^2 / (2 SIGMA^2); x (n, 1) -> (n,)
    return jnp.sum((x - MU) ** 2, axis=1) / (2 * SIGMA**2)


def test_langevin_reproduces_a_gaussian_and_shows_its_bias():
    # For this quadratic energy the unadjusted chain is an AR(1) process whose stationary variance
    # is SIGMA^2 / (1 - eps / (4 SIGMA^2)): the step-size bias, computable exactly.
    x0 = jnp.zeros((20000, 1))
    for eps in (0.01, 0.1):
        x = np.asarray(ebm.langevin(jax.random.key(0), gaussian_energy, x0, eps, 400))
        exact_var = SIGMA**2 / (1 - eps / (4 * SIGMA**2))
        se_mean = math.sqrt(exact_var / x.size)
        assert abs(x.mean() - MU) < 4 * se_mean
        assert abs(x.var() / exact_var - 1) < 0.04  # sampling error of a variance from 20000: ~1 %
    assert exact_var > 1.1 * SIGMA**2  # the bias at eps = 0.1 is 11 %, far above the tolerance


def test_mala_removes_the_bias():
    x0 = jnp.zeros((20000, 1))
    x, acceptance = ebm.mala(jax.random.key(1), gaussian_energy, x0, 0.1, 400)
    x = np.asarray(x)
    assert abs(x.mean() - MU) < 4 * SIGMA / math.sqrt(x.size)
    assert abs(x.var() / SIGMA**2 - 1) < 0.04  # exact in the limit, unlike Langevin at eps = 0.1
    assert 0.8 < float(acceptance.mean()) < 1.0


def test_langevin_path_and_clipping():
    x0 = jnp.zeros((5, 1))
    final, path = ebm.langevin(jax.random.key(2), gaussian_energy, x0, 0.01, 100, keep_every=10)
    assert path.shape == (10, 5, 1)
    np.testing.assert_array_equal(path[-1], final)
    # Every one of n_steps runs, also when keep_every does not divide it (or exceeds it).
    plain = ebm.langevin(jax.random.key(2), gaussian_energy, x0, 0.01, 7)
    for keep_every in (2, 3, 7, 10):
        final, path = ebm.langevin(jax.random.key(2), gaussian_energy, x0, 0.01, 7, keep_every=keep_every)
        assert path.shape == (7 // keep_every, 5, 1)
        np.testing.assert_allclose(final, plain, rtol=1e-6)
    clipped = ebm.langevin(jax.random.key(3), lambda x: 1e6 * jnp.sum(x, 1), x0, 1e-4, 1, grad_clip=1.0)
    assert float(jnp.max(jnp.abs(clipped))) < 0.1  # without clipping the step would be -50
    boxed = ebm.langevin(jax.random.key(3), gaussian_energy, x0 + 0.5, 1.0, 20, bounds=(0.25, 0.75))
    assert float(boxed.min()) >= 0.25 and float(boxed.max()) <= 0.75  # projected back into the box


def test_replay_buffer():
    buffer = jnp.arange(100.0)[:, None]
    starts, idx = ebm.buffer_sample(jax.random.key(4), buffer, 1000, 0.2, lambda k, n: -jnp.ones((n, 1)))
    fresh = np.asarray(starts[:, 0] == -1)
    assert 0.15 < fresh.mean() < 0.25
    np.testing.assert_array_equal(starts[~fresh, 0], idx[~fresh].astype(float))
    updated = ebm.buffer_update(buffer, idx[:3], jnp.full((3, 1), -7.0))
    np.testing.assert_array_equal(updated[idx[:3], 0], -7.0)
    np.testing.assert_array_equal(buffer, jnp.arange(100.0)[:, None])  # pure: the input is unchanged


def test_cd_loss_gradient_is_positive_minus_negative_phase():
    model = layers.MLP([2, 8, 1], "tanh", rngs=nnx.Rngs(0))
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)
    x_pos = jax.random.normal(jax.random.key(5), (16, 2))
    x_neg = jax.random.normal(jax.random.key(6), (16, 2)) + 2.0

    def energy_mean(p, x):
        return jnp.mean(nnx.merge(graphdef, p, rest)(x)[:, 0])

    grad_loss = jax.grad(lambda p: ebm.contrastive_divergence_loss(
        lambda x: nnx.merge(graphdef, p, rest)(x)[:, 0], x_pos, x_neg, alpha=0.0))(params)
    positive_phase = jax.grad(energy_mean)(params, x_pos)
    negative_phase = jax.grad(energy_mean)(params, x_neg)
    expected = jax.tree.map(jnp.subtract, positive_phase, negative_phase)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7), grad_loss, expected)


def test_ebm_training_lowers_data_energy_relative_to_noise():
    data = toy.sample_toy(jax.random.key(7), "eight_gaussians", 2000)
    model = layers.MLP([2, 32, 1], "elu", rngs=nnx.Rngs(1))
    noise = lambda k, n: jax.random.uniform(k, (n, 2), minval=-3, maxval=3)  # noqa: E731
    optimizer = optax.adam(1e-3, b1=0.0)
    step = ebm.langevin_cd_step(optimizer, noise, langevin_steps=10, step_size=1e-2)
    carry = (*train.init(model, optimizer), noise(jax.random.key(10), 8192))
    (model, _, buffer), history = train.fit(step, carry, data, key=jax.random.key(8), epochs=7, batch_size=64,
                                            progress=False)
    assert set(history) == {"loss", "e_data", "e_model", "step_loss"} and history["loss"].shape == (7,)
    assert buffer.shape == (8192, 2) and not np.allclose(buffer, carry[2])
    far = noise(jax.random.key(9), 2000)
    assert float(jnp.mean(model(data)[:, 0])) < float(jnp.mean(model(far)[:, 0]))


def test_sliced_wasserstein_of_1d_gaussians():
    # In 1-D the sliced distance is W2, and W2^2 = (mu1 - mu2)^2 + (s1 - s2)^2 for Gaussians.
    a = 0.0 + 1.0 * jax.random.normal(jax.random.key(10), (50000, 1))
    b = 1.0 + 2.0 * jax.random.normal(jax.random.key(11), (50000, 1))
    got = float(distances.sliced_wasserstein(jax.random.key(12), a, b, n_projections=4, n_quantiles=2000))
    assert abs(got - math.sqrt(2.0)) < 0.03
    same = float(distances.sliced_wasserstein(jax.random.key(12), a, a))
    assert same < 1e-6
    # The quantiles are NumPy's (linear interpolation): with one direction in 1-D the distance is
    # exactly the root mean squared difference of np.quantile at the mid-point levels.
    x, y = np.asarray(a[:999]), np.asarray(b[:1500])
    levels = (np.arange(300) + 0.5) / 300
    direct = np.sqrt(np.mean((np.quantile(x[:, 0], levels) - np.quantile(y[:, 0], levels)) ** 2))
    got = distances.sliced_wasserstein(jax.random.key(1), x, y, n_projections=1, n_quantiles=300)
    assert got == pytest.approx(direct, rel=1e-6)  # the random direction in 1-D is +1 or -1


def test_mmd_closed_form():
    # Gaussian kernel h, 1-D N(m1, s^2) vs N(m2, s^2):
    # MMD^2 = 2 h / sqrt(h^2 + 2 s^2) * (1 - exp(-(m1 - m2)^2 / (2 (h^2 + 2 s^2)))).
    h, s, delta = 1.0, 0.5, 1.0
    a = s * jax.random.normal(jax.random.key(13), (3000, 1))
    b = delta + s * jax.random.normal(jax.random.key(14), (3000, 1))
    expected = 2 * h / math.sqrt(h**2 + 2 * s**2) * (1 - math.exp(-(delta**2) / (2 * (h**2 + 2 * s**2))))
    assert abs(float(distances.mmd(a, b, h)) - expected) < 0.02
    c = s * jax.random.normal(jax.random.key(15), (3000, 1))
    assert abs(float(distances.mmd(a, c, h))) < 0.005  # unbiased: near zero for equal distributions


def test_auroc_closed_forms():
    assert float(distances.auroc(jnp.array([3.0, 4.0]), jnp.array([1.0, 2.0]))) == 1.0
    assert float(distances.auroc(jnp.array([1.0, 2.0]), jnp.array([3.0, 4.0]))) == 0.0
    assert float(distances.auroc(jnp.ones(10), jnp.ones(7))) == 0.5  # identical scores: all ties
    # Gaussian scores: AUROC = Phi((mu_pos - mu_neg) / sqrt(s_pos^2 + s_neg^2)).
    pos = 1.0 + jax.random.normal(jax.random.key(16), (20000,))
    neg = jax.random.normal(jax.random.key(17), (20000,))
    assert abs(float(distances.auroc(pos, neg)) - float(norm.cdf(1 / math.sqrt(2)))) < 0.01


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: ebm.langevin(jax.random.key(0), gaussian_energy, jnp.zeros((2, 1)), 0.0, 10), "step_size"),
        (lambda: ebm.langevin(jax.random.key(0), gaussian_energy, jnp.zeros((2, 1)), -1.0, 10), "step_size"),
        (lambda: ebm.langevin(jax.random.key(0), gaussian_energy, jnp.zeros((2, 1)), 0.1, 0), "n_steps=0"),
        (lambda: ebm.mala(jax.random.key(0), gaussian_energy, jnp.zeros((2, 1)), 0.1, 0), "n_steps=0"),
        (lambda: ebm.langevin(jax.random.key(0), gaussian_energy, jnp.zeros((2, 1)), 0.1, 5, grad_clip=0.0),
         "grad_clip"),
        (lambda: ebm.langevin(jax.random.key(0), gaussian_energy, jnp.zeros((2, 1)), 0.1, 5, bounds=(1, 0)),
         "bounds"),
        (lambda: ebm.buffer_sample(jax.random.key(0), jnp.zeros((4, 1)), 2, 1.5, None), "reinit_fraction"),
        (lambda: distances.mmd(jnp.zeros((5, 2)), jnp.zeros((5, 2)), 0.0), "bandwidth"),
        (lambda: distances.auroc(jnp.zeros(0), jnp.zeros(3)), "at least one"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_distances_state_their_shapes():
    with pytest.raises(TypeError, match="parameter 'y'"):  # sets of different dimension
        distances.sliced_wasserstein(KEY, jnp.zeros((5, 2)), jnp.zeros((5, 3)))
    with pytest.raises(TypeError, match="key=0"):
        distances.sliced_wasserstein(0, jnp.zeros((5, 2)), jnp.zeros((5, 2)))


def test_precision_recall_of_a_subset_and_of_noise():
    rng = np.random.default_rng(3)
    real = rng.normal(size=(1000, 4))
    again = rng.normal(size=(1000, 4))  # the same distribution: both near 1
    half = again[again[:, 0] > 0]  # one half of the distribution: precise, but covers about half
    far = rng.normal(size=(500, 4)) + 10.0  # nowhere near: neither
    p, r = distances.precision_recall(real, again)
    assert p > 0.9 and r > 0.9
    p, r = distances.precision_recall(real, half)
    assert p > 0.9 and 0.4 < r < 0.75  # the half's balls reach a little across its edge
    assert distances.precision_recall(real, far) == (0.0, 0.0)
    with pytest.raises(ValueError, match="k=0"):
        distances.precision_recall(real, again, k=0)
