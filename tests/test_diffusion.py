"""helpers.generative.diffusion and the Fréchet distance: closed forms against independent computations."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from helpers.analysis import distances
from helpers.core import train
from helpers.data import datasets
from helpers.generative import denoisers, diffusion, diffusion_sampling
from helpers.networks import layers


def iterate_chain(schedule, x0, t, key):
    """x_t by t one-step transitions x_s = sqrt(alpha_s) x_{s-1} + sqrt(1 - alpha_s) eps."""
    x = x0
    for s, k in zip(range(1, t + 1), jax.random.split(key, t), strict=True):
        x = jnp.sqrt(schedule.alphas[s]) * x + jnp.sqrt(1 - schedule.alphas[s]) * jax.random.normal(
            k, x.shape
        )
    return x


@pytest.mark.parametrize("make", [diffusion.linear_schedule, diffusion.cosine_schedule])
def test_closed_form_matches_iterated_chain(make):
    schedule = make(200)
    x0 = jnp.full((40_000,), 0.7)
    for t in (1, 37, 200):
        xt = iterate_chain(schedule, x0, t, jax.random.key(t))
        mean, var = float(schedule.alpha_bars[t] ** 0.5 * 0.7), float(1 - schedule.alpha_bars[t])
        n = x0.size
        assert abs(float(xt.mean()) - mean) < 3 * np.sqrt(var / n)
        assert abs(float(xt.var()) - var) < 3 * var * np.sqrt(2 / n)


def test_q_sample_is_the_closed_form():
    schedule = diffusion.linear_schedule(100)
    x0, eps = jnp.ones((3, 2)), jnp.full((3, 2), 0.5)
    t = jnp.array([1, 50, 100])
    ab = schedule.alpha_bars[t][:, None]
    np.testing.assert_allclose(
        diffusion.q_sample(schedule, x0, t, eps),
        jnp.broadcast_to(jnp.sqrt(ab) + 0.5 * jnp.sqrt(1 - ab), (3, 2)),
        rtol=1e-6,
    )


def q_sample_at(schedule, t):
    return diffusion.q_sample(schedule, jnp.ones((2, 3)), t, jnp.ones((2, 3)))


@pytest.mark.parametrize("t", [[0, 1], [1, 101]])
def test_time_index_outside_1_to_T_is_refused_eagerly_under_jit_and_in_fit(t):
    """JAX would clamp t = T + 1 to T (and t = 0 is no step): refused eagerly, in a student's jit, in fit."""
    schedule, t = diffusion.linear_schedule(100), jnp.array(t)
    with pytest.raises(ValueError, match=r"t has values in \[\d+, \d+\]; expected integers in \[1, 100\]"):
        q_sample_at(schedule, t)
    with pytest.raises(Exception, match=r"\[value check\] t has values outside \[1, 100\]"):
        jax.jit(lambda t: q_sample_at(schedule, t))(t)

    def step(carry, batch, key):  # a loss that takes its time steps from the data
        return carry, {"loss": jnp.mean(q_sample_at(schedule, batch))}

    with pytest.raises(ValueError, match=r"t has values outside \[1, 100\].*found inside train.fit, epoch 1"):
        train.fit(step, 0, t, key=jax.random.key(0), epochs=1, batch_size=2, progress=False)
    assert jax.jit(lambda t: q_sample_at(schedule, t))(jnp.array([1, 100])).shape == (2, 3)  # 1..T pass


def test_schedules_match_their_definitions():
    lin = diffusion.linear_schedule(1000)
    assert (
        lin.T == 1000
        and float(lin.betas[1]) == pytest.approx(1e-4)
        and float(lin.betas[-1]) == pytest.approx(0.02)
    )
    np.testing.assert_allclose(lin.alpha_bars[1:], np.cumprod(1 - np.linspace(1e-4, 0.02, 1000)), rtol=1e-5)
    cos = diffusion.cosine_schedule(1000)
    f = np.cos((np.arange(1001) / 1000 + 0.008) / 1.008 * np.pi / 2) ** 2
    np.testing.assert_allclose(cos.alpha_bars[1:900], (f / f[0])[1:900], rtol=1e-4)
    assert np.all(np.diff(np.asarray(diffusion.snr(cos))) < 0)


