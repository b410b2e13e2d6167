"""Property-based suite: every public function of jaxrank, on random inputs.

Hypothesis feeds random dtypes (float16, bfloat16, float32, float64 under
``jax.enable_x64``; integer, bool and float labels), shapes (rank 1 to 3, lists of 0 to
40 items), magnitudes (1e-30 to the float32 maximum, both signs, ties, ``inf``/``NaN``
on ignored and on valid items), masks, ``-1`` labels, weights of every accepted shape
(negative and zero included), temperatures and reductions, and wrong kinds of value
(complex, strings, None, objects, Python lists, wrong shapes), to the loss functions
and classes, the optax adapter, the metric functions and classes and the lambda
weights. Every case must give EITHER the right number (the float64 references of
``reference*.py`` evaluated on the very values the library received, within a
tolerance derived from the compute dtype and the magnitudes involved; NaN exactly where
the conventions make a list NaN; gradients finite where the value is, and exactly 0
for ignored items and NaN lists) OR a ``TypeError``/``ValueError`` whose message names
the offending argument in backticks. Never another exception, never a silent wrong
number.

Library bugs the properties found are kept as minimal examples in
``test_known_issues`` (at the end), one per bug; all are fixed now and run as
regression tests. A new bug goes there marked ``xfail(strict=True)`` (its XPASS fails
the run the moment the fix lands), with a filter, commented with its
``test_known_issues[<id>]``, keeping its inputs out of the strategies until then.

Examples are derandomized (CI is reproducible) and the shapes come from short menus so
that JAX compiles few programs: the file takes about 95 CPU-seconds, a minute on two
cores with pytest-xdist. ``JAXRANK_PROPERTY_SCALE=10`` runs ten times as many examples.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import os
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

import jaxrank
import reference as ref
import reference_family as reff
import reference_metrics as refm
from jaxrank import metrics

# --- settings -------------------------------------------------------------------------


# CI runs the default numbers of examples (about a minute on two cores);
# JAXRANK_PROPERTY_SCALE=10 runs ten times as many, for a deeper search.
SCALE = float(os.environ.get("JAXRANK_PROPERTY_SCALE", "1"))


def _settings(max_examples):
    return settings(
        max_examples=max(1, round(max_examples * SCALE)),
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
        print_blob=True,
    )


def _x64(enabled):
    """float64 on (``jax.enable_x64``, or ``jax.experimental.enable_x64`` in older
    JAX) for the ``with`` block, or nothing."""
    if not enabled:
        return contextlib.nullcontext()
    enable = getattr(jax, "enable_x64", None)
    if enable is None:  # JAX before enable_x64 moved to the top level
        from jax.experimental import enable_x64 as enable
    return enable(True)


FLOAT32_MAX = float(np.finfo(np.float32).max)
FLOAT32_TINY = float(np.finfo(np.float32).tiny)
BAD_FLOATS = (np.inf, -np.inf, np.nan)
REDUCTIONS = ("sum_over_batch_size", "mean", "sum", "mean_with_sample_weight", "none")

# --- assertions -----------------------------------------------------------------------


def _finfo(dtype):
    return np.finfo(jnp.dtype(dtype))


def _compute_dtype(dtype):
    """What the library computes in: float32 for 16-bit floats."""
    dtype = jnp.dtype(dtype)
    return jnp.dtype(jnp.float32) if dtype.itemsize < 4 else dtype


def assert_raises_naming(error_info, name):
    """The exception is a TypeError/ValueError whose message names ``name``."""
    message = str(error_info.value)
    assert f"`{name}`" in message, f"message does not name `{name}`: {message!r}"


def assert_right_number(got, want, tol, *, dtype, overflow=None, what="value"):
    """``got`` (library) against ``want`` (float64 reference), elementwise.

    NaN is expected exactly where ``want`` is NaN. Where ``want`` lies beyond the
    compute dtype's range, or ``overflow`` is True (a quantity the result is built
    from, such as a per-item loss, is out of range), an infinity of the right sign
    (or NaN, for sums of such infinities) is right too; everywhere else the value must
    be finite and within ``tol``.
    """
    got = np.asarray(got, np.float64)
    want = np.broadcast_to(np.asarray(want, np.float64), got.shape)
    tol = np.broadcast_to(np.asarray(tol, np.float64), got.shape)
    big = _finfo(dtype).max
    overflow = np.broadcast_to(
        np.zeros((), bool) if overflow is None else np.asarray(overflow), got.shape
    )
    want_nan = np.isnan(want)
    beyond = ~want_nan & (np.abs(want) > big * (1 - 1e-6))
    right_inf = np.isinf(got) & (np.sign(got) == np.sign(want))
    with np.errstate(invalid="ignore", over="ignore"):
        close = np.isfinite(got) & (np.abs(got - want) <= tol)
    ok = close | (beyond & right_inf) | (overflow & ~np.isfinite(got))
    bad = np.where(want_nan, ~np.isnan(got), ~ok)
    assert not np.any(bad), (
        f"{what}: library {got[bad][:6]} vs reference {want[bad][:6]} "
        f"(tolerance {tol[bad][:6]}) at {np.argwhere(bad)[:6].tolist()}"
    )


# --- strategies: the pieces -----------------------------------------------------------

# Few shapes, so JAX compiles few programs; -1 labels and masks vary the lengths that
# count. Rank 1 to 3, lists of 0 to 40 items.
SHAPES = ((0,), (1,), (3, 5), (2, 2, 3), (40,))
SCORE_DTYPES = ("float16", "bfloat16", "float32", "float64")
# Temperatures from tiny to huge: all normal float32 numbers (the accepted range).
TEMPERATURES = (1.0, 0.5, 2.0, 3.0, 0.1, 1e-3, 1e3, 1e-30, FLOAT32_TINY, 1e30, 5e37)
HUGE_TEMPERATURES = (1e38, FLOAT32_MAX)
# Exactly representable weights (their sums are exact in every dtype).
WEIGHT_VALUES = (1.0, 2.0, 0.5, 0.0, -1.0, 1.5, 4.0, -0.25, 3.0)
UNIT = st.floats(-1.0, 1.0, allow_subnormal=False)


@st.composite
def score_values(draw, size, dtype, temperature=1.0, styles=None):
    """``size`` finite scores in ``dtype``'s range: differences of the order of the
    temperature, ties, tiny to huge magnitudes, far from zero, the float32 ends."""
    limit = float(_finfo(dtype).max)
    styles = styles or ("relative", "relative", "grid", "spread", "far", "extreme")
    style = draw(st.sampled_from(styles))
    if style == "relative":  # score differences of the order of T: every regime
        exponent = draw(st.sampled_from([-6, -2, -1, 0, 0, 1, 2, 6]))
        unit = st.one_of(st.integers(-3, 3).map(float), UNIT)
        values = np.array(draw(st.lists(unit, min_size=size, max_size=size)))
        values = values * temperature * 10.0**exponent
    elif style == "grid":  # small dyadic values: many ties and exact kinks
        step = 2.0 ** draw(st.integers(-2, 2))
        ints = draw(st.lists(st.integers(-4, 4), min_size=size, max_size=size))
        values = np.array(ints, np.float64) * step
    elif style == "spread":  # one magnitude, both signs
        exponent = draw(st.sampled_from([-30, -8, -3, 0, 3, 6, 9, 12, 20, 30, 38]))
        values = np.array(draw(st.lists(UNIT, min_size=size, max_size=size)))
        values = values * 10.0**exponent
    elif style == "far":  # close together, far from zero
        centre = draw(st.sampled_from([1e3, 1e6, 1e9, 1e12, 1e20, 1e30, 1e37]))
        centre *= draw(st.sampled_from([1.0, -1.0]))
        spread = draw(st.sampled_from([1e-6, 1e-3, 1.0])) * abs(centre) * 1e-6
        values = np.array(draw(st.lists(UNIT, min_size=size, max_size=size)))
        values = centre + values * spread
    else:  # the ends of the float32 range
        pool = [0.0, 1e-30, -1e-30, 1e38, -1e38, FLOAT32_MAX, -FLOAT32_MAX, 1.0]
        element = st.sampled_from(pool)
        values = np.array(draw(st.lists(element, min_size=size, max_size=size)))
    note(f"scores: {style}")
    with np.errstate(over="ignore"):
        return np.clip(values, -limit, limit)


LABEL_ELEMENTS = {
    "graded": st.sampled_from([-1, 0, 1, 2, 3, 4]),
    "binary": st.sampled_from([-1, 0, 1]),
    "halves": st.sampled_from([-1.0, 0.0, 0.5, 1.0, 1.5, 2.0]),
    "tied": st.sampled_from([-1, 2]),
    # Integers float32 cannot hold: their order must survive (issue 13, item 5).
    "huge": st.sampled_from([-1, 0, 2**24, 2**24 + 1, 2**24 + 3, 2**31 - 1]),
}
LABEL_DTYPES = {
    "graded": ("float32", "int32", "int8", "float16", "bfloat16"),
    "binary": ("float32", "int32", "int8", "bool"),
    "halves": ("float32", "float16", "float64"),
    "tied": ("float32", "int32"),
    "huge": ("int32",),
}


@st.composite
def labels_array(draw, shape, *, kinds=tuple(LABEL_ELEMENTS), x64=False):
    """Labels of ``shape`` in a random dtype (ints, bool, floats; -1 = ignore)."""
    size = math.prod(shape)
    kind = draw(st.sampled_from(kinds))
    values = draw(st.lists(LABEL_ELEMENTS[kind], min_size=size, max_size=size))
    dtypes = LABEL_DTYPES[kind] + (("int64",) if kind == "huge" and x64 else ())
    dtype = draw(st.sampled_from(dtypes))
    note(f"labels: {kind} {dtype}")
    if dtype == "bool":
        return np.array([v > 0 for v in values], bool).reshape(shape)
    return np.array(values, jnp.dtype(dtype)).reshape(shape)


def where_array(shape, *, optional=True):
    size = math.prod(shape)
    mask = st.lists(st.booleans(), min_size=size, max_size=size).map(
        lambda v: np.array(v, bool).reshape(shape)
    )
    return st.one_of(st.none(), mask) if optional else mask


def weight_shapes(shape, *, per_list_only=False):
    """Every accepted kind of weight shape for ``shape`` scores: ``(kind, shape)``."""
    leading = shape[:-1]
    kinds = [("scalar", ()), ("list", leading), ("list1", leading + (1,))]
    if not per_list_only:
        kinds.append(("item", shape))
        # Shapes that broadcast to the scores' (issue 13, item 13).
        kinds += [("broadcast", s) for s in [(1,), (shape[-1],), (1, shape[-1])]]
    return [(k, s) for k, s in kinds if len(s) <= len(shape)]


@st.composite
def weights_array(draw, shape, *, per_list_only=False, optional=True, kinds=None):
    """None, or exactly representable weights of an accepted shape (of one of
    ``kinds``) and a random dtype (negative and zero weights included)."""
    if optional and draw(st.booleans()):
        return None
    shapes = weight_shapes(shape, per_list_only=per_list_only)
    shapes = [(k, s) for k, s in shapes if kinds is None or k in kinds]
    kind, wshape = draw(st.sampled_from(shapes))
    size = math.prod(wshape)
    values = draw(
        st.lists(st.sampled_from(WEIGHT_VALUES), min_size=size, max_size=size)
    )
    dtype = draw(st.sampled_from(["float32", "float16", "int32", "python"]))
    note(f"weights: {kind} {wshape} {dtype}")
    if dtype == "int32":
        values = [round(v) for v in values]
    if dtype == "python" and kind == "scalar":
        return values[0]
    if dtype == "python":
        return np.array(values, np.float32).reshape(wshape).tolist()
    return np.array(values, jnp.dtype(dtype)).reshape(wshape)


@st.composite
def nonfinite_scores(draw, scores, valid, *, on_valid=BAD_FLOATS):
    """``scores`` (float64) with junk on ignored items and, sometimes, one of
    ``on_valid`` (inf, NaN) on a valid one."""
    scores = np.array(scores, np.float64)
    flat, flat_valid = scores.reshape(-1), np.asarray(valid).reshape(-1)
    if flat.size == 0:
        return scores
    junk = st.sampled_from([np.nan, np.inf, -np.inf, 3e38, -3e38, 0.0])
    for i in np.flatnonzero(~flat_valid):
        if draw(st.integers(0, 2)) == 0:
            flat[i] = draw(junk)
    if on_valid and flat_valid.any() and draw(st.integers(0, 5)) == 0:
        i = np.flatnonzero(flat_valid)[draw(st.integers(0, flat_valid.sum() - 1))]
        flat[i] = draw(st.sampled_from(on_valid))
        note("a non-finite score on a valid item")
    return scores


def _show(x):
    """A repr that round-trips arrays (hypothesis shows mapped values lazily)."""
    if isinstance(x, np.ndarray):
        body = np.array2string(x, separator=", ", threshold=10**6, floatmode="unique")
        return f"np.array({body}, {x.dtype.name!r})"
    return repr(x)


def as_dtype(values, dtype):
    """``values`` (float64) rounded to ``dtype``, as the library's input."""
    with np.errstate(over="ignore", invalid="ignore"):
        return np.asarray(values, np.float64).astype(jnp.dtype(dtype))


