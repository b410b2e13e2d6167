"""`jaxrank.pairwise_hinge_loss` against the float64 reference in `reference.py`.

Weighting and reduction are shared by both pair kernels, so they are tested in full on
the all-pairs path; the sorted kernel is tested through the per-item losses and
their vector-Jacobian product, which is everything it computes. Calls are jitted (one
compile per shape and option set is far cheaper than eager dispatch of a new shape), and
the sorted path, whose compile is slower, runs on a lean set of shapes.
"""

import functools

import hypothesis.extra.numpy as hnp
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.test_util import check_grads

import jaxrank
import reference as ref

REDUCTIONS = ["sum_over_batch_size", "mean", "sum", "mean_with_sample_weight", "none"]
SCALAR_REDUCTIONS = REDUCTIONS[:-1]
METHODS = ["all_pairs", "sorted"]
WEIGHT_KINDS = [None, "scalar", "item", "list", "list1"]

# Float32 results against float64 references.
RTOL, ATOL = 1e-5, 1e-5

# The spec's batched worked example.
Y_TRUE = np.array([[1.0, 0.0, 1.0, 3.0], [0.0, 1.0, 2.0, 3.0]])
Y_PRED = np.array([[1.0, 3.0, 2.0, 4.0], [1.0, 1.8, 2.0, 3.0]])
MASK = np.array([[True, True, True, True], [True, True, False, False]])
SAMPLE_WEIGHT = np.array([[2.0, 3.0, 1.0, 1.0], [2.0, 1.0, 0.0, 0.0]])


# --- helpers --------------------------------------------------------------------------


def _loss(scores, labels, where, weights, temperature, reduction, method):
    return jaxrank.pairwise_hinge_loss(
        scores,
        labels,
        where=where,
        weights=weights,
        temperature=temperature,
        reduction=reduction,
        method=method,
    )


def _all_values(scores, labels, where, weights, temperature, method):
    return tuple(
        _loss(scores, labels, where, weights, temperature, r, method)
        for r in REDUCTIONS
    )


def _kernel_check(scores, labels, where, cotangent, temperature, method):
    def per_item(s):
        return _loss(s, labels, where, None, temperature, "none", method)

    values, vjp = jax.vjp(per_item, scores)
    return values, vjp(cotangent)[0]


_jit_loss = jax.jit(_loss, static_argnames=("temperature", "reduction", "method"))
_jit_all_values = jax.jit(_all_values, static_argnames=("temperature", "method"))
_jit_value_and_grads = jax.jit(
    jax.value_and_grad(_loss, argnums=(0, 3)),
    static_argnames=("temperature", "reduction", "method"),
)
_jit_kernel_check = jax.jit(_kernel_check, static_argnames=("temperature", "method"))


def hinge(
    scores,
    labels,
    *,
    where=None,
    weights=None,
    temperature=1.0,
    reduction="sum_over_batch_size",
    method="auto",
    jit=True,
):
    """The loss (jitted unless ``jit=False``)."""
    fn = _jit_loss if jit else _loss
    args = (scores, labels, where, weights, temperature, reduction)
    return fn(*args, method=method)


def all_values(scores, labels, *, where=None, weights=None, temperature=1.0):
    """``{reduction: value}`` for every reduction, in one compile (all-pairs path)."""
    args = (scores, labels, where, weights, temperature)
    return dict(
        zip(REDUCTIONS, _jit_all_values(*args, method="all_pairs"), strict=True)
    )


def value_and_grads(
    scores,
    labels,
    *,
    where=None,
    weights=None,
    temperature=1.0,
    reduction="sum_over_batch_size",
    method="auto",
):
    """``(value, (d/d scores, d/d weights))``, jitted; the weights' part is None when
    no weights are given."""
    args = (scores, labels, where, weights, temperature, reduction)
    return _jit_value_and_grads(*args, method=method)


def kernel_check(scores, labels, where, cotangent, temperature, method):
    """Per-item losses (``reduction="none"``) and their VJP with ``cotangent``."""
    args = (scores, labels, where, cotangent, temperature)
    return _jit_kernel_check(*args, method=method)


