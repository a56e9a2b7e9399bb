"""Notebook plumbing shared by every notebook: setup, memory hygiene, source display, figures with their
descriptions, the results table (:mod:`helpers.results`), budget.

Why the memory hygiene: XLA keeps every compiled program in memory, and a notebook compiles
hundreds (each eager operation is one), so a kernel's memory grows cell by cell even when the data
are freed; glibc also keeps freed pages.  Binder allows about 2 GB.  ``free_memory`` drops the
compiled-program caches (later cells recompile what they use) and hands freed pages back to the
operating system; ``setup`` runs it after every cell.
"""

from __future__ import annotations

import ast
import ctypes
import inspect
import re
import resource
import sys
import textwrap
import time

import jax
import matplotlib.pyplot as plt
import numpy as np

from helpers.core import parallel, validate
from helpers.results import Results  # noqa: F401  (the summary table and record every notebook makes)

_LIBC = None
if sys.platform.startswith("linux"):
    try:
        _LIBC = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (e.g. musl): nothing to trim
        _LIBC = None


def free_memory() -> None:
    """Drop JAX's compiled-program caches and return freed heap pages to the OS (glibc only)."""
    jax.clear_caches()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def setup(seed: int) -> tuple[float, jax.Array]:
    """The first cell of every notebook: figure defaults, ``free_memory`` after every cell, one line
    naming the versions and the devices (:func:`helpers.core.parallel.describe`).  Returns the start time
    (for :func:`finish`) and the notebook's root PRNG key ``jax.random.key(seed)``, from which every
    random number descends."""
    import flax
    import optax

    validate.nonnegative_int(seed=seed)
    plt.rcParams.update(
        {"figure.dpi": 100, "figure.figsize": (9, 3.2), "axes.grid": True, "grid.alpha": 0.3}
    )
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:
        shell = None
    if shell is not None:
        shell.events.register("post_run_cell", _after_cell)
    print(f"JAX {jax.__version__} on {parallel.describe(parallel.default_mesh())}; Flax {flax.__version__}, "
          f"Optax {optax.__version__}")
    return time.perf_counter(), jax.random.key(seed)


_PEAK_BY_CELL: list[tuple[int, float]] = []  # (execution count, peak memory in GB after that cell)


def _after_cell(result) -> None:
    # Record the peak before freeing, so ``finish`` can name the cell that set it.
    _PEAK_BY_CELL.append((result.execution_count or 0, peak_memory_gb()))
    free_memory()


def show(function) -> None:
    """Display a helper next to the equation it implements: its docstring rendered (equations
    typeset, :func:`docstring_markdown`), then its code without the docstring, highlighted."""
    from IPython.display import Code, Markdown, display

    try:
        source = textwrap.dedent(inspect.getsource(function))
    except (TypeError, OSError):
        raise TypeError(f"function={function!r}; expected a function or class defined in Python") from None
    doc = inspect.getdoc(function) if _own_docstring(source) else None
    if doc:
        display(Markdown(docstring_markdown(doc)))
    display(Code(_without_docstring(source), language="python"))


_ROLE = re.compile(r":(?:func|class|mod|data|meth|attr|obj):`~?([^`]+)`")


def docstring_markdown(doc: str) -> str:
    r"""A docstring's reStructuredText as Markdown with TeX: ``:math:`x``` becomes ``$x$``, a
    ``.. math::`` block ``$$ ... $$``, ``literal`` and :func:`roles` become `code`.  Indentation
    outside math is dropped (Markdown would read it as a code block)."""
    out, text, lines, i = [], [], inspect.cleandoc(doc).splitlines(), 0
    while i < len(lines):
        block = re.match(r"^(\s*)\.\. math::\s*(.*)$", lines[i])
        if block:
            out.append(_inline_markdown(text))
            text = []
            indent, math = len(block.group(1)), [block.group(2)] if block.group(2).strip() else []
            i += 1
            while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > indent):
                math.append(lines[i].strip())
                i += 1
            out += ["", "$$", "\n".join(m for m in math if m).strip(), "$$", ""]
            continue
        text.append(lines[i].strip())
        i += 1
    out.append(_inline_markdown(text))
    return "\n".join(out).strip()


def _inline_markdown(lines: list[str]) -> str:
    """Inline reST as Markdown, over whole paragraphs (a role may span a line break)."""
    text = re.sub(r":math:`([^`]+)`", r"$\1$", "\n".join(lines))
    text = _ROLE.sub(r"`\1`", text)
    text = re.sub(r"``([^`]+)``", r"`\1`", text).replace("\\ ", "")
    joined = []  # a formula broken over lines goes on one line: "- x" inside it would start a list
    for line in text.split("\n"):
        if joined and joined[-1].count("$") % 2:
            joined[-1] += " " + line
        else:
            joined.append(line)
    return "\n".join(joined)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _docstring_node(source: str):
    tree = ast.parse(source)
    node = tree.body[0] if tree.body else None
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
        first = node.body[0]
        if isinstance(first, ast.Expr) and isinstance(getattr(first.value, "value", None), str):
            return first
    return None