def as_received(x, dtype=None):
    """The float64 values of an argument as the library receives it (after JAX's
    conversion: Python lists, float64 without x64, bfloat16 ...; then ``dtype``)."""
    x = jnp.asarray(x)
    return np.asarray(x if dtype is None else x.astype(dtype), np.float64)


# --- the losses -----------------------------------------------------------------------

LOSSES = ("hinge", "logistic", "soft_zero_one", "mse", "list_mle")
FUNCTIONS = {
    "hinge": functools.partial(jaxrank.pairwise_hinge_loss, method="all_pairs"),
    "hinge_sorted": functools.partial(jaxrank.pairwise_hinge_loss, method="sorted"),
    "logistic": jaxrank.pairwise_logistic_loss,
    "soft_zero_one": jaxrank.pairwise_soft_zero_one_loss,
    "mse": jaxrank.pairwise_mean_squared_error,
    "list_mle": jaxrank.list_mle_loss,
}
LAMBDA_SPECS = (
    ("labeldiff",),
    ("dcg", None, False),
    ("dcg", 2, True),
    ("dcg2", None, True, False),
    ("dcg2", 3, False, True),
)


def lambda_weight(spec):
    """The library object of a ``reference_family`` lambda-weight tuple."""
    if spec is None:
        return None
    kind, *options = spec
    if kind == "labeldiff":
        return jaxrank.LabelDiffLambdaWeight()
    if kind == "dcg":
        return jaxrank.DCGLambdaWeight(topn=options[0], normalize=options[1])
    return jaxrank.DCG2LambdaWeight(
        topn=options[0], normalize=options[1], light_discount=options[2]
    )


@dataclasses.dataclass
class LossCase:
    """One call of a loss function, and what the library should make of it."""

    name: str
    scores: object
    labels: object
    where: object = None
    weights: object = None
    temperature: float = 1.0
    reduction: str | None = "sum_over_batch_size"
    lambda_spec: tuple | None = None
    x64: bool = False
    block_size: int | None = None

    def __repr__(self):
        fields = ", ".join(
            f"{f.name}={_show(getattr(self, f.name))}" for f in dataclasses.fields(self)
        )
        return f"LossCase({fields})"

    def kwargs(self):
        kwargs = {"where": self.where, "weights": self.weights}
        kwargs["reduction"] = self.reduction
        if self.name != "mse":
            kwargs["temperature"] = self.temperature
        if self.lambda_spec is not None:
            kwargs["lambda_weights"] = lambda_weight(self.lambda_spec)
        if self.block_size is not None:
            kwargs["block_size"] = self.block_size
        return kwargs

    def call(self, scores=None):
        scores = self.scores if scores is None else scores
        return FUNCTIONS[self.name](scores, self.labels, **self.kwargs())

    @property
    def term(self):
        return "hinge" if self.name.startswith("hinge") else self.name


@st.composite
def loss_cases(
    draw,
    names=LOSSES,
    shapes=SHAPES,
    dtypes=SCORE_DTYPES,
    temperatures=TEMPERATURES + HUGE_TEMPERATURES,
    reductions=REDUCTIONS + (None,),
    styles=None,
    lambdas=True,
    optional=True,
):
    """A loss call: every argument random (``optional=False``: always a mask and
    per-item weights, so that a jitted program's signature stays the same)."""
    name = draw(st.sampled_from(names))
    shape = draw(st.sampled_from(shapes))
    dtype = draw(st.sampled_from(dtypes))
    x64 = dtype == "float64"
    temperature = draw(st.sampled_from(temperatures))
    lambda_spec = None
    if (
        lambdas
        and name not in ("list_mle", "hinge_sorted")
        and draw(st.integers(0, 3)) == 0
    ):
        lambda_spec = draw(st.sampled_from(LAMBDA_SPECS))
    # Gains 2**y of huge labels are beyond every range: lambda weights need small ones.
    kinds = tuple(k for k in LABEL_ELEMENTS if k != "huge" or lambda_spec is None)
    labels = draw(labels_array(shape, kinds=kinds, x64=x64))
    where = draw(where_array(shape, optional=optional))
    valid = ref.valid_items(labels.astype(np.float64), where)
    values = draw(score_values(math.prod(shape), dtype, temperature, styles))
    scores = as_dtype(draw(nonfinite_scores(values.reshape(shape), valid)), dtype)
    if optional and draw(st.integers(0, 9)) == 0:
        scores = scores.tolist()  # a Python list: float32 (float64 under x64)
    if optional:
        per_list_only = name == "list_mle" and draw(st.integers(0, 4)) > 0
        weights = draw(weights_array(shape, per_list_only=per_list_only))
    else:
        weights = draw(weights_array(shape, optional=False, kinds=("item",)))
    block_size = None
    if name in ("logistic", "soft_zero_one", "mse") and draw(st.integers(0, 3)) == 0:
        block_size = draw(st.sampled_from([1, 2, 4, 64]))  # rows per block
    return LossCase(
        name=name,
        scores=scores,
        labels=labels,
        where=where,
        weights=weights,
        temperature=temperature,
        reduction=draw(st.sampled_from(reductions)),
        lambda_spec=lambda_spec,
        x64=x64,
        block_size=block_size,
    )


# --- float64 expectations for a loss case ---------------------------------------------


@dataclasses.dataclass
class Expected:
    """A loss case's float64 reference: value, tolerance, overflow and gradient info."""

    value: np.ndarray
    tol: np.ndarray
    overflow: np.ndarray
    nan_lists: np.ndarray  # bool, leading shape
    valid: np.ndarray
    grad_may_overflow: np.ndarray  # bool, leading shape
    dtype: np.dtype  # of the value
    scores_dtype: np.dtype  # of the gradient


def _pair_matrix(x):
    return x[..., :, None], x[..., None, :]


def _lambda_bound(spec, s, y, valid):
    """The reference lambda weights, and a bound on their rounding error's size."""
    lam = reff.lambda_weights(spec, s, y, valid)
    n = s.shape[-1]
    if spec[0] == "labeldiff":
        yi, yj = _pair_matrix(np.abs(y))
        return lam, lam + yi + yj
    gains = np.where(valid, 2.0**y - 1.0, 0.0)
    top = 1.0 if spec[2] else np.max(np.abs(gains), axis=-1, initial=0.0)
    return lam, lam + 6.0 * n * np.asarray(top)[..., None, None]


def _item_losses_and_scales(case, s, y, valid):
    """Unweighted reference losses (per item; per list for ListMLE) and the size of
    the rounding error a correct computation in the compute dtype can make, in units
    of its epsilon."""
    t = case.temperature
    if s.size == 0:  # the references loop over items: nothing to loop over
        zeros = np.zeros(s.shape[:-1] if case.term == "list_mle" else s.shape)
        return zeros, zeros
    lam = scale_lam = None
    if case.lambda_spec is not None:
        lam, scale_lam = _lambda_bound(case.lambda_spec, s, y, valid)
    vi, vj = _pair_matrix(valid)
    si, sj = _pair_matrix(s)
    yi, yj = _pair_matrix(y)
    # XLA flushes subnormal numbers to zero: scores (or score differences) below the
    # smallest normal number count as 0, an error of up to tiny / T.
    flushed = float(_finfo(_compute_dtype(jnp.asarray(case.scores).dtype)).tiny) / t
    eps = float(_finfo(_compute_dtype(jnp.asarray(case.scores).dtype)).eps)
    if case.term == "list_mle":
        losses = reff.list_mle_list_losses(s, y, valid, t)
        m = np.sum(valid, -1)
        top = np.max(np.where(valid, np.abs(s) / t, 0.0), -1, initial=0.0)
        sizes = np.sum(np.where(valid, np.abs(s) / t, 0.0), -1) + m * top
        scale = 4 * sizes + m * (m + 4) + np.abs(losses) + m * flushed / eps
        return losses, scale
    weight = 1.0 if scale_lam is None else scale_lam
    if case.term == "mse":
        losses = reff.squared_error_item_losses(s, y, valid, lam)
        # As accurate as the pairwise definition (keras_rs's formula): each pair's
        # ((y_i - y_j) - (s_i - s_j))^2 from differences of the inputs.
        r = (yi - yj) - (si - sj)
        pair = 2 * np.abs(r) * (np.abs(yi - yj) + np.abs(si - sj)) + r * r
        scale = np.sum(np.where(vi & vj, weight * pair, 0.0), -1)
        if lam is None:  # the closed form rounds centred residuals d
            d = _centred_residuals(s, y, valid)
            spread = np.max(np.abs(d), -1, keepdims=True, initial=0.0)
            sums = np.abs(d) * np.sum(valid, -1, keepdims=True)
            scale += 4 * (sums + np.sum(np.abs(d), -1, keepdims=True)) * spread
        return losses, np.where(valid, scale + losses, 0.0)
    losses = reff.pairwise_item_losses(case.term, s, y, valid, t, lam)
    pairs = vi & vj & (yi > yj)
    size = 1.0 + np.abs(si - sj) / t + flushed / eps
    return losses, np.sum(np.where(pairs, weight * size, 0.0), -1) + losses


def _centred_residuals(s, y, valid):
    """``d = e - mean(e)`` over the valid items, ``e = y - s`` (0 for the others)."""
    e = np.where(valid, y - s, 0.0)
    m = np.maximum(np.sum(valid, -1, keepdims=True), 1)
    return np.where(valid, e - np.sum(e, -1, keepdims=True) / m, 0.0)


