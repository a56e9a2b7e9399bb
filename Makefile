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

.PHONY: lab test lint notebooks benchmarks site clean

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

# Re-execute every notebook in place so the committed outputs match the code.
notebooks: $(VENV)/.test
	$(BIN)/jupyter nbconvert --to notebook --execute --inplace \
	    --ExecutePreprocessor.timeout=900 --ExecutePreprocessor.record_timing=False \
	    notebooks/*.ipynb tests/*.ipynb

# The course website from the committed, executed notebooks (nothing is re-run), into site/.
# Warnings are errors: a broken equation, link or figure fails the build.
site: $(VENV)/.site
	rm -rf build/site-src build/site-html site
	mkdir -p build/site-src/notebooks
	cp docs/conf.py docs/index.md build/site-src/
	cp notebooks/*.ipynb build/site-src/notebooks/
	$(BIN)/sphinx-build -W --keep-going -q -b html build/site-src build/site-html
	mv build/site-html site

benchmarks: $(VENV)/.runtime
	@for script in benchmarks/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build site dist *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
