"""Every loss and metric on a batch sharded over its lists with JAX's explicit
sharding (``jax.set_mesh`` of ``AxisType.Explicit`` axes, where an array's type
carries its sharding and every operation must say how its result is sharded): the
numbers of one device, or, for the two kernels that cannot run there yet, a clear
``ValueError``: the band kernel of ``segments`` in the pairwise losses (it lays the
lists of a batch end to end) and the sorted hinge (JAX cannot batch its loops over
lists so sharded; ``method="auto"`` takes the all-pairs kernel there).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

import jaxrank

_SCRIPT = textwrap.dedent(
    """
    import json
    import jax, jax.numpy as jnp, numpy as np
    from jax.sharding import AxisType, NamedSharding, PartitionSpec as P
    import jaxrank
    from jaxrank import metrics

    rng = np.random.default_rng(0)
    lists, n = 4, 64
    short = (
        rng.normal(size=(lists, n)).astype(np.float32),
        rng.integers(-1, 5, size=(lists, n)).astype(np.float32),
        np.repeat(np.arange(n // 8), 8)[None].repeat(lists, 0),
    )
    long = (  # long enough for the sorted hinge under method="auto" on one device
        rng.normal(size=(lists, 1024)).astype(np.float32),
        rng.random(size=(lists, 1024)).astype(np.float32),
        np.repeat(np.arange(2), 512)[None].repeat(lists, 0),
    )
    cases = []
    for name in [name for name in jaxrank.losses.__all__ if name[0].islower()]:
        fn = getattr(jaxrank.losses, name)
        cases.append((name, short,
                      lambda s, y, ids, fn=fn: jax.value_and_grad(fn)(s, y)))
        cases.append((name + "+segments", short, lambda s, y, ids, fn=fn:
                      jax.value_and_grad(lambda s: fn(s, y, segments=ids))(s)))
    # The metrics rank through one of three kernels (sorted ranks, cumulative
    # products over ranks, ordered pairs): one metric or two of each.
    for name in ["ndcg", "average_precision", "expected_reciprocal_rank",
                 "ordered_pair_accuracy"]:
        fn = getattr(metrics, name)
        cases.append((name, short, lambda s, y, ids, fn=fn: fn(s, y)))
        cases.append((name + "+segments", short,
                      lambda s, y, ids, fn=fn: fn(s, y, segments=ids)))
    for method in ("auto", "sorted"):
        cases.append((f"pairwise_hinge_loss(long, {method})", long,
                      lambda s, y, ids, method=method: jax.value_and_grad(
                          lambda s: jaxrank.pairwise_hinge_loss(s, y, method=method)
                      )(s)))

    mesh = jax.make_mesh((2,), ("lists",), axis_types=(AxisType.Explicit,))
    results = {}
    for name, args, fn in cases:
        try:
            with jax.set_mesh(mesh):
                rows = NamedSharding(mesh, P("lists"))
                got = jax.jit(fn)(*(jax.device_put(a, rows) for a in args))
        except Exception as error:
            results[name] = f"{type(error).__name__}: {str(error).splitlines()[0]}"
            continue
        expected = jax.tree.leaves(jax.jit(fn)(*args))
        results[name] = max(
            float(np.max(np.abs(np.asarray(g) - np.asarray(e)) / (1 + np.abs(e))))
            for g, e in zip(jax.tree.leaves(got), expected)
        )
    print(json.dumps({"devices": jax.device_count(), "results": results}))
    """
)

# The losses whose segments go through the band kernel.
BAND = {
    "pairwise_hinge_loss",
    "pairwise_logistic_loss",
    "pairwise_qr_loss",
    "pairwise_soft_zero_one_loss",
}
REFUSED = {name + "+segments" for name in BAND} | {"pairwise_hinge_loss(long, sorted)"}


@pytest.fixture(scope="module")
def results():
    flags = (
        os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2"
    )
    env = dict(os.environ, XLA_FLAGS=flags)
    proc = subprocess.run(
        [sys.executable, "-c", _SCRIPT],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["devices"] == 2
    return out["results"]


def test_every_loss_and_metric_gives_the_numbers_of_one_device(results):
    losses = {name for name in jaxrank.losses.__all__ if name[0].islower()}
    assert losses <= set(results)
    off = {
        name: error
        for name, error in results.items()
        if name not in REFUSED and (isinstance(error, str) or not error <= 1e-5)
    }
    assert not off


def test_kernels_that_cannot_run_there_say_so(results):
    for name in REFUSED:
        assert results[name].startswith("ValueError: "), (name, results[name])
        assert "explicit mesh axes" in results[name]
