"""helpers.generative.vae against closed forms: the KL, the linear-Gaussian likelihood, the IWAE bound's
order."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from helpers.core import train
from helpers.data import datasets
from helpers.generative import vae


def test_gaussian_kl_matches_monte_carlo():
    mu = jnp.array([[0.5, -1.0, 2.0]])
    logvar = jnp.array([[0.3, -0.7, 0.0]])
    shape = (200_000, 3)
    h = vae.reparameterize(jax.random.key(0), jnp.broadcast_to(mu, shape), jnp.broadcast_to(logvar, shape))
    # KL = E_q[log q(h) - log p(h)], estimated from samples of q.
    log_ratio = vae.gaussian_log_density(h, mu, logvar) - vae.gaussian_log_density(h, 0.0, jnp.zeros(()))
    estimate, se = float(log_ratio.mean()), float(log_ratio.std() / math.sqrt(log_ratio.size))
    assert abs(estimate - float(vae.gaussian_kl(mu, logvar)[0])) < 3 * se
    assert float(vae.gaussian_kl(jnp.zeros((1, 4)), jnp.zeros((1, 4)))[0]) == 0.0  # q = p


def test_bernoulli_log_likelihood_is_the_stable_form():
    logits = jnp.array([[-3.0, 0.0, 2.5]])
    x = jnp.array([[0.0, 1.0, 1.0]])
    p = jax.nn.sigmoid(logits)
    naive = jnp.sum(x * jnp.log(p) + (1 - x) * jnp.log1p(-p), axis=-1)
    np.testing.assert_allclose(vae.bernoulli_log_likelihood(x, logits), naive, rtol=1e-6)


def _linear_model_and_data():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(6, 2))
    x = rng.normal(size=(500, 2)) @ W.T + 0.3 * rng.normal(size=(500, 6)) + 1.0
    return vae.LinearGaussianVAE(6, 2, rngs=nnx.Rngs(0)), jnp.asarray(x, jnp.float32)


def test_linear_gaussian_exact_likelihood_and_elbo_below_it():
    model, x = _linear_model_and_data()
    # Exact log p(x) against scipy's multivariate normal with the same mean and covariance.
    from scipy.stats import multivariate_normal

    W, b = np.asarray(model.decoder.kernel[...]).T, np.asarray(model.decoder.bias[...])
    cov = W @ W.T + np.exp(float(model.noise_logvar[...])) * np.eye(6)
    expected = multivariate_normal(b, cov).logpdf(np.asarray(x))
    np.testing.assert_allclose(model.exact_log_likelihood(x), expected, rtol=1e-4)
    # The ELBO, averaged over many reparameterised samples, lies below log p(x) for every example.
    keys = jax.random.split(jax.random.key(1), 400)
    mean_elbo = jnp.mean(jax.vmap(lambda k: vae.elbo(k, model, x)[0])(keys), axis=0)
    assert bool(jnp.all(mean_elbo < model.exact_log_likelihood(x)))


def test_iwae_is_the_elbo_at_k1_and_grows_with_k():
    model, x = _linear_model_and_data()
    x = x[:50]
    keys = jax.random.split(jax.random.key(2), 200)
    elbo = jnp.mean(jax.vmap(lambda k: vae.elbo(k, model, x)[0])(keys))
    bounds = {}
    for k in (1, 4, 32):
        per_key = jax.vmap(lambda key, k=k: vae.iwae_bound(key, model, x, k, chunk=7))(keys)
        bounds[k] = float(jnp.mean(per_key))
    spread = float(jnp.std(jax.vmap(lambda key: vae.iwae_bound(key, model, x, 1))(keys).mean(1)))
    assert abs(bounds[1] - float(elbo)) < 4 * spread / math.sqrt(len(keys))  # same bound in expectation
    exact = float(model.exact_log_likelihood(x).mean())
    assert bounds[1] < bounds[4] < bounds[32] < exact


def test_chunked_importance_weights_have_the_requested_shape_and_are_finite():
    model, x = _linear_model_and_data()
    w = vae.log_importance_weights(jax.random.key(3), model, x[:10], 23, chunk=5)
    assert w.shape == (10, 23)
    assert bool(jnp.all(jnp.isfinite(w)))
    mlp_vae = vae.VAE(6, [8], 2, rngs=nnx.Rngs(0))  # the MLP decoder sees h with a leading sample axis
    w = vae.log_importance_weights(jax.random.key(4), mlp_vae, (x[:10] > 0).astype(jnp.float32), 23, chunk=5)
    assert w.shape == (10, 23) and bool(jnp.all(jnp.isfinite(w)))


def test_training_decreases_the_negative_elbo():
    model = vae.VAE(16, [32], 2, rngs=nnx.Rngs(0))
    rng = np.random.default_rng(1)
    prototypes = rng.random((4, 16)) < 0.5
    x = jnp.asarray(prototypes[rng.integers(0, 4, 512)], jnp.float32)

    optimizer = optax.adam(3e-3)
    step = train.gradient_step(vae.negative_elbo, optimizer)
    (model, _), history = train.fit(
        step, train.init(model, optimizer), x, key=jax.random.key(0), epochs=30, batch_size=64, progress=False
    )
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert int((vae.active_units(model, x) > 0.01).sum()) >= 1


def test_negative_elbo_binarises_grey_levels_afresh_each_step():
    model = vae.VAE(6, [8], 2, rngs=nnx.Rngs(0))
    levels = jnp.full((4000, 6), 64, jnp.uint8)
    grey = levels.astype(jnp.float32) / 255.0
    key = jax.random.key(4)
    k_bin, k_h = jax.random.split(key)
    binary = datasets.dynamic_binarize(k_bin, grey)
    expected = -jnp.mean(vae.elbo(k_h, model, binary)[0])
    np.testing.assert_allclose(vae.negative_elbo(model, grey, key, binarize=True), expected, rtol=1e-6)
    from_uint8 = vae.negative_elbo(model, levels, key, binarize=True)
    np.testing.assert_allclose(from_uint8, expected, rtol=1e-6)
    assert abs(float(binary.mean()) - 0.25) < 0.02


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: vae.VAE(784, [16], 0, rngs=nnx.Rngs(0)), "latent_dim=0"),
        (lambda: vae.VAE(784, [0], 2, rngs=nnx.Rngs(0)), "hidden="),
        (lambda: vae.LinearGaussianVAE(4, -1, rngs=nnx.Rngs(0)), "latent_dim=-1"),
        (
            lambda: vae.elbo(
                jax.random.key(0), vae.VAE(784, [8], 2, rngs=nnx.Rngs(0)), jnp.zeros((3, 14, 14))
            ),
            "expected 784",
        ),
        (
            lambda: vae.iwae_bound(
                jax.random.key(0), vae.VAE(4, [8], 2, rngs=nnx.Rngs(0)), jnp.ones((3, 4)), 0
            ),
            "k=0",
        ),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_linear_gaussian_posterior_is_bayes_rule():
    # log p(x, h) - log p(h | x) = log p(x) for every h: the chain rule the ELBO derivation starts from.
    from jax.scipy.stats import multivariate_normal

    model, x = _linear_model_and_data()
    mean, cov = model.posterior(x[:5])
    h = jax.random.normal(jax.random.key(7), (5, model.latent_dim))
    log_joint = model.log_likelihood(x[:5], h) + vae.gaussian_log_density(h, 0.0, jnp.zeros(()))
    log_post = jax.vmap(lambda hi, mi: multivariate_normal.logpdf(hi, mi, cov))(h, mean)
    np.testing.assert_allclose(log_joint - log_post, model.exact_log_likelihood(x[:5]), rtol=1e-4, atol=1e-3)
