"""Bad input, as a careless student passes it: every public module refuses at least five kinds with an
error that names the argument (and so no silent wrong answer), before any compiled code runs.

Each case is (module, what, call, exception type, a pattern the message must match); the pattern
always contains the argument's name.  Module-specific behaviour is tested in each module's own file.
"""

import pkgutil

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import helpers
from helpers import checks, notebook, results
from helpers.analysis import distances, metrics, pca
from helpers.core import cache, optim, parallel, rng, train, validate
from helpers.data import datasets, toy
from helpers.generative import ais, autoencoder, denoisers, diffusion, diffusion_sampling, ebm, gan, rbm, vae
from helpers.networks import conv, ffnn, layers, rnn
from helpers.physics import dynamics, ising, ising_data, ising_mc

KEY = jax.random.key(0)
X = jnp.ones((3, 4))
SCHEDULE = diffusion.linear_schedule(10)
RBM = rbm.init_params(KEY, 4, 3)
SPINS = jnp.ones((2, 4, 4), jnp.int8)


def energy(x):
    return jnp.sum(x**2, axis=1)


def eps_model(x, t):
    return jnp.zeros_like(x)


def small_vae():
    return vae.VAE(4, [8], 2, rngs=nnx.Rngs(0))


def mislabelled_generator():  # a generator whose stated latent size is not its network's
    g = gan.Generator(2, [4], 2, rngs=nnx.Rngs(0))
    g.latent_dim = 5
    return g


def null_step(carry, batch, key):
    return carry, {}