def _grad_bound(case, s, y, valid, item_weights, divisor):
    """A bound on each list's largest gradient entry (to tell a legitimately
    overflowing gradient from a wrong one)."""
    t = case.temperature
    if s.size == 0:
        return np.zeros(s.shape[:-1])
    w = np.abs(item_weights) / (1.0 if divisor in (None, 0) else abs(divisor))
    n = s.shape[-1]
    if case.term == "list_mle":
        return np.max(w, -1, initial=0.0) * 2 * n / t
    lam = np.ones(s.shape + (n,))
    if case.lambda_spec is not None:
        lam = _lambda_bound(case.lambda_spec, s, y, valid)[1]
    if case.term == "mse":
        r = np.abs(s[..., :, None] - s[..., None, :]) + np.abs(
            y[..., :, None] - y[..., None, :]
        )
        return np.max(np.sum(4 * lam * r, -1), -1, initial=0.0) * np.max(
            w, -1, initial=0.0
        )
    return np.max(w, -1, initial=0.0) * 2 * n * np.max(lam, (-2, -1), initial=0.0) / t


def expected_loss(case):
    """The float64 reference of ``case`` (on the values the library received)."""
    scores = as_received(case.scores)
    dtype = _compute_dtype(jnp.asarray(case.scores).dtype)
    eps = float(_finfo(dtype).eps)
    labels = np.asarray(case.labels, np.float64)
    valid = ref.valid_items(labels, case.where)
    finite = np.isfinite(scores)
    nan_lists = np.any(valid & ~finite, axis=-1)
    s = np.where(valid & finite, scores, 0.0)
    y = np.where(valid, labels, 0.0)
    losses, scales = _item_losses_and_scales(case, s, y, valid)
    shape = scores.shape
    reduction = "none" if case.reduction is None else case.reduction
    big = float(_finfo(dtype).max)
    if case.term == "list_mle":
        weights = case.weights
        value = reff.reduce_lists(losses, weights, reduction)
        w = np.broadcast_to(
            1.0
            if weights is None
            else np.reshape(
                np.asarray(weights, np.float64), np.shape(weights)[: losses.ndim]
            ),
            losses.shape,
        )
        scale = np.abs(w) * scales
        item_weights = np.broadcast_to(w[..., None], shape)
        per = np.abs(w * losses)
        nan_entries = nan_lists
        divisor = _divisor(weights, reduction, losses.size)
    else:
        item_weights = item_weights_of(case.weights, shape)
        divisor = _divisor(case.weights, reduction, math.prod(shape))
        value = ref.reduce(losses, valid, item_weights, reduction, shape)
        if reduction != "none":  # the divisor of the weights as given
            value = ref.reduce(losses, valid, item_weights, "sum", shape)
            value = value / divisor if divisor else (value if divisor is None else 0.0)
        scale = np.where(valid, np.abs(item_weights) * scales, 0.0)
        per = np.where(valid, np.abs(item_weights * losses), 0.0)
        nan_entries = np.broadcast_to(nan_lists[..., None], shape)
    overflow = np.abs(losses) > big / 2
    count = max(1, scale.size)
    if reduction == "none":
        value = np.where(nan_entries, np.nan, value)
        tol = 16 * eps * scale
    else:
        total_scale = float(np.sum(scale)) * (1 + math.log2(count))
        tol = 16 * eps * total_scale / (abs(divisor) if divisor else 1.0)
        if np.any(nan_lists):
            value = np.nan
        overflow = np.any(overflow) or float(np.sum(per)) > big / 2
    grad_bound = _grad_bound(case, s, y, valid, item_weights, divisor)
    return Expected(
        value=np.asarray(value, np.float64),
        tol=np.asarray(tol, np.float64) + (eps if reduction == "none" else 0.0),
        overflow=np.asarray(overflow),
        nan_lists=nan_lists,
        valid=valid,
        grad_may_overflow=(grad_bound > _finfo(jnp.asarray(case.scores).dtype).max / 8)
        | np.any(np.abs(losses.reshape(*shape[:-1], -1)) > big / 8, axis=-1),
        dtype=dtype,
        scores_dtype=jnp.asarray(case.scores).dtype,
    )


def item_weights_of(weights, shape):
    """Weights of any accepted shape as per-item float64 weights of ``shape``: the
    leading shape is per list, anything else broadcasts (NumPy's rule)."""
    if weights is None:
        return np.ones(shape)
    w = np.asarray(weights, np.float64)
    if w.shape == tuple(shape[:-1]):
        w = w[..., None]
    return np.broadcast_to(w, shape).astype(np.float64)


def _divisor(weights, reduction, count):
    if reduction == "sum" or reduction == "none":
        return None
    if reduction == "mean_with_sample_weight" and weights is not None:
        return float(np.sum(np.asarray(weights, np.float64)))
    return float(count)


# --- properties: the loss functions ---------------------------------------------------


def run_loss(case):
    """Value and gradient (of the sum of the result) of ``case``, eagerly."""
    value, vjp = jax.vjp(case.call, jnp.asarray(case.scores))
    (grad,) = vjp(jnp.ones_like(value))
    return value, grad


def _varies_within_lists(weights, shape):
    """Whether ``weights`` can differ between the items of a list (ListMLE refuses)."""
    if weights is None or shape[-1] == 1:
        return False
    wshape = np.shape(weights)
    return wshape != tuple(shape[:-1]) and len(wshape) > 0 and wshape[-1] != 1


def check_loss_case(case):
    """The right number (value and gradient) or the right error, for one case."""
    note(repr(case))
    with _x64(case.x64):
        if case.name == "list_mle" and _varies_within_lists(
            case.weights, np.shape(case.labels)
        ):
            with pytest.raises(ValueError) as info:
                case.call()
            assert_raises_naming(info, "weights")
            return
        want = expected_loss(case)
        value, grad = run_loss(case)
    assert value.dtype == want.dtype, (value.dtype, want.dtype)
    assert value.shape == want.value.shape, (value.shape, want.value.shape)
    assert_right_number(
        value, want.value, want.tol, dtype=want.dtype, overflow=want.overflow
    )
    check_gradient(grad, want, case)


def check_gradient(grad, want, case):
    """Finite where the value is; exactly 0 for ignored items and NaN lists."""
    assert grad.dtype == want.scores_dtype, grad.dtype
    grad = np.asarray(grad, np.float64)
    assert grad.shape == np.shape(case.scores)
    zero = ~want.valid | want.nan_lists[..., None]
    assert np.all(grad[zero] == 0), f"gradient of ignored items: {grad[zero]}"
    may_overflow = np.broadcast_to(want.grad_may_overflow[..., None], grad.shape)
    finite = np.isfinite(grad)
    assert np.all(finite[~zero & ~may_overflow]), f"gradient: {grad}"


@pytest.mark.parametrize("name", LOSSES)
@_settings(max_examples=8)
@given(case=st.data())
def test_loss_functions_give_the_reference_number(name, case):
    """Every argument random: dtypes, shapes, magnitudes, masks, -1 labels, weights,
    temperatures, reductions, lambda weights, inf/NaN on ignored and valid items."""
    case = case.draw(loss_cases(names=(name,)), label="case")
    check_loss_case(case)


@pytest.mark.parametrize("name", LOSSES)
@_settings(max_examples=12)
@given(case=st.data())
def test_losses_at_the_ends_of_the_float32_range(name, case):
    """One shape, float32: tiny and huge scores and temperatures, overflow."""
    strategy = loss_cases(
        names=(name,),
        shapes=((3, 5),),
        dtypes=("float32",),
        reductions=("none", "sum"),
        styles=("relative", "spread", "far", "extreme"),
        lambdas=False,
    )
    check_loss_case(case.draw(strategy, label="case"))


@st.composite
def shifted_scores(draw, dtype):
    """Scores on a dyadic grid, a shift and a temperature (powers of two) with every
    shifted score exact: ``(scores, shifted, temperature)``."""
    bits = 23 if dtype == "float32" else 52
    temperature = 2.0 ** draw(st.sampled_from([-10, -3, 0, 3, 10]))
    step = temperature * 2.0 ** draw(st.sampled_from([-3, 0, 3, 7]))
    ints = draw(st.lists(st.integers(-8, 8), min_size=15, max_size=15))
    scores = np.array(ints, np.float64).reshape(3, 5) * step
    shift = step * 2.0 ** draw(st.integers(4, bits)) * draw(st.sampled_from([1, -1]))
    shifted = scores + shift
    assert np.all(as_dtype(shifted, dtype) == shifted)  # exact: no rounding
    return scores.astype(dtype), shifted.astype(dtype), temperature


@pytest.mark.parametrize("name", ["hinge", "logistic", "soft_zero_one", "list_mle"])
@_settings(max_examples=10)
@given(data=st.data())
def test_losses_are_shift_invariant(name, data):
    """Adding the same (exactly representable) number to every score of a list
    changes no loss and no gradient: they depend on score differences only. (The
    squared error rounds ``y - s`` in the compute dtype: not exactly invariant.)"""
    dtype = data.draw(st.sampled_from(["float32", "float64"]), label="dtype")
    scores, shifted, temperature = data.draw(shifted_scores(dtype), label="scores")
    labels = data.draw(labels_array((3, 5), kinds=("graded", "halves", "tied")))
    where = data.draw(where_array((3, 5)))
    case = LossCase(
        name,
        scores,
        labels,
        where=where,
        temperature=temperature,
        reduction="none",
        x64=dtype == "float64",
    )
    far = dataclasses.replace(case, scores=shifted)
    with _x64(case.x64):
        want = expected_loss(case)
        near_value, near_grad = run_loss(case)
        far_value, far_grad = run_loss(far)
    # The tolerance of the unshifted scores: a shift may not add any error.
    assert_right_number(far_value, near_value, want.tol, dtype=want.dtype)
    assert_right_number(near_value, want.value, want.tol, dtype=want.dtype)
    eps = float(_finfo(want.dtype).eps)
    scale = np.max(np.abs(near_grad), initial=0.0)
    np.testing.assert_allclose(far_grad, near_grad, rtol=0, atol=64 * eps * scale)


@functools.cache
def _jitted_hinge(method, temperature):
    """Jitted per-item hinge losses and the gradient of their weighted sum."""

    def run(scores, labels, where, weights):
        def total(s):
            return jaxrank.pairwise_hinge_loss(
                s,
                labels,
                where=where,
                weights=weights,
                temperature=temperature,
                reduction="sum",
                method=method,
            )

        none = jaxrank.pairwise_hinge_loss(
            scores,
            labels,
            where=where,
            temperature=temperature,
            reduction="none",
            method=method,
        )
        return none, jax.grad(total)(scores)

    return jax.jit(run)


