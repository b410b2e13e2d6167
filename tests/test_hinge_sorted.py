"""The sorted O(n log n) hinge path against the dense path and float64 references."""

from __future__ import annotations

import contextlib
import functools
import os
import subprocess
import sys
import textwrap

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import reference_segments as ref_segments
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.test_util import check_grads

import jaxrank
import reference
import reference_sorted
from jaxrank._src import eager_cache, hinge_sorted, losses
from jaxrank._src.hinge_allpairs import hinge_losses_allpairs
from jaxrank._src.hinge_sorted import hinge_losses_sorted, prefers_sorted_path
from jaxrank._src.platforms import VARIANTS, forced_variant

REDUCTIONS = ("sum_over_batch_size", "mean", "sum", "mean_with_sample_weight", "none")
SHAPE = (2, 48)  # one buffer for the property tests; masks vary the effective length


@functools.partial(jax.jit, static_argnames=("method", "temperature"))
def _all_reductions(scores, labels, where, weights, *, method, temperature):
    """Every reduction and the gradient of the default one, in one compiled function."""

    def loss(s, reduction):
        return jaxrank.pairwise_hinge_loss(
            s,
            labels,
            where=where,
            weights=weights,
            temperature=temperature,
            reduction=reduction,
            method=method,
        )

    values = {r: loss(scores, r) for r in REDUCTIONS}
    grad = jax.grad(lambda s: loss(s, "sum"))(scores)
    return values, grad


def _inputs(draw_labels, draw_scores, rng, temperature):
    return draw_scores(rng, temperature), draw_labels(rng)


LABEL_KINDS = {
    "graded": lambda rng: rng.integers(-1, 5, SHAPE).astype(np.float32),
    "binary": lambda rng: rng.integers(0, 2, SHAPE).astype(np.float32),
    "real": lambda rng: np.where(
        rng.random(SHAPE) < 0.1, -1.0, rng.normal(size=SHAPE) * 3
    ).astype(np.float32),
    "large_int": lambda rng: rng.integers(0, 40, SHAPE).astype(np.float32),
}
SCORE_KINDS = {
    "normal": lambda rng, t: rng.normal(size=SHAPE).astype(np.float32),
    # Multiples of T / 2: many exact ties and pairs exactly at the kink.
    "grid": lambda rng, t: (rng.integers(-4, 5, SHAPE) * (t / 2)).astype(np.float32),
}


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    labels_kind=st.sampled_from(sorted(LABEL_KINDS)),
    scores_kind=st.sampled_from(sorted(SCORE_KINDS)),
    temperature=st.sampled_from([1.0, 0.3]),
    masked=st.booleans(),
    weights_kind=st.sampled_from(["none", "item", "list"]),
)
def test_sorted_equals_dense_and_reference(
    seed, labels_kind, scores_kind, temperature, masked, weights_kind
):
    rng = np.random.default_rng(seed)
    scores = SCORE_KINDS[scores_kind](rng, temperature)
    labels = LABEL_KINDS[labels_kind](rng)
    where = rng.random(SHAPE) < 0.8 if masked else np.ones(SHAPE, bool)
    weights = {
        "none": np.ones(SHAPE, np.float32),
        "item": rng.random(SHAPE).astype(np.float32),
        "list": np.broadcast_to(rng.random((SHAPE[0], 1)), SHAPE).astype(np.float32),
    }[weights_kind]
    sorted_values, sorted_grad = _all_reductions(
        scores, labels, where, weights, method="sorted", temperature=temperature
    )
    dense_values, dense_grad = _all_reductions(
        scores, labels, where, weights, method="all_pairs", temperature=temperature
    )
    valid = reference.valid_items(labels, where)
    items = reference.hinge_item_losses(scores, labels, valid, temperature)
    expected_none = items * weights
    scale = 1.0 + np.max(np.abs(expected_none))
    np.testing.assert_allclose(sorted_values["none"], expected_none, atol=2e-6 * scale)
    np.testing.assert_allclose(
        sorted_values["none"], dense_values["none"], atol=2e-6 * scale
    )
    for r in REDUCTIONS:
        np.testing.assert_allclose(
            sorted_values[r], dense_values[r], rtol=2e-6, atol=1e-6
        )
    expected_grad = reference.hinge_item_losses_vjp(
        scores, labels, valid, temperature, np.where(valid, weights, 0.0)
    )
    gscale = 1.0 + np.max(np.abs(expected_grad))
    np.testing.assert_allclose(sorted_grad, expected_grad, atol=2e-6 * gscale)
    np.testing.assert_allclose(sorted_grad, dense_grad, atol=2e-6 * gscale)


def test_exact_kinks_and_ties_match_dense_exactly():
    """Pairs exactly at the kink are inactive in both paths: same value, same grad."""
    scores = jnp.array([[0.0, 1.0, 1.0, 2.0, 0.5, 1.5, 3.0, 1.0]])
    labels = jnp.array([[0.0, 1.0, 1.0, 2.0, 0.0, 3.0, 1.0, -1.0]])
    valid = labels >= 0
    for kernel in (hinge_losses_sorted, hinge_losses_allpairs):
        np.testing.assert_array_equal(
            kernel(scores, labels, valid, 1.0),
            reference.hinge_item_losses(scores, labels, valid, 1.0),
        )
    g = jnp.arange(8.0)[None]
    grads = [
        jax.grad(lambda s, k=k: jnp.sum(g * k(s, labels, valid, 1.0)))(scores)
        for k in (hinge_losses_sorted, hinge_losses_allpairs)
    ]
    np.testing.assert_array_equal(grads[0], grads[1])