CASES = [
    # helpers.core.validate: the shared checks themselves
    ("validate", "integer seed as key",
     lambda: validate.key("key", 0),
     TypeError, r"key=0 is a number.*jax\.random\.key"),
    ("validate", "float seed as key", lambda: validate.key("key", 1.5), TypeError, "key=1.5"),
    ("validate", "array of keys",
     lambda: validate.key("key", jax.random.split(KEY, 3)),
     ValueError, r"key is an array of keys"),
    ("validate", "string as number", lambda: validate.positive_number(eta="0.1"), ValueError, "eta='0.1'"),
    ("validate", "bool as integer", lambda: validate.positive_int(n=True), ValueError, "n=True"),
    ("validate", "NaN fraction", lambda: validate.fraction(p=float("nan")), ValueError, "p=nan"),
    ("validate", "vector as number", lambda: validate.positive_number(s=np.ones(2)), ValueError, "s=array"),
    # helpers.generative.ais
    ("ais", "beta above 1", lambda: ais.tempered(RBM, jnp.zeros(4), 2.0), ValueError, "beta=2.0"),
    ("ais", "betas not ending at 1",
     lambda: ais.log_partition(KEY, RBM, jnp.linspace(0, 0.5, 5)),
     ValueError, "betas run from"),
    ("ais", "one run",
     lambda: ais.log_partition(KEY, RBM, ais.schedule(2, 2, 2), n_runs=1),
     ValueError, "n_runs=1"),
    ("ais", "base bias of wrong length",
     lambda: ais.log_partition(KEY, RBM, ais.schedule(2, 2, 2), base_bias=jnp.zeros(5)),
     ValueError, r"base_bias has shape \(5,\)"),
    ("ais", "seed as key", lambda: ais.log_partition(7, RBM, ais.schedule(2, 2, 2)), TypeError, "key=7"),
    ("ais", "zero steps", lambda: ais.schedule(0), ValueError, "n_low=0"),
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
     lambda: autoencoder.denoising_loss(None, X, KEY, 0.0),
     ValueError, "sigma=0.0"),
    # helpers.core.cache
    ("cache", "unserialisable params",
     lambda: cache.store("/tmp/x.npz", {"key": KEY}, a=np.ones(2)),
     TypeError, "params: .*not JSON serializable"),
    ("cache", "params not a dict", lambda: cache.load("/tmp/x.npz", [1, 2]), TypeError, r"params=\[1, 2\]"),
    ("cache", "not an .npz path",
     lambda: cache.store("/tmp/x.pkl", {}, a=np.ones(2)),
     ValueError, "path='/tmp/x.pkl'"),
    ("cache", "no arrays", lambda: cache.store("/tmp/x.npz", {}), ValueError, r"arrays \[\]"),
    ("cache", "reserved array name",
     lambda: cache.store("/tmp/x.npz", {}, _sha256=np.ones(2)),
     ValueError, "none named"),
    ("cache", "check not callable", lambda: cache.load("/tmp/x.npz", {}, check=3), TypeError, "check=3"),
    # helpers.data.datasets
    ("datasets", "0..255 images binarised",
     lambda: datasets.dynamic_binarize(KEY, jnp.full((2, 2), 255.0)),
     ValueError, r"images has values in \[255, 255\].*divide"),
    ("datasets", "seed as key", lambda: datasets.dynamic_binarize(0, jnp.full((2, 2), 0.5)), TypeError, "key=0"),
    ("datasets", "integer images",
     lambda: datasets.dynamic_binarize(KEY, jnp.ones((2, 2), jnp.int32)),
     ValueError, "images has dtype int32"),
    ("datasets", "0..255 images prepared",
     lambda: datasets.prepare_images(np.full((1, 28, 28), 255.0)),
     ValueError, "images has values"),
    ("datasets", "wrong image shape",
     lambda: datasets.prepare_images(np.zeros((1, 14, 14))),
     ValueError, r"images has shape \(1, 14, 14\)"),
    ("datasets", "unknown size",
     lambda: datasets.prepare_images(np.zeros((1, 28, 28)), size=7),
     ValueError, "size=7"),
    ("datasets", "unknown split", lambda: datasets.load_mnist("valid"), ValueError, "split='valid'"),
    ("datasets", "unknown binarisation", lambda: datasets.load_mnist(binarize="yes"),
     ValueError, "binarize='yes'"),
    # helpers.generative.denoisers
    ("denoisers", "zero width", lambda: denoisers.MLPDenoiser(2, 0, rngs=nnx.Rngs(0)), ValueError, "width=0"),
    ("denoisers", "odd embedding",
     lambda: denoisers.MLPDenoiser(2, emb_dim=7, rngs=nnx.Rngs(0)),
     ValueError, "emb_dim=7"),
    ("denoisers", "radius too large",
     lambda: denoisers.SpinDenoiser(4, SCHEDULE, radius=4, rngs=nnx.Rngs(0)),
     ValueError, "radius=4"),
    ("denoisers", "odd lattice",
     lambda: denoisers.SpinDenoiser(1, SCHEDULE, rngs=nnx.Rngs(0)),
     ValueError, "L=1"),
    ("denoisers", "schedule of the wrong type",
     lambda: denoisers.VPrediction(eps_model, SCHEDULE.betas),
     TypeError, "schedule"),
    ("denoisers", "network not callable",
     lambda: denoisers.VPrediction("net", SCHEDULE),
     TypeError, "net='net'"),
    # helpers.generative.diffusion
    ("diffusion", "t above T",
     lambda: diffusion.q_sample(SCHEDULE, X[:, :2], jnp.array([11, 1, 1]), X[:, :2]),
     ValueError, r"t has values in \[1, 11\]"),
    ("diffusion", "t of -1",
     lambda: diffusion.q_sample(SCHEDULE, X, jnp.array([-1, 1, 1]), X),
     ValueError, r"t has values in \[-1, 1\]"),
    ("diffusion", "float t",
     lambda: diffusion.q_sample(SCHEDULE, X, jnp.array([1.5, 1, 1]), X),
     ValueError, "t has dtype float32"),
    ("diffusion", "posterior at t = 0",
     lambda: diffusion.posterior(SCHEDULE, X, X, jnp.array([0, 1, 1])),
     ValueError, r"expected integers in \[1, 10\]"),
    ("diffusion", "denoising weight at t = 1",
     lambda: diffusion.denoising_weight(SCHEDULE, jnp.array([1])),
     ValueError, r"t has values in \[1, 1\]; expected integers in \[2, 10\]"),
    ("diffusion", "negative DDIM clip",
     lambda: diffusion_sampling.ddim_sample(KEY, eps_model, SCHEDULE, (3, 4), steps=5, clip=-1),
     ValueError, "clip=-1"),
    ("diffusion", "string eta",
     lambda: diffusion_sampling.ddim_sample(KEY, eps_model, SCHEDULE, (3, 4), steps=5, eta="0"),
     ValueError, "eta='0'"),
    ("diffusion", "steps not dividing T",
     lambda: diffusion_sampling.ddim_sample(KEY, eps_model, SCHEDULE, (3, 4), steps=3),
     ValueError, "steps=3"),
    ("diffusion", "denoiser of the wrong shape",
     lambda: diffusion_sampling.ddpm_sample(KEY, lambda x, t: x[:, :2], SCHEDULE, (3, 4)),
     ValueError, r"model returned shape \(3, 2\)"),
    ("diffusion", "seed as key",
     lambda: diffusion_sampling.ddpm_sample(0, eps_model, SCHEDULE, (3, 4)),
     TypeError, "key=0"),
    ("diffusion", "beta above 1",
     lambda: diffusion.linear_schedule(10, 1e-4, 2.0),
     ValueError, "beta_end=2.0"),
    ("diffusion", "T of 0", lambda: diffusion.cosine_schedule(0), ValueError, "T=0"),
    ("diffusion", "negative min-SNR gamma",
     lambda: diffusion.min_snr_weight(SCHEDULE, jnp.array([1]), -5.0),
     ValueError, "gamma=-5.0"),
    ("diffusion", "shape not a tuple",
     lambda: diffusion_sampling.ddpm_sample(KEY, eps_model, SCHEDULE, 5),
     ValueError, "shape=5"),
    # helpers.generative.ebm
    ("ebm", "zero Langevin steps in cd_step",
     lambda: ebm.cd_step(optax.sgd(0.1), None, langevin_steps=0, step_size=0.1),
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
    ("ebm", "samples of the wrong shape",
     lambda: ebm.buffer_update(jnp.zeros((3, 2)), jnp.array([1]), jnp.ones((1, 3))),
     ValueError, r"samples has shape \(1, 3\)"),
    ("ebm", "reinit fraction above 1",
     lambda: ebm.buffer_sample(KEY, jnp.zeros((3, 2)), 2, 1.5, None),
     ValueError, "reinit_fraction=1.5"),
    ("ebm", "negative regulariser",
     lambda: ebm.contrastive_divergence_loss(energy, X, X, -0.1),
     ValueError, "alpha=-0.1"),
    ("ebm", "seed as key", lambda: ebm.mala(0, energy, X, 0.1, 3), TypeError, "key=0"),
    ("ebm", "energy not callable", lambda: ebm.langevin(KEY, "E", X, 0.1, 3), TypeError, "energy_fn='E'"),
    # helpers.networks.ffnn
    ("ffnn", "label >= K",
     lambda: ffnn.cross_entropy(X, jnp.array([0, 1, 4])),
     ValueError, r"labels has values in \[0, 4\]"),
    ("ffnn", "labels shaped (n, 1)",
     lambda: ffnn.accuracy(jnp.eye(3), jnp.arange(3)[:, None]),
     ValueError, r"labels has shape \(3, 1\)"),
    ("ffnn", "float labels",
     lambda: ffnn.cross_entropy(X, jnp.zeros(3)),
     ValueError, "labels has dtype float32"),
    ("ffnn", "broadcasting MSE",
     lambda: ffnn.mse(jnp.ones((3, 1)), jnp.ones((3, 2))),
     ValueError, r"prediction \(3, 1\) and target \(3, 2\)"),
    ("ffnn", "unknown activation",
     lambda: ffnn.forward(ffnn.init_params(KEY, [4, 2]), X, "foo"),
     ValueError, "activation='foo'"),
    ("ffnn", "unknown cost",
     lambda: ffnn.cost(ffnn.init_params(KEY, [4, 2]), X, X[:, :2], kind="mae"),
     ValueError, "kind='mae'"),
    ("ffnn", "seed as key", lambda: ffnn.init_params(1, [4, 2]), TypeError, "key=1"),
    # helpers.physics.ising
    ("ising", "0/1 spins",
     lambda: ising.energy(jnp.zeros((2, 4, 4))),
     ValueError, r"spins has values \[0\.0\].*2 x - 1"),
    ("ising", "0/1 spins sampled",
     lambda: ising_mc.metropolis_sweeps(KEY, jnp.zeros((2, 4, 4)), 2.0, 1),
     ValueError, "spins has values"),
    ("ising", "non-square lattice",
     lambda: ising.magnetization(jnp.ones((2, 4, 3))),
     ValueError, r"spins has shape \(2, 4, 3\)"),
    ("ising", "negative temperature",
     lambda: ising_mc.run_chains(KEY, SPINS, -1.0, 2),
     ValueError, "temperatures=-1.0"),
    ("ising", "one temperature per chain",
     lambda: ising_mc.run_chains(KEY, SPINS, [2.0, 3.0, 4.0], 2),
     ValueError, r"temperatures has shape \(3,\)"),
    ("ising_mc", "seed as key", lambda: ising_mc.random_spins(0, 2, 4), TypeError, "key=0"),
    ("ising", "string threshold", lambda: ising.to_spins(X, "a"), ValueError, "threshold='a'"),
    ("ising", "enumerating too large a lattice", lambda: ising.enumerate_states(6), ValueError, "L=6"),
    # helpers.physics.ising_data
    ("ising_data", "short series",
     lambda: ising_data.integrated_autocorrelation_time(np.ones(1)),
     ValueError, r"series has shape \(1,\)"),
    ("ising_data", "NaN in series",
     lambda: ising_data.integrated_autocorrelation_time(np.full((8, 2), np.nan)),
     ValueError, "series has 16 NaN"),
    ("ising_data", "mismatched crossing data",
     lambda: ising_data.crossing_temperature([1, 2], [0.1]),
     ValueError, r"temperatures \(2,\) and values \(1,\)"),
    ("ising_data", "0/1 spins augmented",
     lambda: ising_data.symmetry_augment(KEY, jnp.zeros((2, 4, 4))),
     ValueError, "spins has values"),
    ("ising_data", "odd lattice",
     lambda: ising_data.sample_configurations(KEY, 5, [2.0], 4),
     ValueError, "L=5"),
    ("ising_data", "seed as key",
     lambda: ising_data.sample_configurations(0, 4, [2.0], 4),
     TypeError, "key=0"),
    ("ising_data", "negative seed",
     lambda: ising_data.phase_configurations(16, seed=-1),
     ValueError, "seed=-1"),
    # helpers.analysis.metrics
    ("metrics", "NaN scores",
     lambda: distances.auroc(jnp.array([jnp.nan, 1.0]), jnp.array([0.0, 0.5])),
     ValueError, "positive_scores has 1 NaN"),
    ("metrics", "non-PSD covariance",
     lambda: distances.gaussian_frechet_distance(np.zeros(2), -np.eye(2), np.zeros(2), np.eye(2)),
     ValueError, "cov1 has a negative eigenvalue"),
    ("metrics", "asymmetric covariance",
     lambda: distances.gaussian_frechet_distance(np.zeros(2), np.eye(2), np.zeros(2), np.triu(np.ones((2, 2)))
     ),
     ValueError, "cov2 is not symmetric"),
    ("metrics", "zero projections",
     lambda: distances.sliced_wasserstein(KEY, X, X, n_projections=0),
     ValueError, "n_projections=0"),
    ("metrics", "zero quantiles",
     lambda: distances.sliced_wasserstein(KEY, X, X, n_quantiles=0),
     ValueError, "n_quantiles=0"),
    ("metrics", "zero bandwidth", lambda: distances.mmd(X, X, 0.0), ValueError, "bandwidth=0.0"),
    ("metrics", "k = 0 neighbours", lambda: distances.precision_recall(X, X, k=0), ValueError, "k=0"),
    ("metrics", "NaN samples",
     lambda: distances.frechet_distance(X.at[0, 0].set(jnp.nan), X),
     ValueError, "x has 1 NaN"),
    ("metrics", "classifier size", lambda: metrics.digit_classifier(size=10), ValueError, "size=10"),
    # helpers.networks.layers
    ("layers", "unknown activation",
     lambda: layers.MLP([4, 2, 1], "foo", rngs=nnx.Rngs(0)),
     ValueError, "activation='foo'"),
    ("layers", "one layer size", lambda: layers.MLP([4], rngs=nnx.Rngs(0)), ValueError, r"sizes=\[4\]"),
    ("layers", "odd embedding", lambda: layers.time_embedding(jnp.arange(3), 5), ValueError, "dim=5"),
    ("layers", "zero period", lambda: layers.time_embedding(jnp.arange(3), 4, 0.0),
     ValueError, "max_period=0.0"),
    ("layers", "features of the wrong lattice",
     lambda: layers.periodic_neighbourhood(jnp.ones((2, 9, 1)), 4),
     ValueError, r"h has shape \(2, 9, 1\)"),
    ("layers", "model not callable", lambda: layers.as_module(3), ValueError, "model=3"),
    ("layers", "wrong input width",
     lambda: layers.MLP([4, 2], rngs=nnx.Rngs(0))(jnp.ones((2, 3))),
     ValueError, "expected 4"),
    # helpers.notebook
    ("notebook", "string seed", lambda: notebook.setup("a"), ValueError, "seed='a'"),
    ("notebook", "image rows of odd sizes",
     lambda: notebook.image_grid([np.ones(5)]),
     ValueError, r"rows\[0\] has shape \(5,\)"),
    ("notebook", "rows of different lengths",
     lambda: notebook.image_grid([np.ones((2, 4)), np.ones((1, 4))], size=2),
     ValueError, "rows hold"),
    ("notebook", "no rows", lambda: notebook.image_grid([]), ValueError, "rows is empty"),
    ("notebook", "size 0", lambda: notebook.image_grid([np.ones(4)], size=0), ValueError, "size=0"),
    ("notebook", "show a built-in", lambda: notebook.show(len), TypeError, "function=<built-in"),
    ("notebook", "a figure described by a path", lambda: notebook.figure(None, "fig3.png"), ValueError,
     "alt='fig3.png'"),
    # helpers.results
    ("results", "a check without a bound", lambda: results.Results("x").check("k", "q", 1.0), ValueError,
     "give at_least, at_most"),
    ("results", "within without a reference", lambda: results.Results("x").check("k", "q", 1.0, within=0.1),
     ValueError, "within=0.1 needs a reference"),
    ("results", "a value that is text", lambda: results.Results("x").check("k", "q", "high", at_least=0),
     TypeError, "value='high'"),
    ("results", "a bound that is text", lambda: results.Results("x").note("k", "q", 1.0, reference="Onsager"),
     TypeError, "reference='Onsager'"),
    ("results", "an unnamed record", lambda: results.Results(""), ValueError, "notebook=''"),
    ("results", "a figure nobody recorded", lambda: results.cite("01_feedforward_networks", "no_such_key"),
     KeyError, "key='no_such_key'"),
    # helpers.core.optim
    ("optim", "negative eps", lambda: optim.adam(0.1, eps=-1), ValueError, "eps=-1"),
    ("optim", "b1 of 1", lambda: optim.adam(0.1, b1=1.0), ValueError, "b1=1.0"),
    ("optim", "negative rate", lambda: optim.gradient_descent(-0.1), ValueError, "learning_rate=-0.1"),
    ("optim", "string rate", lambda: optim.momentum("fast"), ValueError, "learning_rate='fast'"),
    ("optim", "decay above 1", lambda: optim.rmsprop(0.1, decay=1.5), ValueError, "decay=1.5"),
    ("optim", "negative accumulator",
     lambda: optim.adagrad(0.1, initial_accumulator=-1),
     ValueError, "initial_accumulator=-1"),
    ("optim", "zero steps",
     lambda: optim.trajectory(optax.sgd(0.1), toy.rosenbrock, jnp.zeros(2), 0),
     ValueError, "n_steps=0"),
    ("optim", "not an optimiser",
     lambda: optim.trajectory("adam", toy.rosenbrock, jnp.zeros(2), 3),
     TypeError, "optimizer='adam'"),
    # helpers.core.parallel
    ("parallel", "a device name as mesh", lambda: parallel.check_mesh("cpu"), ValueError, "mesh='cpu'"),
    ("parallel", "a mesh without a data axis",
     lambda: parallel.check_mesh(jax.make_mesh((1,), ("x",))),
     ValueError, "with a 'data' axis"),
    ("parallel", "divides = 0", lambda: parallel.default_mesh(divides=0), ValueError, "divides=0"),
    ("parallel", "fractional divides", lambda: parallel.default_mesh(divides=2.5), ValueError, "divides=2.5"),
    ("parallel", "fit on a string mesh",
     lambda: train.fit(null_step, 0, jnp.ones((4, 2)), key=KEY, epochs=1, batch_size=2, mesh="all"),
     ValueError, "mesh='all'"),
    ("parallel", "chains on a number",
     lambda: ising_mc.run_chains(KEY, SPINS, 2.0, 1, mesh=4),
     ValueError, "mesh=4"),
    # helpers.analysis.pca
    ("pca", "k = 0", lambda: pca.fit(X, 0), ValueError, "k=0"),
    ("pca", "1-D data", lambda: pca.fit(jnp.ones(5), 1), ValueError, r"x has shape \(5,\)"),
    ("pca", "NaN data", lambda: pca.fit(X.at[0, 0].set(jnp.nan), 1), ValueError, "x has 1 NaN"),
    ("pca", "unknown method", lambda: pca.fit(X, 1, method="qr"), ValueError, "method='qr'"),
    ("pca", "projecting the wrong width",
     lambda: pca.project(pca.fit(X * jnp.arange(4.0), 2), jnp.ones((2, 3))),
     ValueError, r"x has shape \(2, 3\)"),
    ("pca", "seed as key", lambda: pca.randomized(0, X, 1), TypeError, "key has dtype int32"),  # inside jit
    ("pca", "negative power iterations",
     lambda: pca.randomized(KEY, X, 1, power_iterations=-1),
     ValueError, "power_iterations=-1"),
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
     ValueError, r"x has shape \(2, 5\)"),
    ("rbm", "hidden units of the wrong number",
     lambda: rbm.hidden_free_energy(RBM, jnp.ones((2, 5))),
     ValueError, r"h has shape \(2, 5\)"),
    ("rbm", "negative sigma",
     lambda: rbm.free_energy(RBM, jnp.ones((2, 4)), sigma=-1.0),
     ValueError, "sigma="),
    ("rbm", "params missing W",
     lambda: rbm.free_energy({"a": jnp.zeros(4)}, jnp.ones((2, 4))),
     ValueError, r"params is \['a'\]"),
    ("rbm", "seed as key", lambda: rbm.gibbs(5, RBM, jnp.ones((2, 4)), 1), TypeError, "key=5"),
    # helpers.core.rng
    ("rng", "probability above 1",
     lambda: rng.bernoulli(KEY, jnp.full(3, 2.0)),
     ValueError, r"p has values in \[2, 2\]"),
    ("rng", "NaN probability", lambda: rng.bernoulli(KEY, jnp.full(3, jnp.nan)), ValueError, "p has 3 NaN"),
    ("rng", "integer probabilities",
     lambda: rng.bernoulli(KEY, jnp.ones(3, jnp.int32)),
     ValueError, "p has dtype int32"),
    ("rng", "seed as key", lambda: rng.uniform_bits(0, (3,)), TypeError, "key=0"),
    ("rng", "negative size", lambda: rng.uniform_bits(KEY, (-1,)), ValueError, r"shape=\(-1,\)"),
    # helpers.data.toy
    ("toy", "Rosenbrock of one coordinate",
     lambda: toy.rosenbrock(jnp.array([1.0])),
     ValueError, r"theta has shape \(1,\)"),
    ("toy", "Franke on mismatched grids",
     lambda: toy.franke(jnp.ones(3), jnp.ones(2)),
     ValueError, r"x \(3,\) and y \(2,\)"),
    ("toy", "unknown distribution", lambda: toy.sample_toy(KEY, "spiral", 10), ValueError, "name='spiral'"),
    ("toy", "zero samples", lambda: toy.sample_toy(KEY, "two_moons", 0), ValueError, "n=0"),
    ("toy", "seed as key", lambda: toy.sample_toy(0, "two_moons", 10), TypeError, "key=0"),
    ("toy", "3-D points",
     lambda: toy.eight_gaussians_log_density(jnp.ones((4, 3))),
     ValueError, r"x has shape \(4, 3\)"),
    ("toy", "points in 3-D for the nearest centre",
     lambda: toy.nearest_centre(np.ones((4, 3))),
     ValueError, r"x has shape \(4, 3\); expected \(n, 2\)"),
    ("toy", "negative smoothing",
     lambda: toy.eight_gaussians_log_density(jnp.ones((4, 2)), -0.1),
     ValueError, "noise_std=-0.1"),
    # helpers.core.train
    ("train", "batch larger than the data",
     lambda: train.fit(null_step, 0, jnp.ones((3, 2)), key=KEY, epochs=1, batch_size=5),
     ValueError, "batch_size=5"),
    ("train", "batch size 0",
     lambda: train.fit(null_step, 0, jnp.ones((3, 2)), key=KEY, epochs=1, batch_size=0),
     ValueError, "batch_size=0"),
    ("train", "zero epochs",
     lambda: train.fit(null_step, 0, jnp.ones((3, 2)), key=KEY, epochs=0),
     ValueError, "epochs=0"),
    ("train", "seed as key",
     lambda: train.fit(null_step, 0, jnp.ones((3, 2)), key=0, epochs=1),
     TypeError, "key=0"),
    ("train", "unknown loop",
     lambda: train.fit(null_step, 0, jnp.ones((3, 2)), key=KEY, epochs=1, batch_size=1, loop="python"),
     ValueError, "loop='python'"),
    ("train", "arrays of different lengths",
     lambda: train.fit(null_step, 0, (jnp.ones(3), jnp.ones(4)), key=KEY, epochs=1, batch_size=1),
     ValueError, r"first axes \[3, 4\]"),
    ("train", "not an optimiser",
     lambda: train.gradient_step(lambda m, b, k: 0.0, "adam"),
     TypeError, "optimizer='adam'"),
    # helpers.generative.vae
    ("vae", "negative beta", lambda: vae.elbo(KEY, small_vae(), X, beta=-1), ValueError, "beta=-1"),
    ("vae", "0..255 data",
     lambda: vae.bernoulli_log_likelihood(jnp.full((2, 2), 255.0), jnp.zeros((2, 2))),
     ValueError, r"x has values in \[255, 255\]"),
    ("vae", "zero importance samples", lambda: vae.iwae_bound(KEY, small_vae(), X, 0), ValueError, "k=0"),
    ("vae", "seed as key", lambda: vae.iwae_bound(0, small_vae(), X, 5), TypeError, "key=0"),
    ("vae", "mismatched mean and log-variance",
     lambda: vae.gaussian_kl(jnp.ones((2, 3)), jnp.ones((2, 2))),
     ValueError, r"mu \(2, 3\) and logvar \(2, 2\)"),
    ("vae", "data of the wrong width",
     lambda: vae.elbo(KEY, small_vae(), jnp.ones((3, 5))),
     ValueError, "x has 5 values per example"),
    ("vae", "zero latent size", lambda: vae.VAE(4, [8], 0, rngs=nnx.Rngs(0)), ValueError, "latent_dim=0"),
    ("conv", "kernel larger than the image",
     lambda: conv.correlate2d_sum(jnp.ones((2, 2)), jnp.ones((3, 3))),
     ValueError, r"kernel of shape \(3, 3\)"),
    ("conv", "mismatched channels",
     lambda: conv.conv2d(jnp.ones((1, 8, 8, 3)), jnp.ones((3, 3, 2, 4))), ValueError, "x has 3 channels"),
    ("conv", "non-square kernel",
     lambda: conv.conv2d(jnp.ones((1, 8, 8, 2)), jnp.ones((3, 2, 2, 4))), ValueError, "kernel shape"),
    ("conv", "unknown padding",
     lambda: conv.conv2d(jnp.ones((1, 8, 8, 2)), jnp.ones((3, 3, 2, 4)), padding="same"),
     ValueError, "padding='same'"),
    ("conv", "valid kernel larger than the image",
     lambda: conv.conv2d(jnp.ones((1, 2, 2, 1)), jnp.ones((3, 3, 1, 1)), padding="valid"),
     ValueError, "kernel size 3"),
    ("conv", "odd image for pooling", lambda: conv.max_pool(jnp.ones((1, 7, 8, 1))), ValueError, "7 x 8"),
    ("conv", "images without a channel axis", lambda: conv.conv2d(jnp.ones((8, 8)), jnp.ones((3, 3, 1, 1))),
     ValueError, "x has shape"),
    ("conv", "patch larger than the image", lambda: conv.patches(jnp.ones((1, 2, 2, 1)), 3), ValueError,
     "size=3"),
    ("conv", "one channel entry",
     lambda: conv.LatticeCNN([1], rngs=nnx.Rngs(0)), ValueError, r"channels=\[1\]"),
    ("rnn", "sequences of length 0",
     lambda: rnn.unroll("gru", rnn.init_params(KEY, "gru", 2, 4), jnp.ones((3, 0, 2))),
     ValueError, "length 0"),
    ("rnn", "wrong feature count",
     lambda: rnn.unroll("gru", rnn.init_params(KEY, "gru", 2, 4), jnp.ones((3, 5, 3))),
     ValueError, "xs has 3 features"),
    ("rnn", "unknown cell", lambda: rnn.init_params(KEY, "rnn", 2, 4), ValueError, "kind='rnn'"),
    ("rnn", "zero width", lambda: rnn.init_params(KEY, "lstm", 2, 0), ValueError, "width=0"),
    ("rnn", "seed as key", lambda: rnn.init_params(0, "lstm", 2, 4), TypeError, "key=0"),
    ("rnn", "two sequences for the Jacobians",
     lambda: rnn.state_jacobian_norms("elman", rnn.init_params(KEY, "elman", 1, 4), jnp.ones((2, 5, 1))),
     ValueError, "one sequence"),
    ("dynamics", "non-positive step size",
     lambda: dynamics.integrate(dynamics.lorenz63, jnp.ones(3), 0.0, 10), ValueError, "dt=0.0"),
    ("dynamics", "zero steps",
     lambda: dynamics.lyapunov_exponent(dynamics.lorenz63, jnp.ones(3), 0.01, 0), ValueError, "steps=0"),
    ("dynamics", "flow not callable", lambda: dynamics.integrate(3, jnp.ones(3), 0.01, 10), TypeError, "f=3"),
    ("dynamics", "integer initial state",
     lambda: dynamics.integrate(dynamics.lorenz63, jnp.ones(3, jnp.int32), 0.01, 10), ValueError, "x0"),
    ("dynamics", "negative transient",
     lambda: dynamics.lyapunov_exponent(dynamics.lorenz63, jnp.ones(3), 0.01, 5, transient=-1),
     ValueError, "transient=-1"),
    ("dynamics", "mismatched forecast and truth",
     lambda: dynamics.normalised_error(jnp.ones((4, 3)), jnp.ones((5, 3)), 1.0),
     ValueError, r"prediction \(4, 3\)"),
    ("dynamics", "negative threshold",
     lambda: dynamics.valid_prediction_time(jnp.ones(4), 0.02, -0.4), ValueError, "threshold=-0.4"),
    ("gan", "generator's samples not the data's shape",
     lambda: gan.init(gan.Generator(2, [4], 3, rngs=nnx.Rngs(0)), gan.Discriminator(3, [4], rngs=nnx.Rngs(0)),
                      optax.sgd(0.1), optax.sgd(0.1), (2,)),
     ValueError, r"expected data_shape \(2,\)"),
    ("gan", "mismatched latent size",
     lambda: gan.init(mislabelled_generator(), gan.Discriminator(2, [4], rngs=nnx.Rngs(0)),
                      optax.sgd(0.1), optax.sgd(0.1), (2,)),
     ValueError, r"generator does not accept latent noise \(n, 5\)"),
    ("gan", "discriminator of the wrong width",
     lambda: gan.init(gan.Generator(2, [4], 2, rngs=nnx.Rngs(0)), gan.Discriminator(3, [4], rngs=nnx.Rngs(0)),
                      optax.sgd(0.1), optax.sgd(0.1), (2,)),
     ValueError, "discriminator does not accept samples"),
    ("gan", "negative penalty weight",
     lambda: gan.alternating_step(optax.sgd(0.1), optax.sgd(0.1), "wasserstein", penalty=-1.0),
     ValueError, "penalty=-1.0"),
    ("gan", "zero discriminator steps",
     lambda: gan.alternating_step(optax.sgd(0.1), optax.sgd(0.1), d_steps=0), ValueError, "d_steps=0"),
    ("gan", "unknown loss",
     lambda: gan.alternating_step(optax.sgd(0.1), optax.sgd(0.1), "hinge"), ValueError, "loss='hinge'"),
    ("gan", "unknown output", lambda: gan.Generator(2, [4], 2, "sigmoid", rngs=nnx.Rngs(0)), ValueError,
     "output='sigmoid'"),
    ("gan", "centres of the wrong dimension",
     lambda: gan.mode_coverage(jnp.ones((5, 2)), jnp.ones((8, 3)), 0.1),
     ValueError, r"centres has shape \(8, 3\)"),
    ("gan", "interpolation weights of the wrong length",
     lambda: gan.gradient_penalty(lambda x: x[:, 0], jnp.ones((4, 2)), jnp.ones((4, 2)), jnp.ones(3)),
     ValueError, r"eps has shape \(3,\)"),
    ("gan", "densities on different grids",
     lambda: gan.js_divergence(jnp.ones(5), jnp.ones(6), 0.1), ValueError, "p"),
    ("metrics", "W1 between sets of different sizes",
     lambda: distances.wasserstein_1d(jnp.ones(5), jnp.ones(6)), ValueError, r"y has shape \(6,\)"),
    # A check refuses a student "function" that is not callable before running anything.
    ("checks", "backprop given a number", lambda: checks.backprop(3), TypeError, "student=3"),
    ("checks", "KL given a string", lambda: checks.gaussian_kl("kl"), TypeError, "student='kl'"),
    ("checks", "CD-1 given an array", lambda: checks.cd1_gradient(np.ones(3)), TypeError, "student=array"),
    ("checks", "softplus derivative missing", lambda: checks.softplus(jnp.exp, None), TypeError,
     "sigma_prime=None"),
    ("checks", "DDIM step given None", lambda: checks.ddim_step(None), TypeError, "student=None"),
    # helpers.generative.diffusion and helpers.generative.diffusion_sampling, called directly
    ("diffusion", "integer images for the loss",
     lambda: diffusion.simple_loss(KEY, eps_model, SCHEDULE, jnp.ones((3, 4), jnp.int32)),
     ValueError, "x0 has dtype int32"),
    ("diffusion", "schedule as a tuple",
     lambda: diffusion.prior_kl((1, 2), X), TypeError, "schedule is a tuple"),
    ("diffusion", "noise of another shape",
     lambda: diffusion.q_sample(SCHEDULE, X, jnp.array([1, 1, 1]), X[:, :2]),
     ValueError, r"eps has shape \(3, 2\)"),
    ("diffusion", "betas as a matrix",
     lambda: diffusion.schedule_from_betas(np.full((2, 2), 0.1)),
     ValueError, r"betas has shape \(2, 2\)"),
    ("diffusion", "one time step for three examples",
     lambda: diffusion.predict_x0(SCHEDULE, X, jnp.array([1]), X),
     ValueError, r"t has shape \(1,\)"),
    ("diffusion", "negative cosine offset",
     lambda: diffusion.cosine_schedule(10, s=-0.1), ValueError, "s=-0.1"),
    ("diffusion_sampling", "DDIM step that does not go back in time",
     lambda: diffusion_sampling.ddim_step(KEY, eps_model, SCHEDULE, X, 3, 3), ValueError, "t_prev=3"),
    ("diffusion_sampling", "ancestral step from t = 0",
     lambda: diffusion_sampling.ddpm_step(KEY, eps_model, SCHEDULE, X, jnp.array([0, 1, 1])),
     ValueError, r"t has values in \[0, 1\]; expected integers in \[1, 10\]"),
    ("diffusion_sampling", "a number as the model",
     lambda: diffusion_sampling.ddpm_sample(KEY, 3, SCHEDULE, (3, 4)), TypeError, "model=3"),
    ("diffusion_sampling", "zero DDIM steps",
     lambda: diffusion_sampling.ddim_sample(KEY, eps_model, SCHEDULE, (3, 4), steps=0),
     ValueError, "steps=0"),
    ("diffusion_sampling", "no data shape",
     lambda: diffusion_sampling.ddpm_sample(KEY, eps_model, SCHEDULE, (3,)), ValueError, r"shape=\(3,\)"),
    ("diffusion_sampling", "negative eta in one step",
     lambda: diffusion_sampling.ddim_step(KEY, eps_model, SCHEDULE, X, 3, 1, eta=-1.0),
     ValueError, "eta=-1.0"),
    # helpers.analysis.distances, called directly
    ("distances", "sets of different dimension",
     lambda: distances.frechet_distance(jnp.zeros((5, 2)), jnp.zeros((5, 3))),
     ValueError, r"x \(5, 2\) and y"),
    ("distances", "a single sample",
     lambda: distances.mmd(jnp.zeros((1, 2)), jnp.zeros((5, 2)), 1.0), ValueError, r"x \(1, 2\).*at least 2"),
    ("distances", "2-D samples for the 1-D distance",
     lambda: distances.wasserstein_1d(jnp.ones((5, 2)), jnp.ones(5)), ValueError, r"x has shape \(5, 2\)"),
    ("distances", "NaN among the scores",
     lambda: distances.auroc(jnp.array([1.0]), jnp.array([jnp.nan])),
     ValueError, "negative_scores has 1 NaN"),
    ("distances", "k as large as the sets",
     lambda: distances.precision_recall(X, X, k=3), ValueError, "k=3"),
    ("distances", "covariance of the wrong size",
     lambda: distances.gaussian_frechet_distance(np.zeros(2), np.eye(3), np.zeros(2), np.eye(2)),
     ValueError, r"cov1 \(3, 3\)"),
    # helpers.analysis.metrics: the loss and the record of generated digits
    ("metrics", "label beyond the classes",
     lambda: metrics.classification_loss(X, jnp.array([0, 1, 4])),
     ValueError, r"labels has values in \[0, 4\]"),
    ("metrics", "one image as a vector for the class shares",
     lambda: metrics.class_shares(lambda x: x, jnp.ones(4)), ValueError, r"x has shape \(4,\)"),
    ("metrics", "fewer held-out digits than samples",
     lambda: metrics.digit_quality(KEY, layers.MLP([4, 3, 2], rngs=nnx.Rngs(0)), X, X, X[:2]),
     ValueError, r"held_out has shape \(2, 4\); expected \(3, 4\)"),
    ("metrics", "a classifier without features",
     lambda: metrics.digit_quality(KEY, lambda x: x, X, X, X), TypeError, "classifier="),
    ("metrics", "confidence above 1",
     lambda: metrics.digit_quality(KEY, layers.MLP([4, 3, 2], rngs=nnx.Rngs(0)), X, X, X, confidence=1.5),
     ValueError, "confidence=1.5"),
    # helpers.physics.ising_data: generated configurations against Monte Carlo
    ("ising_data", "Monte Carlo lattices of another size",
     lambda: ising_data.compare_with_monte_carlo(SPINS, jnp.ones((2, 6, 6), jnp.int8)),
     ValueError, r"monte_carlo has shape \(2, 6, 6\); expected \(n, 4, 4\)"),
    ("ising_data", "binary units as generated spins",
     lambda: ising_data.compare_with_monte_carlo(jnp.zeros((2, 4, 4)), SPINS),
     ValueError, "generated has values"),
    # helpers.data.toy, helpers.generative.rbm, helpers.generative.ebm: centres of any mixture, chains
    # over a mesh
    ("toy", "centres as one vector",
     lambda: toy.nearest_centre(np.ones((4, 2)), np.ones(3)), ValueError, r"centres has shape \(3,\)"),
    ("rbm", "mesh that is not a mesh",
     lambda: rbm.cd_step(optax.sgd(0.1), persistent=True, mesh="cpu"), ValueError, "mesh='cpu'"),
    ("ebm", "mesh that is not a mesh",
     lambda: ebm.cd_step(optax.sgd(0.1), lambda k, n: jnp.zeros((n, 2)), langevin_steps=2, step_size=0.1,
                         mesh="cpu"), ValueError, "mesh='cpu'"),
]