def test_posterior_matches_gaussian_conditioning():
    """q(x_{t-1} | x_t, x_0) from the joint Gaussian of (x_{t-1}, x_t) given x_0, in float64."""
    schedule = diffusion.cosine_schedule(50)
    x0, xt = 0.3, -1.1
    for t in (2, 10, 50):
        a, ab_prev = float(schedule.alphas[t]), float(schedule.alpha_bars[t - 1])
        mu1, var1 = np.sqrt(ab_prev) * x0, 1 - ab_prev  # x_{t-1} | x_0
        mu2, var2, cov12 = np.sqrt(a) * mu1, a * var1 + (1 - a), np.sqrt(a) * var1  # x_t | x_0
        expected_mean = mu1 + cov12 / var2 * (xt - mu2)
        expected_var = var1 - cov12**2 / var2
        mean, var = diffusion.posterior(schedule, jnp.array([xt]), jnp.array([x0]), jnp.array([t]))
        assert float(mean[0]) == pytest.approx(expected_mean, rel=1e-4, abs=1e-6)
        assert float(var[0]) == pytest.approx(expected_var, rel=1e-4)


def test_prior_kl_matches_numerical_integration():
    schedule = diffusion.linear_schedule(1000)
    x0 = 0.9
    ab = float(schedule.alpha_bars[-1])
    m, s2 = np.sqrt(ab) * x0, 1 - ab
    grid = np.linspace(-12, 12, 200_001)
    log_q = -0.5 * (grid - m) ** 2 / s2 - 0.5 * np.log(2 * np.pi * s2)
    log_p = -0.5 * grid**2 - 0.5 * np.log(2 * np.pi)
    numeric = np.sum(np.exp(log_q) * (log_q - log_p)) * (grid[1] - grid[0])
    assert float(diffusion.prior_kl(schedule, jnp.array([[x0]]))[0]) == pytest.approx(
        numeric, rel=1e-3, abs=1e-9
    )


def test_denoising_weight_turns_noise_error_into_the_kl():
    """KL between N(mu_q, s2) and N(mu_theta, s2) equals the weighted squared noise error."""
    schedule = diffusion.linear_schedule(100)
    t = jnp.array([5, 60])
    x0 = jnp.array([[0.4], [-0.8]])
    eps, eps_hat = jnp.array([[0.3], [1.2]]), jnp.array([[-0.2], [0.9]])
    xt = diffusion.q_sample(schedule, x0, t, eps)
    mu_q, var = diffusion.posterior(schedule, xt, x0, t)
    mu_p, _ = diffusion.posterior(schedule, xt, diffusion.predict_x0(schedule, xt, t, eps_hat), t)
    kl = ((mu_q - mu_p) ** 2)[:, 0] / (2 * var)
    weighted = diffusion.denoising_weight(schedule, t) * ((eps - eps_hat) ** 2)[:, 0]
    np.testing.assert_allclose(weighted, kl, rtol=1e-3)


def gaussian_eps(schedule, m, s):
    """The exact noise predictor E[eps | x_t] for data x_0 ~ N(m, s^2)."""

    def eps_fn(x, t):
        ab = schedule.alpha_bars[t].reshape(-1, 1)
        return jnp.sqrt(1 - ab) * (x - jnp.sqrt(ab) * m) / (ab * s**2 + 1 - ab)

    return eps_fn


@pytest.mark.parametrize(
    ("sampler", "tolerance"), [("ddpm", 0.03), ("ddim_eta1_all_steps", 0.03), ("ddim_eta0_50_steps", 0.06)]
)
def test_samplers_reproduce_gaussian_data(sampler, tolerance):
    """With the exact noise predictor, samples of N(1.5, 0.5^2) data have its mean and spread.

    The reverse steps use Gaussian transitions of the posterior's variance, which is exact only as
    the steps shrink, so the spread comes out slightly low (1 % for ancestral sampling with
    Ho et al.'s 1000 steps; 4.5 % for deterministic DDIM with 50 steps).
    """
    schedule = diffusion.linear_schedule(1000)
    m, s, n = 1.5, 0.5, 20_000
    eps_fn = gaussian_eps(schedule, m, s)
    key = jax.random.key(3)
    if sampler == "ddpm":
        x = diffusion_sampling.ddpm_sample(key, eps_fn, schedule, (n, 1))
    elif sampler == "ddim_eta1_all_steps":
        x = diffusion_sampling.ddim_sample(key, eps_fn, schedule, (n, 1), steps=1000, eta=1.0)
    else:
        x = diffusion_sampling.ddim_sample(key, eps_fn, schedule, (n, 1), steps=50, eta=0.0)
    assert abs(float(x.mean()) - m) < 4 * s / np.sqrt(n) + 0.01
    assert abs(float(x.std()) / s - 1) < tolerance