@_settings(max_examples=20)
@given(data=st.data())
def test_sorted_hinge_equals_all_pairs_and_the_reference(data):
    """The O(n log n) path gives the all-pairs numbers (value and gradient) and the
    reference's, whatever the magnitudes (far from zero included), ties, labels
    (integer keys, real keys) and cotangents (uniform or per item). Jitted, with one
    shape, dtype and temperature: compiling the sorted path is what costs here
    (score magnitudes relative to T stand in for other temperatures)."""
    case = data.draw(
        loss_cases(
            names=("hinge_sorted",),
            shapes=((3, 11),),
            dtypes=("float32",),
            temperatures=(1.0,),
            reductions=("none",),
            optional=False,
        ),
        label="case",
    )
    # One label dtype, one program to compile (integers beyond 2**24 round to float32
    # here; test_known_issues[integer-labels-beyond-2**24] keeps them exact).
    labels = np.asarray(case.labels).astype(np.float32)
    case = dataclasses.replace(case, labels=labels)
    note(repr(case))
    weights = np.asarray(case.weights, np.float32)
    if data.draw(st.booleans(), label="uniform cotangent"):
        weights = np.ones_like(weights)
    args = (np.asarray(case.scores), labels, case.where, weights)
    sorted_value, sorted_grad = _jitted_hinge("sorted", case.temperature)(*args)
    value, grad = _jitted_hinge("all_pairs", case.temperature)(*args)
    want = expected_loss(dataclasses.replace(case, weights=None))  # as "none" above
    overflow = want.overflow
    assert_right_number(
        sorted_value, want.value, want.tol, dtype=np.float32, overflow=overflow
    )
    assert_right_number(sorted_value, value, want.tol, dtype=np.float32)
    # Gradients are sums of +-w/T per pair: equal unless a pair sits within rounding
    # of the kink, where the two paths may round the margin differently.
    scores = as_received(case.scores)
    with np.errstate(invalid="ignore"):
        margins = 1 - (scores[..., :, None] - scores[..., None, :]) / case.temperature
        near = np.abs(margins) < 1e-5 * (1 + np.abs(margins))
    same = np.broadcast_to(~np.any(near, axis=(-2, -1))[:, None], weights.shape)
    np.testing.assert_allclose(
        np.asarray(sorted_grad)[same],
        np.asarray(grad)[same],
        rtol=1e-5,
        atol=1e-6 * np.max(np.abs(grad), initial=1.0),
    )


@pytest.mark.parametrize("shape", [(0,), (1,), (2, 0), (2, 1)], ids=str)
def test_sorted_hinge_on_lists_of_fewer_than_two_items(shape):
    """The sorted path's own handling of lists shorter than two items: the all-pairs
    numbers, NaN lists and ignored items included."""
    rng = np.random.default_rng(sum(shape))
    scores = rng.normal(size=shape).astype(np.float32)
    labels = rng.integers(-1, 3, size=shape).astype(np.float32)
    where = rng.random(shape) < 0.8
    if scores.size:
        scores.reshape(-1)[0] = np.nan  # the first list is NaN if that item is valid
        scores.reshape(-1)[-1] = np.inf
    weights = rng.uniform(0.5, 2.0, size=shape).astype(np.float32)
    args = (scores, labels, where, weights)
    sorted_value, sorted_grad = _jitted_hinge("sorted", 1.0)(*args)
    value, grad = _jitted_hinge("all_pairs", 1.0)(*args)
    np.testing.assert_allclose(sorted_value, value, rtol=1e-6)
    np.testing.assert_allclose(sorted_grad, grad, rtol=1e-6)
    case = LossCase("hinge_sorted", scores, labels, where=where, reduction="none")
    want = expected_loss(case)
    assert_right_number(sorted_value, want.value, want.tol, dtype=np.float32)


# --- the optax adapter ----------------------------------------------------------------


@_settings(max_examples=10)
@given(data=st.data())
def test_optax_adapter_gives_the_reference_number(data):
    """``as_optax_loss``: one loss per list (the sum of its item losses), lists without
    a valid item (all labels -1, or all masked) left out of the reduction."""
    case = data.draw(
        loss_cases(reductions=("none",), lambdas=False),
        label="case",
    )
    labels = np.array(case.labels)
    if labels.ndim > 1 and labels.size and data.draw(st.booleans(), label="pad"):
        labels.reshape(-1, labels.shape[-1])[0] = -1  # a list padded by its labels
    case = dataclasses.replace(case, labels=labels)
    reduce_fn = data.draw(st.sampled_from([jnp.mean, jnp.sum, None]), label="reduce")
    options = {} if case.name == "mse" else {"temperature": case.temperature}
    loss = jaxrank.as_optax_loss(FUNCTIONS[case.name], **options)
    note(repr(case))
    with _x64(case.x64):
        call = functools.partial(
            loss, case.scores, case.labels, where=case.where, weights=case.weights
        )
        if case.name == "list_mle" and _varies_within_lists(
            case.weights, np.shape(case.labels)
        ):
            with pytest.raises(ValueError) as info:
                call(reduce_fn=reduce_fn)
            assert_raises_naming(info, "weights")
            return
        want = expected_loss(case)
        got = call(reduce_fn=reduce_fn)
    per_list, tol = want.value, want.tol
    if case.name != "list_mle":
        per_list, tol = np.sum(per_list, -1), np.sum(tol, -1)
    has_items = np.any(want.valid, -1)
    if reduce_fn is None:
        want_value = np.where(has_items, per_list, 0.0)
    else:
        want_value = np.sum(np.where(has_items, per_list, 0.0))
        tol = np.sum(np.where(has_items, tol, 0.0))
        if reduce_fn is jnp.mean:
            count = max(1, int(np.sum(has_items)))
            want_value, tol = want_value / count, tol / count
    assert got.shape == np.shape(want_value)
    assert_right_number(
        got, want_value, tol, dtype=want.dtype, overflow=want.overflow.any()
    )


# --- the loss classes (keras_rs's calling convention) ---------------------------------

LOSS_CLASSES = {
    "hinge": jaxrank.PairwiseHingeLoss,
    "logistic": jaxrank.PairwiseLogisticLoss,
    "soft_zero_one": jaxrank.PairwiseSoftZeroOneLoss,
    "mse": jaxrank.PairwiseMeanSquaredError,
    "list_mle": jaxrank.ListMLELoss,
}
# (batch, list_size) shapes, rank-1 ones (one list), batch == list_size included.
KERAS_SHAPES = ((6,), (3, 5), (4, 4), (2, 1))


@dataclasses.dataclass
class KerasBatch:
    """One keras_rs-convention call: ``obj(y_true, y_pred, sample_weight)``."""

    labels: np.ndarray
    scores: np.ndarray
    mask: object
    as_dict: bool
    sample_weight: object
    dtype: str | None

    @property
    def y_true(self):
        if not self.as_dict:
            return self.labels
        return {"labels": self.labels} | (
            {} if self.mask is None else {"mask": self.mask}
        )

    def __repr__(self):
        fields = ", ".join(
            f"{f.name}={_show(getattr(self, f.name))}" for f in dataclasses.fields(self)
        )
        return f"KerasBatch({fields})"

    def standardized(self):
        """float64 ``(labels, scores, valid-mask, sample_weight)`` as rank-2 arrays, the
        inputs cast to the class dtype first (as Keras does)."""
        dtype = self.dtype or "float32"
        labels = as_received(self.labels, dtype)
        scores = as_received(self.scores, dtype)
        mask = None if self.mask is None else np.asarray(self.mask) != 0
        weight = self.sample_weight
        if weight is not None:
            weight = as_received(weight, dtype)
        if labels.ndim == 1:
            labels, scores = labels[None], scores[None]
            mask = None if mask is None else mask[None]
            if weight is not None and weight.ndim == 1:
                weight = weight[None]
        return labels, scores, mask, weight


@st.composite
def keras_batches(draw, *, x64_dtypes=True):
    shape = draw(st.sampled_from(KERAS_SHAPES))
    labels = draw(labels_array(shape, kinds=("graded", "binary", "halves", "tied")))
    values = draw(score_values(math.prod(shape), "float32")).reshape(shape)
    valid = labels.astype(np.float64) >= 0
    scores = draw(nonfinite_scores(values, valid))
    y_pred_dtype = draw(st.sampled_from(["float32", "float16", "float64", "int32"]))
    if y_pred_dtype == "int32":  # keras accepts integer predictions
        scores = np.clip(np.nan_to_num(scores), -1e9, 1e9).round()
    scores = as_dtype(scores, y_pred_dtype)
    mask_kind = draw(st.sampled_from([None, "bool", "int", "float"]))
    mask = None
    if mask_kind is not None:
        mask = draw(where_array(shape, optional=False))
        mask = mask.astype(
            {"bool": bool, "int": np.int32, "float": np.float32}[mask_kind]
        )
    batch = shape[0] if len(shape) == 2 else 1
    n = shape[-1]
    weight_shapes = [
        None,
        (),
        (batch,),
        (batch, 1),
        (batch, n),
        (1,),
        (1, 1),
        (n,),
        (1, n),
    ]
    weight_shapes += [(batch + 1,), (batch, n, 1), (2, batch, n), (n + 1,)]  # wrong
    wshape = draw(st.sampled_from(weight_shapes))
    sample_weight = None
    if wshape is not None:
        size = math.prod(wshape)
        element = st.sampled_from(WEIGHT_VALUES)
        values = draw(st.lists(element, min_size=size, max_size=size))
        sample_weight = np.array(values, np.float32).reshape(wshape)
        if wshape == () and draw(st.booleans()):
            sample_weight = float(sample_weight)
    dtypes = [None, "float32", "float16", "bfloat16"] + (
        ["float64"] if x64_dtypes else []
    )
    return KerasBatch(
        labels=labels,
        scores=scores,
        mask=mask,
        as_dict=mask is not None or draw(st.booleans()),
        sample_weight=sample_weight,
        dtype=draw(st.sampled_from(dtypes)),
    )


def _keras_weight_error(batch, per_list_loss=False, loss_class=True):
    """Why ``batch.sample_weight`` must be refused (a message), or None."""
    if batch.sample_weight is None:
        return None
    shape = np.shape(batch.labels)
    rows, n = (1, shape[0]) if len(shape) == 1 else shape
    wshape = np.shape(batch.sample_weight)
    if len(shape) == 1 and len(wshape) == 1:
        wshape = (1,) + wshape
    if wshape != (rows,):
        try:
            fits = np.broadcast_shapes(wshape, (rows, n)) == (rows, n)
        except ValueError:
            fits = False
        if not fits or len(wshape) > 2:
            return "shape"
    if loss_class and len(shape) == 2 and rows == n and wshape == (rows,):
        return "ambiguous"  # keras_rs reads (batch,) per position, jaxrank per list
    if per_list_loss and n > 1 and wshape not in ((), (rows,)) and wshape[-1] != 1:
        return "varies within lists"
    return None


@dataclasses.dataclass
class ClassCall:
    """A loss class made with ``temperature`` and ``reduction``, called on ``batch``."""

    name: str
    batch: KerasBatch
    temperature: float
    reduction: str

    def loss(self):
        cls = LOSS_CLASSES[self.name]
        return cls(self.temperature, self.reduction, dtype=self.batch.dtype)

    def error(self):
        return _keras_weight_error(self.batch, per_list_loss=self.name == "list_mle")

    def loss_case(self):
        """The function call that the class call stands for."""
        labels, scores, mask, weight = self.batch.standardized()
        return LossCase(
            self.name,
            as_dtype(scores, self.batch.dtype or "float32"),
            labels,
            where=mask,
            weights=weight,
            temperature=self.temperature,
            reduction=self.reduction,
            x64=self.batch.dtype == "float64",
        )


@st.composite
def class_calls(draw, name):
    return ClassCall(
        name,
        draw(keras_batches(), label="batch"),
        draw(st.sampled_from(TEMPERATURES[:7]), label="temperature"),
        draw(st.sampled_from(REDUCTIONS), label="reduction"),
    )


