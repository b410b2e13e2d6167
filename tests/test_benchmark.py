"""The benchmark runs end to end on a tiny workload and reports every contender."""

from __future__ import annotations

import os
import subprocess
import sys

import jax.numpy as jnp
import pytest

from jaxrank import benchmark


def _run_python(code, **env):
    """Runs ``code`` in a fresh interpreter without KERAS_BACKEND (which conftest
    sets), plus ``env``; returns the completed process."""
    environ = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_tiny_benchmark_times_every_contender(capsys):
    pytest.importorskip("keras_rs")
    pytest.importorskip("rax")
    (row,) = benchmark.run_benchmark(
        ["pairwise_hinge"],
        [(2, 8)],
        repeats=2,
        min_seconds=0.0,
        budget_gib=1.0,
        memory=False,
        real_from=2**20,
    )
    for contender in ("jaxrank", "keras_rs", "rax", "floor"):
        assert isinstance(row[contender], float) and row[contender] > 0
    table = capsys.readouterr().out
    assert "| (2, 8) | graded |" in table and "RECOMPILED" not in table


def test_a_peer_too_big_for_the_budget_is_not_run():
    assert not benchmark._fits("keras_rs", (1, 2**20), budget_gib=16.0)
    assert benchmark._fits("jaxrank", (1, 2**20), budget_gib=16.0)


def test_importing_the_benchmark_leaves_the_environment_alone():
    code = (
        "import os, sys\n"
        "before = dict(os.environ)\n"
        "import jaxrank.benchmark\n"
        "changed = set(os.environ.items()) ^ set(before.items())\n"
        "assert not changed, changed\n"
        "assert 'keras' not in sys.modules\n"
    )
    result = _run_python(code)
    assert result.returncode == 0, result.stderr


def test_keras_on_another_backend_is_a_clear_error():
    pytest.importorskip("keras_rs")
    code = (
        "import keras\n"
        "from jaxrank import benchmark\n"
        "try:\n"
        "    benchmark._loss_fn('keras_rs', 'pairwise_hinge')\n"
        "except RuntimeError as e:\n"
        "    print(e)\n"
    )
    result = _run_python(code, KERAS_BACKEND="numpy")
    assert result.returncode == 0, result.stderr
    assert "JAX backend" in result.stdout and "'numpy'" in result.stdout


def test_a_retraced_contender_is_reported():
    fn = benchmark.TraceCountingJit(lambda x: x * 2)
    args = (jnp.ones(3),)
    fn(*args)
    fn(*args)
    assert fn.traces == 1
    ((_, once),) = benchmark._time_side_by_side({"f": (fn, args)}, 2, 0.0).values()
    assert once
    fn(jnp.ones(4))
    assert fn.traces == 2
    ((_, once),) = benchmark._time_side_by_side({"f": (fn, args)}, 2, 0.0).values()
    assert not once


def test_shapes_and_sizes_parse_powers():
    assert benchmark._shape("1, 2**20") == (1, 2**20)
    assert benchmark._size("2**10") == 1024
    args = benchmark._parser().parse_args(["--precision", "--precision-n", "2**8"])
    assert args.precision and args.precision_n == 256


def test_precision_of_float32_against_float64_on_a_short_list(capsys):
    results = benchmark.run_precision(n=256)
    assert len(results) == 4
    for result in results:
        assert result["positive_items"] > 0
        assert result["zero_losses_exact"]
        assert result["loss_max_rel_err"] < 1e-5
        assert result["grad_err"] < 1e-5
        if result["cotangent"] == "uniform":
            # Integer pair counts times a shared cotangent: exact in float32 when
            # both evaluations find the same pairs, as the score grid ensures.
            assert result["grad_err"] == 0
    assert "precision at n = 256" in capsys.readouterr().out
