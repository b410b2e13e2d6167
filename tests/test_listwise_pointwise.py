"""The softmax-family, pointwise and segmented ListMLE losses (issue 11).

Values and gradients against rax 0.4.0 and against the float64 references of
``reference_rax_losses``; segments (contiguous and interleaved) and a packed row
against a padded batch; the conventions for ignored items, empty lists and NaN; the
classes; a property test.
"""

import functools

import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest
import rax
import reference_rax_losses as ref
from hypothesis import given, settings

import jaxrank
from jaxrank._src import segments as segment_ops

# name: (jaxrank function, rax function, reference, per-item weights allowed)
LOSSES = {
    "softmax": (jaxrank.softmax_loss, rax.softmax_loss, ref.softmax, True),
    "poly1": (
        jaxrank.poly1_softmax_loss,
        rax.poly1_softmax_loss,
        ref.poly1_softmax,
        True,
    ),
    "unique": (
        jaxrank.unique_softmax_loss,
        rax.unique_softmax_loss,
        ref.unique_softmax,
        True,
    ),
    "sigmoid": (
        jaxrank.pointwise_sigmoid_loss,
        rax.pointwise_sigmoid_loss,
        functools.partial(ref.pointwise, "sigmoid"),
        True,
    ),
    "mse": (
        jaxrank.pointwise_mse_loss,
        rax.pointwise_mse_loss,
        functools.partial(ref.pointwise, "mse"),
        True,
    ),
    "list_mle": (jaxrank.list_mle_loss, rax.listmle_loss, ref.list_mle, False),
}
POINTWISE = ("sigmoid", "mse")
SEGMENT_KINDS = (None, "contiguous", "interleaved")


def _segments(rng, shape, kind):
    if kind is None:
        return None
    ids = rng.integers(0, 3, size=shape)
    if kind == "contiguous":
        return np.sort(ids, axis=-1)
    return np.array([7, -2, 40])[ids]  # arbitrary ids, interleaved


def _case(rng, shape, segment_kind, distinct_labels=False):
    scores = rng.normal(size=shape).astype(np.float32)
    if distinct_labels:
        labels = rng.permutation(int(np.prod(shape))).reshape(shape) % 97
    else:
        labels = rng.integers(0, 4, size=shape)  # ties
    where = rng.random(shape) > 0.25
    weights = rng.uniform(0.2, 2.0, size=shape).astype(np.float32)
    return (
        scores,
        labels.astype(np.float32),
        where,
        weights,
        _segments(rng, shape, segment_kind),
    )


REDUCTIONS = ("none", "sum", "mean", "sum_over_batch_size")


@functools.cache
def _compiled(name):
    """The jaxrank loss ``name`` under one ``jax.jit`` giving every reduction and the
    gradients of the sum and the mean at once (one compilation per input shape)."""
    fn = LOSSES[name][0]

    def loss(reduction, scores, labels, where, weights, segments):
        options = {"where": where, "segments": segments, "reduction": reduction}
        if weights is not None:
            options["weights"] = weights
        return fn(scores, labels, **options)

    def everything(*args):
        out = {reduction: loss(reduction, *args) for reduction in REDUCTIONS}
        for reduction in ("sum", "mean"):
            out["grad_" + reduction] = jax.grad(functools.partial(loss, reduction))(
                *args
            )
        return out

    return jax.jit(everything)


def _ours(name, scores, labels, where, weights, segments, reduction):
    return _compiled(name)(scores, labels, where, weights, segments)[reduction]


def _our_grad(name, scores, labels, where, weights, segments, reduction="sum"):
    args = (scores, labels, where, weights, segments)
    return _compiled(name)(*args)["grad_" + reduction]


