"""The machinery every topic uses: the training loop (``train``), optimiser utilities (``optim``),
data parallelism (``parallel``), argument and value checks (``validate``), the atomic cache (``cache``)
and counter-based random bits (``rng``).  Imports nothing from the other subpackages."""
