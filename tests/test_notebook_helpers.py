"""helpers.notebook: the memory hygiene and budget report every notebook uses."""

import time

import jax
import jax.numpy as jnp

from helpers import notebook


def test_free_memory_drops_compiled_programs():
    f = jax.jit(lambda x: x * 2 + 1)
    f(jnp.ones(3))
    assert f._cache_size() == 1
    notebook.free_memory()
    assert f._cache_size() == 0
    assert float(f(jnp.ones(3))[0]) == 3.0  # recompiles on demand


def test_finish_reports_time_and_peak_memory(capsys):
    start = time.perf_counter() - 2.0
    total, peak = notebook.finish(start)
    assert 2.0 <= total < 60.0 and 0.05 < peak < 100.0
    assert "total run time" in capsys.readouterr().out
