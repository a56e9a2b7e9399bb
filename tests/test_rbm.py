"""helpers.generative.rbm against brute-force enumeration: log Z, conditionals, Gibbs sampling, AIS,
training."""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from helpers.core import train
from helpers.generative import ais, rbm


def random_params(seed, n_v, n_h, scale=1.0):
    ka, kb, kw = jax.random.split(jax.random.key(seed), 3)
    return rbm.RBMParams(
        a=jax.random.normal(ka, (n_v,)),
        b=jax.random.normal(kb, (n_h,)),
        W=scale * jax.random.normal(kw, (n_v, n_h)),
    )


def all_states(n):
    return jnp.asarray(list(itertools.product([0.0, 1.0], repeat=n)))


def brute_force_log_z(params):  # sum over every (x, h) pair of exp(-E(x, h))
    n_v, n_h = params.W.shape
    xs, hs = all_states(n_v), all_states(n_h)
    x = jnp.repeat(xs, len(hs), axis=0)
    h = jnp.tile(hs, (len(xs), 1))
    return jax.scipy.special.logsumexp(-rbm.energy(params, x, h))


@pytest.mark.parametrize(("n_v", "n_h"), [(3, 5), (5, 3), (6, 6), (1, 4)])
def test_exact_log_partition_equals_brute_force(n_v, n_h):
    params = random_params(n_v * 10 + n_h, n_v, n_h)
    exact = rbm.exact_log_partition(params, chunk_bits=2)  # several chunks even for these tiny models
    np.testing.assert_allclose(exact, brute_force_log_z(params), rtol=1e-5)


def test_gaussian_log_partition_equals_numerical_integration():
    # One Gaussian visible unit, two hidden: integrate exp(-E) over x on a fine grid for each h.
    params = random_params(3, 1, 2, scale=0.7)
    sigma = jnp.array([0.8])
    grid = jnp.linspace(-15, 15, 60001)[:, None]
    total = 0.0
    for h in all_states(2):
        e = rbm.energy(params, grid, jnp.broadcast_to(h, (grid.shape[0], 2)), sigma)
        total += float(jnp.trapezoid(jnp.exp(-e), grid[:, 0]))
    np.testing.assert_allclose(float(rbm.exact_log_partition(params, sigma)), math.log(total), rtol=1e-4)


def test_free_energy_sums_out_the_hidden_units_and_conditionals_are_its_derivatives():
    params = random_params(1, 4, 3)
    x = all_states(4)
    hs = all_states(3)
    joint = -jax.vmap(lambda h: rbm.energy(params, x, jnp.broadcast_to(h, (len(x), 3))))(hs)  # (8, 16)
    summed_out = -jax.scipy.special.logsumexp(joint, axis=0)
    np.testing.assert_allclose(rbm.free_energy(params, x), summed_out, rtol=1e-5)
    # p(h_j = 1 | x) = -dF/db_j, and for Gaussian units E[x | h] = a + W h is the mean of p(x | h).
    grad_b = jax.jacrev(lambda b: -rbm.free_energy(params._replace(b=b), x))(params.b)
    np.testing.assert_allclose(grad_b, rbm.hidden_probabilities(params, x), rtol=1e-5, atol=1e-7)
    sigma = jnp.array([0.5, 1.0, 2.0, 1.5])
    grad_b_gauss = jax.jacrev(lambda b: -rbm.free_energy(params._replace(b=b), x, sigma))(params.b)
    np.testing.assert_allclose(grad_b_gauss, rbm.hidden_probabilities(params, x, sigma), rtol=1e-5, atol=1e-7)


def test_phase_gradients_equal_autodiff_of_the_free_energy_difference():
    params = random_params(2, 5, 4)
    kp, kn = jax.random.split(jax.random.key(5))
    x_pos = jax.random.bernoulli(kp, 0.4, (30, 5)).astype(jnp.float32)
    x_neg = jax.random.bernoulli(kn, 0.6, (30, 5)).astype(jnp.float32)
    for sigma in (None, jnp.array([0.5, 1.0, 2.0, 1.5, 0.7])):
        by_hand = rbm.phase_gradients(params, x_pos, x_neg, sigma)
        autodiff = jax.grad(rbm.contrastive_loss)(params, x_pos, x_neg, sigma)
        assert isinstance(by_hand, rbm.RBMParams) and isinstance(autodiff, rbm.RBMParams)
        for got, want in zip(by_hand, autodiff, strict=True):
            np.testing.assert_allclose(got, -want, rtol=1e-4, atol=1e-6)


def test_gaussian_pcd_epoch_compiles_and_learns_the_mean():
    rng = np.random.default_rng(3)
    x = jnp.asarray(rng.normal(2.0, 0.5, (400, 3)), jnp.float32)
    params = rbm.init_params(jax.random.key(0), 3, 4)
    opt = optax.adam(0.05)
    step = rbm.cd_step(opt, k=1, persistent=True, sigma=jnp.full(3, 0.5))
    carry = (params, opt.init(params), x[:50])
    (params, _, _), _ = train.fit(
        step, carry, x, key=jax.random.key(0), epochs=40, batch_size=50, progress=False
    )
    samples = rbm.gibbs(jax.random.key(99), params, x[:400], 200, sigma=jnp.full(3, 0.5))
    assert abs(float(samples.mean()) - 2.0) < 0.15