@pytest.mark.parametrize("name", LOSSES)
@_settings(max_examples=6)
@given(data=st.data())
def test_loss_classes_give_the_reference_number(name, data):
    """``jaxrank.PairwiseHingeLoss()(y_true, y_pred, sample_weight)`` etc.: labels or
    ``{"labels", "mask"}``, rank 1 or 2, every sample-weight shape keras_rs accepts
    (and some it does not), the class dtype: the number of the loss function."""
    call = data.draw(class_calls(name), label="call")
    batch, reduction = call.batch, call.reduction
    note(repr(batch))
    with _x64(batch.dtype == "float64"):
        if call.error() is not None:
            with pytest.raises(ValueError) as info:
                call.loss()(batch.y_true, batch.scores, batch.sample_weight)
            assert_raises_naming(info, "sample_weight")
            return
        want = expected_loss(call.loss_case())
        got = call.loss()(batch.y_true, batch.scores, batch.sample_weight)
    want_value = want.value
    if name == "list_mle" and reduction == "none" and batch.sample_weight is not None:
        if np.ndim(batch.sample_weight) == 2:  # keras_rs's shapes (class docstring)
            want_value = want_value[:, None]
        elif np.ndim(batch.sample_weight) == 0 and want_value.shape == (1,):
            want_value = want_value[0]
    assert got.shape == np.shape(want_value), (got.shape, np.shape(want_value))
    tol, overflow = want.tol, want.overflow
    if np.ndim(tol):
        tol, overflow = (np.reshape(x, np.shape(want_value)) for x in (tol, overflow))
    assert_right_number(got, want_value, tol, dtype=want.dtype, overflow=overflow)


# --- metric functions -----------------------------------------------------------------

METRIC_FUNCTIONS = {
    "ndcg": (metrics.ndcg, refm.ndcg, True),
    "dcg": (metrics.dcg, refm.dcg, True),
    "reciprocal_rank": (metrics.reciprocal_rank, refm.mean_reciprocal_rank, False),
    "average_precision": (
        metrics.average_precision,
        refm.mean_average_precision,
        True,
    ),
    "precision_at_k": (metrics.precision_at_k, refm.precision_at_k, False),
    "recall_at_k": (metrics.recall_at_k, refm.recall_at_k, False),
}
DEPRECATED_METRICS = {
    "reciprocal_rank": metrics.mean_reciprocal_rank,
    "average_precision": metrics.mean_average_precision,
}
METRIC_LABELS = ("graded", "binary", "halves", "tied")
# Gains and discounts for the library (jnp) and the reference (Python floats) alike.
GAINS = {"exp2": metrics.default_gain_fn, "linear": lambda y: y + 0.5}
DISCOUNTS = {"log2": metrics.default_discount_fn, "reciprocal": lambda r: 1.0 / r}
REFERENCE_GAINS = {"exp2": refm.exp2_gain, "linear": lambda y: y + 0.5}
REFERENCE_DISCOUNTS = {"log2": refm.log2_discount, "reciprocal": lambda r: 1.0 / r}
CUTOFFS = (None, 1, 2, 3, 7, 100)


@dataclasses.dataclass
class MetricCase:
    name: str
    scores: object
    labels: object
    where: object = None
    weights: object = None
    k: int | None = None
    no_relevant_value: float = 0.0
    seed: int | None = None
    x64: bool = False
    gain: str = "exp2"  # a key of GAINS
    discount: str = "log2"  # a key of DISCOUNTS

    def __repr__(self):
        fields = ", ".join(
            f"{f.name}={_show(getattr(self, f.name))}" for f in dataclasses.fields(self)
        )
        return f"MetricCase({fields})"

    def call(self):
        fn = METRIC_FUNCTIONS[self.name][0]
        return fn(self.scores, self.labels, **self.call_kwargs())

    def call_kwargs(self):
        takes_weights = METRIC_FUNCTIONS[self.name][2]
        kwargs = {"where": self.where, "k": self.k}
        if takes_weights:
            kwargs["weights"] = self.weights
        if self.name == "ndcg":
            kwargs["no_relevant_value"] = self.no_relevant_value
        if self.name in ("ndcg", "dcg"):
            kwargs["gain_fn"] = GAINS[self.gain]
            kwargs["discount_fn"] = DISCOUNTS[self.discount]
        if self.seed is not None:
            kwargs["key"] = jax.random.key(self.seed)
        return kwargs


@st.composite
def metric_cases(draw, name):
    shape = draw(st.sampled_from(SHAPES))
    dtype = draw(st.sampled_from(SCORE_DTYPES))
    x64 = dtype == "float64"
    labels = draw(labels_array(shape, kinds=METRIC_LABELS))
    where = draw(where_array(shape))
    valid = ref.valid_items(labels.astype(np.float64), where)
    values = draw(score_values(math.prod(shape), dtype)).reshape(shape)
    scores = as_dtype(draw(nonfinite_scores(values, valid)), dtype)
    weights = None
    if METRIC_FUNCTIONS[name][2]:
        weights = draw(weights_array(shape))
    return MetricCase(
        name=name,
        scores=scores,
        labels=labels,
        where=where,
        weights=weights,
        k=draw(st.sampled_from(CUTOFFS)),
        no_relevant_value=draw(st.sampled_from([0.0, 1.0])),
        seed=draw(st.sampled_from([None, None, 0, 1])),
        x64=x64,
        gain=draw(st.sampled_from(sorted(GAINS))),
        discount=draw(st.sampled_from(sorted(DISCOUNTS))),
    )


def _gains(labels, valid, weights, gain=refm.exp2_gain):
    return np.where(valid, weights * np.vectorize(gain)(labels), 0.0)


def expected_metric(case):
    """float64 reference values ``(...)`` and their tolerance (NaN where ill-posed:
    any finite value is then accepted)."""
    scores = as_received(case.scores)
    dtype = _compute_dtype(jnp.asarray(case.scores).dtype)
    eps = 64 * float(_finfo(dtype).eps)
    labels = np.asarray(case.labels, np.float64)
    shape = scores.shape
    valid = ref.valid_items(labels, case.where)
    weights = item_weights_of(case.weights, shape)
    _, reference, takes_weights = METRIC_FUNCTIONS[case.name]
    kwargs = {"where": case.where, "k": case.k}
    if takes_weights:
        kwargs["weights"] = weights
    if case.name == "ndcg":
        kwargs["no_relevant_value"] = case.no_relevant_value
    gain, discount = REFERENCE_GAINS[case.gain], REFERENCE_DISCOUNTS[case.discount]
    if case.name in ("ndcg", "dcg"):
        kwargs |= {"gain": gain, "discount": discount}
    if shape[-1] == 0:  # the references loop over items
        empty = case.no_relevant_value if case.name == "ndcg" else 0.0
        return np.full(shape[:-1], empty), np.full(shape[:-1], eps)
    want = np.asarray(reference(scores, labels, **kwargs), np.float64)
    tol = np.full(want.shape, eps)
    if case.name in ("ndcg", "dcg"):
        size = np.sum(np.abs(_gains(labels, valid, weights, gain)), -1)
        tol = eps * (size + 1)
        if case.name == "ndcg":
            ideal = _ideal_dcgs(labels, valid, weights, case.k, gain, discount)
            ill = np.abs(ideal) <= eps * size
            tol = np.where(
                ill, np.nan, eps * (size / np.where(ill, 1, np.abs(ideal)) + 1)
            )
    elif case.name == "average_precision":
        relevant = valid & (labels >= 1)
        total = np.sum(np.where(relevant, weights, 0.0), -1)
        size = np.sum(np.where(relevant, np.abs(weights), 0.0), -1)
        ill = (np.abs(total) <= eps * size) & (size > 0)
        with np.errstate(divide="ignore", invalid="ignore"):  # total 0: no relevant
            tol = np.where(ill, np.nan, eps * (size / np.abs(total) + 1))
        tol = np.where(total == 0, eps, tol)
    return want, tol * (1 + np.abs(np.nan_to_num(want)))


def _ideal_dcgs(labels, valid, weights, k, gain, discount):
    """The ideal DCG@k of every list (``reference_metrics``'s definition)."""
    out = [
        refm._ideal_dcg(y, v, w, k, gain, discount)
        for y, v, w in zip(
            labels.reshape(-1, labels.shape[-1]),
            valid.reshape(-1, labels.shape[-1]),
            weights.reshape(-1, labels.shape[-1]),
            strict=True,
        )
    ]
    return np.reshape(out, labels.shape[:-1])


def _has_ties(scores, valid):
    """Whether two valid items of a list have equal scores (a key may reorder them)."""
    if scores.size == 0:
        return False
    for s, v in zip(
        scores.reshape(-1, scores.shape[-1]),
        valid.reshape(-1, scores.shape[-1]),
        strict=True,
    ):
        kept = s[v]
        if len(np.unique(kept)) < len(kept):
            return True
    return False


@pytest.mark.parametrize("name", list(METRIC_FUNCTIONS))
@_settings(max_examples=8)
@given(data=st.data())
def test_metric_functions_give_the_reference_number(name, data):
    """Every metric function on random dtypes, shapes, ties, inf/NaN, masks, -1
    labels, weights (negative and zero too), cut-offs, random tie-breaking keys."""
    case = data.draw(metric_cases(name), label="case")
    note(repr(case))
    with _x64(case.x64):
        got = case.call()
        want, tol = expected_metric(case)
        dtype = _compute_dtype(jnp.asarray(case.scores).dtype)
        if name in DEPRECATED_METRICS:  # the former names: a warning, the same values
            with pytest.warns(DeprecationWarning, match=name):
                old = DEPRECATED_METRICS[name](
                    case.scores, case.labels, **case.call_kwargs()
                )
            np.testing.assert_array_equal(old, got)
    assert got.dtype == dtype and got.shape == want.shape, (got.dtype, got.shape)
    valid = ref.valid_items(np.asarray(case.labels, np.float64), case.where)
    if case.seed is not None and _has_ties(as_received(case.scores), valid):
        # Random tie-breaking: the value of some order of the tied items; NaN as ever.
        assert np.array_equal(np.isnan(got), np.isnan(want))
        return
    ill = np.isnan(tol) & ~np.isnan(want)
    assert np.all(np.isfinite(np.asarray(got)[ill]))
    assert_right_number(
        np.where(ill, 0.0, got),
        np.where(ill, 0.0, want),
        np.nan_to_num(tol),
        dtype=dtype,
    )


# --- metric classes (keras_rs's calling convention) -----------------------------------

METRIC_CLASSES = {
    "NDCG": "ndcg",
    "DCG": "dcg",
    "MeanReciprocalRank": "reciprocal_rank",
    "MeanAveragePrecision": "average_precision",
    "PrecisionAtK": "precision_at_k",
    "RecallAtK": "recall_at_k",
}


