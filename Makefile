# coterie — the two commands a new user needs: `make demo` and `make test`.
# Each creates .venv, installs torch's CPU build and the package, then runs.
#
# TORCH_SPEC: what to install when the venv has no torch. On the project's machines `torch==2.13.0` is a CPU build
#   on local disk. Elsewhere, reuse an existing torch with `make VENV_ARGS=--system-site-packages ...`, or pick another
#   build with `make TORCH_SPEC='torch==2.5.1' ...`.
PYTHON ?= python3
VENV ?= .venv
VENV_ARGS ?=
TORCH_SPEC ?= torch==2.13.0
PY := $(VENV)/bin/python
STAMP := $(VENV)/.coterie-installed

.PHONY: install demo test test-slow lint bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV_ARGS) $(VENV)
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e ".[dev,clocks]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/coterie demo

test: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks tools
	$(VENV)/bin/ruff format --check src tests benchmarks tools
	$(VENV)/bin/lint-imports --no-cache
	OMP_NUM_THREADS=1 $(PY) -m pytest -m "not slow" -q --durations=25

test-slow: $(STAMP)
	OMP_NUM_THREADS=1 $(PY) -m pytest -m slow -q

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks tools
	$(VENV)/bin/ruff format --check src tests benchmarks tools
	$(VENV)/bin/lint-imports --no-cache

# torchensemble is the (c) baseline only: installed without its dependencies, never a coterie requirement.
bench: $(STAMP)
	$(PY) -c "import torchensemble" 2>/dev/null || $(PY) -m pip install --quiet --no-deps torchensemble
	@for b in benchmarks/[!_]*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .ruff_cache
