"""Bad input for autoencoders, Boltzmann machines, energy-based models and VAEs; the cases run in
tests/test_bad_input.py."""

from bad_input_common import *  # noqa: F403

NAN_X = X.at[0, 0].set(jnp.nan)
PIXELS_255 = jnp.full((4, 4), 255.0)  # grey levels not divided by 255
FIT = {"key": KEY, "epochs": 1, "batch_size": 2, "progress": False}
IN_FIT = r"\(found inside train.fit, epoch 1\)"


def fit_rbm_on(data):  # one epoch of CD-1 on data, through train.fit
    opt = optax.sgd(0.1)
    return train.fit(rbm.cd_step(opt), (RBM, opt.init(RBM), None), data, **FIT)


def fit_vae_on(data):  # one epoch of the VAE's loss, through train.fit
    model, opt = small_vae(), optax.sgd(0.1)
    return train.fit(train.gradient_step(vae.negative_elbo, opt), train.init(model, opt), data, **FIT)


def fit_ebm_with_buffer(buffer):  # one epoch of Langevin CD whose replay buffer is given
    model, opt = layers.MLP([2, 4, 1], "elu", rngs=nnx.Rngs(0)), optax.sgd(0.1)
    step = ebm.langevin_cd_step(opt, lambda k, n: jnp.zeros((n, 2)), langevin_steps=2, step_size=0.1)
    return train.fit(step, (*train.init(model, opt), buffer), jnp.zeros((4, 2)), **FIT)


def small_autoencoder():
    return autoencoder.Autoencoder(4, [], 2, rngs=nnx.Rngs(0))