@functools.cache
def _rax_compiled(name):
    """rax's loss ``name`` under one ``jax.jit``: its sum, mean and unreduced losses
    and the gradient of the sum."""
    fn = LOSSES[name][1]

    def loss(reduce_fn, scores, labels, where, weights, segments):
        options = {"where": where, "segments": segments, "reduce_fn": reduce_fn}
        if weights is not None:
            options["weights"] = weights
        with jax.numpy_rank_promotion("allow"):  # rax 0.4.0 relies on it
            return fn(scores, labels, **options)

    def everything(*args):
        out = {"sum": loss(jnp.sum, *args), "mean": loss(jnp.mean, *args)}
        out["none"] = loss(None, *args)
        out["grad_sum"] = jax.grad(functools.partial(loss, jnp.sum))(*args)
        return out

    return jax.jit(everything)


# --- against rax -------------------------------------------------------------------


@pytest.mark.parametrize("segment_kind", SEGMENT_KINDS)
@pytest.mark.parametrize("name", list(LOSSES))
def test_values_and_gradients_match_rax(name, segment_kind, rng):
    item_weights = LOSSES[name][3]
    scores, labels, where, weights, segs = _case(
        rng, (3, 6), segment_kind, distinct_labels=name == "list_mle"
    )
    if name == "poly1" and segs is not None:
        where = None  # rax 0.4.0 fails on poly1 with both where and segments
    args = (scores, labels, where, weights if item_weights else None, segs)
    ours, theirs = _compiled(name)(*args), _rax_compiled(name)(*args)
    for reduction in ("sum", "mean", "none"):
        np.testing.assert_allclose(
            ours[reduction], theirs[reduction], rtol=2e-5, atol=2e-5
        )
    if name == "list_mle" and segs is not None:
        return  # rax's ListMLE gradient is NaN with segments and where
    np.testing.assert_allclose(ours["grad_sum"], theirs["grad_sum"], atol=2e-5)


# --- against the float64 references ------------------------------------------------


def _reference(name, scores, labels, where, weights, segs):
    valid = (labels >= 0) & where
    reference = LOSSES[name][2]
    if name in POINTWISE:
        return reference(scores, labels, valid, weights)
    return reference(scores, labels, valid, weights, segs)


@pytest.mark.parametrize("segment_kind", SEGMENT_KINDS)
@pytest.mark.parametrize("name", list(LOSSES))
def test_values_and_gradients_match_float64_reference(name, segment_kind, rng):
    shape = (3, 6)
    scores, labels, where, weights, segs = _case(rng, shape, segment_kind)
    scores = scores.astype(np.float64)
    labels[0, 1] = -1.0  # an ignored item
    if name == "list_mle":
        weights = np.broadcast_to(rng.uniform(0.5, 2.0, size=(3, 1)), shape)
    weights = weights.astype(np.float64)
    given_weights = weights[:, :1] if name == "list_mle" else weights
    per_item = name in POINTWISE
    count = ref.counted((labels >= 0) & where, segs, per_item=per_item)
    with jax.enable_x64(True):
        for reduction in ("none", "sum", "mean"):
            if name == "list_mle" and segs is None and reduction == "mean":
                continue  # ListMLE's mean without segments is Keras's (per list)
            ours = _ours(name, scores, labels, where, given_weights, segs, reduction)
            expected = ref.reduce(
                _reference(name, scores, labels, where, weights, segs), reduction, count
            )
            np.testing.assert_allclose(ours, expected, rtol=1e-9, atol=1e-12)
        grad = _our_grad(name, scores, labels, where, given_weights, segs)
    expected_grad = ref.numeric_grad(
        lambda x: np.sum(_reference(name, x, labels, where, weights, segs)), scores
    )
    np.testing.assert_allclose(grad, expected_grad, atol=1e-5)


