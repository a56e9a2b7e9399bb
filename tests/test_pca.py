"""helpers.analysis.pca and helpers.generative.autoencoder against scikit-learn, SciPy, constructed spectra
and closed forms."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx
from scipy.linalg import subspace_angles
from sklearn.decomposition import PCA as SklearnPCA

from helpers.analysis import pca
from helpers.core import train
from helpers.data import toy
from helpers.generative import autoencoder


def _correlated_data(n=400, d=7, seed=0):
    rng = np.random.default_rng(seed)
    scales = np.array([5.0, 3.0, 2.0, 1.0, 0.5, 0.25, 0.1])[:d]
    return rng.normal(size=(n, d)) * scales @ np.linalg.qr(rng.normal(size=(d, d)))[0].T + 2.0


def _aligned(components, reference):
    """``components`` with each row's sign chosen to match ``reference``'s row."""
    signs = np.sign(np.sum(components * reference, axis=1, keepdims=True))
    return components * signs


@pytest.mark.parametrize("method", ["covariance", "svd", "gram"])
def test_pca_agrees_with_scikit_learn(method):
    x = _correlated_data()
    with jax.enable_x64(True):
        ours = pca.from_data(x, 4, method)
        components, ratio = np.asarray(ours.components), np.asarray(pca.explained_variance_ratio(ours))
    theirs = SklearnPCA(4, svd_solver="full").fit(x)
    np.testing.assert_allclose(_aligned(components, theirs.components_), theirs.components_, atol=1e-4)
    np.testing.assert_allclose(ratio, theirs.explained_variance_ratio_, atol=1e-5)
    # scikit-learn divides by n - 1, we by n (the maximum-likelihood covariance)
    unbiased = np.asarray(ours.variances) * len(x) / (len(x) - 1)
    np.testing.assert_allclose(unbiased, theirs.explained_variance_, rtol=1e-8)


def test_pca_recovers_a_constructed_spectrum():
    """Data whose sample covariance is exactly Q diag(lambda) Q^T: PCA returns lambda and Q's columns."""
    rng = np.random.default_rng(1)
    n, eigenvalues = 300, np.array([4.0, 2.0, 1.0, 0.5, 0.1])
    q = np.linalg.qr(rng.normal(size=(5, 5)))[0]
    # Five orthonormal directions in R^n, all orthogonal to the constant vector: zero mean, unit covariance
    basis = np.linalg.qr(np.column_stack([np.ones(n), rng.normal(size=(n, 5))]))[0][:, 1:]
    x = np.sqrt(n) * basis * np.sqrt(eigenvalues) @ q.T + np.array([1.0, -2.0, 0.0, 3.0, 0.5])
    with jax.enable_x64(True):
        for method in ("covariance", "svd", "gram"):
            fitted = pca.from_data(x, method=method)
            np.testing.assert_allclose(np.asarray(fitted.variances), eigenvalues, rtol=1e-10)
            np.testing.assert_allclose(float(fitted.total_variance), eigenvalues.sum(), rtol=1e-10)
            np.testing.assert_allclose(_aligned(np.asarray(fitted.components), q.T), q.T, atol=1e-10)


def test_reconstruction_error_is_the_sum_of_discarded_eigenvalues():
    x = _correlated_data(n=1000, d=7, seed=2)
    with jax.enable_x64(True):
        full = pca.from_data(x)
        for k in range(1, 7):
            reconstruction = np.asarray(pca.reconstruct(full, pca.project(full, x, k)))
            error = np.mean(np.sum((x - reconstruction) ** 2, axis=1))
            np.testing.assert_allclose(error, float(full.variances[k:].sum()), rtol=1e-10)
        np.testing.assert_allclose(np.asarray(pca.reconstruct(full, pca.project(full, x))), x, atol=1e-10)