def test_ddim_eta1_matches_ddpm_step_for_step():
    """With eta = 1 and every step, DDIM's update is the ancestral update (same noise, same result)."""
    schedule = diffusion.cosine_schedule(20)
    eps_fn = gaussian_eps(schedule, 0.0, 1.0)
    a = diffusion_sampling.ddpm_sample(jax.random.key(0), eps_fn, schedule, (5, 3))
    b = diffusion_sampling.ddim_sample(jax.random.key(0), eps_fn, schedule, (5, 3), steps=20, eta=1.0)
    np.testing.assert_allclose(a, b, atol=1e-4)


def test_ddpm_path_and_simple_loss_with_an_nnx_model():
    schedule = diffusion.linear_schedule(10)
    model = denoisers.MLPDenoiser(4, width=16, depth=2, T=10, rngs=nnx.Rngs(0))
    x0, path = diffusion_sampling.ddpm_sample(jax.random.key(1), model, schedule, (3, 4), return_path=True)
    assert x0.shape == (3, 4) and path.shape == (11, 3, 4)
    np.testing.assert_allclose(path[0], x0)
    loss = diffusion.simple_loss(jax.random.key(2), model, schedule, jnp.zeros((8, 4)))
    assert loss.shape == () and 0.1 < float(loss) < 10


def test_time_embedding():
    emb = layers.time_embedding(jnp.array([0, 7]), 8)
    assert emb.shape == (2, 8)
    np.testing.assert_allclose(emb[0], [0, 0, 0, 0, 1, 1, 1, 1])
    np.testing.assert_allclose(emb[1, 0], np.sin(7.0), rtol=1e-6)


def test_frechet_distance():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 3))
    assert distances.frechet_distance(x, x) == pytest.approx(0.0, abs=1e-8)
    # 1-D closed form: (mu1 - mu2)^2 + (s1 - s2)^2
    one_d = (np.array([1.0]), np.array([[4.0]]), np.array([-1.0]), np.array([[1.0]]))
    assert distances.gaussian_frechet_distance(*one_d) == pytest.approx(4.0 + 1.0)
    # Diagonal covariances: sum over dimensions of the 1-D formula
    d = distances.gaussian_frechet_distance(np.zeros(2), np.diag([1.0, 9.0]), np.ones(2), np.diag([4.0, 1.0]))
    assert d == pytest.approx(2.0 + 1.0 + 4.0)
    # Large samples approach the Gaussians' distance
    cov = np.array([[2.0, 0.5], [0.5, 1.0]])
    a = rng.multivariate_normal([0, 0], cov, size=200_000)
    b = rng.multivariate_normal([1, 0], np.eye(2), size=200_000)
    exact = distances.gaussian_frechet_distance(np.zeros(2), cov, np.array([1.0, 0]), np.eye(2))
    assert distances.frechet_distance(a, b) == pytest.approx(exact, rel=0.02)


def test_bad_inputs():
    with pytest.raises(ValueError, match="T=0"):
        diffusion.linear_schedule(0)
    with pytest.raises(ValueError, match=r"\(0, 1\)"):
        diffusion.schedule_from_betas(np.array([0.1, 1.5]))
    schedule = diffusion.linear_schedule(100)
    eps_fn = gaussian_eps(schedule, 0.0, 1.0)
    with pytest.raises(ValueError, match="steps=30"):
        diffusion_sampling.ddim_sample(jax.random.key(0), eps_fn, schedule, (2, 1), steps=30)
    with pytest.raises(ValueError, match="steps=200"):
        diffusion_sampling.ddim_sample(jax.random.key(0), eps_fn, schedule, (2, 1), steps=200)
    with pytest.raises(TypeError, match="parameter 'eps'"):
        diffusion.q_sample(schedule, jnp.zeros((2, 3)), jnp.array([1, 2]), jnp.zeros((2, 4)))
    with pytest.raises(TypeError, match="parameter 't'"):  # one time step per example
        diffusion.q_sample(schedule, jnp.zeros((2, 3)), jnp.array([1, 2, 3]), jnp.zeros((2, 3)))
    with pytest.raises(ValueError, match="dim=3"):
        layers.time_embedding(jnp.array([1]), 3)
    with pytest.raises(TypeError, match="parameter"):  # samples of different dimension
        distances.frechet_distance(np.zeros((5, 2)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="clip=-1"):
        diffusion_sampling.ddim_sample(jax.random.key(0), eps_fn, schedule, (2, 1), steps=50, clip=-1)
    with pytest.raises(ValueError, match="size=20"):
        datasets.prepare_images(np.zeros((2, 28, 28)), 20)


def perturbed(model, key, scale=0.3):
    """The model with noise added to every trained weight (read-outs start at zero)."""
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)
    leaves, treedef = jax.tree.flatten(params)
    keys = jax.random.split(key, len(leaves))
    leaves = [v + scale * jax.random.normal(k, v.shape) for v, k in zip(leaves, keys, strict=True)]
    return nnx.merge(graphdef, jax.tree.unflatten(treedef, leaves), rest)