def test_normalising_label_fn_matches_reference_and_rax(rng):
    scores, labels, where, weights, _ = _case(rng, (4, 5), None)
    valid = where & (labels >= 0)
    label_fn = rax.utils.normalize_probabilities
    ours = jaxrank.softmax_loss(
        scores,
        labels,
        where=where,
        weights=weights,
        label_fn=label_fn,
        reduction="none",
    )
    expected = ref.softmax(scores, labels, valid, weights, normalize=True)
    np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-6)
    theirs = rax.softmax_loss(
        jnp.asarray(scores),
        jnp.asarray(labels),
        where=where,
        weights=jnp.asarray(weights),
        label_fn=label_fn,
        reduce_fn=None,
    )
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("epsilon", [0.0, -0.5, 3.0])
def test_poly1_epsilon_matches_reference(epsilon, rng):
    scores, labels, where, weights, segs = _case(rng, (3, 6), "interleaved")
    valid = where & (labels >= 0)
    ours = jaxrank.poly1_softmax_loss(
        scores,
        labels,
        where=where,
        weights=weights,
        segments=segs,
        epsilon=epsilon,
        reduction="none",
    )
    expected = ref.poly1_softmax(scores, labels, valid, weights, segs, epsilon=epsilon)
    np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-5)


def test_unique_softmax_without_gain_matches_reference(rng):
    scores, labels, where, weights, segs = _case(rng, (3, 6), "contiguous")
    valid = where & (labels >= 0)
    ours = jaxrank.unique_softmax_loss(
        scores, labels, where=where, segments=segs, gain_fn=None, reduction="none"
    )
    ones = np.ones_like(weights)
    expected = ref.unique_softmax(scores, labels, valid, ones, segs, gain=False)
    np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-5)


# --- packed rows equal padded batches ------------------------------------------------


@pytest.mark.parametrize("name", list(LOSSES))
def test_packed_row_equals_padded_batch(name, rng):
    batch, n = 3, 6
    scores, labels, where, weights, _ = _case(rng, (batch, n), None)
    where[2] = False  # an empty list
    if name == "list_mle":
        weights = None
    packed = [x.reshape(1, -1) for x in (scores, labels, where)]
    packed_weights = None if weights is None else weights.reshape(1, -1)
    ids = np.repeat(np.arange(batch), n)[None]
    for reduction in ("sum", "mean"):
        if reduction == "mean" and name in (*POINTWISE, "list_mle"):
            continue  # their padded mean counts entries the packed row lays out apart
        padded = _ours(name, scores, labels, where, weights, None, reduction)
        row = _ours(name, *packed, packed_weights, ids, reduction)
        np.testing.assert_allclose(row, padded, rtol=1e-5, atol=1e-6)
    grad_padded = _our_grad(name, scores, labels, where, weights, None)
    grad_row = _our_grad(name, *packed, packed_weights, ids)
    np.testing.assert_allclose(grad_row.reshape(batch, n), grad_padded, atol=1e-6)
    # A NaN score in one query makes that query NaN, in the row as in the batch.
    scores[1, 2] = np.nan
    packed[0] = scores.reshape(1, -1)
    padded = np.asarray(_ours(name, scores, labels, where, weights, None, "none"))
    row = np.asarray(_ours(name, *packed, packed_weights, ids, "none"))
    if name not in POINTWISE:  # one loss per list: each segment's at its first item
        row = row.reshape(batch, n)[np.arange(batch), np.argmax(where, axis=-1)]
        row[2] = 0.0  # the empty list has no first item
    np.testing.assert_allclose(row.reshape(padded.shape), padded, rtol=1e-5, atol=1e-6)
    grad_padded = _our_grad(name, scores, labels, where, weights, None)
    grad_row = _our_grad(name, *packed, packed_weights, ids)
    np.testing.assert_allclose(grad_row.reshape(batch, n), grad_padded, atol=1e-6)


# --- conventions ---------------------------------------------------------------------


@pytest.mark.parametrize("segment_kind", [None, "interleaved"])
@pytest.mark.parametrize("name", list(LOSSES))
def test_all_masked_list_is_zero_with_zero_gradient(name, segment_kind, rng):
    scores, labels, _, _, segs = _case(rng, (3, 6), segment_kind)
    scores[0, :3] = [np.inf, np.nan, -np.inf]  # ignored, so never seen
    where = np.ones((3, 6), bool)
    where[0] = False
    labels[1:] = -1.0  # ignored through negative labels
    for reduction in REDUCTIONS:
        loss = _ours(name, scores, labels, where, None, segs, reduction)
        np.testing.assert_array_equal(loss, np.zeros_like(loss))
    grad = _our_grad(name, scores, labels, where, None, segs, "mean")
    np.testing.assert_array_equal(grad, np.zeros_like(grad))


