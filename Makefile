# The two commands a user needs: `make lab` and `make test`.
# Both create the virtual environment in .venv on first use.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
# Worker processes for the test suite; notebooks go one file per worker.
WORKERS ?= 2
# JupyterLab refuses to start as root without --allow-root, and containers, cloud VMs and WSL
# often run as root; it still listens on 127.0.0.1 only and asks for its token.
LAB_FLAGS := $(if $(filter 0,$(shell id -u)),--allow-root,)
LAB_DIR ?= notebooks

.PHONY: lab test test-latest latest-venv lint notebooks results benchmarks site clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python >= 3.11 needed, got " + sys.version'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: $(BIN)/python requirements.txt pyproject.toml
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

# The website's packages alone (the Pages workflow needs no JAX), held to the runtime pins they share.
$(VENV)/.site: $(BIN)/python requirements-site.txt requirements.txt
	$(BIN)/pip install --quiet -r requirements-site.txt -c requirements.txt
	touch $@

$(VENV)/.test: $(VENV)/.runtime requirements-test.txt requirements-site.txt
	$(BIN)/pip install --quiet -r requirements-test.txt
	touch $@

lab: $(VENV)/.runtime
	$(BIN)/jupyter lab --notebook-dir=$(LAB_DIR) $(LAB_FLAGS) $(LAB_ARGS)

# The pre-commit hooks on every tracked file: ruff (Python and notebooks) and notebook hygiene.
lint: $(VENV)/.test
	$(BIN)/pre-commit run --all-files

test: lint
	$(BIN)/python -m pytest -n $(WORKERS) --dist loadfile \
	    --nbval-lax --nbval-current-env --nbval-cell-timeout=900 \
	    tests notebooks

# `make test-latest`: the unit tests and three notebooks on the newest Python (3.12 or later) with the
# newest releases of JAX, Flax, Optax, NumPy, SciPy, scikit-learn, matplotlib and tqdm (no pins),
# in its own environment .venv-latest, to see what the next upgrade of requirements.txt breaks.
# Every run upgrades to the newest releases. The browser, website, Colab and pins/Binder tests need
# the pinned environment and are left out. LATEST_PYTHON defaults to the newest Python >= 3.12
# found as python3.X on the PATH or under pyenv; set it to choose another.
LATEST_PYTHON ?= $(shell for p in python3.15 python3.14 python3.13 python3.12 \
    $(wildcard $(or $(PYENV_ROOT),$(HOME)/.pyenv)/versions/3.1[2-9]*/bin/python); do \
    $$p -c 'import sys; sys.version_info >= (3, 12) or sys.exit(1); print("%03d.%03d.%03d" % sys.version_info[:3], sys.executable)' 2>/dev/null; \
    done | sort -r | head -n 1 | cut -d " " -f 2)
LATEST_VENV := .venv-latest
LATEST_BIN  := $(LATEST_VENV)/bin
LATEST_PACKAGES := jax jaxlib flax optax jaxtyping beartype equinox numpy scipy scikit-learn matplotlib tqdm \
    ipywidgets pytest pytest-xdist nbval nbconvert ipykernel
LATEST_TESTS ?= tests notebooks/01_feedforward_networks.ipynb notebooks/06_variational_autoencoders.ipynb \
    notebooks/08_generative_adversarial_networks.ipynb
LATEST_SKIP := --ignore=tests/test_browser.py --ignore=tests/test_site.py --ignore=tests/browser_smoke.ipynb \
    --ignore=tests/test_colab.py --ignore=tests/test_packaging.py

$(LATEST_BIN)/python:
	@python="$(LATEST_PYTHON)"; \
	test -n "$$python" || { echo "make test-latest: no Python >= 3.12 found (looked for python3.12 to python3.15" \
	    "on the PATH and under ~/.pyenv/versions); install one, or set LATEST_PYTHON=/path/to/python" >&2; exit 1; }; \
	echo "$$python -m venv $(LATEST_VENV)"; \
	"$$python" -c 'import sys; assert sys.version_info >= (3, 12), "Python >= 3.12 needed, got " + sys.version' && \
	"$$python" -m venv $(LATEST_VENV)
	$(LATEST_BIN)/python -m pip install --quiet --upgrade pip

# The newest releases of everything (dependencies too), then the package itself, on every run.
latest-venv: $(LATEST_BIN)/python
	$(LATEST_BIN)/pip install --quiet --upgrade --upgrade-strategy eager $(LATEST_PACKAGES)
	$(LATEST_BIN)/pip install --quiet --no-deps -e .
	@$(LATEST_BIN)/python -c 'import sys, importlib.metadata as m; print("Python", sys.version.split()[0], \
	    *(n + " " + m.version(n) for n in sys.argv[1:]), sep=", ")' $(LATEST_PACKAGES)

test-latest: latest-venv
	ADVML_STRICT=1 $(LATEST_BIN)/python -m pytest -n $(WORKERS) --dist loadfile \
	    --nbval-lax --nbval-current-env --nbval-cell-timeout=900 \
	    $(LATEST_SKIP) $(LATEST_TESTS)

# Re-execute every notebook in place so the committed outputs match the code; each rewrites its
# record in results/, and a failed quality check stops the run (ADVML_STRICT=1), as in the tests.
notebooks: $(VENV)/.test
	ADVML_STRICT=1 $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
	    --ExecutePreprocessor.timeout=900 --ExecutePreprocessor.record_timing=False \
	    --ExecutePreprocessor.store_widget_state=False \
	    notebooks/*.ipynb tests/*.ipynb
	$(BIN)/python -m helpers.results --page results/README.md

# Every recorded figure against its reference (results/README.md); with SINCE=<git revision>, the
# figures that moved beyond their tolerance since then.
results: $(VENV)/.runtime
	$(BIN)/python -m helpers.results --page results/README.md
	$(BIN)/python -m helpers.results $(if $(SINCE),--since $(SINCE),)

# The course website from the committed, executed notebooks (nothing is re-run), into site/.
# Warnings are errors: a broken equation, link or figure fails the build.
site: $(VENV)/.site
	rm -rf build/site-src build/site-html site
	mkdir -p build/site-src/notebooks build/site-src/results
	cp -r docs/conf.py docs/index.md docs/_static build/site-src/
	cp notebooks/*.ipynb build/site-src/notebooks/
	$(BIN)/python -c 'import sys, zipfile, pathlib; z = zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED); \
	    [z.write(p, "advml-jax-notebooks/" + p.name) for p in sorted(pathlib.Path("notebooks").glob("*.ipynb"))]; \
	    z.close()' build/site-src/notebooks.zip
	cp results/README.md build/site-src/results/
	$(BIN)/sphinx-build -W --keep-going -q -b html build/site-src build/site-html
	mv build/site-html site

benchmarks: $(VENV)/.runtime
	@for script in benchmarks/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) $(LATEST_VENV) .pytest_cache .ruff_cache build site dist *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