def assert_kernel_matches_reference(scores, labels, where, temperature, method, rng):
    """Per-item losses and a random VJP of ``method`` equal the reference's."""
    cot = rng.normal(size=np.shape(scores)).astype(np.float32)
    if where is None:
        where = np.ones(np.shape(scores), bool)
    values, grad = kernel_check(scores, labels, where, cot, temperature, method)
    valid = ref.valid_items(labels, where)
    want = ref.hinge_item_losses(scores, labels, valid, temperature)
    want_grad = ref.hinge_item_losses_vjp(scores, labels, valid, temperature, cot)
    assert values.dtype == jnp.float32 and values.shape == np.shape(scores)
    np.testing.assert_allclose(values, want, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(grad, want_grad, rtol=RTOL, atol=ATOL)


def make_weights(kind, shape, rng):
    """Random positive weights of a given kind for scores of ``shape``."""
    if kind is None:
        return None
    sizes = {
        "scalar": (),
        "item": shape,
        "list": shape[:-1],
        "list1": shape[:-1] + (1,),
    }
    return rng.uniform(0.5, 2.0, size=sizes[kind]).astype(np.float32)


def make_inputs(rng, shape, *, continuous=True):
    """Scores, labels (with ties and -1) and a mask of ``shape``."""
    if continuous:
        scores = rng.normal(size=shape).astype(np.float32)
    else:  # a grid of quarters: ties and pairs exactly at the kink
        scores = (rng.integers(-8, 9, size=shape) / 4).astype(np.float32)
    labels = rng.integers(-1, 4, size=shape).astype(np.float32)
    where = rng.random(size=shape) < 0.8
    return scores, labels, where


# --- the spec's worked examples, exact to float32 rounding ----------------------------

WORKED_EXAMPLES = [
    (dict(scores=[1.0, 3.0, 2.0, 4.0, 0.8], labels=[1.0, 0.0, 1.0, 3.0, 2.0]), 2.32),
    (dict(), 0.75),
    (dict(where=MASK), 0.65),
    (dict(weights=SAMPLE_WEIGHT), 1.025),
    (dict(temperature=0.5), 1.075),
    (dict(weights=SAMPLE_WEIGHT, reduction="mean_with_sample_weight"), 0.82),
    (dict(reduction="sum"), 6.0),
    (dict(weights=np.array([[2.0], [0.5]])), 1.3125),
    (dict(weights=np.array([2.0, 0.5])), 1.3125),  # per list as (batch,)
    (dict(reduction="none"), [[3.0, 0.0, 2.0, 0.0], [0.0, 0.2, 0.8, 0.0]]),
]


def _example(kwargs):
    kwargs = dict(kwargs)
    scores = np.asarray(kwargs.pop("scores", Y_PRED), np.float64)
    labels = np.asarray(kwargs.pop("labels", Y_TRUE), np.float64)
    return scores, labels, kwargs


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
@pytest.mark.parametrize("kwargs, expected", WORKED_EXAMPLES)
def test_worked_examples(kwargs, expected, jit):
    scores, labels, kwargs = _example(kwargs)
    got = hinge(scores.astype(np.float32), labels, jit=jit, **kwargs)
    assert got.dtype == jnp.float32
    np.testing.assert_allclose(got, np.float32(expected), rtol=3e-7, atol=3e-7)
    # The reference agrees with the spec too, so it is a fair judge elsewhere.
    np.testing.assert_allclose(
        ref.pairwise_hinge_loss(scores, labels, **kwargs), expected, rtol=1e-12
    )


# The sorted path compiles slowly: one signature (the batched examples at T = 1).
WORKED_PER_METHOD = [("all_pairs", *example) for example in WORKED_EXAMPLES] + [
    ("sorted", *example)
    for example in WORKED_EXAMPLES
    if "scores" not in example[0] and "temperature" not in example[0]
]


@pytest.mark.parametrize("method, kwargs, expected", WORKED_PER_METHOD)
def test_worked_examples_per_method(kwargs, expected, method, rng):
    # Each kernel's per-item losses, weighted and reduced, give the spec's numbers.
    scores, labels, kwargs = _example(kwargs)
    where = np.ones(scores.shape, bool) if "where" not in kwargs else kwargs["where"]
    t = kwargs.get("temperature", 1.0)
    cot = np.zeros(scores.shape, np.float32)
    item, _ = kernel_check(scores.astype(np.float32), labels, where, cot, t, method)
    valid = ref.valid_items(labels, where)
    got = ref.reduce(
        item,
        valid,
        kwargs.get("weights"),
        kwargs.get("reduction", "sum_over_batch_size"),
        scores.shape,
    )
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)