def test_spin_denoiser_commutes_with_translations():
    """Shifting a configuration on the periodic lattice shifts the predicted noise the same way."""
    schedule = diffusion.linear_schedule(10)
    model = perturbed(
        denoisers.SpinDenoiser(6, schedule, radius=1, width=8, depth=2, rngs=nnx.Rngs(0)), jax.random.key(1)
    )
    x = jax.random.normal(jax.random.key(2), (3, 6, 6))
    t = jnp.array([1, 5, 10])
    out = model(x, t)
    assert out.shape == x.shape
    np.testing.assert_allclose(
        model(jnp.roll(x, (2, -1), axis=(1, 2)), t), jnp.roll(out, (2, -1), axis=(1, 2)), atol=1e-5
    )
    assert float(jnp.std(model.cavity_field(x.reshape(3, 36), t))) > 1e-3  # not trivially constant
    with pytest.raises(ValueError, match="radius=6"):
        denoisers.SpinDenoiser(6, schedule, radius=6, rngs=nnx.Rngs(0))


@pytest.mark.parametrize(("L", "radius", "depth"), [(9, 2, 1), (9, 1, 2)])
def test_spin_denoiser_field_sees_the_window_with_the_site_itself(L, radius, depth):
    """What the learned field h_i depends on, from its derivatives over a random lattice: the first layer
    leaves site i out exactly (d patch features_i / d x_i = 0), but the blocks' 3x3 mixing brings x_i back
    through its neighbours' patches, so h_i sees the periodic (2r + 1 + 2 depth)^2 window, the site
    included (d h_i / d x_i != 0): the network is not a cavity field, and the notebook says so."""
    model = perturbed(
        denoisers.SpinDenoiser(L, diffusion.linear_schedule(10), radius=radius, width=8, depth=depth,
                               rngs=nnx.Rngs(0)), jax.random.key(1))
    x, t, site = jax.random.normal(jax.random.key(2), (1, L * L)), jnp.array([5]), 4 * L + 4
    first = jax.jacfwd(lambda x: model.patch(x[:, model.neighbours[...]])[0, site])(x)[:, 0]  # (width, L*L)
    assert float(jnp.max(jnp.abs(first[:, site]))) == 0.0
    field = np.asarray(jax.grad(lambda x: model.cavity_field(x, t)[0, site])(x))[0].reshape(L, L)
    half = radius + depth
    rows, cols = np.divmod(np.arange(L * L), L)
    window = ((np.abs(rows - 4) <= half) & (np.abs(cols - 4) <= half)).reshape(L, L)
    np.testing.assert_array_equal(field != 0, window)
    assert field[4, 4] != 0


def test_spin_posterior_is_tanh_of_own_evidence_plus_cavity_field():
    """E[s_i | x_t] = tanh(sqrt(ab) x_i / (1 - ab) + artanh E[s_i | x_t without site i]), by enumeration
    of all 2^9 states of a 3x3 periodic Ising model at T = 3."""
    L, beta = 3, 1 / 3.0
    states = np.array(np.meshgrid(*[[-1, 1]] * (L * L), indexing="ij")).reshape(L * L, -1).T  # (512, 9)
    grid = states.reshape(-1, L, L)
    energy = -np.sum(grid * (np.roll(grid, 1, 1) + np.roll(grid, 1, 2)), axis=(1, 2))
    log_prior = -beta * energy
    ab = 0.3
    x = np.random.default_rng(0).normal(size=L * L)
    log_lik = np.sqrt(ab) * states * x / (1 - ab)  # log q(x_i | s_i) up to terms without s_i, (512, 9)

    def mean(log_w, i):
        w = np.exp(log_w - log_w.max())
        return np.sum(w * states[:, i]) / np.sum(w)

    exact = np.array([mean(log_prior + log_lik.sum(1), i) for i in range(L * L)])
    cavity = np.array([mean(log_prior + log_lik.sum(1) - log_lik[:, i], i) for i in range(L * L)])
    np.testing.assert_allclose(exact, np.tanh(np.sqrt(ab) * x / (1 - ab) + np.arctanh(cavity)), rtol=1e-12)


