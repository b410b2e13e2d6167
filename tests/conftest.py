"""Shared test configuration: strict JAX numerics and common fixtures."""

import os

# keras picks its backend at import time; set it before any test module imports keras.
os.environ.setdefault("KERAS_BACKEND", "jax")

# Most of the suite's time is XLA compiling small programs, and much of that is LLVM
# optimising the generated machine code. The tests check numbers, not speed, so
# LLVM's optimisation level is 0 (the suite takes about a quarter less time): XLA's
# own passes, which decide the arithmetic (fusion, algebraic simplification, x / T
# as x * (1 / T)), run as always, and LLVM reorders no float operation at any level.
# The benchmark, the examples and `make demo` keep the default; a level already set
# in XLA_FLAGS wins.
if "xla_backend_optimization_level" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "") + " --xla_backend_optimization_level=0"
    ).strip()

import jax  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

# Implicit rank promotion hides shape bugs; every test runs with it forbidden.
jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture(autouse=True, scope="module")
def _release_compiled_programs():
    """Drops JAX's caches after each test module. Every compiled CPU program that a
    cache keeps alive holds a few memory mappings, and a worker that runs a few
    thousand tests would otherwise reach the kernel's limit on them
    (``vm.max_map_count``, 65530), where compiling crashes."""
    yield
    jax.clear_caches()


@pytest.fixture
def rng():
    """A fresh, seeded NumPy generator per test."""
    return np.random.default_rng(0)


@pytest.fixture(params=[lambda f: f, jax.jit], ids=["eager", "jit"])
def jit_or_not(request):
    """Runs a test once eagerly and once under ``jax.jit``."""
    return request.param
