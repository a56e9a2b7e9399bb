"""The Colab path, here: a fresh virtual environment holding an older JAX stack (exactly the lower
bounds of ``pyproject.toml``, as a Colab image with its own preinstalled JAX might) and none of our
pins; the first notebook's setup cell finds no ``helpers``, installs the built wheel (where Colab
installs from the repository URL) and goes on; then the notebook's first two sections run.
Passes when the install kept every preinstalled version (nothing upgraded or replaced) and the
cells ran without error.  Needs the package index, as Colab does.
"""

import json
import re
import subprocess
import sys
import tomllib

import pytest
from conftest import REPO

pytestmark = pytest.mark.slow
NOTEBOOK = REPO / "notebooks" / "01_feedforward_networks.ipynb"


def lower_bounds() -> dict[str, str]:
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    bounds = {}
    for dep in deps:
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)>=([0-9.]+)", dep)
        assert match, f"dependency {dep!r} is not a plain lower bound"
        bounds[match.group(1).lower()] = match.group(2)
    return bounds


def first_sections() -> str:
    """The setup cell and every code cell before section 3, as one IPython script."""
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    end = next(i for i, c in enumerate(cells) if "".join(c["source"]).startswith("## 3."))
    code = ["".join(c["source"]) for c in cells[:end] if c["cell_type"] == "code"]
    assert 'find_spec("helpers") is None' in code[0], "the setup cell lost its install step"
    return "\n\n".join(code)


def installed(python) -> dict[str, str]:
    out = subprocess.run([python, "-m", "pip", "list", "--format=json"], capture_output=True, text=True,
                         check=True).stdout
    return {p["name"].lower().replace("_", "-"): p["version"] for p in json.loads(out)}


def test_setup_cell_installs_the_wheel_into_an_older_stack_and_the_notebook_runs(tmp_path):
    wheel_dir = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", wheel_dir, REPO], check=True,
                   capture_output=True)
    (wheel,) = wheel_dir.glob("advml_jax_helpers-*.whl")

    env_dir = tmp_path / "colab"
    subprocess.run([sys.executable, "-m", "venv", env_dir], check=True)
    python = str(env_dir / "bin" / "python")
    preinstalled = [f"{name}=={version}" for name, version in lower_bounds().items()] + ["ipython"]
    subprocess.run([python, "-m", "pip", "install", "--quiet", *preinstalled], check=True)
    before = installed(python)
    assert "advml-jax-helpers" not in before

    script = tmp_path / "first_sections.ipy"
    script.write_text(first_sections())
    env = {"PATH": f"{env_dir / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path), "MPLBACKEND": "Agg",
           "ADVML_HELPERS": str(wheel), "JAX_PLATFORMS": "cpu"}
    # Run outside the repository, so that only the installed package can provide `helpers`.
    run = subprocess.run([str(env_dir / "bin" / "ipython"), "--colors=NoColor", str(script)], cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=900)
    output = run.stdout + run.stderr
    assert run.returncode == 0 and "Traceback" not in output, output[-4000:]
    assert f"JAX {lower_bounds()['jax']}" in run.stdout  # the setup cell's version line

    after = installed(python)
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert after["advml-jax-helpers"] == version
    changed = {name: (v, after.get(name)) for name, v in before.items() if after.get(name) != v}
    assert changed == {}, f"installing the package replaced preinstalled packages: {changed}"