# --- values against the reference over shapes, weights, reductions (dense) ----------

SHAPES = [(0,), (1,), (2,), (7,), (3, 0), (3, 1), (3, 5), (2, 3, 4)]


@pytest.mark.parametrize("weight_kind", WEIGHT_KINDS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_matches_reference(shape, weight_kind, rng):
    scores, labels, where = make_inputs(rng, shape)
    weights = make_weights(weight_kind, shape, rng)
    t = 0.3 if len(shape) % 2 else 1.0
    kw = dict(where=where, weights=weights, temperature=t)
    for reduction, got in all_values(scores, labels, **kw).items():
        want = ref.pairwise_hinge_loss(scores, labels, reduction=reduction, **kw)
        assert got.dtype == jnp.float32
        assert got.shape == np.shape(want), (reduction, got.shape)
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL, err_msg=reduction)


def test_reduction_none_is_none_string(rng):
    scores, labels, where = make_inputs(rng, (3, 5))
    a = hinge(scores, labels, where=where, reduction=None)
    b = hinge(scores, labels, where=where, reduction="none")
    np.testing.assert_array_equal(a, b)


def test_defaults(rng):
    scores, labels, _ = make_inputs(rng, (3, 5))
    got = jaxrank.pairwise_hinge_loss(scores, labels)
    want = ref.pairwise_hinge_loss(scores, labels)  # sum_over_batch_size, T = 1
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)


# --- each kernel against the reference ----------------------------------------------

# The sorted path compiles slowly: it runs on a few of these shapes, and most of its
# tests share one signature, a (3, 5) batch at T = 1 (or 0.5).
KERNEL_CASES = [((0,), 1.0), ((1,), 1.0), ((2,), 2.0), ((7,), 0.3), ((3, 0), 1.0)]
KERNEL_CASES += [((3, 5), 1.0), ((2, 3, 4), 1.0)]
SORTED_KERNEL_SHAPES = [(0,), (7,), (3, 5), (2, 3, 4)]
KERNEL_PER_METHOD = [("all_pairs", shape, t) for shape, t in KERNEL_CASES] + [
    ("sorted", shape, t) for shape, t in KERNEL_CASES if shape in SORTED_KERNEL_SHAPES
]


@pytest.mark.parametrize("continuous", [True, False], ids=["normal", "grid"])
@pytest.mark.parametrize("method, shape, t", KERNEL_PER_METHOD, ids=str)
def test_kernel_matches_reference(shape, t, continuous, method, rng):
    scores, labels, where = make_inputs(rng, shape, continuous=continuous)
    assert_kernel_matches_reference(scores, labels, where, t, method, rng)


# --- property tests -------------------------------------------------------------------

TEMPERATURES = [0.25, 0.5, 1.0, 2.0, 0.7]


@st.composite
def ranking_case(draw, shapes=None, temperatures=TEMPERATURES):
    """Scores on a grid of quarters (ties, pairs exactly at the kink), labels with ties
    and -1, masks, weights of every kind, any reduction; random shapes with 0-2 batch
    axes and n in 0..6 unless ``shapes`` is given."""
    if shapes is None:
        lead = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
        shape = lead + (draw(st.integers(0, 6)),)
    else:
        shape = draw(st.sampled_from(shapes))
        lead = shape[:-1]
    quarters = st.integers(-8, 8).map(float)
    scores = draw(hnp.arrays(np.float32, shape, elements=quarters)) / np.float32(4)
    grades = st.sampled_from([-1, 0, 1, 2, 3])
    labels = draw(hnp.arrays(np.int32, shape, elements=grades)).astype(np.float32)
    where = draw(st.none() | hnp.arrays(np.bool_, shape))
    kind = draw(st.sampled_from(WEIGHT_KINDS))
    weights = None
    if kind is not None:
        wshape = {"scalar": (), "item": shape, "list": lead, "list1": lead + (1,)}[kind]
        values = st.sampled_from([0.0, 0.5, 1.0, 3.0])
        weights = draw(hnp.arrays(np.float32, wshape, elements=values))
    return dict(
        scores=scores,
        labels=labels,
        where=where,
        weights=weights,
        temperature=draw(st.sampled_from(temperatures)),
        reduction=draw(st.sampled_from(REDUCTIONS)),
    )