def test_gram_route_when_features_outnumber_samples_and_the_randomized_route():
    rng = np.random.default_rng(5)
    few = rng.normal(size=(20, 3)) @ rng.normal(size=(3, 50)) + 0.01 * rng.normal(size=(20, 50))  # n < d
    with jax.enable_x64(True):
        by_gram, by_svd = pca.from_data(few, 5, "gram"), pca.from_data(few, 5, "svd")
        np.testing.assert_allclose(np.asarray(by_gram.variances), np.asarray(by_svd.variances), rtol=1e-10)
        np.testing.assert_allclose(np.asarray(by_gram.components), np.asarray(by_svd.components), atol=1e-8)
        x = _correlated_data(n=2000, d=7, seed=6)
        exact, fast = pca.from_data(x, 3), pca.randomized(jax.random.key(0), x, 3, oversample=2)
        np.testing.assert_allclose(np.asarray(fast.variances), np.asarray(exact.variances), rtol=1e-8)
        np.testing.assert_allclose(np.asarray(fast.components), np.asarray(exact.components), atol=1e-6)
        again = pca.randomized(jax.random.key(0), x, 3, oversample=2)
        np.testing.assert_array_equal(np.asarray(again.components), np.asarray(fast.components))


def test_principal_angles_of_a_known_rotation():
    theta = 0.3
    a = np.eye(5)[:, :2]  # span(e1, e2)
    b = np.column_stack([np.cos(theta) * np.eye(5)[0] + np.sin(theta) * np.eye(5)[2], np.eye(5)[1]])
    np.testing.assert_allclose(pca.principal_angles(a, b), [0.0, theta], atol=1e-12)
    tiny = 1e-9  # where arccos of the cosine would return 0 or noise, the sine keeps the angle
    b_tiny = np.column_stack([np.eye(5)[0] + tiny * np.eye(5)[3], np.eye(5)[1]])
    np.testing.assert_allclose(pca.principal_angles(a, b_tiny), [0.0, tiny], rtol=1e-6, atol=1e-15)
    rng = np.random.default_rng(3)
    c, d = rng.normal(size=(9, 3)), rng.normal(size=(9, 4))
    np.testing.assert_allclose(pca.principal_angles(c, d), np.sort(subspace_angles(c, d)), atol=1e-12)


def test_denoising_score_identity_on_a_gaussian():
    """x ~ N(mu, s^2 I): the optimal denoiser satisfies E[x | x~] - x~ = sigma^2 grad log p_sigma(x~)."""
    mu, s, sigma = jnp.array([0.5, -1.0]), 0.7, 0.4
    x_noisy = jax.random.normal(jax.random.key(0), (50, 2)) * 2.0
    posterior_mean = mu + s**2 / (s**2 + sigma**2) * (x_noisy - mu)  # Gaussian conditioning

    def log_p_sigma(x):  # N(mu, (s^2 + sigma^2) I), up to a constant
        return -0.5 * jnp.sum((x - mu) ** 2) / (s**2 + sigma**2)

    score = jax.vmap(jax.grad(log_p_sigma))(x_noisy)
    np.testing.assert_allclose(posterior_mean - x_noisy, sigma**2 * score, atol=1e-6)


def test_eight_gaussians_density_is_normalised_and_matches_the_sampler():
    grid = jnp.linspace(-3.0, 3.0, 601)
    xy = jnp.stack(jnp.meshgrid(grid, grid), axis=-1)
    for noise in (0.0, 0.3):
        mass = float(jnp.sum(jnp.exp(toy.eight_gaussians_log_density(xy, noise))) * (grid[1] - grid[0]) ** 2)
        assert abs(mass - 1.0) < 1e-3
    # E_p[log p] two ways: over the sampler's points, and by quadrature of p log p on the grid
    samples = toy.sample_toy(jax.random.key(0), "eight_gaussians", 20_000)
    log_p_samples = np.asarray(toy.eight_gaussians_log_density(samples))
    log_p_grid = toy.eight_gaussians_log_density(xy)
    quadrature = float(jnp.sum(jnp.exp(log_p_grid) * log_p_grid) * (grid[1] - grid[0]) ** 2)
    assert abs(log_p_samples.mean() - quadrature) < 4 * log_p_samples.std() / np.sqrt(log_p_samples.size)


