"""``segments=`` on the pairwise losses, and the pairwise quantile-regression loss:
values and gradients against float64 references and rax, a packed row against the
same queries as a padded batch, and the per-segment cost of the band kernel."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import rax
import reference_segments as ref
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.test_util import check_grads

import jaxrank
import reference

# name -> (jaxrank loss with its options, reference pair term, rax loss with options)
LOSSES = {
    "hinge_all_pairs": (
        functools.partial(jaxrank.pairwise_hinge_loss, method="all_pairs"),
        ref.TERMS["hinge"],
        rax.pairwise_hinge_loss,
    ),
    "logistic": (
        jaxrank.pairwise_logistic_loss,
        ref.TERMS["logistic"],
        rax.pairwise_logistic_loss,
    ),
    "soft_zero_one": (
        jaxrank.pairwise_soft_zero_one_loss,
        ref.TERMS["soft_zero_one"],
        rax.pairwise_soft_zero_one_loss,
    ),
    "mse": (jaxrank.pairwise_mean_squared_error, ref.TERMS["mse"], None),
    "qr": (
        functools.partial(jaxrank.pairwise_qr_loss, tau=0.3),
        ref.quantile(0.3, False),
        functools.partial(rax.pairwise_qr_loss, tau=0.3),
    ),
    "qr_squared": (
        functools.partial(jaxrank.pairwise_qr_loss, tau=0.8, squared=True),
        ref.quantile(0.8, True),
        functools.partial(rax.pairwise_qr_loss, tau=0.8, squared=True),
    ),
}
NAMES = sorted(LOSSES)


def _inputs(rng, shape, num_segments, contiguous):
    """Scores with ties, labels with ties and ignored items, a mask, per-item
    weights, and segment ids (runs, or interleaved at random)."""
    n = shape[-1]
    scores = rng.integers(-4, 5, shape).astype(np.float32) / 2  # many equal scores
    labels = rng.integers(-1, 3, shape).astype(np.float32)
    where = rng.random(shape) > 0.15
    weights = rng.uniform(0.5, 2.0, shape).astype(np.float32)
    if contiguous:
        segments = np.sort(rng.integers(0, num_segments, shape), axis=-1) * 7 - 3
    else:
        segments = rng.integers(0, num_segments, shape) * 7 - 3
    assert segments.shape[-1] == n
    return scores, labels, where, weights, segments.astype(np.int32)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    "shape, num_segments, contiguous",
    [((37,), 5, True), ((2, 3, 20), 4, False)],
)
def test_value_and_gradient_match_the_dense_reference(
    rng, name, shape, num_segments, contiguous
):
    loss, term, _ = LOSSES[name]
    scores, labels, where, weights, segments = _inputs(
        rng, shape, num_segments, contiguous
    )
    if name.startswith("hinge"):  # keep pairs off the kink, where f' jumps
        scores = scores + rng.uniform(-0.1, 0.1, shape).astype(np.float32)
    valid = reference.valid_items(labels, where)

    def f(s, reduction):
        return loss(
            s, labels, where=where, weights=weights, segments=segments,
            reduction=reduction,
        )  # fmt: skip

    items = ref.item_losses(term, scores, labels, valid, segments)
    want = reference.reduce(items, valid, weights, "none", shape)
    np.testing.assert_allclose(f(scores, "none"), want, rtol=2e-5, atol=2e-5)
    cotangent = reference.reduce_cotangent(valid, weights, "sum", shape)
    want_grad = ref.item_losses_vjp(term, scores, labels, valid, segments, cotangent)
    grad = jax.grad(f)(jnp.asarray(scores), "sum")
    np.testing.assert_allclose(grad, want_grad, rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("name", [n for n in NAMES if LOSSES[n][2] is not None])
def test_sum_matches_rax_with_segments_where_and_weights(rng, name):
    loss, _, rax_loss = LOSSES[name]
    scores, labels, where, weights, segments = _inputs(rng, (3, 24), 4, False)
    labels = np.abs(labels)  # rax reads every label as a relevance
    scores = scores + rng.normal(0, 0.05, scores.shape).astype(np.float32)

    def ours(s):
        return loss(
            s, labels, where=where, weights=weights, segments=segments,
            reduction="sum",
        )  # fmt: skip

    def theirs(s):
        return rax_loss(
            s, labels, where=where, weights=weights, segments=segments,
            reduce_fn=jnp.sum,
        )  # fmt: skip

    s = jnp.asarray(scores)
    np.testing.assert_allclose(ours(s), theirs(s), rtol=1e-5)
    np.testing.assert_allclose(jax.grad(ours)(s), jax.grad(theirs)(s), atol=1e-5)


def _packed_and_padded(rng, lengths, width):
    """One row packing queries of ``lengths`` items (in shuffled item order), and
    the same queries padded to ``(len(lengths), width)`` with label -1."""
    total = int(np.sum(lengths))
    scores = rng.normal(size=total).astype(np.float32)
    labels = rng.integers(0, 4, total).astype(np.float32)
    weights = rng.uniform(0.5, 2.0, total).astype(np.float32)
    query = np.repeat(np.arange(len(lengths)), lengths)
    slot = np.concatenate([np.arange(k) for k in lengths])
    shuffle = rng.permutation(total)
    packed = [x[shuffle] for x in (scores, labels, weights, query)]
    padded = [np.zeros((len(lengths), width), np.float32) for _ in range(3)]
    padded[1][:] = -1
    for dst, src in zip(padded, (scores, labels, weights), strict=True):
        dst[query, slot] = src
    index = (query[shuffle], slot[shuffle])  # packed item k sits at padded[index[k]]
    return packed, padded, index


PACKED_LOSSES = {
    **{n: LOSSES[n][0] for n in NAMES},
    "hinge_auto": jaxrank.pairwise_hinge_loss,
}


@pytest.mark.parametrize("name", sorted(PACKED_LOSSES))
def test_packed_row_equals_padded_batch(rng, name):
    loss = PACKED_LOSSES[name]
    lengths = rng.integers(1, 41, 23)
    (scores, labels, weights, query), padded, index = _packed_and_padded(
        rng, lengths, 40
    )

    def packed_loss(s, reduction="sum"):
        return loss(s, labels, weights=weights, segments=query, reduction=reduction)

    def padded_loss(s, reduction="sum"):
        return loss(s, padded[1], weights=padded[2], reduction=reduction)

    packed_items = packed_loss(scores, "none")
    padded_items = padded_loss(padded[0], "none")
    np.testing.assert_allclose(packed_items, padded_items[index], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(packed_loss(scores), padded_loss(padded[0]), rtol=1e-5)
    packed_grad = jax.grad(packed_loss)(jnp.asarray(scores))
    padded_grad = jax.grad(padded_loss)(jnp.asarray(padded[0]))
    # float32 sums in another order: errors relative to the largest gradient.
    scale = float(np.max(np.abs(padded_grad)))
    np.testing.assert_allclose(
        packed_grad, padded_grad[index], rtol=1e-5, atol=2e-5 * scale
    )
    # "mean"-type reductions divide by the entries given: N here, B * n there.
    ratio = padded_items.size / packed_items.size
    np.testing.assert_allclose(
        packed_loss(scores, "mean"), padded_loss(padded[0], "mean") * ratio, rtol=1e-5
    )
    # Per-item weights with zeros on the padding sum alike: the same weighted mean.
    np.testing.assert_allclose(
        packed_loss(scores, "mean_with_sample_weight"),
        padded_loss(padded[0], "mean_with_sample_weight"),
        rtol=1e-5,
    )


@pytest.mark.parametrize("block_size", [3])
def test_band_block_sizes_agree(rng, block_size):
    scores, labels, where, _, segments = _inputs(rng, (2, 50), 3, False)
    valid = reference.valid_items(labels, where)
    got = jaxrank.pairwise_logistic_loss(
        scores, labels, where=where, segments=segments, reduction="none",
        block_size=block_size,
    )  # fmt: skip
    want = ref.item_losses(ref.TERMS["logistic"], scores, labels, valid, segments)
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("name", ["logistic", "qr_squared"])
def test_check_grads_reverse(rng, name):
    loss = LOSSES[name][0]
    scores = rng.normal(size=(2, 12)).astype(np.float32)
    labels = rng.integers(0, 3, (2, 12)).astype(np.float32)
    segments = rng.integers(0, 3, (2, 12))
    with jax.enable_x64(True):
        check_grads(
            lambda s: loss(s, labels, segments=segments, reduction="sum"),
            (jnp.asarray(scores, jnp.float64),),
            order=1,
            modes=["rev"],
        )


SORTED_HINGE = functools.partial(jaxrank.pairwise_hinge_loss, method="sorted")


def test_nonfinite_score_spoils_only_its_segment():
    scores = jnp.array([1.0, jnp.nan, 0.5, 2.0, 0.0])
    labels = jnp.array([1.0, 0.0, 1.0, 0.0, 2.0])
    segments = jnp.array([0, 0, 1, 1, 1])
    sorted_hinge = jax.jit(SORTED_HINGE, static_argnames="reduction")
    for loss in [LOSSES[n][0] for n in NAMES] + [sorted_hinge]:
        items = loss(scores, labels, segments=segments, reduction="none")
        assert np.all(np.isnan(items[:2])), loss
        assert np.all(np.isfinite(items[2:])) and float(jnp.sum(items[2:])) > 0, loss
        grad = jax.grad(
            lambda s, f=loss: jnp.nansum(
                f(s, labels, segments=segments, reduction="none")
            )
        )(scores)
        assert np.all(np.isfinite(grad)), loss


def test_all_masked_segments_give_zero_loss_and_gradient():
    # Five items, as in the test above: the kernels compiled there are reused.
    scores = jnp.array([1.0, 2.0, 3.0, 4.0, 5.0])
    labels = jnp.array([1.0, 0.0, 1.0, 0.0, 1.0])
    segments = jnp.array([0, 0, 1, 1, 1])
    where = jnp.array([False, False, True, False, False])  # one item left: no pair
    for loss in [LOSSES[n][0] for n in NAMES]:
        value, grad = jax.value_and_grad(
            lambda s, f=loss: f(s, labels, where=where, segments=segments)
        )(scores)
        assert float(value) == 0.0 and not np.any(grad), loss


def test_segments_and_options_are_checked():
    scores, labels = jnp.zeros(4), jnp.zeros(4)
    with pytest.raises(TypeError, match="segments"):
        jaxrank.pairwise_logistic_loss(scores, labels, segments=jnp.zeros(4))
    with pytest.raises(ValueError, match="segments"):
        jaxrank.pairwise_logistic_loss(scores, labels, segments=jnp.zeros(3, int))
    with pytest.raises(ValueError, match="lambda_weights"):
        jaxrank.pairwise_hinge_loss(
            scores, labels, segments=jnp.zeros(4, int),
            lambda_weights=jaxrank.DCGLambdaWeight(),
        )  # fmt: skip
    with pytest.raises(ValueError, match="tau"):
        jaxrank.pairwise_qr_loss(scores, labels, tau=0.0)
    with pytest.raises(TypeError, match="squared"):
        jaxrank.PairwiseQRLoss(squared="yes")


def test_qr_class_matches_function(rng):
    labels = rng.integers(-1, 3, (3, 6)).astype(np.float32)
    scores = rng.normal(size=(3, 6)).astype(np.float32)
    loss = jaxrank.PairwiseQRLoss(tau=0.7, squared=True, reduction="sum")
    want = jaxrank.pairwise_qr_loss(
        scores, labels, tau=0.7, squared=True, reduction="sum"
    )
    np.testing.assert_allclose(loss(labels, scores), want, rtol=1e-6)
    rebuilt = jaxrank.PairwiseQRLoss.from_config(loss.get_config())
    np.testing.assert_allclose(rebuilt(labels, scores), want, rtol=1e-6)


@pytest.mark.parametrize("name", ["hinge_all_pairs", "logistic", "mse"])
def test_packed_row_memory_is_linear(rng, name):
    """jit(value_and_grad) of one row packing 512 queries (about 37,000 items):
    the compiled program's scratch memory is a small multiple of n, far below one
    (n, n) float32 mask."""
    loss = LOSSES[name][0]
    lengths = np.random.default_rng(1).integers(16, 129, 512)
    n = int(np.sum(lengths))
    segments = jnp.asarray(np.repeat(np.arange(512), lengths))

    def f(s, labels, segments):
        return loss(s, labels, segments=segments, reduction="sum")

    zeros = jnp.zeros(n)
    compiled = jax.jit(jax.value_and_grad(f)).lower(zeros, zeros, segments).compile()
    temp = compiled.memory_analysis().temp_size_in_bytes
    assert temp < 1000 * n * 4 < n * n * 4 // 30, (temp, n)


@settings(max_examples=6, deadline=None)
@given(
    n=st.integers(0, 30),
    num_segments=st.integers(1, 6),
    name=st.sampled_from(NAMES),
    seed=st.integers(0, 2**16),
)
def test_random_segments_match_reference(n, num_segments, name, seed):
    rng = np.random.default_rng(seed)
    loss, term, _ = LOSSES[name]
    scores, labels, where, weights, segments = _inputs(rng, (n,), num_segments, False)
    if name.startswith("hinge"):
        scores = scores + rng.uniform(-0.1, 0.1, n).astype(np.float32)
    valid = reference.valid_items(labels, where)
    got = loss(scores, labels, where=where, segments=segments, reduction="none")
    want = ref.item_losses(term, scores, labels, valid, segments)
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("contiguous", [True, False])
def test_sorted_hinge_matches_band_and_reference(rng, contiguous):
    """``method="sorted"`` with segments, masks, per-item weights (a cotangent that
    varies within a list) and tied scores: values and gradients equal the band
    kernel's and the dense reference's, and every reduction matches the band's."""
    shape = (2, 60)
    scores, labels, where, weights, segments = _inputs(rng, shape, 4, contiguous)
    scores = scores + rng.uniform(-0.1, 0.1, shape).astype(np.float32)  # off kinks
    valid = reference.valid_items(labels, where)

    @functools.partial(jax.jit, static_argnames=("method",))
    def run(s, method):
        def f(s, reduction):
            return jaxrank.pairwise_hinge_loss(
                s, labels, where=where, weights=weights, segments=segments,
                reduction=reduction, method=method,
            )  # fmt: skip

        reductions = ("none", "sum", "mean", "mean_with_sample_weight")
        return {r: f(s, r) for r in reductions}, jax.grad(f)(s, "sum")

    (got, grad), (band, band_grad) = run(scores, "sorted"), run(scores, "all_pairs")
    items = ref.item_losses(ref.TERMS["hinge"], scores, labels, valid, segments)
    want = reference.reduce(items, valid, weights, "none", shape)
    np.testing.assert_allclose(got["none"], want, rtol=2e-5, atol=2e-5)
    for r in got:
        np.testing.assert_allclose(got[r], band[r], rtol=1e-5, atol=1e-5)
    cotangent = reference.reduce_cotangent(valid, weights, "sum", shape)
    want_grad = ref.item_losses_vjp(
        ref.TERMS["hinge"], scores, labels, valid, segments, cotangent
    )
    np.testing.assert_allclose(grad, want_grad, rtol=2e-5, atol=2e-5)
    np.testing.assert_allclose(grad, band_grad, rtol=1e-5, atol=1e-5)