@settings(max_examples=30, deadline=None)
@given(case=ranking_case())
def test_property_value_and_grad(case):
    scores, labels = case.pop("scores"), case.pop("labels")
    want = ref.pairwise_hinge_loss(scores, labels, **case)
    if case["reduction"] == "none":
        got = hinge(scores, labels, **case)
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)
        return
    got, (grad, _) = value_and_grads(scores, labels, **case)
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)
    want_grad = ref.pairwise_hinge_loss_grad(scores, labels, **case)
    assert grad.shape == scores.shape and grad.dtype == jnp.float32
    np.testing.assert_allclose(grad, want_grad, rtol=RTOL, atol=ATOL)


@settings(max_examples=15, deadline=None)
@given(case=ranking_case(shapes=[(3, 5)], temperatures=[0.5, 1.0]))
def test_property_sorted_kernel(case):
    # Few shapes and temperatures, so only a handful of (slower) sorted compiles.
    rng = np.random.default_rng(0)
    scores, labels, where = case["scores"], case["labels"], case["where"]
    assert_kernel_matches_reference(
        scores, labels, where, case["temperature"], "sorted", rng
    )


# --- edge cases -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "method, t",
    [("all_pairs", 1.0), ("all_pairs", 0.5), ("all_pairs", 2.0)] + [("sorted", 0.5)],
)
def test_kink_has_zero_value_and_gradient(t, method):
    # A (3, 5) batch; the last two items of each list are masked out (and padded with
    # scores that would matter if they leaked).
    scores = np.full((3, 5), 7.0, np.float32)
    labels = np.zeros((3, 5), np.float32)
    where = np.zeros((3, 5), bool)
    where[:, :3] = True
    # List 0: item 1 beats item 0 by exactly t (margin 1 - d/t == 0, at the kink);
    # item 2 beats item 1 by t/2 (margin 0.5) and item 0 by 1.5 t (margin < 0).
    scores[0, :3] = [0.0, t, 1.5 * t]
    labels[0, :3] = [0.0, 1.0, 2.0]
    # List 1: every counted pair exactly at the kink. List 2: all ties at the kink.
    scores[1, :3] = [3 * t, 2 * t, t]
    labels[1, :3] = [2.0, 1.0, 0.0]
    scores[2, :3] = [t, 0.0, 0.0]
    labels[2, :3] = [1.0, 0.0, 0.0]
    cot = np.ones((3, 5), np.float32)
    item, grad = kernel_check(scores, labels, where, cot, t, method)
    want_item = np.zeros((3, 5))
    want_item[0, 2] = 0.5
    np.testing.assert_array_equal(item, want_item)
    # Only pair (2,1) of list 0 is active: -1/t to s_2, +1/t to s_1.
    want_grad = np.zeros((3, 5))
    want_grad[0, 1:3] = [1.0 / t, -1.0 / t]
    np.testing.assert_allclose(grad, want_grad, rtol=1e-6, atol=0)


# A batch in which no list has a valid pair, each for a different reason.
NO_PAIR_SCORES = np.array(
    [[0.3, -1.0, 2.0], [5.0, 0.0, 1.0], [0.0, 4.0, -3.0], [1.0, 2.0, 3.0]], np.float32
)
NO_PAIR_LABELS = np.array(
    [[2.0, 1.0, 0.0], [-1.0, -1.0, -1.0], [2.0, 1.0, 0.0], [1.0, 1.0, 1.0]], np.float32
)
NO_PAIR_WHERE = np.array(
    [[False] * 3, [True] * 3, [False, True, False], [True] * 3]
)  # all masked; all labels -1; one valid item; equal labels


