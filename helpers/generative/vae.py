r"""Variational autoencoders: Gaussian encoder, Bernoulli or Gaussian decoder, ELBO, IWAE bound.

Notation (the lecture's): data :math:`\mathbf{x}` (``(n, d)``; images are flattened), latent
:math:`\mathbf{h}` (``(n, m)``), encoder :math:`q_\phi(\mathbf{h}|\mathbf{x}) =
\mathcal{N}(\boldsymbol{\mu}_\phi(\mathbf{x}), \mathrm{diag}\,\boldsymbol{\sigma}^2_\phi(\mathbf{x}))`,
decoder :math:`p_\theta(\mathbf{x}|\mathbf{h})`, prior :math:`p(\mathbf{h}) = \mathcal{N}(0, I)`.

A model is any NNX module with ``encode(x) -> (mu, logvar)`` and
``log_likelihood(x, h) -> (n,)`` (the decoder's :math:`\log p_\theta(\mathbf{x}|\mathbf{h})`);
:class:`VAE` (MLPs) and :class:`LinearGaussianVAE` (probabilistic PCA) both are.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import partial

import jax
import jax.numpy as jnp
from flax import nnx
from jaxtyping import Float, Real

from helpers.core import parallel, validate
from helpers.core.validate import AnyArray, positive_int, shaped
from helpers.data import datasets
from helpers.networks import layers

LOG_2PI = math.log(2.0 * math.pi)


@shaped
def reparameterize(key, mu: Float[AnyArray, "*batch m"], logvar: Float[AnyArray, "*batch m"]) -> jax.Array:
    r"""The reparameterisation trick:

    .. math:: \mathbf{h} = \boldsymbol{\mu} + \boldsymbol{\sigma} \odot \boldsymbol{\epsilon},
              \quad \boldsymbol{\epsilon} \sim \mathcal{N}(0, I),
              \quad \boldsymbol{\sigma} = e^{\log\boldsymbol{\sigma}^2/2}.

    ``mu``, ``logvar`` ``(..., m)`` -> ``h`` of the same shape; differentiable in ``mu`` and ``logvar``.
    """
    validate.key("key", key)
    return mu + jnp.exp(0.5 * logvar) * jax.random.normal(key, mu.shape, mu.dtype)


@shaped
def gaussian_kl(mu: Float[AnyArray, "*batch m"], logvar: Float[AnyArray, "*batch m"]) -> jax.Array:
    r"""The prior-matching term in closed form:

    .. math:: D_{KL}\left(\mathcal{N}(\boldsymbol{\mu}, \mathrm{diag}\,\boldsymbol{\sigma}^2)
              \,\|\,\mathcal{N}(0, I)\right)
              = \tfrac12 \sum_j \left(\mu_j^2 + \sigma_j^2 - \log\sigma_j^2 - 1\right).

    ``mu``, ``logvar`` ``(n, m)`` -> ``(n,)`` nats.
    """
    return 0.5 * jnp.sum(mu**2 + jnp.exp(logvar) - logvar - 1.0, axis=-1)


@shaped
def gaussian_log_density(x: Real[AnyArray, "*batch d"], mean: Real[AnyArray, "*mean_shape"] | float,
                         logvar: Real[AnyArray, "*logvar_shape"] | float) -> jax.Array:
    r"""Diagonal Gaussian log-density, summed over the last axis:

    .. math:: \log\mathcal{N}(\mathbf{x}; \boldsymbol{\mu}, \mathrm{diag}\,\boldsymbol{\sigma}^2)
              = -\tfrac12\sum_j\left[\log 2\pi + \log\sigma_j^2 + (x_j - \mu_j)^2/\sigma_j^2\right].
    """
    return -0.5 * jnp.sum(LOG_2PI + logvar + (x - mean) ** 2 * jnp.exp(-logvar), axis=-1)


@shaped
def bernoulli_log_likelihood(x: Real[AnyArray, "*#batch d"], logits: Float[AnyArray, "*#batch d"]):
    r"""Bernoulli log-likelihood from logits :math:`\ell_i`, :math:`\pi_i = \mathrm{sigmoid}(\ell_i)`:

    .. math:: \log p(\mathbf{x}|\mathbf{h}) = \sum_i \left[x_i \log\pi_i + (1 - x_i)\log(1 - \pi_i)\right]
              = \sum_i \left[x_i\ell_i - \mathrm{softplus}(\ell_i)\right],

    the second form being the numerically stable one.

    ``x`` ``(..., d)`` in {0, 1} (or [0, 1]), ``logits`` broadcastable to it -> ``(...)``.
    """
    x = validate.unit_interval("x", x, "binary values or probabilities in [0, 1] (divide 0..255 by 255)")
    return jnp.sum(x * logits - jax.nn.softplus(logits), axis=-1)


class VAE(nnx.Module):
    r"""MLP encoder and decoder with GELU hidden layers.

    ``VAE(data_dim, hidden, latent_dim)``: the encoder is data_dim -> hidden... -> 2 latent_dim
    (:math:`\boldsymbol{\mu}` and :math:`\log\boldsymbol{\sigma}^2`), the decoder latent_dim ->
    reversed(hidden)... -> data_dim Bernoulli logits, for binary (or binarised) data.
    """

    def __init__(self, data_dim: int, hidden: Sequence[int], latent_dim: int, *, rngs: nnx.Rngs):
        positive_int(data_dim=data_dim, latent_dim=latent_dim)
        hidden = list(validate.layer_sizes("hidden", hidden, at_least=0, what="hidden widths"))
        self.data_dim, self.latent_dim = data_dim, latent_dim
        # jax.nn.gelu is the tanh approximation of GELU (the benchmark's figures were measured with it)
        self.encoder = layers.MLP([data_dim, *hidden, 2 * latent_dim], jax.nn.gelu, rngs=rngs)
        self.decoder = layers.MLP([latent_dim, *hidden[::-1], data_dim], jax.nn.gelu, rngs=rngs)

    def encode(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        """``x (n, data_dim)`` -> ``mu, logvar`` each ``(n, latent_dim)``."""
        out = self.encoder(_flat(x, self.data_dim))
        return out[..., : self.latent_dim], out[..., self.latent_dim :]

    def decode(self, h: jax.Array) -> jax.Array:
        """``h (..., latent_dim)`` -> Bernoulli logits ``(..., data_dim)``."""
        return self.decoder(h)

    def log_likelihood(self, x: jax.Array, h: jax.Array) -> jax.Array:
        r""":math:`\log p_\theta(\mathbf{x}|\mathbf{h})`, Bernoulli.

        ``x (n, d)``, ``h (..., n, m)`` -> ``(..., n)``.
        """
        return bernoulli_log_likelihood(_flat(x, self.data_dim), self.decode(h))


class LinearGaussianVAE(nnx.Module):
    r"""Probabilistic PCA as a VAE: everything linear-Gaussian, so :math:`\log p(\mathbf{x})` is exact.

    Decoder :math:`p(\mathbf{x}|\mathbf{h}) = \mathcal{N}(W\mathbf{h} + \mathbf{b}, \sigma^2 I)`, so
    :math:`p(\mathbf{x}) = \mathcal{N}(\mathbf{b}, WW^T + \sigma^2 I)`; encoder
    :math:`q(\mathbf{h}|\mathbf{x}) = \mathcal{N}(V\mathbf{x} + \mathbf{c}, \mathrm{diag}\,e^{\mathbf{s}})`
    with an input-independent variance, which is the form of the true posterior.
    ``W`` is ``(d, m)``.
    """

    def __init__(self, data_dim: int, latent_dim: int, *, rngs: nnx.Rngs):
        positive_int(data_dim=data_dim, latent_dim=latent_dim)
        self.data_dim, self.latent_dim = data_dim, latent_dim
        self.encoder_mean = nnx.Linear(data_dim, latent_dim, rngs=rngs)
        self.encoder_logvar = nnx.Param(jnp.zeros(latent_dim))
        self.decoder = nnx.Linear(latent_dim, data_dim, rngs=rngs)
        self.noise_logvar = nnx.Param(jnp.zeros(()))

    def encode(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        mu = self.encoder_mean(_flat(x, self.data_dim))
        return mu, jnp.broadcast_to(self.encoder_logvar[...], mu.shape)

    def log_likelihood(self, x: jax.Array, h: jax.Array) -> jax.Array:
        r""":math:`\log\mathcal{N}(\mathbf{x}; W\mathbf{h} + \mathbf{b}, \sigma^2 I)`.

        ``x (n, d)``, ``h (..., n, m)`` -> ``(..., n)``.
        """
        return gaussian_log_density(_flat(x, self.data_dim), self.decoder(h), self.noise_logvar[...])

    def posterior(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        r"""The exact posterior (Tipping and Bishop 1999),

        .. math:: p(\mathbf{h}|\mathbf{x}) = \mathcal{N}\left(M^{-1}W^T(\mathbf{x} - \mathbf{b}),
                  \ \sigma^2M^{-1}\right), \qquad M = W^TW + \sigma^2 I.

        ``x (n, d)`` -> mean ``(n, m)`` and covariance ``(m, m)`` (the same for every x).
        """
        x = _flat(x, self.data_dim)
        W, b = self.decoder.kernel[...].T, self.decoder.bias[...]
        noise = jnp.exp(self.noise_logvar[...])
        M = W.T @ W + noise * jnp.eye(self.latent_dim)
        return jnp.linalg.solve(M, W.T @ (x - b).T).T, noise * jnp.linalg.inv(M)

    def exact_log_likelihood(self, x: jax.Array) -> jax.Array:
        r"""Exact :math:`\log p(\mathbf{x}) = \log\mathcal{N}(\mathbf{x}; \mathbf{b}, WW^T + \sigma^2 I)`.

        ``x (n, d)`` -> ``(n,)``, through a Cholesky factor of C.
        """
        x = _flat(x, self.data_dim)
        W, b = self.decoder.kernel[...].T, self.decoder.bias[...]
        C = W @ W.T + jnp.exp(self.noise_logvar[...]) * jnp.eye(self.data_dim)
        chol = jnp.linalg.cholesky(C)
        z = jax.scipy.linalg.solve_triangular(chol, (x - b).T, lower=True)
        log_det = 2.0 * jnp.sum(jnp.log(jnp.diag(chol)))
        return -0.5 * (self.data_dim * LOG_2PI + log_det + jnp.sum(z**2, axis=0))


@shaped
def _flat(x: Real[AnyArray, "n ..."], data_dim) -> Real[AnyArray, "n d"]:
    x = x.reshape(x.shape[0], -1)
    if x.shape[1] != data_dim:
        raise ValueError(f"x has {x.shape[1]} values per example (shape {x.shape}); expected {data_dim}")
    return x


@shaped
def elbo(key, model, x: Real[AnyArray, "n ..."], beta=1.0) -> tuple[jax.Array, jax.Array, jax.Array]:
    r"""The evidence lower bound, one reparameterised sample per example:

    .. math:: \mathcal{L}(\mathbf{x}) = \underbrace{\mathbb{E}_{q_\phi(\mathbf{h}|\mathbf{x})}
              \log p_\theta(\mathbf{x}|\mathbf{h})}_{\text{reconstruction}}
              - \beta\,\underbrace{D_{KL}(q_\phi(\mathbf{h}|\mathbf{x})\,\|\,p(\mathbf{h}))}_{\text{prior
              matching}}
              \le \log p_\theta(\mathbf{x}) \quad (\beta = 1).

    The reconstruction term is a Monte Carlo estimate with :func:`reparameterize`, the KL term is
    :func:`gaussian_kl`.  ``x (n, d)`` -> ``(elbo, reconstruction, kl)``, each ``(n,)``;
    ``beta`` weights the KL (a :math:`\beta`-VAE when :math:`\beta \ne 1`).
    """
    validate.nonnegative_number(beta=beta)
    mu, logvar = model.encode(x)
    reconstruction = model.log_likelihood(x, reparameterize(key, mu, logvar))
    kl = gaussian_kl(mu, logvar)
    return reconstruction - beta * kl, reconstruction, kl


@shaped
def negative_elbo(model, batch: Real[AnyArray, "n ..."], key, beta=1.0,
                  binarize=False) -> Float[AnyArray, ""]:
    r"""The VAE's training loss for :func:`helpers.core.train.gradient_step`: :math:`-\frac1B\sum_b
    \mathcal{L}(\mathbf{x}_b)`, the batch mean of minus :func:`elbo`.

    With ``binarize`` the batch holds grey levels (uint8 0..255, or floats in [0, 1]) and each step
    draws a fresh binary image :math:`x_i \sim \mathrm{Bernoulli}(\text{grey}_i)` (dynamic
    binarisation), so the model never sees the same binary image twice.
    """
    validate.nonnegative_number(beta=beta)
    k_bin, k_h = jax.random.split(key)
    if binarize:
        grey = batch.astype(jnp.float32) / 255.0 if batch.dtype == jnp.uint8 else batch
        batch = datasets.dynamic_binarize(k_bin, grey)
    return -jnp.mean(elbo(k_h, model, batch, beta)[0])


@partial(jax.jit, static_argnames=("k", "chunk"))
@shaped
def log_importance_weights(key, model, x: Real[AnyArray, "n ..."], k, chunk=100) -> jax.Array:
    r"""Log importance weights :math:`\log w_i = \log p_\theta(\mathbf{x}|\mathbf{h}_i) + \log p(\mathbf{h}_i)
    - \log q_\phi(\mathbf{h}_i|\mathbf{x})`, :math:`\mathbf{h}_i \sim q_\phi(\cdot|\mathbf{x})`, i = 1..k.

    ``x (n, d)`` -> ``(n, k)``.  The k samples are drawn ``chunk`` at a time (a ``lax.map`` over
    chunks), so memory grows with ``n * chunk``, not ``n * k``.
    """
    validate.key("key", key)
    positive_int(k=k, chunk=chunk)
    chunk = min(chunk, k)
    n_chunks = -(-k // chunk)
    mu, logvar = model.encode(x)

    def one_chunk(key):
        shape = (chunk, *mu.shape)
        h = reparameterize(key, jnp.broadcast_to(mu, shape), jnp.broadcast_to(logvar, shape))
        log_prior = gaussian_log_density(h, 0.0, jnp.zeros(()))
        return model.log_likelihood(x, h) + log_prior - gaussian_log_density(h, mu, logvar)  # (chunk, n)

    weights = jax.lax.map(one_chunk, jax.random.split(key, n_chunks))  # (n_chunks, chunk, n)
    return weights.reshape(n_chunks * chunk, -1).T[:, :k]


@shaped
def iwae_bound(key, model, x: Real[AnyArray, "n d ..."], k, chunk=100,
               mesh=None) -> Float[AnyArray, " n"]:
    r"""The importance-weighted bound (Burda, Grosse and Salakhutdinov 2016):

    .. math:: \mathcal{L}_k(\mathbf{x}) = \mathbb{E}\left[\log \frac1k \sum_{i=1}^k w_i\right]
              \le \log p_\theta(\mathbf{x}),

    estimated with one set of k samples.  :math:`\mathcal{L}_1` is the ELBO,
    :math:`\mathcal{L}_k` is non-decreasing in k and tends to :math:`\log p_\theta(\mathbf{x})`.
    ``x (n, d)`` -> ``(n,)`` nats; ``-iwae_bound`` at large k is the usual NLL estimate.  With a
    ``mesh`` (:mod:`helpers.core.parallel`) the n examples, and their k samples each, are split over
    its devices.
    """
    validate.key("key", key)  # before the jitted call, so a seed gets the clear message
    x, model = parallel.shard(x, mesh), parallel.replicate(model, mesh)
    log_w = log_importance_weights(key, model, x, k, chunk)
    return jax.scipy.special.logsumexp(log_w, axis=1) - math.log(k)


@shaped
def active_units(model, x: Real[AnyArray, "n ..."], threshold=0.01) -> Float[AnyArray, " m"]:
    r"""Latent dimensions in use (Burda et al. 2016): unit u is active when

    .. math:: A_u = \mathrm{Var}_\mathbf{x}\left(\mathbb{E}_{q(h_u|\mathbf{x})}[h_u]\right) > 0.01.

    A collapsed unit has the same posterior mean for every input, so it carries no information
    about x.  Returns the per-unit variances ``(m,)``; count with ``(variances > threshold).sum()``.
    """
    validate.nonnegative_number(threshold=threshold)
    mu, _ = model.encode(x)
    return jnp.var(mu, axis=0)