def expected_metric_class(name, batch, k):
    """keras_rs's batch value, from the per-list references and keras_rs's list
    weights (``jaxrank.metrics.RankingMetric``'s docstring)."""
    labels, scores, mask, weight = batch.standardized()
    if weight is None:
        weight = np.ones(labels.shape)
    elif weight.shape == labels.shape[:1]:
        weight = weight[:, None]
    weight = np.broadcast_to(weight, labels.shape)
    valid = (labels >= 0) & (weight > 0) & (True if mask is None else mask)
    labels = np.where(valid, labels, 0.0)
    weight = np.where(valid, weight, 0.0)
    fn_name = METRIC_CLASSES[name]
    if labels.shape[-1] == 0:
        return 0.0
    _, reference, takes_weights = METRIC_FUNCTIONS[fn_name]
    kwargs = {"where": valid, "k": k}
    if takes_weights:
        kwargs["weights"] = weight
    values = np.asarray(reference(scores, labels, **kwargs), np.float64)
    if fn_name in ("ndcg", "dcg"):
        relevance = 2.0**labels - 1.0
    else:
        relevance = (labels >= 1).astype(np.float64)
    has_weight = np.sum(weight, -1) > 0
    relevance_sum = np.sum(relevance, -1)
    has_relevance = relevance_sum > 0
    per_list = np.sum(weight * relevance, -1) / np.where(
        has_relevance, relevance_sum, 1
    )
    both = has_weight & has_relevance
    mean = np.sum(per_list[both]) / np.sum(both) if np.any(both) else 1.0
    list_weights = np.where(has_weight, np.where(has_relevance, per_list, mean), 0.0)
    if fn_name == "dcg":
        values = values / np.where(list_weights == 0, 1.0, list_weights)
    kept = list_weights != 0
    total = np.sum(list_weights[kept] * values[kept])
    count = np.sum(list_weights)
    return total / count if count != 0 else 0.0


@pytest.mark.parametrize("name", list(METRIC_CLASSES))
@_settings(max_examples=8)
@given(data=st.data())
def test_metric_classes_give_the_reference_number(name, data):
    """``jaxrank.metrics.NDCG()(y_true, y_pred, sample_weight)`` etc.: keras_rs's
    number for a fresh metric after one update."""
    batch = data.draw(keras_batches(), label="batch")
    k = data.draw(st.sampled_from(CUTOFFS), label="k")
    note(repr(batch))
    metric = getattr(metrics, name)(k=k, dtype=batch.dtype)
    with _x64(batch.dtype == "float64"):
        if _keras_weight_error(batch, loss_class=False):
            with pytest.raises(ValueError) as info:
                metric(batch.y_true, batch.scores, batch.sample_weight)
            assert_raises_naming(info, "sample_weight")
            return
        got = metric(batch.y_true, batch.scores, batch.sample_weight)
        want = expected_metric_class(name, batch, k)
        dtype = _compute_dtype(batch.dtype or "float32")
    assert got.shape == () and got.dtype == dtype, (got.shape, got.dtype)
    eps = float(_finfo(dtype).eps)
    assert_right_number(
        got, want, 256 * eps * (1 + abs(np.nan_to_num(want))), dtype=dtype
    )


# --- lambda weights, called directly --------------------------------------------------

LAMBDA_SPECS_ALL = tuple(
    [("labeldiff",)]
    + [("dcg", topn, normalize) for topn in (None, 1, 3) for normalize in (False, True)]
    + [
        ("dcg2", topn, normalize, light)
        for topn in (None, 2)
        for normalize in (False, True)
        for light in (False, True)
    ]
)


@_settings(max_examples=20)
@given(data=st.data())
def test_lambda_weights_give_the_reference_matrix(data):
    """``jaxrank.DCGLambdaWeight(...)(scores, labels, where=...)`` etc.: the dense
    ``(..., n, n)`` pair weights of the float64 reference; 0 for pairs with an ignored
    item whatever its score."""
    spec = data.draw(st.sampled_from(LAMBDA_SPECS_ALL), label="spec")
    shape = data.draw(st.sampled_from(SHAPES), label="shape")
    dtype = data.draw(st.sampled_from(SCORE_DTYPES), label="dtype")
    labels = data.draw(labels_array(shape, kinds=METRIC_LABELS), label="labels")
    where = data.draw(where_array(shape), label="where")
    valid = ref.valid_items(labels.astype(np.float64), where)
    values = data.draw(score_values(math.prod(shape), dtype)).reshape(shape)
    # No convention ranks a NaN score; an infinite one ranks first or last
    # (test_known_issues[lambda-weights-infinite-score]).
    scores = data.draw(
        nonfinite_scores(values, valid, on_valid=(np.inf, -np.inf)), label="scores"
    )
    scores = as_dtype(scores, dtype)
    x64 = dtype == "float64"
    with _x64(x64):
        got = lambda_weight(spec)(scores, labels, where=where)
        received = as_received(scores)
        compute = _compute_dtype(jnp.asarray(scores).dtype)
    assert got.shape == shape + (shape[-1],) and got.dtype == compute
    if shape[-1] == 0:
        return
    s = np.where(valid, received, 0.0)
    y = np.where(valid, labels.astype(np.float64), 0.0)
    want, bound = _lambda_bound(spec, s, y, valid)
    eps = float(_finfo(compute).eps)
    assert_right_number(got, want, 64 * eps * bound, dtype=compute)


# --- wrong arguments: a TypeError/ValueError that names them --------------------------


@dataclasses.dataclass(frozen=True)
class Bad:
    """A value for one argument and what the library must make of it: ``"error"``
    (TypeError/ValueError naming the argument), ``"same"`` (the number of the
    canonical call) or ``"either"``."""

    label: str
    value: object
    expect: str = "error"
    same_as: object = "canonical"  # the value whose number "same" means


def _array_bads(arg, good, *, required, kind):
    """Wrong kinds of value for an array argument whose canonical value is ``good``."""
    shape = good.shape
    wrong_shape = np.ones(shape[:-1] + (shape[-1] + 2,), good.dtype)
    bads = [
        Bad("string", "text"),
        Bad("bytes", b"ab"),
        Bad("dict", {"a": 1}),
        Bad("object", object()),
        Bad("string array", np.full(shape, "a")),
        Bad("ragged list", [[1.0], [1.0, 2.0]]),
        Bad("complex", good.astype(np.complex64) + 1j),
        Bad("object array", np.array(good.tolist(), object), "either"),
        Bad("wrong shape", wrong_shape),
        Bad("list", good.tolist(), "same"),
        Bad("None", None, "error" if required else "same", same_as=None),
    ]
    if kind == "float":
        bads += [Bad("int", good.astype(np.int32)), Bad("bool", good > 0)]
        bads += [
            Bad("scalar", np.float32(0.5)),
            Bad("float64", good.astype(float), "same"),
        ]
        bads += [Bad("tuple", tuple(map(tuple, good.tolist())), "same")]
    elif kind == "bool":
        bads += [
            Bad("int 0/1", good.astype(np.int32)),
            Bad("float", good.astype(float)),
        ]
    elif kind == "mask":  # keras_rs's mask: boolean, or 0/1 numbers
        bads += [Bad("int 0/1", good.astype(np.int32), "same")]
        bads += [Bad("float 0/1", good.astype(np.float32), "same")]
    else:  # real numbers: integers are fine
        ints = good.astype(np.int32)
        bads += [Bad("int", ints, "same", same_as=ints.astype(np.float32))]
    return bads


def _scalar_bads(kind, arg):
    """Wrong values of a static option ``arg`` of ``kind``."""
    default = metrics.default_gain_fn if "gain" in arg else metrics.default_discount_fn
    common = [Bad("string", "1"), Bad("dict", {"a": 1}), Bad("list", [1, 2])]
    positive_ints = common + [
        Bad("zero", 0),
        Bad("negative", -1),
        Bad("float", 1.5),
        Bad("integral float", 2.0),
        Bad("bool", True),
        Bad("array", np.array([1, 2])),
        Bad("numpy int", np.int64(2), "same", same_as=2),
    ]
    return {
        "temperature": common
        + [
            Bad("zero", 0.0),
            Bad("negative", -1.0),
            Bad("nan", float("nan")),
            Bad("inf", float("inf")),
            Bad("subnormal", 1e-39),
            Bad("beyond float32", 3.5e38),
            Bad("None", None),
            Bad("bool", True),
            Bad("complex", 1 + 1j),
            Bad("array", np.array([1.0, 2.0])),
            Bad("int", 2, "same", same_as=2.0),
            Bad("numpy scalar", np.float32(0.5), "same", same_as=0.5),
        ],
        "reduction": [
            Bad("unknown", "average"),
            Bad("upper case", "SUM"),
            Bad("int", 1),
            Bad("list", ["sum"]),
            Bad("array", np.array(["sum", "mean"])),
            Bad("numpy string", np.str_("sum"), "same", same_as="sum"),
        ],
        "method": [
            Bad("unknown", "fast"),
            Bad("None", None),
            Bad("int", 1),
            Bad("array", np.array(["sorted", "auto"])),
        ],
        "positive int": positive_ints,
        # A metric function's `k` may also be a tuple/list of cut-offs.
        "cut-offs": [bad for bad in positive_ints if bad.label != "list"]
        + [Bad("list with a float", [1, 2.5]), Bad("empty list", [])],
        "seed": [Bad("string", "1"), Bad("float", 1.5), Bad("list", [1])],
        "lambda_weights": common
        + [
            Bad("class", jaxrank.DCGLambdaWeight),
            Bad("function", lambda s, y: s),
        ],
        "elementwise": [
            Bad("a lambda", lambda x: default(x), "same", same_as=None),
            Bad("not elementwise", jnp.sum),
            Bad("shape changing", lambda x: x[..., :1]),
            Bad("string", "exp"),  # no name of the classes either
            Bad("None", None),
        ],
        "float": [
            Bad("string", "a"),
            Bad("None", None),
            Bad("array", [0.5, 0.5, 0.5]),
            Bad("complex", 1j),
            Bad("int", 1, "same", same_as=1.0),
        ],
        "key": [
            Bad("string", "a"),
            Bad("int", 3),
            Bad("float array", np.array([0.5, 0.5])),
            Bad("raw key", jax.random.PRNGKey(3), "same", same_as=None),
            Bad("batch of keys", jax.random.split(jax.random.key(0), 3)),
        ],
        "dtype": [
            Bad("unknown", "float7"),
            Bad("integer", "int32"),
            Bad("complex", "complex64"),
            Bad("numpy type", np.float32, "same", same_as="float32"),
        ],
        "loss_fn": [
            Bad(
                "a partial",
                functools.partial(jaxrank.pairwise_hinge_loss, method="all_pairs"),
                "same",
                same_as=None,
            ),
            Bad("None", None),
            Bad("string", "hinge"),
            Bad("class instance", jaxrank.PairwiseHingeLoss()),
        ],
        "reduce_fn": [
            Bad("jnp.mean", jnp.mean, "same", same_as=None),
            Bad("string", "mean"),
            Bad("without where", lambda x: jnp.sum(x)),
        ],
    }[kind]


S2 = np.array([[0.5, 0.1, 0.3], [0.2, 0.9, -0.4]], np.float32)
Y2 = np.array([[1.0, 0.0, 2.0], [0.0, 1.0, -1.0]], np.float32)
M2 = np.array([[True, True, False], [True, True, True]])
W2 = np.array([[1.0, 2.0, 1.0], [0.5, 1.0, 1.0]], np.float32)


def _function_target(fn, **fixed):
    def call(**kwargs):
        args = {"scores": S2, "labels": Y2} | fixed | kwargs
        return fn(args.pop("scores"), args.pop("labels"), **args)

    return call


def _class_target(cls, constructor_args, **fixed):
    def call(**kwargs):
        built = fixed | {k: v for k, v in kwargs.items() if k in constructor_args}
        called = {"y_true": Y2, "y_pred": S2}
        called |= {k: v for k, v in kwargs.items() if k not in constructor_args}
        mask = called.pop("mask", "absent")
        if not isinstance(mask, str) or mask != "absent":
            called["y_true"] = {"labels": called["y_true"], "mask": mask}
        return cls(**built)(**called)

    return call