def test_linear_autoencoder_is_affine_and_training_is_deterministic():
    x = jnp.asarray(_correlated_data(n=256, d=7, seed=4), jnp.float32)
    model = autoencoder.Autoencoder(7, (), 3, rngs=nnx.Rngs(0))
    a, b = x[:5], x[5:10]
    # affine maps: r(a) - r(b) is linear in a - b
    np.testing.assert_allclose(model(2 * a - b) - model(b), 2 * (model(a) - model(b)), atol=1e-4)

    def train_once():
        m, adam = autoencoder.Autoencoder(7, (16,), 3, rngs=nnx.Rngs(1)), optax.adam(1e-2)
        step = train.gradient_step(autoencoder.reconstruction_loss, adam)
        (m, _), history = train.fit(
            step, train.init(m, adam), x, key=jax.random.key(5), epochs=20, batch_size=64, progress=False
        )
        return m, history

    (m1, h1), (m2, h2) = train_once(), train_once()
    np.testing.assert_array_equal(h1["loss"], h2["loss"])
    np.testing.assert_array_equal(np.asarray(m1(x)), np.asarray(m2(x)))
    assert h1["loss"][-1] < 0.5 * h1["loss"][0]


def test_denoising_autoencoder_loss_draws_fresh_noise():
    x = jnp.asarray(_correlated_data(n=64, d=7), jnp.float32)
    model = autoencoder.Autoencoder(7, (8,), 2, rngs=nnx.Rngs(0))
    l1 = autoencoder.denoising_autoencoder_loss(model, x, jax.random.key(0), sigma=0.5)
    l2 = autoencoder.denoising_autoencoder_loss(model, x, jax.random.key(1), sigma=0.5)
    assert float(l1) != float(l2)
    noisy = autoencoder.corrupt(jax.random.key(2), x, 0.5)
    np.testing.assert_allclose(float(jnp.std(noisy - x)), 0.5, rtol=0.05)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: pca.from_data(np.zeros((10, 3)), k=4), "k=4"),
        (lambda: pca.from_data(np.zeros((10, 3)), k=0), "k=0"),
        (lambda: pca.from_data(np.zeros((10, 3)), method="eig"), "method='eig'"),
        (lambda: pca.randomized(jax.random.key(0), np.zeros((10, 3)), 5), "k=5"),
        (lambda: pca.project(pca.from_data(np.eye(4), 2), np.eye(4), k=3), "k=3"),
        (lambda: pca.correlation(np.ones(5), np.arange(5)), "a is constant"),
        (lambda: pca.correlation(np.arange(5), np.arange(4)), "same length"),
        (lambda: autoencoder.Autoencoder(4, (), 0, rngs=nnx.Rngs(0)), "code_dim=0"),
        (lambda: autoencoder.Autoencoder(4, (), 2, output="tanh", rngs=nnx.Rngs(0)), "output='tanh'"),
        (
            lambda: autoencoder.denoising_autoencoder_loss(None, jnp.zeros((2, 2)), jax.random.key(0),
                                                           sigma=-1.0),
            "sigma=-1.0",
        ),
    ],
)
def test_bad_input_is_named(call, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call()


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: pca.from_data(np.zeros(10)), "x"),  # 1-D data
        (lambda: pca.from_data(np.zeros((10, 3)) + 1j), "x"),  # complex data, not cut to real
        (lambda: pca.principal_angles(np.zeros((4, 2)), np.zeros((5, 2))), "b"),  # different d
        (lambda: pca.reconstruct(pca.from_data(np.eye(4), 2), np.zeros(2)), "codes"),  # one code, no batch
    ],
)
def test_shapes_are_in_the_signature(call, name):
    with pytest.raises(TypeError, match=f"parameter '{name}'"):
        call()
