"""Discriminative networks: the layers every model is built from (``layers``), the feed-forward network
written from its equations (``ffnn``), convolutions (``conv``) and recurrent networks (``rnn``).
Imports only :mod:`helpers.core`."""
