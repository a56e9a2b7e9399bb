r"""Deterministic autoencoders: an encoder :math:`\mathbf{h} = f_\phi(\mathbf{x})` to a code of k numbers,
a decoder :math:`\hat{\mathbf{x}} = g_\theta(\mathbf{h})`, trained on the squared reconstruction error,
and the denoising variant with its link to the score.

Shapes: data ``(n, d)`` (image batches ``(n, h, w)`` are flattened), codes ``(n, k)``.  The losses
follow the loss contract of :func:`helpers.core.train.gradient_step`, ``loss(model, batch, key)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
from flax import nnx
from jaxtyping import Float, Real

from helpers.core import validate
from helpers.core.validate import AnyArray, positive_int, positive_number, shaped
from helpers.networks import layers


class Autoencoder(nnx.Module):
    r"""Encoder MLP ``d -> hidden... -> k`` and the mirrored decoder ``k -> ...hidden -> d``.

    With ``hidden=()`` both maps are affine, :math:`\mathbf{h} = V\mathbf{x} + \mathbf{c}`,
    :math:`\hat{\mathbf{x}} = W\mathbf{h} + \mathbf{b}`: the linear autoencoder, whose optimum spans
    PCA's top-k subspace (Baldi and Hornik 1989).  ``output="sigmoid"`` squashes the decoder's output
    into (0, 1), for grey levels; ``"linear"`` leaves it unbounded.
    """

    def __init__(self, data_dim: int, hidden: Sequence[int], code_dim: int, *, activation: str = "relu",
                 output: str = "linear", rngs: nnx.Rngs):
        positive_int(data_dim=data_dim, code_dim=code_dim)
        validate.choice("output", output, ("linear", "sigmoid"))
        hidden = list(validate.layer_sizes("hidden", hidden, at_least=0, what="hidden widths"))
        self.data_dim, self.code_dim, self.output = data_dim, code_dim, output
        self.encoder = layers.MLP([data_dim, *hidden, code_dim], activation, rngs=rngs)
        self.decoder = layers.MLP([code_dim, *hidden[::-1], data_dim], activation, rngs=rngs)

    def encode(self, x: jax.Array) -> jax.Array:
        """Codes ``(n, k)`` of data ``(n, d)`` or images ``(n, h, w)``."""
        return self.encoder(x)

    def decode(self, h: jax.Array) -> jax.Array:
        """Reconstructions ``(n, d)`` of codes ``(n, k)``."""
        out = self.decoder(h)
        return jax.nn.sigmoid(out) if self.output == "sigmoid" else out

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.decode(self.encode(x))


@shaped
def squared_error(model, x: Real[AnyArray, "n d ..."]) -> Float[AnyArray, " n"]:
    r"""Per-example squared reconstruction error :math:`\|\mathbf{x} - g(f(\mathbf{x}))\|^2`, summed over
    the d features: ``(n, d)`` or ``(n, h, w)`` -> ``(n,)``."""
    x = x.reshape(x.shape[0], -1)
    return jnp.sum((x - model(x)) ** 2, axis=-1)


@shaped
def reconstruction_loss(model, batch: Real[AnyArray, "n d ..."], key) -> Float[AnyArray, ""]:
    r"""Training loss :math:`\frac1B \sum_b \|\mathbf{x}_b - g(f(\mathbf{x}_b))\|^2` (``key`` unused)."""
    del key
    return jnp.mean(squared_error(model, batch.astype(jnp.float32)))


@shaped
def corrupt(key, x: Float[AnyArray, "*shape"], sigma) -> Float[AnyArray, "*shape"]:
    r"""Gaussian corruption :math:`\tilde{\mathbf{x}} = \mathbf{x} + \sigma\boldsymbol\epsilon`,
    :math:`\boldsymbol\epsilon \sim \mathcal{N}(0, I)`; same shape as ``x``."""
    validate.key("key", key)
    validate.nonnegative_number(sigma=sigma)
    return x + sigma * jax.random.normal(key, x.shape, x.dtype)


@shaped
def denoising_autoencoder_loss(model, batch: Real[AnyArray, "n d ..."], key,
                               sigma) -> Float[AnyArray, ""]:
    r"""Denoising loss :math:`\frac1B\sum_b \|\mathbf{x}_b - r(\tilde{\mathbf{x}}_b)\|^2`, with a fresh
    corruption :math:`\tilde{\mathbf{x}}_b = \mathbf{x}_b + \sigma\boldsymbol\epsilon_b` every step.

    Its minimiser is the posterior mean
    :math:`r^*(\tilde{\mathbf{x}}) = \mathbb{E}[\mathbf{x}|\tilde{\mathbf{x}}]`, and by Tweedie's formula
    :math:`r^*(\tilde{\mathbf{x}}) - \tilde{\mathbf{x}} = \sigma^2 \nabla_{\tilde{\mathbf{x}}}
    \log p_\sigma(\tilde{\mathbf{x}})`, the score of the data
    density smoothed by the noise (Alain and Bengio, JMLR 15, 3563 (2014); Vincent 2011).
    """
    positive_number(sigma=sigma)
    x = batch.astype(jnp.float32).reshape(batch.shape[0], -1)
    return jnp.mean(jnp.sum((x - model(corrupt(key, x, sigma))) ** 2, axis=-1))