@pytest.mark.parametrize("cotangent", ["varied", "uniform"])
@pytest.mark.parametrize("max_label", [1, 7, 8, 40])
def test_long_list_with_ties_matches_dense_exactly(max_label, cotangent):
    """n = 4096 takes the two-round margin search; largest keys 1 and 7 take the
    per-key passes, 8 and 40 the wavelet matrix. Grid scores put many pairs exactly
    at the kink and many scores in ties; with integer cotangents every sum is exact,
    so both paths must agree bit for bit. A cotangent shared by a list's valid items
    takes the backward pass's shortcut through the forward pass's counts."""
    n = 4096
    rng = np.random.default_rng(max_label)
    scores = jnp.asarray(rng.integers(-8, 9, (1, n)) * 0.5, jnp.float32)
    labels = rng.integers(-1, max_label + 1, (1, n)).astype(np.float32)
    labels[0, 0] = max_label  # the largest key is present
    labels = jnp.asarray(labels)
    valid = labels >= 0
    g = jnp.asarray(rng.integers(-3, 4, (1, n)), jnp.float32)
    if cotangent == "uniform":  # invalid items' cotangents do not matter
        g = jnp.where(valid, 3.0, g)

    @functools.partial(jax.jit, static_argnums=0)
    def losses_and_grad(kernel, scores):
        losses, vjp = jax.vjp(lambda s: kernel(s, labels, valid, 1.0), scores)
        return losses, vjp(g)[0]

    sorted_losses, sorted_grad = losses_and_grad(hinge_losses_sorted, scores)
    dense_losses, dense_grad = losses_and_grad(hinge_losses_allpairs, scores)
    assert float(jnp.sum(dense_losses)) > 0
    np.testing.assert_array_equal(sorted_losses, dense_losses)
    np.testing.assert_array_equal(sorted_grad, dense_grad)


@pytest.mark.parametrize("n", [0, 1, 2])
def test_tiny_lists(n):
    scores = jnp.arange(n, dtype=jnp.float32)[None]
    labels = jnp.arange(n, dtype=jnp.float32)[None]
    value, grad = jax.value_and_grad(
        lambda s: jnp.sum(hinge_losses_sorted(s, labels, labels >= 0, 1.0))
    )(scores)
    expected = reference.hinge_item_losses(scores, labels, labels >= 0, 1.0).sum()
    np.testing.assert_allclose(value, expected)
    assert grad.shape == (1, n)


@pytest.mark.parametrize("segmented", [False, True])
@pytest.mark.parametrize("variant", VARIANTS)
def test_check_grads_reverse_mode(variant, segmented):
    rng = np.random.default_rng(3)
    scores = jnp.asarray(rng.normal(size=(2, 12)), jnp.float32)
    labels = jnp.asarray(rng.integers(0, 3, (2, 12)), jnp.float32)
    segments = (
        jnp.asarray(rng.integers(0, 3, (2, 12)), jnp.int32) if segmented else None
    )

    def kernel(s):
        return hinge_losses_sorted(
            s, labels, labels >= 0, 1.0, segments, variant=variant
        )

    check_grads(
        jax.jit(kernel),
        (scores,),
        order=1,
        modes=["rev"],
        eps=1e-3,
        atol=1e-2,
        rtol=1e-2,
    )


