"""helpers.generative.gan against closed forms, quadrature, hand computations and SciPy."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import scipy.stats
from flax import nnx
from jax.scipy.stats import norm

from helpers.analysis import distances
from helpers.data import toy
from helpers.generative import gan

KEY = jax.random.key(0)


def test_optimal_discriminator_of_two_gaussians_is_the_closed_form_logistic():
    # N(m1, s^2) against N(m2, s^2): log p1 - log p2 = (m1 - m2) x / s^2 - (m1^2 - m2^2) / (2 s^2).
    m1, m2, s = 0.3, -1.1, 0.8
    x = jnp.linspace(-4, 4, 101)
    d_star = gan.optimal_discriminator(norm.pdf(x, m1, s), norm.pdf(x, m2, s))
    closed = jax.nn.sigmoid((m1 - m2) * x / s**2 - (m1**2 - m2**2) / (2 * s**2))
    np.testing.assert_allclose(d_star, closed, atol=1e-6)


def quadrature(m_g=1.5, s_g=0.7):  # call under jax.enable_x64
    x = jnp.linspace(-14.0, 14.0, 56_001, dtype=jnp.float64)
    dx = float(x[1] - x[0])
    log_p, log_q = norm.logpdf(x, 0.0, 1.0), norm.logpdf(x, m_g, s_g)

    def v(logits):
        return float(jnp.sum(-jnp.exp(log_p) * jax.nn.softplus(-logits)
                             - jnp.exp(log_q) * jax.nn.softplus(logits)) * dx)

    return v, log_p - log_q, float(gan.js_divergence(jnp.exp(log_p), jnp.exp(log_q), dx))


def test_value_at_the_optimum_is_minus_log4_plus_twice_js():
    with jax.enable_x64(True):  # the quadrature in float64
        v, logit_star, js = quadrature()
        assert abs(v(logit_star) - (-np.log(4) + 2 * js)) < 1e-9
        assert 0 < js < np.log(2)
        for shift in (-0.3, 0.2):  # any other discriminator scores lower: D* is the maximiser
            assert v(logit_star + shift) < v(logit_star)


def test_js_divergence_limits():
    x = np.linspace(-1, 3, 4001)
    dx = x[1] - x[0]
    left, right = ((x >= -1) & (x < 1)) / 2.0, ((x >= 1) & (x < 3)) / 2.0  # disjoint uniform densities
    assert float(gan.js_divergence(left, right, dx)) == pytest.approx(np.log(2), rel=1e-3)
    assert float(gan.js_divergence(left, left, dx)) == pytest.approx(0.0, abs=1e-12)


def test_generator_loss_gradients_in_the_logit():
    logits = jnp.array([-6.0, -1.0, 0.0, 2.0])
    sat = jax.grad(lambda l: gan.generator_loss(l, "saturating") * l.size)(logits)
    ns = jax.grad(lambda l: gan.generator_loss(l, "non_saturating") * l.size)(logits)
    np.testing.assert_allclose(sat, -jax.nn.sigmoid(logits), rtol=1e-6)  # vanishes as D -> 0
    np.testing.assert_allclose(ns, -(1 - jax.nn.sigmoid(logits)), rtol=1e-6)  # tends to -1
    assert float(gan.generator_loss(logits, "wasserstein")) == pytest.approx(-float(jnp.mean(logits)))
    value = float(gan.value_function(logits, logits))
    assert float(gan.discriminator_loss(logits, logits)) == pytest.approx(-value)


def test_gradient_penalty_by_hand():
    x_real, x_fake = jnp.array([[1.0, 2.0], [0.0, -1.0]]), jnp.array([[3.0, 0.0], [2.0, 1.0]])
    eps = jnp.array([0.25, 0.5])
    w = jnp.array([0.6, 1.2])
    # A linear critic has gradient w everywhere: GP = (|w| - 1)^2.
    linear = gan.gradient_penalty(lambda x: x @ w + 3.0, x_real, x_fake, eps)
    assert float(linear) == pytest.approx((np.sqrt(0.36 + 1.44) - 1) ** 2, rel=1e-5)
    # f(x) = |x|^2 / 2 has gradient x: the norms are those of the interpolates themselves.
    x_hat = np.array([[0.25 * 1 + 0.75 * 3, 0.25 * 2], [1.0, 0.0]])
    norms = np.linalg.norm(x_hat, axis=1)
    quadratic = gan.gradient_penalty(lambda x: 0.5 * jnp.sum(x**2, 1), x_real, x_fake, eps)
    assert float(quadratic) == pytest.approx(np.mean((norms - 1) ** 2), rel=1e-5)
    one_sided = gan.gradient_penalty(lambda x: 0.5 * jnp.sum(x**2, 1), x_real, x_fake, eps, one_sided=True)
    assert float(one_sided) == pytest.approx(np.mean(np.maximum(norms - 1, 0) ** 2), rel=1e-5)
    small = gan.gradient_penalty(lambda x: 0.5 * x @ w, x_real, x_fake, eps, one_sided=True)  # |grad| < 1
    assert float(small) == 0.0


def test_critic_loss_reports_the_dual_estimate():
    x_real, x_fake = jnp.ones((4, 1)) * 2.0, jnp.zeros((4, 1))
    loss, m = gan.critic_loss(KEY, lambda x: x[:, 0], x_real, x_fake, penalty=10.0)
    assert float(m["w1"]) == pytest.approx(2.0) and float(m["penalty"]) == pytest.approx(0.0, abs=1e-10)
    assert float(loss) == pytest.approx(-2.0)


def test_wasserstein_1d_matches_scipy():
    a, b = jax.random.normal(KEY, (2, 500))
    expected = scipy.stats.wasserstein_distance(np.asarray(a), np.asarray(b) * 2 + 1)
    assert distances.wasserstein_1d(a, b * 2 + 1) == pytest.approx(expected, rel=1e-9)


def test_mode_coverage_of_exact_mixture_and_of_one_mode():
    x = toy.sample_toy(KEY, "eight_gaussians", 40_000)
    full = gan.mode_coverage(x, toy.EIGHT_GAUSSIANS_CENTRES, toy.EIGHT_GAUSSIANS_STD)
    assert full["modes"] == 8
    assert full["high_quality"] == pytest.approx(1 - np.exp(-4.5), abs=0.003)  # chi^2_2: 98.9 %
    one = toy.EIGHT_GAUSSIANS_CENTRES[3] + toy.EIGHT_GAUSSIANS_STD * jax.random.normal(KEY, (5000, 2))
    single = gan.mode_coverage(one, toy.EIGHT_GAUSSIANS_CENTRES, toy.EIGHT_GAUSSIANS_STD)
    assert single["modes"] == 1 and single["counts"][3] == single["counts"].sum()


def test_mode_coverage_uses_the_nearest_centres_of_any_mixture():
    # Three centres in 3-D; a brute-force nearest centre for each point, and the counts built from it.
    centres = np.array([[0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [0.0, 0.0, 3.0]])
    x = np.asarray(jax.random.normal(KEY, (600, 3))) * 0.4 + centres[np.arange(600) % 3]
    index, distance = toy.nearest_centre(x, centres)
    brute = np.array([[np.sqrt(np.sum((p - c) ** 2)) for c in centres] for p in x])
    np.testing.assert_array_equal(index, brute.argmin(1))
    np.testing.assert_allclose(distance, brute.min(1), rtol=1e-12)
    cover = gan.mode_coverage(x, centres, 0.4, min_count=50)
    good = brute.min(1) <= 1.2
    np.testing.assert_array_equal(cover["counts"], np.bincount(brute.argmin(1)[good], minlength=3))
    assert cover["high_quality"] == pytest.approx(good.mean()) and cover["modes"] == 3


def test_straight_through_sign():
    a = jnp.array([-1.5, -0.1, 0.0, 0.3, 2.0])
    np.testing.assert_array_equal(gan.straight_through_sign(a), [-1, -1, 1, 1, 1])
    grads = jax.vmap(jax.grad(gan.straight_through_sign))(a)
    np.testing.assert_allclose(grads, 1 - jnp.tanh(a) ** 2, rtol=1e-6)


def small_game(loss="non_saturating", d_steps=2):
    g = gan.Generator(3, [8], 2, rngs=nnx.Rngs(1))
    d = gan.Discriminator(2, [8], rngs=nnx.Rngs(2))
    g_opt, d_opt = optax.adam(1e-2), optax.adam(1e-2)
    step = gan.alternating_step(g_opt, d_opt, loss, d_steps=d_steps, penalty=1.0)
    return step, gan.init(g, d, g_opt, d_opt, (2,))


def leaves_of(carry):  # the generator's parameters, then the discriminator's
    return jax.tree.leaves(nnx.state(carry[0][0])) + jax.tree.leaves(nnx.state(carry[1][0]))


@pytest.mark.parametrize("loss", gan.GENERATOR_LOSSES)
def test_alternating_step_is_deterministic_and_updates_both_networks(loss):
    step, carry = small_game(loss)
    batch = jax.random.normal(KEY, (16, 2))
    before = [np.asarray(leaf) for leaf in leaves_of(carry)]
    run = jax.jit(step)
    (c1, m1), (c2, m2) = run(carry, batch, jax.random.key(5)), run(carry, batch, jax.random.key(5))
    leaves1, leaves2 = leaves_of(c1), leaves_of(c2)
    for a, b in zip(leaves1, leaves2, strict=True):
        np.testing.assert_array_equal(a, b)
    n_g = len(jax.tree.leaves(nnx.state(c1[0][0])))
    changed = [not np.array_equal(np.asarray(a), old) for a, old in zip(leaves1, before, strict=True)]
    assert any(changed[:n_g]) and any(changed[n_g:])  # both networks moved (a critic's output bias need not)
    assert set(m1) >= {"loss", "d_loss", "g_loss"} and float(m1["loss"]) == float(m2["loss"])
    (c3, _) = run(carry, batch, jax.random.key(6))
    assert not np.array_equal(jax.tree.leaves(nnx.state(c3[0][0]))[0], leaves1[0])


def test_discriminator_steps_are_counted():
    # d_steps = 2 is two plain discriminator updates, then the generator's on the updated D.
    step1, carry = small_game(d_steps=1)
    step2, _ = small_game(d_steps=2)
    batch = jax.random.normal(KEY, (16, 2))
    (_, (d_two, _)), _ = step2(carry, batch, jax.random.key(3))
    (_, (d_one, _)), _ = step1(carry, batch, jax.random.key(3))
    one, two = jax.tree.leaves(nnx.state(d_one)), jax.tree.leaves(nnx.state(d_two))
    assert any(not np.allclose(a, b) for a, b in zip(one, two, strict=True))