def _optax_target(**kwargs):
    loss_fn = kwargs.pop("loss_fn", jaxrank.pairwise_hinge_loss)
    options = kwargs.pop("options", {})
    args = {"logits": S2, "labels": Y2} | kwargs
    return jaxrank.as_optax_loss(loss_fn, **options)(
        args.pop("logits"), args.pop("labels"), **args
    )


def _lambda_target(cls):
    def call(**kwargs):
        built = {k: kwargs.pop(k) for k in list(kwargs) if k in ("topn", "gain_fn")}
        args = {"scores": S2, "labels": Y2} | kwargs
        return cls(**built)(args.pop("scores"), args.pop("labels"), **args)

    return call


def _weighted_mean(**kwargs):
    args = {"values": S2[0], "weights": W2[0] if "values" in kwargs else None} | kwargs
    return (
        metrics.WeightedMean.empty().update(args["values"], args["weights"]).compute()
    )


def _array(kind, good, required=False):
    return ("array", kind, good, required)


# (target, argument) -> how to call it and what kind of value the argument takes.
ERROR_TARGETS = {
    "pairwise_hinge_loss": (
        _function_target(jaxrank.pairwise_hinge_loss, method="all_pairs"),
        {
            "scores": _array("float", S2, True),
            "labels": _array("real", Y2, True),
            "where": _array("bool", M2),
            "weights": _array("real", W2),
            "temperature": "temperature",
            "reduction": "reduction",
            "method": "method",
            "lambda_weights": "lambda_weights",
        },
    ),
    "pairwise_logistic_loss": (
        _function_target(jaxrank.pairwise_logistic_loss),
        {"block_size": "positive int", "weights": _array("real", W2)},
    ),
    "pairwise_mean_squared_error": (
        _function_target(jaxrank.pairwise_mean_squared_error),
        {"block_size": "positive int", "labels": _array("real", Y2, True)},
    ),
    "list_mle_loss": (
        _function_target(jaxrank.list_mle_loss),
        {"temperature": "temperature", "scores": _array("float", S2, True)},
    ),
    "ndcg": (
        _function_target(metrics.ndcg),
        {
            "scores": _array("float", S2, True),
            "labels": _array("real", Y2, True),
            "where": _array("bool", M2),
            "weights": _array("real", W2),
            "k": "cut-offs",
            "key": "key",
            "gain_fn": "elementwise",
            "discount_fn": "elementwise",
            "no_relevant_value": "float",
        },
    ),
    "reciprocal_rank": (
        _function_target(metrics.reciprocal_rank),
        {"k": "cut-offs", "where": _array("bool", M2)},
    ),
    "average_precision": (
        _function_target(metrics.average_precision),
        {"weights": _array("real", W2), "labels": _array("real", Y2, True)},
    ),
    "PairwiseHingeLoss": (
        _class_target(
            jaxrank.PairwiseHingeLoss,
            {"temperature", "reduction", "method", "lambda_weights", "dtype"},
            method="all_pairs",
        ),
        {
            "temperature": "temperature",
            "reduction": "reduction",
            "method": "method",
            "lambda_weights": "lambda_weights",
            "dtype": "dtype",
            "y_true": _array("real", Y2, True),
            "y_pred": _array("real", S2, True),
            "sample_weight": _array("real", W2),
            "mask": _array("mask", M2),
        },
    ),
    "PairwiseLogisticLoss": (
        _class_target(jaxrank.PairwiseLogisticLoss, {"block_size"}),
        {"block_size": "positive int"},
    ),
    "ListMLELoss": (
        _class_target(jaxrank.ListMLELoss, {"temperature", "reduction"}),
        {"temperature": "temperature", "y_pred": _array("real", S2, True)},
    ),
    "NDCG": (
        _class_target(
            metrics.NDCG, {"k", "seed", "dtype", "gain_fn", "rank_discount_fn"}
        ),
        {
            "k": "positive int",
            "seed": "seed",
            "dtype": "dtype",
            "gain_fn": "elementwise",
            "rank_discount_fn": "elementwise",
            "y_true": _array("real", Y2, True),
            "y_pred": _array("real", S2, True),
            "sample_weight": _array("real", W2),
            "mask": _array("mask", M2),
            "key": "key",
        },
    ),
    "as_optax_loss": (
        _optax_target,
        {
            "loss_fn": "loss_fn",
            "reduce_fn": "reduce_fn",
            "logits": _array("float", S2, True),
            "labels": _array("real", Y2, True),
            "where": _array("bool", M2),
        },
    ),
    "DCGLambdaWeight": (
        _lambda_target(jaxrank.DCGLambdaWeight),
        {
            "topn": "positive int",
            "gain_fn": "elementwise",
            "scores": _array("float", S2, True),
            "where": _array("bool", M2),
        },
    ),
    "WeightedMean": (
        _weighted_mean,
        {
            "values": _array("real", S2[0], True),
            "weights": _array("real", W2[0]),
        },
    ),
}
# The name a message must give for an argument (the optax adapter's are logits...).
ERROR_NAMES = {"mask": ('y_true["mask"]', "y_true"), "values": ("values", "weights")}


def _bads(target, arg):
    kind = ERROR_TARGETS[target][1][arg]
    if isinstance(kind, tuple):
        _, array_kind, good, required = kind
        return _array_bads(arg, good, required=required, kind=array_kind)
    return _scalar_bads(kind, arg)


def _error_params():
    return [
        pytest.param(target, arg, id=f"{target}-{arg}")
        for target, (_, args) in ERROR_TARGETS.items()
        for arg in args
    ]


def _same_number(got, want):
    np.testing.assert_allclose(
        np.asarray(got, np.float64), np.asarray(want, np.float64), rtol=1e-6
    )


def _check_wrong_value(target, arg, bad):
    """``bad`` for ``target``'s ``arg``: the number of its canonical counterpart, or a
    TypeError/ValueError naming the argument, as ``bad.expect`` says."""
    call, kinds = ERROR_TARGETS[target]
    names = ERROR_NAMES.get(arg, (arg,))
    same_as = bad.same_as
    if isinstance(same_as, str) and same_as == "canonical":
        same_as = kinds[arg][2] if isinstance(kinds[arg], tuple) else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            got = call(**{arg: bad.value})
        except (TypeError, ValueError) as error:
            assert bad.expect in ("error", "either"), f"{bad.label} refused: {error}"
            message = str(error)
            assert any(f"`{name}`" in message for name in names), message
            return
    assert bad.expect in ("same", "either"), f"{bad.label} accepted: {got}"
    _same_number(got, call() if same_as is None else call(**{arg: same_as}))


@pytest.mark.parametrize("target, arg", _error_params())
@_settings(max_examples=2)
@given(data=st.data())
def test_wrong_arguments_raise_naming_them(target, arg, data):
    """Wrong kinds of value (strings, None, objects, complex numbers, Python lists,
    wrong shapes, out-of-range options) for every argument of the public API: the
    number the canonical value gives, or a TypeError/ValueError naming the
    argument; never another exception, never a silently different number. Every
    value that must be refused is tried (they fail fast); of those the library may
    accept, hypothesis draws some (they compute)."""
    bads = _bads(target, arg)
    for bad in bads:
        if bad.expect == "error":
            note(f"{target}({arg}={bad.label}: {bad.value!r:.60})")
            _check_wrong_value(target, arg, bad)
    accepted = [bad for bad in bads if bad.expect != "error"]
    if accepted:
        bad = data.draw(st.sampled_from(accepted), label="value")
        note(f"{target}({arg}={bad.label}: {bad.value!r:.60})")
        _check_wrong_value(target, arg, bad)


# --- known library bugs: minimal examples, xfail(strict) until fixed ------------------


def _issue_temperature_above_2_to_126():
    # 1/T is subnormal for T > 2**126 and XLA flushes it to zero: every score
    # difference reads as 0. (The sorted hinge gets it right.)
    scores, labels = np.array([1e35, -1e35], np.float32), np.array([1.0, 0.0])
    x = 2e35 / 3e38
    want = {
        "hinge": [1 - x, 0.0],
        "logistic": [math.log1p(math.exp(-x)), 0.0],
        "soft_zero_one": [1 / (1 + math.exp(x)), 0.0],
        "list_mle": reff.list_mle_list_losses(scores, labels, labels >= 0, 3e38),
    }
    for name, value in want.items():
        got = FUNCTIONS[name](scores, labels, temperature=3e38, reduction="none")
        np.testing.assert_allclose(got, value, rtol=1e-6, err_msg=name)


def test_sorted_hinge_far_from_zero():
    """Issue 13 (a), fixed: the sorted hinge lost pairs of scores far from zero
    (equal scores of 1e30, every pair at margin 1) and at T near 1e38."""
    labels = np.array([1.0, 0.0, 0.0, 0.0], np.float32)
    scores = np.full((4,), 1e30, np.float32)
    got = jaxrank.pairwise_hinge_loss(scores, labels, method="sorted", reduction="none")
    np.testing.assert_allclose(got, [3.0, 0.0, 0.0, 0.0], rtol=1e-6)
    scores, labels = np.array([1e35, -1e35], np.float32), labels[:2]
    got = jaxrank.pairwise_hinge_loss(
        scores, labels, method="sorted", temperature=3e38, reduction="none"
    )
    np.testing.assert_allclose(got, [1 - 2e35 / 3e38, 0.0], rtol=1e-6)


def _issue_pair_difference_overflow():
    # s_i - s_j overflows float32 before the division by T (the loss, 6e28, does not).
    scores, labels = np.array([-3e38, 3e38], np.float32), np.array([1.0, 0.0])
    for name in ("hinge", "logistic"):
        got = FUNCTIONS[name](scores, labels, temperature=1e10, reduction="none")
        np.testing.assert_allclose(got, [6e28, 0.0], rtol=1e-6, err_msg=name)


def _issue_list_mle_scores_over_temperature_overflow():
    # s / T overflows before the largest logit is subtracted: NaN for equal scores.
    scores, labels = np.array([3e38, 3e38], np.float32), np.array([1.0, 0.0])
    got = jaxrank.list_mle_loss(scores, labels, temperature=0.5, reduction="none")
    np.testing.assert_allclose(got, math.log(2.0), rtol=1e-6)


def _issue_nan_hidden_by_zero_weight_sum():
    # A NaN list must make every reduction NaN; a zero weight sum gives 0 instead.
    scores = np.array([[np.nan, 0.0], [0.0, 1.0]], np.float32)
    labels = np.array([[1.0, 0.0], [1.0, 0.0]], np.float32)
    for fn in (jaxrank.pairwise_hinge_loss, jaxrank.list_mle_loss):
        got = fn(
            scores,
            labels,
            weights=np.array([1.0, -1.0], np.float32),
            reduction="mean_with_sample_weight",
        )
        assert np.isnan(got), (fn.__name__, got)


def _issue_mse_far_from_zero():
    # Equal scores far from zero: the pairwise definition (and keras_rs) gives the
    # label differences; the closed form rounds y - s and loses the labels.
    scores = np.full((3,), 1e12, np.float32)
    labels = np.array([0.0, 1.0, 2.0], np.float32)
    got = jaxrank.pairwise_mean_squared_error(scores, labels, reduction="none")
    np.testing.assert_allclose(got, [5.0, 2.0, 5.0], rtol=1e-6)


