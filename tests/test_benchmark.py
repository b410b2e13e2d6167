"""The benchmark runs end to end on a tiny workload and reports every contender."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import pytest

from jaxrank import benchmark
from jaxrank._src.eager_cache import cached_jit


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


def _read_json_lines(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def test_json_writes_one_record_per_row(tmp_path, capsys):
    path = tmp_path / "rows.jsonl"
    benchmark.main(
        ["--losses", "softmax", "list_mle", "--shapes", "2,8", "3,4"]
        + [
            "--repeats",
            "1",
            "--min-seconds",
            "0",
            "--no-memory",
            "--compile-repeats",
            "1",
        ]
        + ["--json", str(path)]
    )
    records = _read_json_lines(path)
    assert [(r["loss"], r["shape"]) for r in records] == [
        ("softmax", [2, 8]),
        ("softmax", [3, 4]),
        ("list_mle", [2, 8]),
        ("list_mle", [3, 4]),
    ]
    for record in records:
        assert record["compile_s"] > 0 and record["run_ms"] > 0
        assert set(record["peers"]) == {"keras_rs", "rax"}
        assert record["floor"]["kind"] == "trivial" and record["floor"]["run_ms"] > 0
        assert record["device"]["platform"] == jax.devices()[0].platform
        assert record["device"]["kind"] == jax.devices()[0].device_kind
        assert record["recompiled"] is False
        if record["optax_compile_s"] is not None:
            assert record["compile_ratio"] == pytest.approx(
                record["compile_s"] / record["optax_compile_s"]
            )
    assert "optax softmax compile s" in capsys.readouterr().out


def test_compile_only_times_compilation_against_optax(tmp_path, capsys):
    pytest.importorskip("optax")
    path = tmp_path / "compile.jsonl"
    benchmark.main(
        ["--compile-only", "--compile-repeats", "2", "--losses", "pairwise_hinge"]
        + ["--shapes", "2,8"]
        + ["--json", str(path)]
    )
    (record,) = _read_json_lines(path)
    assert record["compile_s"] > 0 and record["optax_compile_s"] > 0
    assert record["run_ms"] is None and record["floor"]["run_ms"] is None
    assert "| pairwise_hinge | (2, 8) | graded |" in capsys.readouterr().out


@pytest.mark.parametrize("wrap", [lambda f: f, cached_jit], ids=["plain", "jaxrank"])
def test_compile_seconds_does_not_reuse_a_cached_compilation(wrap):
    """Nor the trace of the ``jax.jit`` a jaxrank function runs in."""
    calls = []

    def loss(scores, labels):
        calls.append(1)
        return jnp.sum(scores * labels)

    loss = wrap(loss)
    args = (jnp.ones((2, 3)), jnp.ones((2, 3)))
    benchmark.compile_seconds(loss, args)
    benchmark.compile_seconds(loss, args)
    assert len(calls) == 2


def test_plot_records_draws_a_png_with_peers_not_run(tmp_path):
    pytest.importorskip("matplotlib")
    record = {
        "loss": "pairwise_hinge",
        "shape": [1, 2**20],
        "labels": "graded",
        "run_ms": 593.0,
        "peers": {"keras_rs": "too big", "rax": "too big"},
        "floor": {"kind": "argsort", "run_ms": 622.0},
        "device": {"kind": "cpu", "platform": "cpu"},
        "jax": jax.__version__,
    }
    path = tmp_path / "bench.png"
    benchmark.plot_records([record, {**record, "labels": "real"}], path)
    assert path.read_bytes()[:4] == b"\x89PNG"
