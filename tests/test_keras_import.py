"""Keras stays optional: `import jaxrank` never imports it, and jaxrank.keras on a
non-JAX Keras backend fails with an error that says what to do."""

import os
import subprocess
import sys

import pytest


def run(code, **env):
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )


def test_import_jaxrank_does_not_import_keras():
    code = "import sys, jaxrank, jaxrank.losses, jaxrank.metrics, jaxrank.data\n"
    code += "assert 'keras' not in sys.modules, 'keras was imported'"
    result = run(code)
    assert result.returncode == 0, result.stderr


def test_non_jax_backend_is_a_clear_error():
    pytest.importorskip("keras")
    result = run("import jaxrank.keras", KERAS_BACKEND="numpy")
    assert result.returncode != 0
    assert "ImportError" in result.stderr
    assert "KERAS_BACKEND=jax" in result.stderr and "'numpy'" in result.stderr