def _issue_mse_nan_list_gradient():
    # A NaN list's gradient is 0, but the closed form's overflow makes it NaN.
    labels = np.array([[0.0, 1.0, 2.0]], np.float32)

    def total(s):
        return jaxrank.pairwise_mean_squared_error(s, labels, reduction="sum")

    grad = jax.grad(total)(jnp.array([[np.inf, 3e38, 0.0]], jnp.float32))
    np.testing.assert_array_equal(grad, 0.0)


def _fixed_optax_logits_list():
    # A Python list is a fine array everywhere else; here: AttributeError.
    loss = jaxrank.as_optax_loss(jaxrank.pairwise_hinge_loss)
    got = loss([[0.5, 0.1, 0.3]], [[1.0, 0.0, 2.0]], reduce_fn=None)
    np.testing.assert_allclose(
        got,
        loss(
            np.array([[0.5, 0.1, 0.3]], np.float32),
            np.array([[1.0, 0.0, 2.0]]),
            reduce_fn=None,
        ),
    )


def _raises_naming(name, fn, *args, **kwargs):
    with pytest.raises((TypeError, ValueError)) as info:
        fn(*args, **kwargs)
    assert_raises_naming(info, name)


def _fixed_optax_names_scores():
    # The adapter's arguments are `logits`...; its messages speak of `scores`.
    loss = jaxrank.as_optax_loss(jaxrank.pairwise_hinge_loss)
    _raises_naming("logits", loss, S2.astype(np.int32), Y2)


def _fixed_option_array():
    # A NumPy array as an option: "truth value of an array is ambiguous".
    _raises_naming(
        "reduction",
        jaxrank.pairwise_hinge_loss,
        S2,
        Y2,
        reduction=np.array(["sum", "mean"]),
    )
    _raises_naming(
        "method",
        jaxrank.pairwise_hinge_loss,
        S2,
        Y2,
        method=np.array(["sorted", "auto"]),
    )


def _fixed_no_relevant_value_unchecked():
    _raises_naming("no_relevant_value", metrics.ndcg, S2, Y2, no_relevant_value="a")
    # A per-list array is silently broadcast against the lists: (2,) -> (3,) values.
    _raises_naming(
        "no_relevant_value", metrics.ndcg, S2, Y2, no_relevant_value=[0.5, 0.5, 0.5]
    )


def _fixed_key_unchecked():
    _raises_naming("key", metrics.ndcg, S2, Y2, key="a")
    _raises_naming("key", metrics.ndcg, S2, Y2, key=jax.random.split(jax.random.key(0)))


def _fixed_function_arguments_unchecked():
    # "'str' object is not callable", naming nothing.
    _raises_naming("gain_fn", metrics.ndcg, S2, Y2, gain_fn="exp2")
    _raises_naming("discount_fn", metrics.dcg, S2, Y2, discount_fn=None)


def _fixed_lambda_gain_fn_not_elementwise():
    # The metrics refuse a gain that is not elementwise; the lambda weights use it.
    _raises_naming("gain_fn", jaxrank.DCGLambdaWeight(gain_fn=jnp.sum), S2, Y2)


def _fixed_ndcg_class_names_discount_fn():
    # NDCG's argument is `rank_discount_fn`; the message names `discount_fn`.
    _raises_naming("rank_discount_fn", metrics.NDCG(rank_discount_fn=jnp.sum), Y2, S2)


def _fixed_class_dtype_unchecked():
    _raises_naming("dtype", jaxrank.PairwiseHingeLoss, dtype="float7")
    # An integer dtype is accepted, then the scores are refused as `scores`.
    _raises_naming("dtype", lambda: jaxrank.PairwiseHingeLoss(dtype="int32")(Y2, S2))


def _fixed_optax_functions_unchecked():
    _raises_naming("loss_fn", lambda: jaxrank.as_optax_loss(None)(S2, Y2))
    loss = jaxrank.as_optax_loss(jaxrank.pairwise_hinge_loss)
    _raises_naming("reduce_fn", loss, S2, Y2, reduce_fn=lambda x: jnp.sum(x))


def _fixed_mask_kind_unchecked():
    # A string mask: raw JAX error; a complex one is accepted.
    mask = 'y_true["mask"]'
    _raises_naming(mask, jaxrank.PairwiseHingeLoss(), {"labels": Y2, "mask": "ab"}, S2)
    _raises_naming(mask, metrics.NDCG(), {"labels": Y2, "mask": M2 + 1j}, S2)


def _fixed_weighted_mean_unchecked():
    # Complex values are truncated to their real part (here 0) without a word.
    _raises_naming("values", metrics.WeightedMean.empty().update, np.ones(3) * 1j)
    _raises_naming("values", metrics.WeightedMean.empty().update, "abc")


def _fixed_loss_class_names_weights():
    # A refused sample_weight is reported as `weights`, which the class does not take.
    _raises_naming("sample_weight", jaxrank.PairwiseHingeLoss(), Y2, S2, np.ones(4))
    _raises_naming("sample_weight", jaxrank.ListMLELoss(), Y2, S2, W2)


def _fixed_metric_class_16_bit_mean():
    # bf16/fp16 are computed in float32 everywhere else; here the mean is 16-bit.
    for dtype in ("float16", "bfloat16"):
        assert metrics.NDCG(dtype=dtype)(Y2, S2).dtype == jnp.float32, dtype


def _issue_lambda_weights_infinite_score():
    # A valid +inf score ranks first; the lambda weights rank it as if it were 0.
    scores = np.array([[np.inf, 0.1, 0.3, 0.2]], np.float32)
    labels = np.array([[1.0, 0.0, 2.0, 1.0]], np.float32)
    spec = ("dcg", None, False)
    want = reff.lambda_weights(spec, scores, labels, labels >= 0)
    np.testing.assert_allclose(lambda_weight(spec)(scores, labels), want, rtol=1e-5)


def _issue_zero_lambda_weight_times_overflow():
    # Lambda weight 0 (equal labels) times a pair term beyond float32 (1e48): NaN,
    # where the loss is 0.
    got = jaxrank.pairwise_mean_squared_error(
        np.array([0.0, 1e24], np.float32),
        np.array([0.0, 0.0], np.float32),
        lambda_weights=jaxrank.LabelDiffLambdaWeight(),
        reduction="none",
    )
    np.testing.assert_array_equal(got, [0.0, 0.0])


# Fixed in issue 13 (items 4, 5, 7, 13): plain regression tests now.


def _fixed_list_mle_far_below_zero():
    # ListMLE below keras_rs's fill -1e9 is shift-invariant (issue 13, item 4).
    scores = np.array([[0.0, 64.0, 128.0, -64.0]], np.float32)
    labels = np.array([[3.0, 2.0, 1.0, 0.0]], np.float32)
    near = jaxrank.list_mle_loss(scores, labels, reduction="none")
    far = jaxrank.list_mle_loss(scores - np.float32(2.0**31), labels, reduction="none")
    np.testing.assert_array_equal(far, near)


def _fixed_integer_labels_beyond_2_to_24():
    # 2**24 + 1 > 2**24, although float32 holds neither difference (item 5).
    scores = np.array([0.0, 0.5, 1.0], np.float32)
    labels = np.array([2**24 + 1, 2**24, 0], np.int32)
    want = reff.pairwise_item_losses("hinge", scores, labels, labels >= 0)
    got = jaxrank.pairwise_hinge_loss(scores, labels, reduction="none")
    np.testing.assert_allclose(got, want)  # (test_losses.py: every loss, both paths)


def _fixed_optax_mean_skips_negative_label_lists():
    # A list whose labels are all -1 is padding: not counted by the mean (item 7).
    loss = jaxrank.as_optax_loss(jaxrank.pairwise_hinge_loss)
    padded = np.concatenate([Y2[:1], -np.ones((1, 3), np.float32)])
    np.testing.assert_allclose(loss(S2, padded), loss(S2[:1], Y2[:1]))


def _fixed_keras_sample_weight_shapes():
    # keras_rs's broadcastable sample weights for several lists (item 13).
    loss = jaxrank.PairwiseHingeLoss(reduction="sum")
    per_item = jaxrank.pairwise_hinge_loss(S2, Y2, reduction="none")
    for weight in (
        np.full((1,), 2.0),
        np.full((1, 1), 2.0),
        np.arange(3.0),
        np.arange(3.0)[None],
    ):
        want = np.sum(per_item * np.broadcast_to(weight, S2.shape))
        np.testing.assert_allclose(loss(Y2, S2, weight), want, rtol=1e-6)


KNOWN_ISSUES = [
    pytest.param(_issue_temperature_above_2_to_126, id="temperature-above-2**126"),
    pytest.param(_issue_pair_difference_overflow, id="pair-difference-overflow"),
    pytest.param(
        _issue_list_mle_scores_over_temperature_overflow,
        id="list-mle-scores-over-temperature-overflow",
    ),
    pytest.param(
        _issue_nan_hidden_by_zero_weight_sum, id="nan-hidden-by-zero-weight-sum"
    ),
    pytest.param(_fixed_optax_logits_list, id="optax-logits-list"),
    pytest.param(_fixed_optax_names_scores, id="optax-names-scores"),
    pytest.param(_fixed_option_array, id="option-array"),
    pytest.param(_fixed_no_relevant_value_unchecked, id="no-relevant-value-unchecked"),
    pytest.param(_fixed_key_unchecked, id="key-unchecked"),
    pytest.param(_issue_mse_far_from_zero, id="mse-far-from-zero"),
    pytest.param(_issue_mse_nan_list_gradient, id="mse-nan-list-gradient"),
    pytest.param(
        _fixed_function_arguments_unchecked, id="function-arguments-unchecked"
    ),
    pytest.param(
        _fixed_lambda_gain_fn_not_elementwise, id="lambda-gain-fn-not-elementwise"
    ),
    pytest.param(
        _fixed_ndcg_class_names_discount_fn, id="ndcg-class-names-discount-fn"
    ),
    pytest.param(_fixed_class_dtype_unchecked, id="class-dtype-unchecked"),
    pytest.param(_fixed_optax_functions_unchecked, id="optax-functions-unchecked"),
    pytest.param(_fixed_mask_kind_unchecked, id="mask-kind-unchecked"),
    pytest.param(_fixed_weighted_mean_unchecked, id="weighted-mean-unchecked"),
    pytest.param(_fixed_loss_class_names_weights, id="loss-class-names-weights"),
    pytest.param(_fixed_metric_class_16_bit_mean, id="metric-class-16-bit-mean"),
    pytest.param(
        _issue_lambda_weights_infinite_score, id="lambda-weights-infinite-score"
    ),
    pytest.param(
        _issue_zero_lambda_weight_times_overflow, id="zero-lambda-weight-times-overflow"
    ),
    pytest.param(_fixed_list_mle_far_below_zero, id="list-mle-far-below-zero"),
    pytest.param(
        _fixed_integer_labels_beyond_2_to_24, id="integer-labels-beyond-2**24"
    ),
    pytest.param(
        _fixed_optax_mean_skips_negative_label_lists, id="optax-negative-label-lists"
    ),
    pytest.param(_fixed_keras_sample_weight_shapes, id="keras-sample-weight-shapes"),
]


@pytest.mark.parametrize("example", KNOWN_ISSUES)
def test_known_issues(example):
    """Minimal examples of the library bugs this suite found, each fixed: the
    regression tests of those fixes."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        example()
