"""helpers.notebook: the memory hygiene and budget report every notebook uses."""

import re
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from helpers import notebook


def test_free_memory_drops_compiled_programs():
    f = jax.jit(lambda x: x * 2 + 1)
    f(jnp.ones(3))
    assert f._cache_size() == 1
    notebook.free_memory()
    assert f._cache_size() == 0
    assert float(f(jnp.ones(3))[0]) == 3.0  # recompiles on demand


def test_finish_reports_time_and_peak_memory(capsys, monkeypatch):
    from helpers import results

    monkeypatch.setenv(results.STRICT_ENV, "0")  # a test worker may itself be above a notebook's 2 GB
    start = time.perf_counter() - 2.0
    assert notebook.finish(start) is None
    printed = capsys.readouterr().out
    total, peak = re.match(r"total run time (\d+) s, peak memory ([\d.]+) GB", printed).groups()
    assert 2 <= int(total) < 60 and 0.05 < float(peak) < 100.0


def test_finish_raises_above_the_memory_limit_only_as_a_test(monkeypatch, capsys):
    from helpers import results

    monkeypatch.setattr(notebook, "MEMORY_LIMIT_GB", 1e-6)  # any process is above it
    monkeypatch.setenv(results.STRICT_ENV, "0")
    notebook.finish(time.perf_counter())
    assert "✗ peak memory" in capsys.readouterr().out
    monkeypatch.setenv(results.STRICT_ENV, "1")
    with pytest.raises(AssertionError, match="above the 1e-06 GB"):
        notebook.finish(time.perf_counter())


def test_peak_report_names_the_cell_that_set_the_peak():
    class Result:
        execution_count = 7

    notebook._PEAK_BY_CELL.clear()
    notebook._after_cell(Result())
    assert notebook.peak_report().endswith("(reached in cell [7])")


def test_peak_memory_is_this_process_not_its_parent():
    # A child started by this (already large) test process must report its own small peak.
    import subprocess
    import sys

    big = bytearray(300_000_000)  # make the parent's resident size larger than a bare Python's
    big[::4096] = b"x" * len(big[::4096])
    out = subprocess.run(
        [sys.executable, "-c", "from helpers.notebook import peak_memory_gb; print(peak_memory_gb())"],
        capture_output=True, text=True, check=True,
    )
    assert float(out.stdout) < 0.25 < notebook.peak_memory_gb()


def test_setup_returns_the_start_time_and_the_root_key(capsys):
    before = time.perf_counter()
    start, key = notebook.setup(seed=7)
    assert before <= start <= time.perf_counter()
    assert jax.numpy.array_equal(jax.random.key_data(key), jax.random.key_data(jax.random.key(7)))
    assert capsys.readouterr().out.startswith(f"JAX {jax.__version__} on ")


def test_results_table_has_one_row_per_quantity(monkeypatch, tmp_path):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj.data))
    monkeypatch.setenv("ADVML_RESULTS_DIR", str(tmp_path))
    results = notebook.Results("99_table")
    results.check("tc", "T_c", 2.27, reference=2.2692, within=0.05, source="Onsager")
    results.note("acc", "accuracy", 0.99)
    results.show()
    lines = shown[0].splitlines()
    assert lines[0] == "| quantity | measured here | reference | |"
    assert lines[2:] == ["| T_c | 2.27 | 2.269 ± 0.05 (Onsager) | ✓ |", "| accuracy | 0.99 |  |  |"]
    assert (tmp_path / "99_table.json").exists()


def test_image_grid_stacks_strips_and_rejects_ragged_rows():
    from helpers.notebook import image_grid

    rows = [np.zeros((3, 4)), np.full((3, 2, 2), 2.0)]  # 2x2 images given flat and square
    grid = image_grid(rows, size=2)
    assert grid.shape == (4, 6) and grid[:2].max() == 0.0 and grid[2:].min() == 1.0  # clipped to [0, 1]
    with pytest.raises(ValueError, match="same number"):
        image_grid([np.zeros((3, 4)), np.zeros((2, 4))], size=2)


def test_figure_is_drawn_at_twice_its_size_with_a_palette_and_keeps_its_description(monkeypatch):
    import io

    import matplotlib.pyplot as plt
    from IPython import display as ipython_display
    from PIL import Image

    shown = []
    monkeypatch.setattr(ipython_display, "display", shown.append)
    fig, ax = plt.subplots(figsize=(4, 3), dpi=100)
    ax.imshow(np.random.default_rng(0).random((28, 28)), cmap="viridis")
    notebook.figure(fig, "Random pixels in the viridis colour map, one square image.")
    data, metadata = shown[0].data, shown[0]._repr_png_()[1]
    image = Image.open(io.BytesIO(data))
    assert image.mode == "P" and len(image.getcolors()) <= 256
    assert metadata["width"] == image.width // 2 and image.width > 400  # 2x pixels, shown at 1x
    assert metadata["alt"].startswith("Random pixels")
    with pytest.raises(ValueError, match="alt="):
        notebook.figure(plt.figure(), "a plot")


def test_show_renders_the_docstring_with_its_equations_then_the_code_without_it(monkeypatch):
    from IPython import display as ipython_display

    from helpers.generative import diffusion

    shown = []
    monkeypatch.setattr(ipython_display, "display", shown.append)
    notebook.show(diffusion.q_sample)
    doc, code = shown[0].data, shown[1].data
    assert "$$" in doc and r"\sqrt{\bar\alpha_t}" in doc and ":math:" not in doc and "``" not in doc
    assert code.lstrip().startswith("@shaped") and '"""' not in code and "def q_sample(" in code


def test_docstring_markdown_turns_rest_into_markdown_with_tex():
    doc = """Sum :math:`\\sum_i x_i` as in :func:`helpers.core.train.fit`, ``x`` of shape ``(n,)``.

    .. math::
        y = \\sum_i x_i,

        z = 2y.

    The end."""
    text = notebook.docstring_markdown(doc)
    assert text.startswith("Sum $\\sum_i x_i$ as in `helpers.core.train.fit`, `x` of shape `(n,)`.")
    assert "$$\ny = \\sum_i x_i,\nz = 2y.\n$$" in text and text.endswith("The end.")
    assert "    " not in text  # no indentation left for Markdown to read as code
    # an inline formula over two lines stays one formula on one line (its "- b" starts no list)
    assert notebook.docstring_markdown("Weights :math:`a\n    - b` here.") == "Weights $a - b$ here."