@pytest.mark.parametrize("weights", [None, np.float32(2.0)])
@pytest.mark.parametrize("reduction", SCALAR_REDUCTIONS)
def test_no_valid_pairs_give_zero_loss_and_gradient(reduction, weights):
    kw = dict(where=NO_PAIR_WHERE, weights=weights, reduction=reduction)
    value, (grad, grad_w) = value_and_grads(NO_PAIR_SCORES, NO_PAIR_LABELS, **kw)
    assert value == 0.0
    np.testing.assert_array_equal(grad, np.zeros((4, 3)))
    if weights is not None:
        assert grad_w == 0.0
    per_item = hinge(
        NO_PAIR_SCORES, NO_PAIR_LABELS, where=NO_PAIR_WHERE, reduction=None
    )
    np.testing.assert_array_equal(per_item, np.zeros((4, 3)))


@pytest.mark.parametrize("method", METHODS)
def test_no_valid_pairs_per_kernel(method, rng):
    # A (3, 5) batch (the common signature) of lists without a valid pair: all masked;
    # all labels -1 but one; all labels equal.
    scores = rng.normal(size=(3, 5)).astype(np.float32)
    labels = np.array(
        [[2, 1, 0, 3, 1], [-1, -1, 2, -1, -1], [1, 1, 1, 1, 1]], np.float32
    )
    where = np.ones((3, 5), bool)
    where[0] = False
    cot = rng.normal(size=(3, 5)).astype(np.float32)
    item, grad = kernel_check(scores, labels, where, cot, 1.0, method)
    np.testing.assert_array_equal(item, np.zeros((3, 5)))
    np.testing.assert_array_equal(grad, np.zeros((3, 5)))


def test_zero_weight_sum_gives_zero(rng):
    scores, labels, _ = make_inputs(rng, (2, 4))
    weights = np.zeros((2, 1), np.float32)
    kw = dict(weights=weights, reduction="mean_with_sample_weight")
    value, (grad, grad_w) = value_and_grads(scores, labels, **kw)
    assert value == 0.0
    # A safe division: no NaN from the unselected branch of the zero-divisor select.
    np.testing.assert_array_equal(grad, np.zeros((2, 4)))
    assert np.all(np.isfinite(grad_w)), grad_w


# --- robustness -----------------------------------------------------------------------

BAD_VALUES = [np.inf, -np.inf, np.nan]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("how", ["mask", "label -1"])
@pytest.mark.parametrize("bad", BAD_VALUES, ids=["inf", "-inf", "nan"])
def test_ignored_item_with_bad_score_changes_nothing(bad, how, method, rng):
    scores, labels, where = make_inputs(rng, (3, 5))
    labels[0] = [2.0, 1.0, 0.0, 3.0, 1.0]
    where[0] = True
    if how == "mask":
        where[0, 3] = False
    else:
        labels[0, 3] = -1.0
    cot = np.ones((3, 5), np.float32)
    clean = kernel_check(scores, labels, where, cot, 1.0, method)
    scores[0, 3] = bad
    item, grad = kernel_check(scores, labels, where, cot, 1.0, method)
    assert np.all(np.isfinite(item)) and np.all(np.isfinite(grad))
    np.testing.assert_array_equal(item, clean[0])
    np.testing.assert_array_equal(grad, clean[1])
    assert grad[0, 3] == 0.0
    if method == "all_pairs":  # and through every reduction, with weights
        kw = dict(where=where, weights=np.full((3, 1), 2.0, np.float32))
        values = all_values(scores, labels, **kw)
        scores[0, 3] = 0.0
        for reduction, want in all_values(scores, labels, **kw).items():
            np.testing.assert_array_equal(values[reduction], want)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("bad", BAD_VALUES, ids=["inf", "-inf", "nan"])
