# Each target installs (once) what it needs into the virtual environment .venv, from
# pyproject.toml's extras: `make demo` only the example's, `make test` everything.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HASH := $(shell $(PYTHON) -c "import hashlib; print(hashlib.sha1(open('pyproject.toml','rb').read()).hexdigest()[:12])")

.PHONY: demo test bench lint docs

# One stamp per set of extras and version of pyproject.toml.
$(VENV)/.installed-%-$(HASH): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[$*]"
	touch $@

demo: $(VENV)/.installed-examples-$(HASH)  ## Train a ranking model on synthetic data.
	$(BIN)/python examples/ltr/main.py

test: $(VENV)/.installed-test-$(HASH)  ## The whole test suite, doctests included.
	$(BIN)/python -m pytest -n auto

bench: $(VENV)/.installed-bench-$(HASH)  ## jaxrank beside keras_rs and rax.
	$(BIN)/python -m jaxrank.benchmark

lint: $(VENV)/.installed-test-$(HASH)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

docs: $(VENV)/.installed-docs-$(HASH)  ## The site, into docs/_build/html; warnings are errors.
	$(BIN)/python -m sphinx -E -n -W --keep-going -q -b html docs docs/_build/html
	@echo "open docs/_build/html/index.html"