@pytest.mark.parametrize("name", list(LOSSES))
def test_empty_lists(name):
    for shape in [(3, 0), (0, 4)]:
        scores, labels = np.zeros(shape, np.float32), np.zeros(shape, np.float32)
        assert float(_ours(name, scores, labels, None, None, None, "mean")) == 0.0


@pytest.mark.parametrize("name", list(LOSSES))
def test_nan_on_a_valid_item_makes_its_list_nan(name, rng):
    scores, labels, where, weights, _ = _case(rng, (3, 6), None)
    where[:] = True
    scores[1, 2] = np.nan
    weights = None if name == "list_mle" else weights
    losses = np.asarray(_ours(name, scores, labels, where, weights, None, "none"))
    assert np.all(np.isnan(losses[1]))
    assert np.all(np.isfinite(losses[[0, 2]]))
    assert np.isnan(_ours(name, scores, labels, where, weights, None, "sum"))
    grad = np.asarray(_our_grad(name, scores, labels, where, weights, None))
    np.testing.assert_array_equal(grad[1], np.zeros(6))
    assert np.all(np.isfinite(grad)) and np.any(grad[[0, 2]] != 0)


@pytest.mark.parametrize("name", list(LOSSES))
def test_eager_equals_jit_and_16_bit_inputs(name, rng):
    scores, labels, where, _, segs = _case(rng, (3, 6), "interleaved")
    eager = _ours(name, scores, labels, where, None, segs, "sum")
    jitted = jax.jit(lambda s, y, w, g: _ours(name, s, y, w, None, g, "sum"))(
        scores, labels, where, segs
    )
    np.testing.assert_allclose(jitted, eager, rtol=1e-6)
    half = _ours(name, scores.astype(jnp.bfloat16), labels, where, None, segs, "sum")
    assert half.dtype == jnp.float32
    np.testing.assert_allclose(half, eager, rtol=3e-2, atol=3e-2)


def test_argument_errors():
    s, y = jnp.zeros((2, 3)), jnp.zeros((2, 3))
    with pytest.raises(ValueError, match="epsilon"):
        jaxrank.poly1_softmax_loss(s, y, epsilon=float("inf"))
    with pytest.raises(TypeError, match="epsilon"):
        jaxrank.poly1_softmax_loss(s, y, epsilon="big")
    with pytest.raises(TypeError, match="label_fn"):
        jaxrank.softmax_loss(s, y, label_fn=3)
    with pytest.raises(ValueError, match="label_fn"):
        jaxrank.softmax_loss(s, y, label_fn=lambda a, where: a[..., 0])
    with pytest.raises(TypeError, match="gain_fn"):
        jaxrank.unique_softmax_loss(s, y, gain_fn="exp2")
    for fn in (jaxrank.softmax_loss, jaxrank.pointwise_mse_loss, jaxrank.list_mle_loss):
        with pytest.raises(TypeError, match="segments"):
            fn(s, y, segments=jnp.zeros((2, 3)))
        with pytest.raises(ValueError, match="segments"):
            fn(s, y, segments=jnp.zeros((2, 4), jnp.int32))
    with pytest.raises(ValueError, match="weights"):
        jaxrank.list_mle_loss(s, y, weights=jnp.tile(jnp.arange(3.0), (2, 1)))


# --- the segment helpers -------------------------------------------------------------


