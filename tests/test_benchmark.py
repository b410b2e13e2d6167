"""The benchmark runs end to end on a tiny workload and reports every contender."""

from __future__ import annotations

import pytest

from jaxrank import benchmark


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
