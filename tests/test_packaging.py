"""The environment files agree, and Binder (repo2docker) builds what we think it builds."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9_.\-\[\]]+)==([A-Za-z0-9_.\-+]+)$")


def pins(lines) -> dict[str, str]:
    """``name==version`` lines -> {name: version}; every other non-comment line is an error."""
    found = {}
    for raw in lines:
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-r ") or line == "-e .":
            continue
        match = PIN.match(line)
        assert match, f"not an exact pin: {raw!r}"
        found[match.group(1).lower()] = match.group(2)
    return found


def environment_yml_pip_section() -> list[str]:
    lines = (REPO / "environment.yml").read_text().splitlines()
    start = lines.index("  - pip:")
    return [line.strip()[2:] for line in lines[start + 1 :] if line.startswith("      - ")]


def test_pins_agree_everywhere():
    runtime = pins((REPO / "requirements.txt").read_text().splitlines())
    assert {"jax", "jaxlib", "flax", "optax", "numpy", "matplotlib", "jupyterlab", "ipywidgets",
            "tqdm", "scikit-learn"} <= set(runtime)
    assert runtime == pins(environment_yml_pip_section()), "environment.yml differs from requirements.txt"
    assert runtime == pins((REPO / "binder/requirements.txt").read_text().splitlines()), (
        "binder/requirements.txt differs from requirements.txt"
    )
    test_file = (REPO / "requirements-test.txt").read_text()
    assert "-r requirements.txt" in test_file.splitlines()
    assert not set(pins(test_file.splitlines())) & set(runtime), "a runtime pin is repeated"
    assert "-r requirements-site.txt" in test_file.splitlines()
    site = pins((REPO / "requirements-site.txt").read_text().splitlines())
    assert {"sphinx", "myst-nb"} <= set(site) and not set(site) & set(runtime), "a runtime pin is repeated"


def test_python_version_agrees():
    assert "  - python=3.11" in (REPO / "environment.yml").read_text().splitlines()
    assert (REPO / "binder/runtime.txt").read_text().strip() == "python-3.11"
    assert 'requires-python = ">=3.11"' in (REPO / "pyproject.toml").read_text()


def test_installed_versions_match_pins():
    from importlib.metadata import version

    test_and_site = [*(REPO / "requirements-test.txt").read_text().splitlines(),
                     *(REPO / "requirements-site.txt").read_text().splitlines()]
    for name, pinned in pins(test_and_site).items():
        assert version(name) == pinned, f"{name}: installed {version(name)}, pinned {pinned}"
    for name, pinned in pins((REPO / "requirements.txt").read_text().splitlines()).items():
        assert version(name) == pinned, f"{name}: installed {version(name)}, pinned {pinned}"


def test_helpers_is_installed_not_path_hacked():
    # Run from a neutral folder so the repository root is not on sys.path.
    out = subprocess.run(
        [sys.executable, "-c", "import helpers, importlib.metadata as m; "
         "print(helpers.__file__); print(m.version('advml-jax-helpers'))"],
        cwd="/", capture_output=True, text=True, check=True,
    ).stdout.split()
    assert Path(out[0]).parent == REPO / "helpers" and out[1] == "0.1.0"


def test_repo2docker_builds_python311_with_pins_and_helpers():
    exe = shutil.which("repo2docker", path=str(Path(sys.executable).parent))
    assert exe, "jupyter-repo2docker is not installed (it is in requirements-test.txt)"
    result = subprocess.run(
        [exe, "--no-build", "--debug", "."], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    log = result.stdout + result.stderr
    assert "Building conda environment for python=3.11" in log
    # The pinned requirements are installed into the kernel's environment...
    assert "COPY --chown=0:0 src/binder/requirements.txt ${REPO_DIR}/binder/requirements.txt" in log
    assert '${KERNEL_PYTHON_PREFIX}/bin/pip install --no-cache-dir -r "binder/requirements.txt"' in log
    # ...then the repository is copied and postBuild installs the helpers package from it.
    copy_repo = log.index("COPY --chown=0:0 src/ ${REPO_DIR}/")
    assert copy_repo < log.index("RUN ./binder/postBuild")
    post_build = (REPO / "binder/postBuild").read_text()
    assert re.search(r"^python -m pip install .*--no-deps \.$", post_build, re.M)


@pytest.mark.parametrize("folder", ["notebooks", "helpers", "tests", "binder", "benchmarks"])
def test_design_card_layout(folder):
    assert (REPO / folder).is_dir()