def test_run_scan_restarts_at_each_run(rng):
    runs = np.sort(rng.integers(0, 4, size=(3, 10)), axis=-1)
    x = rng.normal(size=(3, 10)).astype(np.float32)
    for reverse in (False, True):
        got = segment_ops.run_scan(
            jnp.add, jnp.asarray(x), jnp.asarray(runs), reverse=reverse
        )
        expected = np.zeros_like(x)
        for r in range(3):
            for i in range(10):
                same = runs[r] == runs[r, i]
                before = np.arange(10) >= i if reverse else np.arange(10) <= i
                expected[r, i] = x[r][same & before].sum()
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


# --- classes -------------------------------------------------------------------------

CLASSES = {
    "softmax": jaxrank.SoftmaxLoss,
    "poly1": jaxrank.Poly1SoftmaxLoss,
    "unique": jaxrank.UniqueSoftmaxLoss,
    "sigmoid": jaxrank.PointwiseSigmoidLoss,
    "mse": jaxrank.PointwiseMSELoss,
}


@pytest.mark.parametrize("name", list(CLASSES))
def test_classes_match_functions(name, rng):
    scores, labels, where, weights, _ = _case(rng, (3, 6), None)
    for reduction in ("mean", "none"):
        loss = CLASSES[name](reduction=reduction)
        got = loss({"labels": labels, "mask": where}, scores, sample_weight=weights)
        expected = _ours(name, scores, labels, where, weights, None, reduction)
        np.testing.assert_allclose(got, expected, rtol=1e-6)
        rebuilt = type(loss).from_config(loss.get_config())
        np.testing.assert_allclose(rebuilt(labels, scores), loss(labels, scores))


def test_class_options_and_keras_wrappers(rng):
    scores, labels, _, _, _ = _case(rng, (2, 4), None)
    assert jaxrank.Poly1SoftmaxLoss(epsilon=2.0).get_config()["epsilon"] == 2.0
    assert jaxrank.UniqueSoftmaxLoss(gain_fn="identity").get_config()["gain_fn"] == (
        "identity"
    )
    identity = jaxrank.UniqueSoftmaxLoss(gain_fn="identity", reduction="sum")
    expected = jaxrank.unique_softmax_loss(
        scores, labels, gain_fn=lambda y: y, reduction="sum"
    )
    np.testing.assert_allclose(identity(labels, scores), expected, rtol=1e-6)
    with pytest.raises(ValueError, match="epsilon"):
        jaxrank.Poly1SoftmaxLoss(epsilon=float("nan"))
    from jaxrank.keras import losses as keras_losses

    for name in (
        "SoftmaxLoss",
        "Poly1SoftmaxLoss",
        "UniqueSoftmaxLoss",
        "PointwiseSigmoidLoss",
        "PointwiseMSELoss",
    ):
        wrapper = getattr(keras_losses, name)(reduction="sum")
        assert isinstance(wrapper, keras.losses.Loss)
        plain = getattr(jaxrank, name)(reduction="sum")
        np.testing.assert_allclose(wrapper(labels, scores), plain(labels, scores))
        again = keras.losses.deserialize(keras.losses.serialize(wrapper))
        np.testing.assert_allclose(again(labels, scores), plain(labels, scores))


# --- properties ----------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(
    name=st.sampled_from(list(LOSSES)),
    seed=st.integers(0, 2**31 - 1),
)
def test_permuting_items_and_renaming_segments_keeps_the_sum(name, seed):
    rng = np.random.default_rng(seed)
    n = 6  # the shape of the other tests: compiled once
    scores, labels, where, weights, segs = _case(
        rng, (3, n), "interleaved", distinct_labels=name == "list_mle"
    )
    weights = None if name == "list_mle" else weights
    total = _ours(name, scores, labels, where, weights, segs, "sum")
    perm = rng.permutation(n)
    renamed = np.array([3, 11, -5])[np.unique(segs, return_inverse=True)[1]].reshape(
        segs.shape
    )
    shuffled = [x[:, perm] for x in (scores, labels, where, renamed)]
    moved_weights = None if weights is None else weights[:, perm]
    moved = _ours(name, *shuffled[:3], moved_weights, shuffled[3], "sum")
    np.testing.assert_allclose(moved, total, rtol=1e-5, atol=1e-5)
