"""Discriminative networks: the layers every model is built from (``layers``), the feed-forward network
written from its equations (``ffnn``), convolutions (``conv``), recurrent networks (``rnn``) and attention
(``attention``).  Imports only :mod:`helpers.core`."""