@pytest.mark.parametrize(("module", "what", "call", "error", "pattern"), CASES,
                         ids=[f"{c[0]}: {c[1]}" for c in CASES])
def test_bad_input_is_refused_with_a_clear_message(module, what, call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


def test_every_public_module_has_at_least_five_cases():
    counts = {}
    for module, *_ in CASES:
        counts[module] = counts.get(module, 0) + 1
    modules = {  # every module of every subpackage: a new module needs cases too
        info.name.rsplit(".", 1)[-1] for info in pkgutil.walk_packages(helpers.__path__, "helpers.")
        if not info.ispkg and not info.name.rsplit(".", 1)[-1].startswith("_")
    }
    assert len(modules) >= 28
    assert {m: counts.get(m, 0) for m in modules if counts.get(m, 0) < 5} == {}


# ---------------------------------------------------------------------------------------------
# Values that must be accepted: what a user reasonably passes
# ---------------------------------------------------------------------------------------------
def test_reasonable_values_are_accepted():
    legacy = jax.random.PRNGKey(0)  # raw uint32 keys still work
    assert toy.sample_toy(legacy, "two_moons", 4).shape == (4, 2)
    assert toy.sample_toy(KEY, "two_moons", np.int64(4)).shape == (4, 2)  # NumPy integers
    assert ebm.langevin(KEY, energy, X, np.float32(0.1), np.int32(2)).shape == X.shape
    assert ebm.langevin(KEY, energy, X, jnp.asarray(0.1), 2).shape == X.shape  # a 0-d array
    optim.adam(jnp.asarray(1e-3))
    assert ising.energy(jnp.ones((4, 4), jnp.float32)) == -32.0  # float +-1 spins are spins too


def test_checks_inside_jit_use_shapes_only():
    # Inside a compiled function the values are unknown: shape checks still run, value checks wait.
    @jax.jit
    def weights(t):
        return diffusion.denoising_weight(SCHEDULE, t)

    assert weights(jnp.array([2, 10])).shape == (2,)
    with pytest.raises(ValueError, match="t has dtype float32; expected integer"):
        jax.jit(lambda t: diffusion.denoising_weight(SCHEDULE, t))(jnp.array([2.0]))


# ---------------------------------------------------------------------------------------------
# langevin's keep_every: the final state is after all n_steps, the path after steps j, 2j, ...
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("keep_every", [1, 2, 3, 5, 7])
def test_langevin_keep_every_runs_all_steps(keep_every):
    n_steps, x0 = 5, jnp.ones((3, 2))
    keys = jax.random.split(KEY, n_steps)  # langevin's own keys, one per step
    states, x = [], x0
    for k in keys:  # the chain step by step
        x = ebm.langevin_step(k, energy, x, 0.1)
        states.append(x)
    final, path = ebm.langevin(KEY, energy, x0, 0.1, n_steps, keep_every=keep_every)
    np.testing.assert_allclose(final, states[-1], rtol=1e-5, atol=1e-6)  # after all five steps
    assert path.shape == (n_steps // keep_every, 3, 2)
    for i in range(path.shape[0]):  # entry i: the state after (i + 1) * keep_every steps
        np.testing.assert_allclose(path[i], states[(i + 1) * keep_every - 1], rtol=1e-5, atol=1e-6)