def test_spin_denoiser_without_cavity_field_is_exact_for_independent_spins():
    """At initialisation the read-out is zero, so h_i = 0: the exact denoiser for fair independent spins."""
    schedule = diffusion.cosine_schedule(50)
    model = denoisers.SpinDenoiser(4, schedule, rngs=nnx.Rngs(0))
    x, t = jax.random.normal(jax.random.key(0), (5, 16)), jnp.array([1, 10, 25, 40, 50])
    ab = schedule.alpha_bars[t][:, None]
    expected = (x - jnp.sqrt(ab) * jnp.tanh(jnp.sqrt(ab) * x / (1 - ab))) / jnp.sqrt(1 - ab)
    np.testing.assert_allclose(model(x, t), expected, rtol=1e-5, atol=1e-5)


def test_min_snr_weight_caps_the_x0_error_weight():
    """w_t ||eps - eps_hat||^2 = min(SNR_t, gamma) ||x0 - x0_hat||^2 for any prediction."""
    jax.config.update("jax_enable_x64", True)
    try:
        schedule = diffusion.cosine_schedule(100, dtype=jnp.float64)
        t = jnp.arange(1, 101)
        x0, eps, eps_hat = jax.random.normal(jax.random.key(0), (3, 100, 4), jnp.float64)
        x_t = diffusion.q_sample(schedule, x0, t, eps)
        x0_hat = diffusion.predict_x0(schedule, x_t, t, eps_hat)
        snr = schedule.alpha_bars[t] / (1 - schedule.alpha_bars[t])
        lhs = diffusion.min_snr_weight(schedule, t, 5.0) * jnp.sum((eps - eps_hat) ** 2, 1)
        np.testing.assert_allclose(lhs, jnp.minimum(snr, 5.0) * jnp.sum((x0 - x0_hat) ** 2, 1), rtol=1e-9)
        assert float(diffusion.min_snr_weight(schedule, jnp.array([100]), 5.0)[0]) == 1.0
    finally:
        jax.config.update("jax_enable_x64", False)
    with pytest.raises(ValueError, match="gamma=0"):
        diffusion.min_snr_weight(schedule, t, 0)


def test_v_prediction_of_the_true_velocity_gives_the_true_noise():
    schedule = diffusion.linear_schedule(100)
    x0, eps = jax.random.normal(jax.random.key(0), (2, 6, 3))
    t = jnp.array([1, 20, 40, 60, 80, 100])
    x_t = diffusion.q_sample(schedule, x0, t, eps)
    ab = schedule.alpha_bars[t][:, None]
    v = jnp.sqrt(ab) * eps - jnp.sqrt(1 - ab) * x0

    class TrueVelocity(nnx.Module):
        def __call__(self, x, t):
            return v

    np.testing.assert_allclose(denoisers.VPrediction(TrueVelocity(), schedule)(x_t, t), eps, atol=1e-5)


def test_spin_denoiser_cavity_is_the_periodic_window_without_the_site():
    """The window gathered with layers.periodic_neighbourhood: site (row + dy, col + dx) mod L, row-major."""
    L, r = 5, 2
    model = denoisers.SpinDenoiser(L, diffusion.linear_schedule(10), radius=r, rngs=nnx.Rngs(0))
    rows, cols = np.divmod(np.arange(L * L), L)
    offsets = [(dy, dx) for dy in range(-r, r + 1) for dx in range(-r, r + 1) if (dy, dx) != (0, 0)]
    expected = np.stack([((rows + dy) % L) * L + (cols + dx) % L for dy, dx in offsets], axis=1)
    np.testing.assert_array_equal(model.neighbours[...], expected)


def test_periodic_neighbourhood_is_nine_rolls():
    h = jax.random.normal(jax.random.key(5), (2, 25, 3))
    grid = h.reshape(2, 5, 5, 3)
    rolled = [jnp.roll(grid, (dy, dx), axis=(1, 2)) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    expected = jnp.concatenate(rolled, axis=-1).reshape(2, 25, 27)
    np.testing.assert_array_equal(layers.periodic_neighbourhood(h, 5), expected)
