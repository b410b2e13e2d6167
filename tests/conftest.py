"""Shared test configuration: strict JAX numerics and common fixtures."""

import os

# keras picks its backend at import time; set it before any test module imports keras.
os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

# Implicit rank promotion hides shape bugs; every test runs with it forbidden.
jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture
def rng():
    """A fresh, seeded NumPy generator per test."""
    return np.random.default_rng(0)


@pytest.fixture(params=[lambda f: f, jax.jit], ids=["eager", "jit"])
def jit_or_not(request):
    """Runs a test once eagerly and once under ``jax.jit``."""
    return request.param
