"""The hinge under JAX transformations: jit, vmap, grad, and sharding over devices."""

import json
import os
import pathlib
import subprocess
import sys
import textwrap

import chex
import jax
import numpy as np
import pytest

import jaxrank

REDUCTIONS = ["sum_over_batch_size", "mean", "sum", "mean_with_sample_weight", "none"]
REPO = pathlib.Path(__file__).resolve().parents[1]


def make_batch(rng, shape=(4, 6)):
    scores = rng.normal(size=shape).astype(np.float32)
    labels = rng.integers(-1, 4, size=shape).astype(np.float32)
    where = rng.random(size=shape) < 0.8
    weights = rng.uniform(0.5, 2.0, size=shape[:-1] + (1,)).astype(np.float32)
    return scores, labels, where, weights


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_jit_equals_eager(reduction, rng):
    scores, labels, where, weights = make_batch(rng)

    def f(s, w):
        return jaxrank.pairwise_hinge_loss(
            s, labels, where=where, weights=w, temperature=0.5, reduction=reduction
        )

    np.testing.assert_allclose(
        jax.jit(f)(scores, weights), f(scores, weights), rtol=1e-6, atol=1e-7
    )
    if reduction != "none":
        grad = jax.grad(f, argnums=(0, 1))
        for got, want in zip(
            jax.jit(grad)(scores, weights), grad(scores, weights), strict=True
        ):
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(
    "method, jit", [("all_pairs", False), ("all_pairs", True), ("sorted", True)]
)
def test_vmap_equals_loop(method, jit, rng):
    scores, labels, where, weights = make_batch(rng)

    def per_list(s, y, m, w):
        return jaxrank.pairwise_hinge_loss(
            s, y, where=m, weights=w, reduction="sum", method=method
        )

    value_and_grad = jax.value_and_grad(per_list)
    mapped = jax.vmap(value_and_grad)
    one_list = jax.jit(value_and_grad)  # one compile for the loop below
    if jit:
        mapped = jax.jit(mapped)
    values, grads = mapped(scores, labels, where, weights[:, 0])
    for b in range(scores.shape[0]):
        value, grad = one_list(scores[b], labels[b], where[b], weights[b, 0])
        np.testing.assert_allclose(values[b], value, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(grads[b], grad, rtol=1e-6, atol=1e-7)


def test_vmap_over_a_middle_axis_and_per_item_output(rng):
    scores, labels, where, _ = make_batch(rng, (2, 3, 5))

    def per_item(s, y, m):
        return jaxrank.pairwise_hinge_loss(s, y, where=m, reduction="none")

    got = jax.vmap(per_item, in_axes=1, out_axes=1)(scores, labels, where)
    want = per_item(scores, labels, where)
    assert got.shape == (2, 3, 5)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


def test_grad_under_vmap_equals_batched_grad(rng):
    # The sum of per-list losses has the per-list gradients as its gradient.
    scores, labels, where, _ = make_batch(rng)

    def loss(s, y, m):
        return jaxrank.pairwise_hinge_loss(s, y, where=m, reduction="sum")

    batched = jax.jit(jax.grad(loss))(scores, labels, where)
    mapped = jax.jit(jax.vmap(jax.grad(loss)))(scores, labels, where)
    np.testing.assert_allclose(mapped, batched, rtol=1e-6, atol=1e-7)


def test_no_retrace_for_same_shapes(rng):
    @jax.jit
    @chex.assert_max_traces(n=1)
    def step(scores, labels, where, weights):
        return jax.value_and_grad(
            lambda s: jaxrank.pairwise_hinge_loss(
                s, labels, where=where, weights=weights, temperature=0.5
            )
        )(scores)

    for _ in range(3):
        value, grad = step(*make_batch(rng))
        assert np.isfinite(value) and np.all(np.isfinite(grad))
    with pytest.raises(AssertionError):  # a new shape does trace again
        step(*make_batch(rng, (2, 6)))


SHARDED_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import jax, jax.numpy as jnp, numpy as np
    from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
    import jaxrank

    jax.config.update("jax_numpy_rank_promotion", "raise")
    method = sys.argv[1]
    rng = np.random.default_rng(0)
    shape = (16, 12)
    scores = rng.normal(size=shape).astype(np.float32)
    labels = rng.integers(-1, 4, size=shape).astype(np.float32)
    where = rng.random(size=shape) < 0.8
    weights = rng.uniform(0.5, 2.0, size=(16, 1)).astype(np.float32)

    def loss(s, y, m, w):
        return jaxrank.pairwise_hinge_loss(
            s, y, where=m, weights=w, temperature=0.5, method=method,
            reduction="mean_with_sample_weight",
        )

    f = jax.jit(jax.value_and_grad(loss))
    value, grad = f(scores, labels, where, weights)

    mesh = Mesh(np.array(jax.devices()), ("batch",))
    rows = NamedSharding(mesh, P("batch"))
    sharded = [jax.device_put(x, rows) for x in (scores, labels, where, weights)]
    s_value, s_grad = f(*sharded)
    print(json.dumps({
        "devices": jax.device_count(),
        "input_shards": len(sharded[0].addressable_shards),
        "grad_shards": len(s_grad.addressable_shards),
        "value": float(value),
        "sharded_value": float(s_value),
        "grad_err": float(np.max(np.abs(np.asarray(s_grad) - np.asarray(grad)))),
        "grad_scale": float(np.max(np.abs(np.asarray(grad)))),
    }))
    """
)


@pytest.mark.parametrize("method", ["all_pairs"])
def test_sharded_over_8_devices_equals_one_device(method):
    env = dict(os.environ)
    env["XLA_FLAGS"] = (
        env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8"
    ).strip()
    env["JAX_PLATFORMS"] = "cpu"
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO), env.get("PYTHONPATH")) if p
    )
    proc = subprocess.run(
        [sys.executable, "-c", SHARDED_SCRIPT, method],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["devices"] == 8
    assert out["input_shards"] == 8
    assert out["grad_shards"] == 8  # the gradient stays sharded along the batch
    assert np.isfinite(out["value"]) and out["grad_scale"] > 0
    np.testing.assert_allclose(out["sharded_value"], out["value"], rtol=1e-6)
    assert out["grad_err"] <= 1e-6 * max(1.0, out["grad_scale"]), out
