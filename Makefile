# Each target creates (once) its own virtual environment in .venv from pyproject.toml.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell $(PYTHON) -c "import hashlib; print(hashlib.sha1(open('pyproject.toml','rb').read()).hexdigest()[:12])")

.PHONY: demo test bench lint

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,examples,bench]"
	rm -f $(VENV)/.installed-* && touch $(STAMP)

demo: $(STAMP)  ## Train a ranking model on the built-in synthetic dataset.
	$(BIN)/python examples/ltr/main.py

test: $(STAMP)  ## The whole test suite (doctests included) on all cores.
	$(BIN)/python -m pytest -n auto

bench: $(STAMP)  ## jaxrank beside keras_rs and rax.
	$(BIN)/python -m jaxrank.benchmark

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .
