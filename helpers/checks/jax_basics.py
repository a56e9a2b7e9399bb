"""The self-checking exercises of notebook 00 (JAX for physicists)."""

__all__ = []
