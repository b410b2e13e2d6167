"""The sequential-depth helper (tests/depth.py) on known programs, and the depth of
the losses that are already shallow (issue 12: at most 64 sequential loop iterations
for lists up to 4096 on GPU and TPU)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import pytest
from depth import RUNTIME_BOUND, loop_nest_depths, sequential_depth

import jaxrank

PLATFORMS = ("cuda", "tpu")


def _scan_in_fori(x):
    def outer(i, carry):
        carry, _ = jax.lax.scan(lambda c, y: (c * y, None), carry, x[:10])
        return carry

    return jnp.sum(jax.lax.fori_loop(0, 5, outer, x))


def _runtime_bound(x):
    # Halves until below 1e-3: how many times depends on the data.
    def halve(carry):
        count, value = carry
        return count + 1, value * 0.5

    start = (0, jnp.sum(jax.lax.stop_gradient(x)))
    halvings, _ = jax.lax.while_loop(lambda c: c[1] > 1e-3, halve, start)
    return jnp.sum(x) * halvings


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_scan_of_10_in_a_fori_loop_of_5_is_50_deep(platform):
    x = jnp.ones(16)
    assert sequential_depth(_scan_in_fori, x, platform=platform) == 50
    # The forward and the backward nest, each 5 * 10.
    assert loop_nest_depths(_scan_in_fori, x, platform=platform) == [50, 50]


def test_a_data_dependent_bound_counts_as_the_runtime_bound():
    assert RUNTIME_BOUND == 64
    assert sequential_depth(_runtime_bound, jnp.ones(16)) == 64


def test_no_loop_is_depth_1():
    assert sequential_depth(lambda x: jnp.sum(x**2), jnp.ones(16)) == 1
    assert loop_nest_depths(lambda x: jnp.sum(x**2), jnp.ones(16)) == []


def test_trip_counts_of_offset_reversed_batched_and_branched_loops():
    x = jnp.ones(16)

    def offset(x):
        return jnp.sum(jax.lax.fori_loop(3, 17, lambda i, c: c * 0.9, x))

    def reversed_scan(x):
        final, _ = jax.lax.scan(lambda c, y: (c * y, None), x, x[:12], reverse=True)
        return jnp.sum(final)

    def batched(x):
        def row(r):
            return jax.lax.scan(lambda c, y: (c * y, None), r, r[:3])[0]

        return jnp.sum(jax.vmap(row)(x.reshape(4, 4)))

    def branched(x):
        def looped(x):
            return jnp.sum(jax.lax.fori_loop(0, 9, lambda i, c: c * 0.9, x))

        return jax.lax.cond(x[0] > 0, looped, jnp.sum, x)

    assert sequential_depth(offset, x) == 14
    assert sequential_depth(reversed_scan, x) == 12
    assert sequential_depth(batched, x) == 3
    assert sequential_depth(branched, x) == 9


SHALLOW = {
    "softmax": jaxrank.softmax_loss,
    "poly1_softmax": jaxrank.poly1_softmax_loss,
    "unique_softmax": jaxrank.unique_softmax_loss,
    "pointwise_sigmoid": jaxrank.pointwise_sigmoid_loss,
    "pointwise_mse": jaxrank.pointwise_mse_loss,
    "list_mle": jaxrank.list_mle_loss,
}


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("loss", sorted(SHALLOW))
def test_shallow_losses_stay_within_64_sequential_steps(loss, platform):
    shape = jax.ShapeDtypeStruct((4, 4096), jnp.float32)
    assert sequential_depth(SHALLOW[loss], shape, shape, platform=platform) <= 64


# Issue 12's targets on GPUs and TPUs: at most 64 sequential steps up to 4096 items,
# at most 2048 at 2^20.
DEPTH_TARGETS = {(16, 1024): 64, (4, 4096): 64, (1, 2**20): 2048}


def _hinge(method, segmented):
    def loss(scores, labels):
        segments = jnp.zeros(scores.shape, jnp.int32) if segmented else None
        return jaxrank.pairwise_hinge_loss(
            scores, labels, segments=segments, method=method
        )

    return loss


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("shape", sorted(DEPTH_TARGETS))
@pytest.mark.parametrize("method", ["auto", "all_pairs", "sorted"])
def test_hinge_depth_on_accelerators(method, shape, platform):
    """Every method of the hinge, with and without segments, within the targets
    (``all_pairs`` at 2^20 is a million blocks' worth of pairs: not a GPU choice,
    and its depth is checked up to 4096 items only)."""
    if method == "all_pairs" and shape[-1] > 4096:
        pytest.skip("the all-pairs kernel is for lists up to 4096 items")
    arrays = (jax.ShapeDtypeStruct(shape, jnp.float32),) * 2
    for segmented in (False, True):
        depth = sequential_depth(_hinge(method, segmented), *arrays, platform=platform)
        assert depth <= DEPTH_TARGETS[shape], (segmented, depth)


def test_hinge_cpu_kernels_differ_from_the_accelerators():
    """The CPU lowering keeps the sequential kernels (so the structure measured
    above is the accelerators' own, not a CPU kernel that happens to be shallow)."""
    arrays = (jax.ShapeDtypeStruct((1, 2**16), jnp.float32),) * 2
    assert sequential_depth(_hinge("sorted", False), *arrays, platform="cpu") > 2048