def test_gibbs_sampling_matches_the_exact_marginal():
    params = random_params(4, 4, 3)
    x = rbm.gibbs(jax.random.key(0), params, jnp.zeros((40_000, 4)), 50)
    codes = np.asarray(x @ (2 ** jnp.arange(4.0))).astype(int)
    empirical = np.bincount(codes, minlength=16) / len(codes)
    states = jnp.asarray([[(c >> i) & 1 for i in range(4)] for c in range(16)], jnp.float32)
    exact = np.asarray(jnp.exp(-rbm.free_energy(params, states) - rbm.exact_log_partition(params)))
    tv = 0.5 * np.abs(empirical - exact).sum()
    assert tv < 0.01  # counting noise for 40 000 samples over 16 states is about 0.005


def test_ais_agrees_with_exact():
    params = random_params(6, 20, 12, scale=0.3)
    exact = float(rbm.exact_log_partition(params))
    schedule = ais.beta_schedule(100, 400, 1000)
    log_z, se, _ = ais.log_partition(jax.random.key(1), params, schedule, n_runs=200)
    assert abs(float(log_z) - exact) < 3 * float(se) + 0.05


def test_cd_and_pcd_increase_the_exact_log_likelihood():
    rng = np.random.default_rng(0)
    prototypes = rng.random((3, 10)) < 0.5
    clean = prototypes[rng.integers(0, 3, 600)]
    data = np.where(rng.random((600, 10)) < 0.05, ~clean, clean)  # three prototypes, 5 % of bits flipped
    data = jnp.asarray(data, jnp.float32)
    for persistent in (False, True):
        params = rbm.init_params(jax.random.key(0), 10, 6, data_mean=data.mean(0))
        before = float(rbm.log_likelihood(params, data, rbm.exact_log_partition(params)).mean())
        opt = optax.sgd(0.05, momentum=0.5)
        step = rbm.cd_step(opt, k=1, persistent=persistent)
        chains = data[:20] if persistent else None
        carry = (params, opt.init(params), chains)
        (params, _, _), history = train.fit(
            step, carry, data, key=jax.random.key(1), epochs=30, batch_size=20, progress=False
        )
        assert history["loss"].shape == (30,)
        after = float(rbm.log_likelihood(params, data, rbm.exact_log_partition(params)).mean())
        assert after > before + 0.5


def test_jaxtyping_names_the_argument_whose_shape_disagrees_with_params():
    with pytest.raises(TypeError, match="parameter 'x'"):
        rbm.free_energy(random_params(0, 4, 2), jnp.zeros((3, 5)))
    with pytest.raises(TypeError, match="parameter 'params'"):
        rbm.free_energy(dict(random_params(0, 4, 2)._asdict()), jnp.zeros((3, 4)))  # the old dict form


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: rbm.gibbs(jax.random.key(0), random_params(0, 4, 2), jnp.zeros((3, 4)), 0), "k=0"),
        (lambda: rbm.cd_step(optax.sgd(0.1), k=0), "k=0"),
        (lambda: ais.log_partition(jax.random.key(0), random_params(0, 4, 2), jnp.ones(1)), "at least 2"),
        (lambda: rbm.free_energy(random_params(0, 4, 2), jnp.zeros((3, 4)), sigma=jnp.zeros(4)),
         "sigma has values"),
        (lambda: rbm.exact_log_partition(random_params(0, 30, 30)), "use ais.log_partition"),
        (lambda: rbm.init_params(jax.random.key(0), 0, 3), "n_visible=0"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_cd_step_descends_minus_the_phase_gradients():
    # One CD-1 step with plain SGD moves the parameters by exactly lr * (positive - negative phase),
    # the negative phase taken at the Gibbs samples the step drew (same key, same samples).
    params = random_params(7, 6, 4, scale=0.5)
    x = jax.random.bernoulli(jax.random.key(8), 0.5, (10, 6)).astype(jnp.float32)
    key = jax.random.key(9)
    carry = (params, optax.sgd(0.1).init(params), None)
    (after, _, _), metrics = rbm.cd_step(optax.sgd(0.1), k=1)(carry, x, key)
    x_neg = rbm.gibbs(key, params, x, 1)
    ascent = rbm.phase_gradients(params, x, x_neg)
    for new, old, up in zip(after, params, ascent, strict=True):
        np.testing.assert_allclose(new, old + 0.1 * up, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(metrics["loss"], rbm.contrastive_loss(params, x, x_neg), rtol=1e-6)


def test_hidden_free_energy_sums_out_the_visible_units():
    params = random_params(11, 4, 3)
    hs, xs = all_states(3), all_states(4)
    joint = -jax.vmap(lambda x: rbm.energy(params, jnp.broadcast_to(x, (len(hs), 4)), hs))(xs)  # (16, 8)
    summed_out = -jax.scipy.special.logsumexp(joint, axis=0)
    np.testing.assert_allclose(rbm.hidden_free_energy(params, hs), summed_out, rtol=1e-5)