def _own_docstring(source: str) -> bool:
    return _docstring_node(source) is not None


def _without_docstring(source: str) -> str:
    node = _docstring_node(source)
    if node is None:
        return source
    lines = source.splitlines(keepends=True)
    return "".join(lines[: node.lineno - 1] + lines[node.end_lineno :])


def figure(fig, alt: str) -> None:
    """Display a Matplotlib figure with its description and close it.

    ``alt`` says in one or two sentences what the figure shows, for a reader who cannot see it (a
    screen reader, a search engine, the website's ``alt`` text); it is stored with the image
    (``image/png`` output metadata).  The image is drawn at twice the figure's resolution and shown
    at its usual size, so it stays sharp when zoomed or opened full size; its colours are reduced to
    a palette of 256 (:func:`png_palette`), which keeps the file as small as a plain one.
    """
    import io

    from IPython.display import Image, display

    if not isinstance(alt, str) or len(alt.split()) < 5:
        raise ValueError(f"alt={alt!r}; expected a sentence that says what the figure shows")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=2 * fig.dpi, bbox_inches="tight")
    plt.close(fig)
    data, width = png_palette(buffer.getvalue())
    display(Image(data, format="png", alt=alt.strip(), width=width // 2))


def png_palette(png: bytes) -> tuple[bytes, int]:
    """A PNG re-encoded with at most 256 colours (Pillow's median cut), and its width in pixels.

    Plots hold few colours and grey-level images at most 256, so nothing visible changes, while the
    file shrinks two- to fourfold."""
    import io

    from PIL import Image as PILImage

    image = PILImage.open(io.BytesIO(png)).convert("RGB")
    out = io.BytesIO()
    image.quantize(256, method=PILImage.Quantize.MEDIANCUT).save(out, format="PNG", optimize=True)
    return out.getvalue(), image.width


def image_grid(rows, size: int = 28) -> np.ndarray:
    """Rows of images as one picture: each row, ``(n, size * size)`` or ``(n, size, size)``, becomes a
    strip of its n images side by side, strips stacked top to bottom; values clipped to [0, 1].
    Returns ``(len(rows) * size, n * size)``."""
    validate.positive_int(size=size)
    strips = []
    for i, row in enumerate(rows):
        row = np.asarray(row, np.float32)
        if row.size == 0 or row.size % (size * size):
            raise ValueError(f"rows[{i}] has shape {row.shape}; expected (n, {size * size}) "
                             f"or (n, {size}, {size})")
        images = np.clip(row.reshape(-1, size, size), 0.0, 1.0)
        strips.append(np.concatenate(list(images), axis=1))
    if not strips:
        raise ValueError("rows is empty; expected at least one row of images")
    if len({strip.shape for strip in strips}) != 1:
        counts = [strip.shape[1] // size for strip in strips]
        raise ValueError(f"rows hold {counts} images; expected the same number in each")
    return np.concatenate(strips, axis=0)


def peak_memory_gb() -> float:
    """Peak resident memory of this process in GB.

    On Linux this is ``VmHWM`` from ``/proc/self/status``, the high-water mark of this process's
    own address space.  ``ru_maxrss`` is not used there because Linux carries it over from the
    parent through fork and exec: a kernel started by a large process (a test runner) would
    report the parent's size.  Elsewhere ``ru_maxrss`` (bytes on macOS).
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1e6  # kB
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1e9 if sys.platform == "darwin" else 1e6)


MEMORY_LIMIT_GB = 2.0  # what a notebook may use: Binder's limit, and a laptop's comfortable share


def finish(start: float) -> None:
    """Print the total run time (s) since ``start`` and the peak memory (GB), the last line of
    every notebook (it returns nothing, so the cell shows only that line).

    Also names the cell (by execution count) after which the peak was first reached, to show
    where to look when a notebook outgrows its memory.  When the notebook runs as a test
    (:func:`helpers.results.strict`) a peak above ``MEMORY_LIMIT_GB`` raises ``AssertionError``; a
    student's run only prints it.
    """
    from helpers import results

    validate.number(start=start)
    total = time.perf_counter() - start
    peak = peak_memory_gb()
    print(f"total run time {total:.0f} s, {peak_report()}")
    if peak >= MEMORY_LIMIT_GB:
        message = f"peak memory {peak:.2f} GB is above the {MEMORY_LIMIT_GB:g} GB a notebook may use"
        if results.strict():
            raise AssertionError(message)
        print("✗ " + message)


def peak_report() -> str:
    """``"peak memory X GB"``, plus the first cell (by execution count) after which it was reached."""
    peak = peak_memory_gb()
    where = next((f" (reached in cell [{count}])" for count, gb in _PEAK_BY_CELL if gb >= peak - 0.005), "")
    return f"peak memory {peak:.2f} GB{where}"