def test_bad_valid_score_poisons_only_its_list(bad, method, rng):
    scores, labels, _ = make_inputs(rng, (3, 5))
    labels = np.abs(labels)  # every item valid
    labels[1] = [0.0, 1.0, 2.0, 3.0, 1.0]
    scores[1, 2] = bad
    where = np.ones((3, 5), bool)
    cot = np.ones((3, 5), np.float32)
    item, grad = (
        np.asarray(x) for x in kernel_check(scores, labels, where, cot, 1.0, method)
    )
    # The documented convention: every per-item loss of the list is NaN, its gradient
    # is 0, and the other lists are untouched.
    assert np.all(np.isnan(item[1])), item[1]
    np.testing.assert_array_equal(grad[1], np.zeros(5))
    valid = ref.valid_items(labels, where)
    want = ref.hinge_item_losses(scores, labels, valid, 1.0)
    want_grad = ref.hinge_item_losses_vjp(scores, labels, valid, 1.0, cot)
    np.testing.assert_allclose(item[[0, 2]], want[[0, 2]], rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(grad[[0, 2]], want_grad[[0, 2]], rtol=RTOL, atol=ATOL)
    if method == "all_pairs":
        for reduction, value in all_values(scores, labels).items():
            assert np.isnan(value).any(), reduction


@pytest.mark.parametrize(
    "dtype, method",
    [(jnp.bfloat16, "all_pairs"), (jnp.float16, "all_pairs"), (jnp.bfloat16, "sorted")],
)
def test_half_precision_computes_in_float32(dtype, method, rng):
    scores, labels, where = make_inputs(rng, (3, 5))
    low = jnp.asarray(scores, dtype)
    up = low.astype(jnp.float32)  # the same values, exactly, in float32
    cot = rng.normal(size=(3, 5)).astype(np.float32)
    item, grad = kernel_check(low, labels.astype(dtype), where, cot, 1.0, method)
    assert item.dtype == jnp.float32 and grad.dtype == dtype
    want, want_grad = kernel_check(up, labels, where, cot, 1.0, method)
    np.testing.assert_allclose(item, want, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(
        grad.astype(jnp.float32), want_grad.astype(dtype).astype(jnp.float32), rtol=1e-2
    )
    if method == "all_pairs":  # weights and reductions in low precision too
        weights = jnp.asarray(make_weights("item", (3, 5), rng), dtype)
        got = all_values(low, labels.astype(dtype), where=where, weights=weights)
        want = all_values(up, labels, where=where, weights=weights.astype(jnp.float32))
        for reduction in REDUCTIONS:
            assert got[reduction].dtype == jnp.float32, reduction
            np.testing.assert_allclose(got[reduction], want[reduction], rtol=1e-6)


@pytest.mark.parametrize(
    "label_dtype, method",
    [(jnp.int32, "all_pairs"), (jnp.int8, "all_pairs"), (jnp.uint8, "all_pairs")]
    + [(jnp.int32, "sorted")],
)
def test_integer_labels_under_strict_promotion(label_dtype, method, rng):
    scores, labels, where = make_inputs(rng, (3, 5))
    if label_dtype == jnp.uint8:
        labels = np.abs(labels)
    int_labels = jnp.asarray(labels, label_dtype)
    weights = make_weights("list1", (3, 5), rng)
    cot = rng.normal(size=(3, 5)).astype(np.float32)
    with jax.numpy_dtype_promotion("strict"):
        item, vjp = kernel_check(scores, int_labels, where, cot, 1.0, method)
        if method == "all_pairs":  # weights and reductions too
            kw = dict(where=where, weights=weights)
            value, (grad, _) = value_and_grads(scores, int_labels, **kw)
    labels64 = np.asarray(labels, np.float64)
    if method == "all_pairs":
        np.testing.assert_allclose(
            value, ref.pairwise_hinge_loss(scores, labels64, **kw), rtol=RTOL, atol=ATOL
        )
        want_grad = ref.pairwise_hinge_loss_grad(scores, labels64, **kw)
        np.testing.assert_allclose(grad, want_grad, rtol=RTOL, atol=ATOL)
    valid = ref.valid_items(labels64, where)
    want = ref.hinge_item_losses(scores, labels64, valid, 1.0)
    np.testing.assert_allclose(item, want, rtol=RTOL, atol=ATOL)
    want_vjp = ref.hinge_item_losses_vjp(scores, labels64, valid, 1.0, cot)
    np.testing.assert_allclose(vjp, want_vjp, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("method", METHODS)
def test_float64_stays_float64(method, rng):
    scores, labels, where = make_inputs(rng, (3, 5))
    with jax.enable_x64(True):
        cot = np.ones((3, 5))
        scores64 = jnp.asarray(scores, jnp.float64)
        item, grad = kernel_check(scores64, labels, where, cot, 0.3, method)
        assert item.dtype == jnp.float64 and grad.dtype == jnp.float64
    valid = ref.valid_items(labels, where)
    want = ref.hinge_item_losses(scores, labels, valid, 0.3)
    np.testing.assert_allclose(item, want, rtol=1e-12, atol=1e-12)
    want_grad = ref.hinge_item_losses_vjp(scores, labels, valid, 0.3, cot)
    np.testing.assert_allclose(grad, want_grad, rtol=1e-12, atol=1e-12)


# --- gradients ------------------------------------------------------------------------


def plain_hinge(scores, labels, where, weights, temperature, reduction):
    """The loss as plain jnp (relu of pair margins, no custom_vjp), for autodiff."""
    valid = (labels >= 0) & where
    diff = scores[..., :, None] - scores[..., None, :]
    better = labels[..., :, None] - labels[..., None, :] > 0
    pairs = better & valid[..., :, None] & valid[..., None, :]
    item = jnp.sum(jnp.where(pairs, jax.nn.relu(1.0 - diff / temperature), 0.0), -1)
    w = jnp.ones_like(scores) if weights is None else weights
    if w.shape == scores.shape[:-1]:  # per list, (batch,)
        w = w[..., None]
    weighted = jnp.where(valid, item * jnp.broadcast_to(w, scores.shape), 0.0)
    total = jnp.sum(weighted)
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and weights is not None:
        return total / jnp.sum(weights)
    return total / scores.size


def away_from_kinks(rng, shape, temperature, gap=0.1):
    """Continuous scores whose every pair margin is at least ``gap`` from the kink."""
    while True:
        scores = rng.normal(size=shape).astype(np.float32)
        margins = 1.0 - (scores[..., :, None] - scores[..., None, :]) / temperature
        if np.all(np.abs(margins) > gap):
            return scores


GRAD_CASES = [
    ((5,), None, "sum_over_batch_size", 1.0),
    ((5,), "item", "sum", 0.4),
    ((3, 4), "list", "mean_with_sample_weight", 1.0),
    ((3, 4), "list1", "mean", 0.4),
    ((3, 4), "item", "mean_with_sample_weight", 2.0),
    ((2, 2, 3), "scalar", "mean_with_sample_weight", 1.0),
    ((2, 2, 3), "list1", "sum_over_batch_size", 0.4),
]


@pytest.mark.parametrize("shape, weight_kind, reduction, t", GRAD_CASES, ids=str)
def test_gradients(shape, weight_kind, reduction, t, rng):
    scores = away_from_kinks(rng, shape, t)
    _, labels, where = make_inputs(rng, shape)
    weights = make_weights(weight_kind, shape, rng)
    kw = dict(where=where, temperature=t, reduction=reduction)

    # Numerical differences (reverse mode only: custom_vjp rules out forward mode).
    def f(s):
        return hinge(s, labels, weights=weights, **kw)

    check_grads(f, (scores,), order=1, modes=["rev"], eps=1e-3)

    _, grads = value_and_grads(scores, labels, weights=weights, **kw)
    # (a) the reference's analytic gradient.
    want = ref.pairwise_hinge_loss_grad(scores, labels, weights=weights, **kw)
    np.testing.assert_allclose(grads[0], want, rtol=RTOL, atol=ATOL)

    # (b) autodiff of a plain implementation, w.r.t. the scores and the weights.
    def plain(s, w):
        return plain_hinge(s, jnp.asarray(labels), jnp.asarray(where), w, t, reduction)

    plain_grads = jax.jit(jax.grad(plain, argnums=(0, 1)))(scores, weights)
    np.testing.assert_allclose(grads[0], plain_grads[0], rtol=RTOL, atol=ATOL)
    if weights is not None:
        valid = ref.valid_items(labels, where)
        item = ref.hinge_item_losses(scores, labels, valid, t)
        want_w = ref.reduce_weights_grad(item, valid, weights, reduction, shape)
        assert grads[1].shape == np.shape(weights)
        np.testing.assert_allclose(grads[1], want_w, rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(grads[1], plain_grads[1], rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("method", METHODS)
def test_check_grads_per_item_losses(method, rng):
    # Numerical differences through reduction="none" (a random VJP inside check_grads).
    scores = away_from_kinks(rng, (3, 5), 1.0)
    _, labels, where = make_inputs(rng, (3, 5))

    def f(s):
        return hinge(s, labels, where=where, reduction="none", method=method)

    check_grads(f, (scores,), order=1, modes=["rev"], eps=1e-3)


def test_forward_mode_is_rejected(rng):
    scores, labels, _ = make_inputs(rng, (2, 3))
    with pytest.raises(TypeError):
        jax.jvp(
            lambda s: jaxrank.pairwise_hinge_loss(s, labels),
            (jnp.asarray(scores),),
            (jnp.ones((2, 3)),),
        )


def test_no_gradient_flows_to_labels(rng):
    scores, labels, _ = make_inputs(rng, (2, 4))
    grad = jax.jit(jax.grad(lambda y: jaxrank.pairwise_hinge_loss(scores, y)))(labels)
    np.testing.assert_array_equal(grad, np.zeros((2, 4)))


def test_dense_is_a_deprecated_name_of_all_pairs(rng):
    scores, labels, _ = make_inputs(rng, (3, 9))
    with pytest.warns(DeprecationWarning, match="all_pairs"):
        old = jaxrank.pairwise_hinge_loss(scores, labels, method="dense")
    new = jaxrank.pairwise_hinge_loss(scores, labels, method="all_pairs")
    np.testing.assert_array_equal(old, new)


def test_all_pairs_with_lambda_weights_builds_no_full_pair_slab():
    """With lambda weights, a long list is summed in row blocks: XLA's buffers for
    value and gradient stay far below one (n, n) float32 slab."""
    n = 8192
    scores = jnp.linspace(-1.0, 1.0, n)[None]
    labels = jnp.arange(n, dtype=jnp.float32)[None] % 5

    def loss(s):
        return jaxrank.pairwise_hinge_loss(
            s, labels, method="all_pairs", lambda_weights=jaxrank.DCGLambdaWeight()
        )

    compiled = jax.jit(jax.value_and_grad(loss)).lower(scores).compile()
    temp_bytes = compiled.memory_analysis().temp_size_in_bytes
    assert temp_bytes < (n * n * 4) // 4


@pytest.mark.parametrize(
    "shift, temperature, rtol",
    # At T = 1e-3 the logits s/T are near -2e9, where a float32 ulp is 256: the
    # rounding of s/T alone moves the loss by a few percent (it used to be ~2e9).
    [(-1e9, 1.0, 1e-6), (-3e9, 1.0, 1e-6), (-2e6, 1e-3, 0.05)],
)
def test_list_mle_is_shift_invariant_far_from_zero(shift, temperature, rtol):
    labels = jnp.array([[3.0, 2.0, 1.0, 0.0, 2.0, -1.0]])
    scores = jnp.array([[0.8, 0.6, 0.4, 0.2, 0.1, 0.0]]) * 1e-3 * (1 / temperature)
    # Scores relative to a far offset, as float32 holds them after the shift.
    far = (scores + shift).astype(jnp.float32)
    near = far - jnp.float32(shift)
    got = jaxrank.list_mle_loss(far, labels, temperature=temperature)
    want = jaxrank.list_mle_loss(near, labels, temperature=temperature)
    np.testing.assert_allclose(got, want, rtol=rtol)


LOSSES_COMPARING_LABELS = [
    functools.partial(jaxrank.pairwise_hinge_loss, method="all_pairs"),
    functools.partial(jaxrank.pairwise_hinge_loss, method="sorted"),
    jaxrank.pairwise_logistic_loss,
    jaxrank.pairwise_soft_zero_one_loss,
    jaxrank.list_mle_loss,
]


@pytest.mark.parametrize("loss", LOSSES_COMPARING_LABELS)
def test_integer_labels_beyond_float32_keep_their_order(loss):
    """[2**24 + 1, 2**24, 0] orders as [2, 1, 0] (float32 would merge two labels)."""
    scores = jnp.zeros((2, 3))
    big = jnp.array([[2**24 + 1, 2**24, 0], [5, -1, 2**30]], jnp.int32)
    small = jnp.array([[2, 1, 0], [1, -1, 2]], jnp.int32)
    np.testing.assert_array_equal(
        loss(scores, big, reduction="none"), loss(scores, small, reduction="none")
    )
    grad = jax.grad(lambda s, y: loss(s, y, reduction="sum"))
    np.testing.assert_array_equal(grad(scores, big), grad(scores, small))