CASES = [
    # helpers.generative.ais
    ("ais", "beta above 1", lambda: ais.tempered(RBM, jnp.zeros(4), 2.0), ValueError, "beta=2.0"),
    ("ais", "betas not ending at 1",
     lambda: ais.log_partition(KEY, RBM, jnp.linspace(0, 0.5, 5)),
     ValueError, "betas run from"),
    ("ais", "one run",
     lambda: ais.log_partition(KEY, RBM, ais.beta_schedule(2, 2, 2), n_runs=1),
     ValueError, "n_runs=1"),
    ("ais", "base bias of wrong length",
     lambda: ais.log_partition(KEY, RBM, ais.beta_schedule(2, 2, 2), base_bias=jnp.zeros(5)),
     TypeError, "parameter 'base_bias'"),
    ("ais", "seed as key", lambda: ais.log_partition(7, RBM, ais.beta_schedule(2, 2, 2)), TypeError, "key=7"),
    ("ais", "zero steps", lambda: ais.beta_schedule(0), ValueError, "n_low=0"),
    ("ais", "NaN base bias",
     lambda: ais.log_partition(KEY, RBM, ais.beta_schedule(2, 2, 2), base_bias=jnp.full(4, jnp.nan)),
     ValueError, "base_bias has 4 NaN"),
    ("ais", "params in the old dict form",
     lambda: ais.log_partition(KEY, dict(RBM._asdict()), ais.beta_schedule(2, 2, 2)),
     TypeError, "parameter 'params'"),
    ("ais", "betas as a list", lambda: ais.log_partition(KEY, RBM, [0.0, 1.0]),
     TypeError, "parameter 'betas'"),
    ("ais", "0..255 visible units in a rung, under jit",
     lambda: jax.jit(lambda x: ais.ladder_step(KEY, RBM, jnp.zeros(4), x, jnp.zeros(4), 0.0, 1.0))(
         PIXELS_255),
     Exception, r"\[value check\] x has"),
    # helpers.generative.autoencoder
    ("autoencoder", "negative noise", lambda: autoencoder.corrupt(KEY, X, -1.0), ValueError, "sigma=-1.0"),
    ("autoencoder", "seed as key", lambda: autoencoder.corrupt(3, X, 0.1), TypeError, "key=3"),
    ("autoencoder", "unknown output",
     lambda: autoencoder.Autoencoder(4, [], 2, output="tanh", rngs=nnx.Rngs(0)),
     ValueError, "output='tanh'"),
    ("autoencoder", "zero code size",
     lambda: autoencoder.Autoencoder(4, [], 0, rngs=nnx.Rngs(0)),
     ValueError, "code_dim=0"),
    ("autoencoder", "negative hidden size",
     lambda: autoencoder.Autoencoder(4, [-3], 2, rngs=nnx.Rngs(0)),
     ValueError, r"hidden=\[-3\]"),
    ("autoencoder", "zero denoising noise",
     lambda: autoencoder.denoising_autoencoder_loss(None, X, KEY, 0.0),
     ValueError, "sigma=0.0"),
    ("autoencoder", "integer data to corrupt", lambda: autoencoder.corrupt(KEY, jnp.ones((2, 2), int), 0.1),
     TypeError, "parameter 'x'"),
    ("autoencoder", "a batch as a list",
     lambda: autoencoder.denoising_autoencoder_loss(small_autoencoder(), [[0.0] * 4] * 2, KEY, 0.1),
     TypeError, "parameter 'batch'"),
    ("autoencoder", "one example without its batch axis",
     lambda: autoencoder.squared_error(small_autoencoder(), jnp.ones(4)),
     TypeError, "parameter 'x'"),
    # helpers.generative.ebm
    ("ebm", "zero Langevin steps in langevin_cd_step",
     lambda: ebm.langevin_cd_step(optax.sgd(0.1), None, langevin_steps=0, step_size=0.1),
     ValueError, "langevin_steps=0"),
    ("ebm", "string step size",
     lambda: ebm.langevin(KEY, energy, X, "0.1", 3),
     ValueError, "step_size='0.1'"),
    ("ebm", "negative keep_every",
     lambda: ebm.langevin(KEY, energy, X, 0.1, 3, keep_every=-1),
     ValueError, "keep_every=-1"),
    ("ebm", "step sizes of the wrong length",
     lambda: ebm.langevin(KEY, energy, X, jnp.ones(4), 3),
     ValueError, r"step_size has shape \(4,\)"),
    ("ebm", "reversed bounds",
     lambda: ebm.langevin(KEY, energy, X, 0.1, 3, bounds=(1, 0)),
     ValueError, r"bounds=\(1, 0\)"),
    ("ebm", "buffer write past its end",
     lambda: ebm.buffer_update(jnp.zeros((3, 2)), jnp.array([5]), jnp.ones((1, 2))),
     ValueError, r"idx has values in \[5, 5\]"),
    ("ebm", "buffer write past its end, under jit",
     lambda: jax.jit(lambda i: ebm.buffer_update(jnp.zeros((3, 2)), i, jnp.ones((1, 2))))(jnp.array([5])),
     Exception, r"\[value check\] idx has"),
    ("ebm", "samples of the wrong shape",
     lambda: ebm.buffer_update(jnp.zeros((3, 2)), jnp.array([1]), jnp.ones((1, 3))),
     TypeError, "parameter 'samples'"),
    ("ebm", "reinit fraction above 1",
     lambda: ebm.buffer_sample(KEY, jnp.zeros((3, 2)), 2, 1.5, None),
     ValueError, "reinit_fraction=1.5"),
    ("ebm", "negative regulariser",
     lambda: ebm.contrastive_divergence_loss(energy, X, X, -0.1),
     ValueError, "alpha=-0.1"),
    ("ebm", "data and model samples of different shapes",
     lambda: ebm.contrastive_divergence_loss(energy, X, jnp.ones((3, 5)), 0.1),
     TypeError, "parameter 'x_model'"),
    ("ebm", "seed as key", lambda: ebm.mala(0, energy, X, 0.1, 3), TypeError, "key=0"),
    ("ebm", "energy not callable", lambda: ebm.langevin(KEY, "E", X, 0.1, 3),
     TypeError, "parameter 'energy_fn'"),
    ("ebm", "integer chains", lambda: ebm.langevin(KEY, energy, jnp.ones((3, 4), int), 0.1, 3),
     TypeError, "parameter 'x0'"),
    ("ebm", "NaN chain start", lambda: ebm.langevin(KEY, energy, NAN_X, 0.1, 3), ValueError, "x0 has 1 NaN"),
    ("ebm", "NaN chain start, under jit", lambda: jax.jit(lambda x: ebm.mala(KEY, energy, x, 0.1, 3))(NAN_X),
     Exception, r"\[value check\] x0 has"),
    ("ebm", "a diverged (NaN) buffer, inside train.fit",
     lambda: fit_ebm_with_buffer(jnp.full((8, 2), jnp.nan)),
     ValueError, r"buffer has .*" + IN_FIT),
    # helpers.generative.rbm
    ("rbm", "NaN scale", lambda: rbm.init_params(KEY, 4, 3, scale=float("nan")), ValueError, "scale=nan"),
    ("rbm", "data mean of the wrong length",
     lambda: rbm.init_params(KEY, 4, 3, data_mean=jnp.ones(5)),
     ValueError, r"data_mean has shape \(5,\)"),
    ("rbm", "0..255 data mean",
     lambda: rbm.init_params(KEY, 4, 3, data_mean=jnp.full(4, 128.0)),
     ValueError, "data_mean has values"),
    ("rbm", "zero Gibbs steps", lambda: rbm.gibbs(KEY, RBM, jnp.ones((2, 4)), 0), ValueError, "k=0"),
    ("rbm", "visible units of the wrong number",
     lambda: rbm.free_energy(RBM, jnp.ones((2, 5))),
     TypeError, "parameter 'x'"),
    ("rbm", "hidden units of the wrong number",
     lambda: rbm.hidden_free_energy(RBM, jnp.ones((2, 5))),
     TypeError, "parameter 'h'"),
    ("rbm", "negative sigma",
     lambda: rbm.free_energy(RBM, jnp.ones((2, 4)), sigma=-jnp.ones(4)),
     ValueError, "sigma has values"),
    ("rbm", "sigma of the wrong length",
     lambda: rbm.free_energy(RBM, jnp.ones((2, 4)), sigma=jnp.ones(3)),
     TypeError, "parameter 'sigma'"),
    ("rbm", "params in the old dict form",
     lambda: rbm.free_energy({"a": jnp.zeros(4)}, jnp.ones((2, 4))),
     TypeError, "parameter 'params'"),
    ("rbm", "seed as key", lambda: rbm.gibbs(5, RBM, jnp.ones((2, 4)), 1), TypeError, "key=5"),
    ("rbm", "0..255 visible units", lambda: rbm.free_energy(RBM, PIXELS_255[:2]),
     ValueError, r"x has values in \[255, 255\]; expected visible units in \[0, 1\]"),
    ("rbm", "0..255 visible units, under jit", lambda: jax.jit(lambda x: rbm.free_energy(RBM, x))(PIXELS_255),
     Exception, r"\[value check\] x has"),
    ("rbm", "0..255 data, inside train.fit (CD-1)", lambda: fit_rbm_on(PIXELS_255),
     ValueError, r"x has .*" + IN_FIT),
    ("rbm", "NaN chain starts", lambda: rbm.gibbs(KEY, RBM, jnp.full((2, 4), jnp.nan), 1),
     ValueError, "x0 has 8 NaN"),
    ("rbm", "NaN log Z", lambda: rbm.log_likelihood(RBM, jnp.ones((2, 4)), jnp.nan),
     ValueError, "log_z has 1 NaN"),
    # helpers.generative.vae
    ("vae", "negative beta", lambda: vae.elbo(KEY, small_vae(), X, beta=-1), ValueError, "beta=-1"),
    ("vae", "0..255 data",
     lambda: vae.bernoulli_log_likelihood(jnp.full((2, 2), 255.0), jnp.zeros((2, 2))),
     ValueError, r"x has values in \[255, 255\]"),
    ("vae", "0..255 data, under jit",
     lambda: jax.jit(lambda x: vae.elbo(KEY, small_vae(), x)[0])(PIXELS_255),
     Exception, r"\[value check\] x has"),
    ("vae", "0..255 data, inside train.fit", lambda: fit_vae_on(PIXELS_255),
     ValueError, r"x has .*" + IN_FIT),
    ("vae", "zero importance samples", lambda: vae.iwae_bound(KEY, small_vae(), X, 0), ValueError, "k=0"),
    ("vae", "seed as key", lambda: vae.iwae_bound(0, small_vae(), X, 5), TypeError, "key=0"),
    ("vae", "mismatched mean and log-variance",
     lambda: vae.gaussian_kl(jnp.ones((2, 3)), jnp.ones((2, 2))),
     TypeError, "parameter 'logvar'"),
    ("vae", "mismatched mean and log-variance in the reparameterisation",
     lambda: vae.reparameterize(KEY, jnp.ones((2, 3)), jnp.ones((3, 3))),
     TypeError, "parameter 'logvar'"),
    ("vae", "data of the wrong width",
     lambda: vae.elbo(KEY, small_vae(), jnp.ones((3, 5))),
     ValueError, "x has 5 values per example"),
    ("vae", "zero latent size", lambda: vae.VAE(4, [8], 0, rngs=nnx.Rngs(0)), ValueError, "latent_dim=0"),
    ("rbm", "mesh that is not a mesh",
     lambda: rbm.cd_step(optax.sgd(0.1), persistent=True, mesh="cpu"), ValueError, "mesh='cpu'"),
    ("ebm", "mesh that is not a mesh",
     lambda: ebm.langevin_cd_step(optax.sgd(0.1), lambda k, n: jnp.zeros((n, 2)), langevin_steps=2,
                                  step_size=0.1, mesh="cpu"), ValueError, "mesh='cpu'"),
]