def test_leading_axes_and_vmap_equal_per_list():
    rng = np.random.default_rng(4)
    scores = jnp.asarray(rng.normal(size=(2, 3, 40)), jnp.float32)
    labels = jnp.asarray(rng.integers(-1, 4, (2, 3, 40)), jnp.float32)
    valid = labels >= 0
    kernel = functools.partial(hinge_losses_sorted, temperature=1.0)

    @jax.jit
    def both(s):
        # Leading axes handled by the kernel, and a vmap over lists of its 1-d form.
        batched = kernel(s, labels, valid)
        mapped = jax.vmap(jax.vmap(kernel))(s, labels, valid)
        return batched, mapped

    (batched, mapped), vjp = jax.vjp(both, scores)
    expected = reference.hinge_item_losses(scores, labels, valid, 1.0)
    np.testing.assert_allclose(batched, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(mapped, expected, rtol=1e-5, atol=1e-5)
    ones = np.ones((2, 3, 40), np.float32)
    (grad,) = vjp((jnp.asarray(ones), jnp.asarray(ones)))
    np.testing.assert_allclose(
        grad,
        2 * reference.hinge_item_losses_vjp(scores, labels, valid, 1.0, ones),
        rtol=1e-5,
        atol=1e-4,
    )


def test_long_list_against_sort_based_reference():
    """n = 2^16 in float32, graded and real labels, against float64 Fenwick sums."""
    n = 2**16
    rng = np.random.default_rng(5)
    scores = (rng.normal(size=n) * 2).astype(np.float32)
    g = rng.normal(size=n).astype(np.float32)

    @jax.jit
    @chex.assert_max_traces(n=1)  # the label kind is a run-time branch
    def value_and_vjp(s, y):
        losses, vjp = jax.vjp(lambda s: hinge_losses_sorted(s, y, y >= 0, 1.0), s)
        return losses, vjp(g[None])[0]

    graded = rng.integers(-1, 5, n).astype(np.float32)
    real = np.where(rng.random(n) < 0.05, -1.0, rng.random(n)).astype(np.float32)
    for labels in (graded, real):
        losses, grad = value_and_vjp(scores[None], labels[None])
        exp_losses, exp_grad = reference_sorted.hinge_list(
            scores, labels, labels >= 0, 1.0, g
        )
        np.testing.assert_allclose(losses[0], exp_losses, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(
            grad[0], exp_grad, atol=1e-6 * np.max(np.abs(exp_grad))
        )
        # A uniform cotangent: the backward pass's shortcut.
        uniform_grad = jax.jit(
            jax.grad(lambda s, y: jnp.sum(hinge_losses_sorted(s, y, y >= 0, 1.0)))
        )(scores[None], labels[None])
        _, exp_uniform = reference_sorted.hinge_list(
            scores, labels, labels >= 0, 1.0, np.ones(n, np.float32)
        )
        np.testing.assert_allclose(
            uniform_grad[0], exp_uniform, atol=1e-6 * np.max(np.abs(exp_uniform))
        )


def test_uniform_cotangent_detection():
    valid = jnp.array([[True, True, False], [True, True, True], [False] * 3])
    same = jnp.array([[2.0, 2.0, 9.0], [-1.0, -1.0, -1.0], [1.0, 2.0, 3.0]])
    assert bool(hinge_sorted._uniform_per_list(same, valid))
    varied = same.at[1, 2].set(0.0)
    assert not bool(hinge_sorted._uniform_per_list(varied, valid))
    assert not bool(hinge_sorted._uniform_per_list(same.at[0, 0].set(jnp.nan), valid))


def test_no_retracing_across_calls():
    @jax.jit
    @chex.assert_max_traces(n=1)
    def step(s, y):
        return jax.value_and_grad(
            lambda s: jaxrank.pairwise_hinge_loss(s, y, method="sorted")
        )(s)

    rng = np.random.default_rng(6)
    for labels in (rng.integers(0, 5, (3, 64)), rng.random((3, 64)) * 9):
        step(
            jnp.asarray(rng.normal(size=(3, 64)), jnp.float32),
            jnp.asarray(labels, jnp.float32),
        )
    with pytest.raises(AssertionError):  # a new shape does trace again
        step(jnp.zeros((3, 65)), jnp.zeros((3, 65)))


@pytest.mark.parametrize("cached", [True, False])
def test_forward_traced_once_per_gradient(monkeypatch, cached):
    # jax.custom_vjp traces its function and its forward rule: the second must
    # reuse the first's trace, in and out of the eager cache's jit.
    traced = []

    def counting(*args, **kwargs):
        traced.append(args[-1])
        return forward(*args, **kwargs)

    forward = hinge_sorted._forward
    monkeypatch.setattr(hinge_sorted, "_forward", counting)
    n = 37 + cached  # shapes no other test traced
    s = jnp.asarray(np.random.default_rng(7).normal(size=(2, n)), jnp.float32)
    y = jnp.asarray(np.arange(2 * n).reshape(2, n) % 3, jnp.float32)
    step = jax.jit(
        jax.value_and_grad(lambda s: jaxrank.pairwise_hinge_loss(s, y, method="sorted"))
    )
    cache = contextlib.nullcontext() if cached else eager_cache.uncached()
    with forced_variant("cpu"), cache:
        value, grad = step(s)
    assert traced == ["cpu"]
    expected = jax.value_and_grad(
        lambda s: jaxrank.pairwise_hinge_loss(s, y, method="all_pairs")
    )(s)
    np.testing.assert_allclose(value, expected[0], rtol=1e-6)
    np.testing.assert_allclose(grad, expected[1], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    ("weights_shape", "reduction", "general"),
    [
        (None, "sum", False),
        ((3,), "mean_with_sample_weight", False),
        ((40,), "sum", True),
        (None, "none", True),
    ],
)
def test_backward_pass_compiled_for_the_cotangents_the_reduction_gives(
    monkeypatch, weights_shape, reduction, general
):
    # Without per-item weights a reduced loss gives every valid item of a list (of a
    # segment) one cotangent, and only the O(n) backward pass is compiled; its
    # gradient is the all-pairs kernel's, a segment with a NaN score included.
    traced = []

    def counting(*args, **kwargs):
        traced.append(True)
        return backward(*args, **kwargs)

    backward = hinge_sorted._backward_list
    monkeypatch.setattr(hinge_sorted, "_backward_list", counting)
    rng = np.random.default_rng(8)
    s = rng.normal(size=(3, 40)).astype(np.float32)
    s[1, 3] = np.nan
    y = rng.integers(-1, 4, size=(3, 40)).astype(np.float32)
    segments = np.repeat(np.arange(4), 10)[None].repeat(3, axis=0)
    w = None if weights_shape is None else rng.random(weights_shape) + 0.5

    def loss(s, method):
        out = jaxrank.pairwise_hinge_loss(
            s, y, weights=w, segments=segments, reduction=reduction, method=method
        )
        return jnp.sum(
            jnp.where(
                jnp.isnan(out), 0.0, out * (1 + jnp.arange(out.size).reshape(out.shape))
            )
        )

    with eager_cache.uncached():
        got = jax.jit(jax.grad(loss), static_argnums=1)(s, "sorted")
    assert bool(traced) == general
    expected = jax.grad(loss)(s, "all_pairs")
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert np.all(got[1, :10] == 0)  # the segment holding the NaN


def test_auto_dispatch_by_static_shape():
    assert not prefers_sorted_path((256, 32))
    assert not prefers_sorted_path((1, 64))
    assert not prefers_sorted_path((64, 128))
    assert not prefers_sorted_path((64, 512))
    assert not prefers_sorted_path((16, 1024))
    assert prefers_sorted_path((1, 1024))
    assert prefers_sorted_path((4, 768))
    assert prefers_sorted_path((1, 16384))
    assert prefers_sorted_path((16, 2048))
    assert not prefers_sorted_path(())
    # With segments: from 1024 items, whatever the batch.
    assert prefers_sorted_path((64, 1024), segmented=True)
    assert not prefers_sorted_path((1, 1023), segmented=True)
    # GPUs and TPUs: all pairs up to 4096 items and 2^29 pairs, with or without
    # segments.
    for segmented in (False, True):
        on_accelerators = functools.partial(
            prefers_sorted_path, segmented=segmented, variant="accelerator"
        )
        assert not on_accelerators((64, 1024))
        assert not on_accelerators((16, 4096))
        assert on_accelerators((64, 4096))
        assert on_accelerators((1, 4097))
        assert on_accelerators((1, 2**20))


@pytest.mark.parametrize("longest", [3, losses._BAND_LONGEST_SEGMENT + 1])
def test_auto_with_segments_chooses_by_the_longest_segment(longest, rng):
    # One row of 1024 items: segments of `longest` items (the last one shorter),
    # interleaved by a permutation. Either branch gives the sorted path's numbers.
    n = 1024
    ids = rng.permutation(np.arange(n) // longest)[None]
    scores = rng.normal(size=(1, n)).astype(np.float32)
    labels = rng.integers(0, 3, size=(1, n)).astype(np.float32)

    def loss(s, method):
        return jaxrank.pairwise_hinge_loss(
            s, labels, segments=ids, method=method, reduction="sum"
        )

    auto = jax.value_and_grad(loss)(scores, "auto")
    for method in ("sorted", "all_pairs"):
        want = jax.value_and_grad(loss)(scores, method)
        np.testing.assert_allclose(auto[0], want[0], rtol=2e-6)
        np.testing.assert_allclose(auto[1], want[1], rtol=2e-6, atol=1e-6)
    jaxpr = str(jax.make_jaxpr(lambda s: loss(s, "auto"))(scores))
    assert "cond[" in jaxpr


@pytest.mark.parametrize("method", ["all_pairs", "sorted"])
def test_both_methods_need_memory_linear_in_the_list(method):
    # XLA's buffer assignment for jit(value_and_grad): no (n, n) pair tensor, only a
    # few dozen numbers per item (a pair tensor here would be 256 MiB).
    lists, n = 4, 4096
    scores = jnp.zeros((lists, n), jnp.float32)
    compiled = (
        jax.jit(
            jax.value_and_grad(
                lambda s, y: jaxrank.pairwise_hinge_loss(s, y, method=method)
            )
        )
        .lower(scores, scores)
        .compile()
    )
    temp_bytes = compiled.memory_analysis().temp_size_in_bytes
    assert temp_bytes < 64 * lists * n * 4


def test_keras_class_takes_the_method():
    labels = jnp.array([[1.0, 0.0, 1.0, 3.0], [0.0, 1.0, 2.0, 3.0]])
    scores = jnp.array([[1.0, 3.0, 2.0, 4.0], [1.0, 1.8, 2.0, 3.0]])
    loss = jaxrank.PairwiseHingeLoss(method="sorted")
    np.testing.assert_allclose(
        loss(labels, scores), 0.75, rtol=1e-6
    )  # the spec's value


_SUBPROCESS = textwrap.dedent(
    """
    import jax, jax.numpy as jnp, numpy as np
    from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
    import jaxrank
    from jaxrank._src.hinge_sorted import hinge_losses_sorted
    import sys; sys.path.insert(0, "tests")
    import reference_sorted

    assert jax.device_count() == 8
    rng = np.random.default_rng(8)
    scores = rng.normal(size=(8, 300))
    labels = np.where(rng.random((8, 300)) < 0.1, -1.0, rng.random((8, 300)))

    # float64 in, float64 out, plain float64 sums.
    s64, y64 = jnp.asarray(scores), jnp.asarray(labels)
    out = hinge_losses_sorted(s64, y64, y64 >= 0, 1.0)
    assert out.dtype == jnp.float64
    for row in range(8):
        y = labels[row]
        exp = reference_sorted.hinge_list(scores[row], y, y >= 0, 1.0)
        np.testing.assert_allclose(np.asarray(out[row]), exp, rtol=1e-12, atol=1e-12)

    # Sharded over 8 devices equals one device.
    s32, y32 = s64.astype(jnp.float32), y64.astype(jnp.float32)
    step = jax.jit(jax.value_and_grad(
        lambda s, y: jaxrank.pairwise_hinge_loss(s, y, method="sorted")))
    mesh = Mesh(np.array(jax.devices()), ("b",))
    shard = NamedSharding(mesh, P("b", None))
    v1, g1 = step(s32, y32)
    v8, g8 = step(jax.device_put(s32, shard), jax.device_put(y32, shard))
    np.testing.assert_allclose(v8, v1, rtol=1e-6)
    np.testing.assert_allclose(g8, g1, rtol=1e-6, atol=1e-7)
    print("ok")
    """
)


def test_float64_and_sharded_in_subprocess():
    env = dict(os.environ)
    env["XLA_FLAGS"] = "--xla_force_host_platform_device_count=8"
    env["JAX_ENABLE_X64"] = "1"
    env["JAX_PLATFORMS"] = "cpu"
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    result = subprocess.run(
        [sys.executable, "-c", _SUBPROCESS],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), (
        result.stderr
    )


def test_general_path_used_for_non_graded_labels():
    labels = jnp.array([[0.0, 1.0, 7.0, -1.0]])
    assert bool(hinge_sorted._integer_keyed(labels, labels >= 0))
    for bad in ([[0.5, 1.0, 2.0, 0.0]], [[8.0, 1.0, 2.0, 0.0]]):
        bad = jnp.array(bad)
        assert not bool(hinge_sorted._integer_keyed(bad, bad >= 0))


# --- agreement with the all-pairs path at every magnitude (issue 13) -----------------

U = 2.0**-24  # float32's unit roundoff
F32_MAX = float(np.finfo(np.float32).max)


def _rule(exact, budget):
    """The module docstring's precision rule for the float32 sorted path."""
    return U * np.abs(exact) + U / 4 * budget


def _all_pairs_bound(budget, count):
    """An a-priori bound on the all-pairs path's own float32 error: each pair term
    within ``3.01 u (1 + |s_i - s_j| / T)``, then a sequential sum of ``count``
    positive terms."""
    return (count + 3) * U * budget


@functools.partial(jax.jit, static_argnames=("temperature", "variant"))
def _both_methods(scores, labels, where, cotangent, *, temperature, variant="cpu"):
    """Per-item losses, their VJP with ``cotangent`` and the gradient of their sum
    (the uniform-cotangent shortcut), by both methods, with the kernels of
    ``variant`` (the all-pairs kernel of the accelerators is the blocked one)."""
    out = {}
    for method in ("sorted", "all_pairs"):

        def losses(s, method=method):
            return jaxrank.pairwise_hinge_loss(
                s,
                labels,
                where=where,
                temperature=temperature,
                reduction="none",
                method=method,
            )

        with forced_variant(variant):
            value, vjp = jax.vjp(losses, scores)
            uniform = jax.grad(lambda s, f=losses: jnp.sum(f(s)))(scores)
        out[method] = (value, vjp(cotangent)[0], uniform)
    return out


def _check_agreement(scores, labels, where, cotangent, temperature, variant="cpu"):
    out = _both_methods(
        scores[None],
        labels[None],
        where[None],
        cotangent[None],
        temperature=temperature,
        variant=variant,
    )
    (so, so_vjp, so_grad), (ap, ap_vjp, ap_grad) = (
        tuple(np.asarray(x[0], np.float64) for x in out[m])
        for m in ("sorted", "all_pairs")
    )
    valid = where & (labels >= 0)
    ref = reference_sorted.hinge_dense(scores, labels, valid, temperature, cotangent)
    uniform = reference_sorted.hinge_dense(
        scores, labels, valid, temperature, np.ones_like(cotangent)
    )
    exact, budget, kink = ref.losses, ref.budget, ref.kink
    finite = exact * (1 + 2.0**-20) < F32_MAX
    overflow = exact > F32_MAX * (1 + 2.0**-20)
    # Within the rule of the exact sum (a pair within a rounding of the kink may
    # count or not: XLA's margin test is not IEEE arithmetic, see hinge_dense).
    tolerance = (_rule(exact, budget) + 4 * U * kink) * 1.001 + 1e-300
    np.testing.assert_array_less(np.abs(so[finite] - exact[finite]), tolerance[finite])
    assert np.all(np.isposinf(so[overflow]))
    np.testing.assert_array_equal(so[~valid], 0.0)
    # A gradient entry is a sum of cotangents over T (XLA on CPU flushes results
    # below 2**-126 to zero).
    np.testing.assert_array_less(
        np.abs(so_vjp - ref.grad), 4 * U * ref.grad_scale + ref.kink_grad + 2.0**-124
    )
    np.testing.assert_array_less(
        np.abs(so_grad - uniform.grad),
        2 * U * np.abs(uniform.grad) + uniform.kink_grad + 2.0**-124,
    )
    if temperature > 2.0**126:
        # XLA compiles the all-pairs path's division by T into a multiplication by
        # 1 / T, which is below float32's normal range and flushed to zero on CPU:
        # there every pair term is 1 and every gradient 0.
        return
    # So within the rule plus the all-pairs path's own error of the all-pairs value;
    # a gradient for a shared cotangent is a count over T in both paths.
    ap_tolerance = _all_pairs_bound(budget + kink, ref.count) * 1.001
    np.testing.assert_array_less(
        np.abs(so[finite] - ap[finite]), tolerance[finite] + ap_tolerance[finite]
    )
    assert np.all(np.isposinf(ap[overflow]))
    np.testing.assert_array_equal(so_grad, ap_grad)


N_AGREE = 2000


@settings(max_examples=16, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    magnitude=st.sampled_from([1.0, 1e6, 1e12, 1e16, 1e30, 1e38 / 4]),
    temperature=st.sampled_from([1e-3, 0.3, 1.0, 7.0, 1e6, 1e38]),
    scores_kind=st.sampled_from(["normal", "ties", "near_ties"]),
    labels_kind=st.sampled_from(["graded", "real"]),
    variant=st.sampled_from(VARIANTS),
)
def test_sorted_agrees_with_all_pairs_at_any_magnitude(
    seed, magnitude, temperature, scores_kind, labels_kind, variant
):
    """800 to 2000 valid items (of a 2000-item buffer) with scores at magnitudes up to
    1e38 / 4, many of them tied or a few float32 steps apart, and temperatures from
    1e-3 to 1e38: the sorted path is within the module's rule of the exact sum, and
    so within that plus the all-pairs path's own rounding of the all-pairs value;
    with the CPU kernels and with the accelerators' (parallel scans, blocked pairs)."""
    rng = np.random.default_rng(seed)
    n = N_AGREE
    if scores_kind == "normal":
        scores = rng.normal(size=n) * magnitude
    elif scores_kind == "ties":  # seven values, each shared by many items
        scores = rng.integers(-3, 4, n) * (magnitude / 2)
    else:  # a cluster of float32 neighbours of the magnitude, ties included
        step = float(np.spacing(np.float32(magnitude)))
        scores = magnitude + rng.integers(-4, 5, n) * step
    scores = scores.astype(np.float32)
    if labels_kind == "graded":
        labels = rng.integers(0, 5, n).astype(np.float32)
    else:
        labels = rng.random(n).astype(np.float32)
    where = np.zeros(n, bool)
    where[rng.permutation(n)[: rng.integers(800, n + 1)]] = True
    cotangent = rng.normal(size=n).astype(np.float32)
    _check_agreement(scores, labels, where, cotangent, temperature, variant)


@pytest.mark.parametrize("magnitude", [1e14, 1e16])
def test_tied_huge_scores_count_every_partner(magnitude):
    """Issue 13: 800 tied scores with graded labels gave 0 (1e16) or 240640 (1e14)
    with the sorted path; every pair term is exactly 1."""
    n = 800
    rng = np.random.default_rng(13)
    scores = jnp.full((1, n), magnitude, jnp.float32)
    labels = jnp.asarray(rng.integers(0, 5, (1, n)), jnp.float32)
    g = jnp.asarray(rng.integers(-3, 4, (1, n)), jnp.float32)
    out = _both_methods(scores, labels, labels >= 0, g, temperature=1.0)
    y = np.asarray(labels[0])
    partners = (y[:, None] > y[None, :]).sum(axis=1)
    np.testing.assert_array_equal(out["sorted"][0][0], partners)
    for a, b in zip(out["sorted"], out["all_pairs"], strict=True):
        np.testing.assert_array_equal(a, b)


def test_huge_temperature_is_finite():
    """Issue 13: T = 1e38 made ``C T`` overflow and the sorted path return NaN."""
    n = 800
    rng = np.random.default_rng(38)
    scores = rng.normal(size=n).astype(np.float32)
    labels = rng.integers(0, 5, n).astype(np.float32)
    g = rng.normal(size=n).astype(np.float32)
    out = _both_methods(
        scores[None], labels[None], labels[None] >= 0, g[None], temperature=1e38
    )
    # Every pair term rounds to 1: the losses are the partner counts.
    np.testing.assert_array_equal(out["sorted"][0], out["all_pairs"][0])
    _check_agreement(scores, labels, np.ones(n, bool), g, 1e38)


@pytest.mark.parametrize("labels_kind", ["graded", "real"])
def test_near_ties_at_large_magnitude(labels_kind):
    """Issue 13: with random labels at n = 1000 and scores a few float32 steps around
    1e12, the sorted path missed ``C T`` by whole units against sums of ``~1e12``."""
    n = 1000
    rng = np.random.default_rng(12)
    step = float(np.spacing(np.float32(1e12)))
    scores = (1e12 + rng.integers(-3, 4, n) * step).astype(np.float32)
    if labels_kind == "graded":
        labels = rng.integers(0, 5, n).astype(np.float32)
    else:
        labels = rng.random(n).astype(np.float32)
    cotangent = rng.normal(size=n).astype(np.float32)
    _check_agreement(scores, labels, np.ones(n, bool), cotangent, 1.0)


@pytest.mark.parametrize("labels_kind", ["graded", "real"])
@pytest.mark.parametrize("side", ["plain", "anchored"])
@pytest.mark.parametrize(
    ("variant", "temperature"),
    [("cpu", 0.3), ("cpu", 1.0), ("cpu", 1e6), ("accelerator", 1.0)],
)
def test_rule_holds_on_both_sides_of_the_plain_sum_limit(
    labels_kind, side, variant, temperature
):
    """The plain partner sums are taken while max |s| <= lambda_n T
    (``_plain_sum_limit``), the anchored ones beyond. Scores within 8 T below a top
    just under or just over that limit (large magnitudes, small differences: the
    plain sums' worst case): the sorted path is within the rule either way."""
    n = N_AGREE
    limit = hinge_sorted._plain_sum_limit(n, temperature, variant)
    top = limit * (0.999 if side == "plain" else 1.001)
    rng = np.random.default_rng(int(temperature * 10) + len(side))
    scores = (top - rng.random(n) * 8 * temperature).astype(np.float32)
    largest = float(np.max(np.abs(scores)))
    assert (largest <= limit) == (side == "plain")
    if labels_kind == "graded":
        labels = rng.integers(0, 5, n).astype(np.float32)
    else:
        labels = rng.random(n).astype(np.float32)
    cotangent = rng.normal(size=n).astype(np.float32)
    _check_agreement(scores, labels, np.ones(n, bool), cotangent, temperature, variant)


@pytest.mark.parametrize(
    ("variant", "magnitude"),
    [("cpu", 1e16), ("cpu", 1e30), ("cpu", 1e38 / 4), ("accelerator", 1e30)],
)
@pytest.mark.parametrize("steps_per_t", [1, 3])
@pytest.mark.parametrize("labels_kind", ["graded", "real"])
def test_integer_pair_terms_are_exact_at_any_magnitude(
    variant, magnitude, steps_per_t, labels_kind
):
    """Scores 3k float32 steps from a huge value and T one or three steps: every pair
    term is an integer (some exactly 0, at the kink), so both paths are exact and
    agree bit for bit, values and gradients."""
    n = 1000
    rng = np.random.default_rng(int(np.log10(magnitude)) + steps_per_t)
    step = float(np.spacing(np.float32(magnitude)))
    scores = (magnitude + 3 * rng.integers(-3, 4, (1, n)) * step).astype(np.float32)
    if labels_kind == "graded":
        labels = rng.integers(-1, 5, (1, n)).astype(np.float32)
    else:
        labels = np.where(rng.random((1, n)) < 0.1, -1, rng.random((1, n)))
        labels = labels.astype(np.float32)
    g = rng.integers(-3, 4, (1, n)).astype(np.float32)
    out = _both_methods(
        jnp.asarray(scores),
        jnp.asarray(labels),
        jnp.asarray(labels >= 0),
        jnp.asarray(g),
        temperature=steps_per_t * step,
        variant=variant,
    )
    valid = labels[0] >= 0
    exact = reference_sorted.hinge_dense(
        scores[0], labels[0], valid, steps_per_t * step
    ).losses
    assert np.all(exact == np.round(exact)) and exact.max() > 0
    np.testing.assert_array_equal(out["sorted"][0][0], exact)
    for a, b in zip(out["sorted"], out["all_pairs"], strict=True):
        np.testing.assert_array_equal(a, b)


# --- segments (issue 11) -------------------------------------------------------------


def _segment_ids(rng, n, num_segments, contiguous):
    ids = rng.integers(0, num_segments, n)
    ids = np.sort(ids) if contiguous else ids
    return (ids * 7 - 3).astype(np.int32)  # arbitrary ids: only equality matters


@functools.partial(jax.jit, static_argnames=("method", "temperature", "variant"))
def _segmented(
    scores, labels, where, segments, cotangent, *, method, temperature, variant="cpu"
):
    """Per-item losses, their VJP with ``cotangent`` and the gradient of their sum
    (the uniform-cotangent shortcut) of one method and variant, with segments."""

    def losses(s):
        return jaxrank.pairwise_hinge_loss(
            s,
            labels,
            where=where,
            segments=segments,
            temperature=temperature,
            reduction="none",
            method=method,
        )

    with forced_variant(variant):
        value, vjp = jax.vjp(losses, scores)
        grad = jax.grad(lambda s: jnp.sum(losses(s)))(scores)
    return value, vjp(cotangent)[0], grad


def _per_segment(fn, segments, *arrays):
    """``fn`` applied to each segment's items as a list of their own, the outputs
    laid back at the items' places."""
    out = None
    for sid in np.unique(segments):
        idx = np.flatnonzero(segments == sid)
        parts = fn(*(np.asarray(a)[idx] for a in arrays))
        if out is None:
            out = [np.zeros(segments.shape, np.asarray(p).dtype) for p in parts]
        for o, p in zip(out, parts, strict=True):
            o[idx] = p
    return out


@pytest.mark.parametrize("contiguous", [True, False])
@pytest.mark.parametrize("max_label", [3, 40])
def test_segments_equal_separate_lists_and_band_exactly(contiguous, max_label):
    """n = 4096 (the two-round margin search) in 5 segments, grid scores (ties, pairs
    at the kink) and integer cotangents: every sum is exact, so each segment's
    losses and gradients equal, bit for bit, those of its items as a list of their
    own (one list per segment, the other items masked out) and those of the band
    kernel (``method="all_pairs"``). Labels up to 3 take the per-key passes, up to
    40 the wavelet matrix."""
    n = 4096
    rng = np.random.default_rng(max_label + contiguous)
    scores = (rng.integers(-8, 9, n) * 0.5).astype(np.float32)
    labels = rng.integers(-1, max_label + 1, n).astype(np.float32)
    where = rng.random(n) < 0.9
    segments = _segment_ids(rng, n, 5, contiguous)
    g = rng.integers(-3, 4, n).astype(np.float32)
    args = (scores[None], labels[None], where[None], segments[None], g[None])
    got = _segmented(*args, method="sorted", temperature=1.0)
    band = _segmented(*args, method="all_pairs", temperature=1.0)
    own = segments[None] == np.unique(segments)[:, None]  # (5, n): one list each
    rows = [np.broadcast_to(x, own.shape) for x in (scores, labels, g)]
    alone = _segmented(
        rows[0], rows[1], where & own, None, rows[2], method="sorted", temperature=1.0
    )
    assert float(jnp.sum(got[0])) > 0
    for a, b, c in zip(got, band, alone, strict=True):
        np.testing.assert_array_equal(a[0], np.sum(np.where(own, c, 0), axis=0))
        np.testing.assert_array_equal(a[0], b[0])


@settings(max_examples=6, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    magnitude=st.sampled_from([1.0, 1e6, 1e16, 1e38 / 4]),
    temperature=st.sampled_from([0.3, 1.0, 1e6]),
    labels_kind=st.sampled_from(["graded", "real"]),
    contiguous=st.booleans(),
    variant=st.sampled_from(VARIANTS),
)
def test_segments_within_the_rule_of_the_masked_dense_reference(
    seed, magnitude, temperature, labels_kind, contiguous, variant
):
    """Random scores at magnitudes up to 1e38 / 4 in 1 to 4 segments of a 1500-item
    row (masked items included): every segment's losses are within the module's
    precision rule of the exact float64 sum over its own pairs (the dense reference
    with pairs masked by segment), and its gradients within a few roundings."""
    rng = np.random.default_rng(seed)
    n = 1500
    scores = (rng.normal(size=n) * magnitude).astype(np.float32)
    if labels_kind == "graded":
        labels = rng.integers(0, 5, n).astype(np.float32)
    else:
        labels = rng.random(n).astype(np.float32)
    where = rng.random(n) < 0.85
    segments = _segment_ids(rng, n, int(rng.integers(1, 5)), contiguous)
    g = rng.normal(size=n).astype(np.float32)
    so, so_vjp, so_grad = (
        np.asarray(x[0], np.float64)
        for x in _segmented(
            scores[None],
            labels[None],
            where[None],
            segments[None],
            g[None],
            method="sorted",
            temperature=temperature,
            variant=variant,
        )
    )
    valid = where & (labels >= 0)

    def dense(s, y, v, g):
        ref = reference_sorted.hinge_dense(s, y, v, temperature, g)
        uniform = reference_sorted.hinge_dense(s, y, v, temperature, np.ones_like(g))
        return (
            ref.losses,
            ref.budget,
            ref.kink,
            ref.grad,
            ref.grad_scale,
            ref.kink_grad,
            uniform.grad,
            uniform.kink_grad,
        )

    exact, budget, kink, grad, grad_scale, kink_grad, uniform, uniform_kink = (
        _per_segment(dense, segments, scores, labels, valid, g)
    )
    finite = exact * (1 + 2.0**-20) < F32_MAX
    tolerance = (_rule(exact, budget) + 4 * U * kink) * 1.001 + 1e-300
    np.testing.assert_array_less(np.abs(so[finite] - exact[finite]), tolerance[finite])
    np.testing.assert_array_equal(so[~valid], 0.0)
    np.testing.assert_array_less(
        np.abs(so_vjp - grad), 4 * U * grad_scale + kink_grad + 2.0**-124
    )
    np.testing.assert_array_less(
        np.abs(so_grad - uniform), 2 * U * np.abs(uniform) + uniform_kink + 2.0**-124
    )


def test_segments_vmap_equals_batch():
    """A batch with segments and its vmap over lists agree, and match the dense
    reference with pairs masked by segment."""
    rng = np.random.default_rng(12)
    scores = jnp.asarray(rng.normal(size=(3, 40)), jnp.float32)
    labels = jnp.asarray(rng.integers(-1, 4, (3, 40)), jnp.float32)
    segments = jnp.asarray(rng.integers(0, 4, (3, 40)), jnp.int32)
    valid = labels >= 0

    def kernel(s, y, v, ids):
        return hinge_losses_sorted(s, y, v, 1.0, ids)

    @jax.jit
    def both(s, y, v, ids):
        return kernel(s, y, v, ids), jax.vmap(kernel)(s, y, v, ids)

    batched, mapped = both(scores, labels, valid, segments)
    np.testing.assert_array_equal(batched, mapped)
    expected = ref_segments.item_losses(
        ref_segments.TERMS["hinge"], scores, labels, valid, segments
    )
    np.testing.assert_allclose(batched, expected, rtol=1e-5, atol=1e-5)
