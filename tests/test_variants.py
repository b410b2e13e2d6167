"""Every per-platform kernel variant run on this machine (issue 12): the CPU kernels
and the GPU/TPU ones (``variant="accelerator"``, forced), each against the float64
references, values and gradients; and the running log-sum-exp of the unique softmax
(one kernel everywhere) against NumPy's in float64."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import reference_segments as ref
import reference_t12n

from jaxrank._src import approx_ranks, pair_blocks, running_totals
from jaxrank._src.platforms import VARIANTS

TERMS = {
    "hinge": (pair_blocks.HINGE, ref.TERMS["hinge"]),
    "logistic": (pair_blocks.LOGISTIC, ref.TERMS["logistic"]),
    "soft_zero_one": (pair_blocks.SOFT_ZERO_ONE, ref.TERMS["soft_zero_one"]),
    "squared": (pair_blocks.SQUARED, ref.TERMS["mse"]),
    "qr": (pair_blocks.quantile_term(0.3, True), ref.quantile(0.3, True)),
}
TOL = dict(rtol=2e-5, atol=2e-5)


def _inputs(rng, shape, num_segments):
    """Kernel inputs: scores off the hinge's kink, labels with ties, a validity
    mask (invalid items' scores and labels 0, as the losses pass them), segments
    interleaved at random."""
    scores = rng.normal(size=shape).astype(np.float32) * 2
    labels = rng.integers(0, 4, shape).astype(np.float32)
    valid = rng.random(shape) > 0.15
    scores, labels = np.where(valid, scores, 0), np.where(valid, labels, 0)
    segments = rng.integers(0, num_segments, shape).astype(np.int32)
    return scores, labels, valid, segments


def _check(kernel, term, scores, labels, valid, segments, rng):
    cotangent = rng.uniform(-1, 2, scores.shape).astype(np.float32)
    losses, vjp = jax.vjp(kernel, jnp.asarray(scores))
    want = ref.item_losses(term, scores, labels, valid, segments)
    np.testing.assert_allclose(losses, want, **TOL)
    (grad,) = vjp(jnp.asarray(cotangent))
    want = ref.item_losses_vjp(term, scores, labels, valid, segments, cotangent)
    np.testing.assert_allclose(grad, want, **TOL)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("block_size", [None, 7])
@pytest.mark.parametrize("name", sorted(TERMS))
def test_pair_losses_variants_match_the_reference(rng, name, block_size, variant):
    term, ref_term = TERMS[name]
    scores, labels, valid, _ = _inputs(rng, (2, 3, 20), 1)

    def kernel(s):
        return pair_blocks.pair_losses(
            s, jnp.asarray(labels), jnp.asarray(valid), term, temperature=1.0,
            lambda_weights=None, block_size=block_size, variant=variant,
        )  # fmt: skip

    _check(kernel, ref_term, scores, labels, valid, np.zeros_like(labels), rng)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize(
    "shape, num_segments, block_size",
    # Interleaved segments; runs longer than a step of either variant (n = 300 in
    # two segments); chunks of 3 items (many chunks, each with its own bounds).
    [((2, 3, 20), 4, None), ((300,), 2, None), ((2, 50), 3, 3)],
)
@pytest.mark.parametrize("name", ["hinge", "logistic", "qr"])
def test_band_kernel_variants_match_the_reference(
    rng, name, shape, num_segments, block_size, variant
):
    term, ref_term = TERMS[name]
    scores, labels, valid, segments = _inputs(rng, shape, num_segments)

    def kernel(s):
        return pair_blocks.segment_pair_losses(
            s, jnp.asarray(labels), jnp.asarray(valid), jnp.asarray(segments), term,
            temperature=1.0, block_size=block_size, variant=variant,
        )  # fmt: skip

    _check(kernel, ref_term, scores, labels, valid, segments, rng)


def test_accelerator_blocks_are_few_and_cpu_blocks_unchanged():
    def blocks(shape, variant):
        return -(-shape[-1] // pair_blocks.block_size_for(shape, None, variant))

    # The CPU keeps the budget's blocks (32 MiB slabs), the accelerator at least
    # 512 rows: at most 64 blocks up to 4096 items, ceil(n / 512) beyond.
    assert blocks((1, 2**20), "cpu") == 2**17
    assert blocks((1, 2**20), "accelerator") == 2**11
    assert blocks((64, 4096), "cpu") == 128
    assert blocks((64, 4096), "accelerator") == 8
    for shape in [(16, 1024), (4, 4096), (1, 1000), (1, 2**16)]:
        assert blocks(shape, "accelerator") <= max(64, -(-shape[-1] // 512))
    assert pair_blocks.block_size_for((1, 2**20), 100, "accelerator") == 100


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("block_size", [None, 3])
@pytest.mark.parametrize("kind", ["sigmoid", "upper_hinge"])
def test_approx_ranks_variants_match_the_reference(rng, kind, block_size, variant):
    scores, _, valid, segments = _inputs(rng, (3, 17), 3)
    temperature = 0.7 if kind == "sigmoid" else 1.0
    kernel = functools.partial(
        approx_ranks._blocked_ranks, kind, temperature, block_size, variant=variant
    )
    for ids in (None, segments):
        ranks, vjp = jax.vjp(lambda s, ids=ids: kernel(s, valid, ids), scores)
        want = reference_t12n.step_ranks(kind, scores, valid, ids, temperature)
        np.testing.assert_allclose(ranks, want, **TOL)
        cotangent = rng.normal(size=scores.shape).astype(np.float32)
        want = reference_t12n.step_ranks_vjp(
            kind, scores, cotangent, valid, ids, temperature
        )
        np.testing.assert_allclose(vjp(jnp.asarray(cotangent))[0], want, **TOL)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("block_size", [None, 3])
def test_sigmoid_ranks_gradient_variants_match_the_reference(rng, block_size, variant):
    """The ready losses' ranks: the hand-written gradient, one more pass over the
    row blocks, in both variants (the last block overlapping the one before)."""
    scores, _, valid, segments = _inputs(rng, (3, 17), 3)
    # An ignored item's score reaches no value and no gradient.
    scores = np.where(valid, scores, np.nan).astype(np.float32)
    for ids in (None, segments):

        def kernel(s, ids=ids):
            return approx_ranks._sigmoid_ranks(0.7, block_size, variant, s, valid, ids)

        ranks, vjp = jax.vjp(kernel, jnp.asarray(scores))
        want = reference_t12n.step_ranks("sigmoid", scores, valid, ids, 0.7)
        np.testing.assert_allclose(ranks, want, **TOL)
        cotangent = rng.normal(size=scores.shape).astype(np.float32)
        want = reference_t12n.step_ranks_vjp(
            "sigmoid", scores, cotangent, valid, ids, 0.7
        )
        np.testing.assert_allclose(vjp(jnp.asarray(cotangent))[0], want, **TOL)


def _log_cumsum_exp64(x, runs):
    """Float64 running log-sum-exp of ``x`` along its last axis, per run."""
    x = np.asarray(x, np.float64)
    out = np.empty_like(x)
    for k in range(x.shape[-1]):
        same = runs[..., : k + 1] == runs[..., k : k + 1]
        out[..., k] = np.logaddexp.reduce(
            np.where(same, x[..., : k + 1], -np.inf), axis=-1
        )
    return out


@pytest.mark.parametrize(
    "n, block, dense_terms",
    # One level; two; five levels of blocks of 4 (1100 -> 275 -> 69 -> 18 -> 5).
    [(1, 32, 2**20), (33, 32, 0), (1100, 32, 0), (1100, 4, 0), (1100, 32, 2**20)],
)
def test_log_cumsum_exp_matches_float64(rng, monkeypatch, n, block, dense_terms):
    monkeypatch.setattr(running_totals, "BLOCK", block)
    monkeypatch.setattr(running_totals, "DENSE_TERMS", dense_terms)
    # Scores spread over +-200: a shift by anything but each prefix's own largest
    # term would underflow.
    x = (rng.normal(size=(2, n)) * 100).astype(np.float32)
    runs = np.sort(rng.integers(0, 5, (2, n)), axis=-1).astype(np.int32)
    for given in (None, runs):
        ids = np.zeros_like(runs) if given is None else runs
        want = _log_cumsum_exp64(x, ids)
        got, vjp = jax.vjp(
            lambda x, given=given: running_totals.log_cumsum_exp(x, given), x
        )
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-4)
        # d/dx_j sum_k g_k L_k = sum_{k >= j, same run} g_k exp(x_j - L_k).
        g = rng.uniform(-1, 1, x.shape)
        same = (ids[..., :, None] == ids[..., None, :]) & np.tril(np.ones((n, n), bool))
        # weight[k, j] = exp(x_j - L_k) for j <= k in k's run.
        weight = np.where(same, np.exp(x[..., None, :] - want[..., :, None]), 0.0)
        want_grad = np.einsum("...k,...kj->...j", g, weight)
        (grad,) = vjp(jnp.asarray(g, jnp.float32))
        np.testing.assert_allclose(grad, want_grad, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("n", [1, 5, 128, 129, 20000])
def test_cumsum_matches_float64(rng, n):
    x = rng.uniform(0, 1, (2, n)).astype(np.float32)
    for reverse in (False, True):
        want = np.cumsum(np.asarray(x, np.float64)[..., :: -1 if reverse else 1], -1)
        want = want[..., :: -1 if reverse else 1]
        got = running_totals.cumsum(jnp.asarray(x), reverse=reverse)
        np.testing.assert_allclose(got, want, rtol=2e-6)
