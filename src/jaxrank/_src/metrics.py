"""Functional ranking metrics: one value per list.

Every function takes ``scores`` and ``labels`` of shape ``(..., n)``: the last axis
is the list, any leading axes are batch, and the result has the leading shape
``(...)``. The functions are pure, work under ``jax.jit`` and ``jax.vmap``, and
match the per-list values of the keras_rs 0.4.0 metrics.

Conventions shared by every metric:

* **Ranking.** Items are ranked by score, highest first (rank 1). Ties are broken
  deterministically by position in the list: of two items with equal scores, the
  one with the lower index ranks first (as in rax, so ties give rax's numbers).
  Passing a PRNG ``key`` breaks ties at random instead (each tied group is put in
  a uniformly random order). ``+inf`` ranks first and ``-inf`` last among the
  valid items. The lambda weights and ListMLE use the same rule.
* **Ignored items.** An item is ignored when its label is negative (``-1`` is the
  usual padding label) or ``where`` is ``False`` for it. Ignored items are ranked
  after every valid item, so they never take a position from a valid one, and
  they add nothing to any sum; their scores may be anything, ``inf`` and ``NaN``
  included.
* **NaN.** A ``NaN`` score on a *valid* item makes that list's value ``NaN``.
* **Cut-off.** ``k=None`` uses the whole list; ``k`` larger than ``n`` is the same
  as ``k=None``.
* **Binary relevance.** :func:`reciprocal_rank`,
  :func:`average_precision`, :func:`precision_at_k` and :func:`recall_at_k`
  count an item as relevant when its label is at least 1 (keras_rs's threshold);
  labels between 0 and 1 are not relevant.
* **Dtypes.** Scores must be floating; labels (and weights) are cast to the
  scores' dtype. 16-bit scores are computed and returned in float32.
* **Several cut-offs.** ``k`` may be a tuple or list of cut-offs, e.g.
  ``k=(1, 3, 10)``: the result gains a last axis with one value per cut-off, in the
  order given, all from the one ranking (one sort).
* **Segments.** ``segments=`` (integer ids of the scores' shape) splits each list
  into sub-lists, items with equal ids forming one, each measured on its own in
  O(n log n) (no ``(n, n)`` mask). As in rax, the result then has the scores'
  shape ``(..., n)``: each segment's value at its first valid item, 0 elsewhere
  (with several cut-offs, ``(..., n, len(k))``). rax's mean over segments
  (``reduce_fn=jnp.mean``) is ``values.sum() / first.sum()`` with ``first`` the
  first-valid-item mask (a list without ``segments`` is one segment).
* **Rank and cut-off hooks (rax's).** ``rank_fn(scores, *, where, segments,
  key)`` replaces the exact ranks by any 1-based ranks, e.g. the smooth
  ``rax.utils.approx_ranks``; ``cutoff_fn(a, *, n, segments)``, called on
  ``a = -ranks`` with ``n = k`` (``None`` included), gives each item's weight in
  the top ``k``, e.g. ``rax.utils.approx_cutoff``. The metric is then computed
  from the per-item ranks :math:`r_i` and weights :math:`c_i` as rax computes it,
  so gradients reach the scores through them (this is how a metric becomes a
  differentiable loss). ``where`` passed to ``rank_fn`` marks the valid items
  (label and mask). Without a ``cutoff_fn``, the top ``k`` are the ``k`` smallest
  ranks among the valid items. Both ``None`` (the default) is the exact
  sort-based metric. One difference from rax: ignored items add nothing to the
  metric's sums, while rax's average precision still counts masked items whose
  approximate rank is small; without ``where`` the numbers are rax's. A
  ``cutoff_fn`` sees only ``-ranks`` (rax's signature, no mask), so ignored items
  still move a smooth cut-off's threshold, as in rax.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import NamedTuple, Protocol

import jax
import jax.numpy as jnp
from jax import lax
from jax.typing import ArrayLike

from jaxrank._src import checks, ranking
from jaxrank._src.eager_cache import cached_jit
from jaxrank._src.inputs import RankingInputs, prepare_inputs
from jaxrank._src.numerics import safe_divide
from jaxrank._src.ordered_pairs import ordered_pair_counts
from jaxrank._src.positions import positions_like, run_starts
from jaxrank._src.segments import dense_ids, first_valid_item, segment_max, segment_sum

Array = jax.Array


class RankFn(Protocol):
    """rax's rank function: 1-based ranks of ``scores`` (``where`` marks the valid
    items), e.g. ``rax.utils.approx_ranks`` for smooth ranks."""

    def __call__(self, scores: Array, *, where, segments, key) -> Array: ...


class CutoffFn(Protocol):
    """rax's cut-off function: the weight of each item among the ``n`` largest
    values of ``a`` (all 1 for ``n=None``), e.g. ``rax.utils.approx_cutoff``."""

    def __call__(self, a: Array, *, n: int | None, segments) -> Array: ...


def default_gain_fn(labels: Array) -> Array:
    """Exponential gain ``2**label - 1``, the default gain of (N)DCG.

    >>> float(default_gain_fn(jnp.float32(2.0)))
    3.0
    """
    return jnp.power(2.0, labels) - 1.0


def default_discount_fn(ranks: Array) -> Array:
    """Logarithmic discount ``1 / log2(rank + 1)`` of a 1-based rank.

    >>> float(default_discount_fn(jnp.float32(3.0)))
    0.5
    """
    return 1.0 / jnp.log2(ranks + 1.0)


class _Lists(NamedTuple):
    """Validated inputs of a metric."""

    inputs: RankingInputs
    weights: Array  # per item, 0 on invalid items
    nan_lists: Array  # bool, leading shape: a valid item has a NaN score


def _prepare(scores, labels, where, weights) -> _Lists:
    inputs = prepare_inputs(scores, labels, where=where, weights=weights)
    zero = jnp.zeros((), inputs.scores.dtype)
    return _Lists(
        inputs=inputs,
        weights=jnp.where(inputs.valid, inputs.weights, zero),
        # The maximum propagates a NaN (one reduction, no boolean mask to reduce).
        nan_lists=jnp.isnan(jnp.max(inputs.scores, axis=-1, initial=-jnp.inf)),
    )


class _Ranked(NamedTuple):
    """A metric's inputs with every item's rank."""

    lists: _Lists
    ranks: Array | None  # (..., n) 1-based ranks in the compute dtype
    segments: Array | None  # as given (for the hooks)
    ids: Array | None  # dense segment ids, or None without segments
    exact: bool  # the ranks are the exact ones (no `rank_fn`)


def _unranked(scores, labels, where, weights, segments) -> _Ranked:
    """The validated inputs and segments of a metric that needs no ranks."""
    lists = _prepare(scores, labels, where, weights)
    segments = checks.check_segments(segments, lists.inputs.scores)
    ids = None if segments is None else dense_ids(segments)
    return _Ranked(lists, None, segments, ids, True)


def _rank(scores, labels, where, weights, segments, key, rank_fn) -> _Ranked:
    lists, _, segments, ids, _ = _unranked(scores, labels, where, weights, segments)
    inputs = lists.inputs
    key = checks.check_key(key)
    if rank_fn is None:
        ranks = ranking.ranks(inputs.scores, inputs.valid, segments, key)
    else:
        ranks = checks.check_same_shape(
            "rank_fn",
            rank_fn(inputs.scores, where=inputs.valid, segments=segments, key=key),
            inputs.scores,
        )
    ranks = ranks.astype(inputs.scores.dtype)
    return _Ranked(lists, ranks, segments, ids, rank_fn is None)


def _cutoffs(k) -> tuple[tuple[int | None, ...], bool]:
    """The cut-offs of ``k`` and whether several were asked for (a tuple/list)."""
    if isinstance(k, tuple | list):
        if not k:
            raise ValueError(
                "`k` must be None, a positive integer or a non-empty tuple of them; "
                "received k=()."
            )
        return tuple(checks.check_positive_int("k", one) for one in k), True
    return (checks.check_positive_int("k", k),), False


def _top(ranked: _Ranked, k, cutoff_fn) -> Array:
    """Each item's weight in the top ``k``: bool for the exact cut-off, the
    ``cutoff_fn``'s weights (compute dtype) otherwise; 0 on invalid items."""
    valid = ranked.lists.inputs.valid
    if cutoff_fn is not None:
        weights = checks.check_same_shape(
            "cutoff_fn",
            cutoff_fn(-ranked.ranks, n=k, segments=ranked.segments),
            ranked.ranks,
        ).astype(ranked.ranks.dtype)
        return jnp.where(valid, weights, jnp.zeros((), weights.dtype))
    if k is None:
        return valid
    ranks = ranked.ranks
    if not ranked.exact:  # the k smallest of the given ranks, ties by position
        ranks = ranking.ranks(-lax.stop_gradient(ranks), valid, ranked.segments)
    return valid & (ranks <= k)


def _weigh(top: Array, x: Array) -> Array:
    """``x`` weighted by the top-k weights ``top`` (selected if they are a mask)."""
    if top.dtype == jnp.bool_:
        return jnp.where(top, x, jnp.zeros((), x.dtype))
    return top * x


def _total(x: Array, ranked: _Ranked) -> Array:
    """Sum over each list ``(...)``, or over each segment at every item ``(..., n)``."""
    if ranked.ids is None:
        return jnp.sum(x, axis=-1)
    return segment_sum(x, ranked.ids)


def _maximum(x: Array, ranked: _Ranked) -> Array:
    """Maximum (at least 0) over each list, or over each segment at every item."""
    if ranked.ids is None:
        # initial=0: an empty list (n = 0) gets 0, as every metric gives.
        return jnp.max(x, axis=-1, initial=0.0)
    return jnp.maximum(segment_max(x, ranked.ids), jnp.zeros((), x.dtype))


def _finish(values: Array, ranked: _Ranked) -> Array:
    """NaN for the lists (segments) with a NaN score on a valid item; with segments,
    each segment's value at its first valid item and 0 elsewhere."""
    nan = jnp.full((), jnp.nan, values.dtype)
    if ranked.ids is None:
        return jnp.where(ranked.lists.nan_lists, nan, values)
    inputs = ranked.lists.inputs
    nan_items = (jnp.isnan(inputs.scores) & inputs.valid).astype(jnp.int32)
    values = jnp.where(segment_max(nan_items, ranked.ids) > 0, nan, values)
    first = first_valid_item(ranked.ids, inputs.valid)
    return jnp.where(first, values, jnp.zeros((), values.dtype))


def _per_cutoff(ranked: _Ranked, k, cutoff_fn, value_fn) -> Array:
    """``value_fn(top, k)`` for every cut-off of ``k``, from the one ranking;
    several cut-offs are stacked on a new last axis."""
    ks, several = _cutoffs(k)
    values = [
        _finish(value_fn(_top(ranked, one, cutoff_fn), one), ranked) for one in ks
    ]
    return jnp.stack(values, axis=-1) if several else values[0]


def _accumulate_above(
    x: Array, ranked: _Ranked, *, inclusive: bool, multiply: bool = False
) -> Array:
    """For every item, the sum (or product) of ``x`` over the items of its list
    (segment) ranked above it (``inclusive``: at or above, ties included).

    One sort by (segment, rank) and a segmented scan: O(n log n), no pairs. The
    ranks only order the items (no gradient flows through the comparison).
    """
    shape = x.shape
    n = shape[-1]
    if n == 0:
        return x
    axis = len(shape) - 1
    position = positions_like(x)
    seg = jnp.zeros_like(position) if ranked.ids is None else ranked.ids
    seg, rank, order, x = lax.sort(
        (seg, lax.stop_gradient(ranked.ranks), position, x), num_keys=3
    )
    identity = jnp.ones((), x.dtype) if multiply else jnp.zeros((), x.dtype)
    op = jnp.multiply if multiply else jnp.add
    seg_start = run_starts(seg)
    run_start = run_starts(seg, rank)

    def combine(a, b):
        return a[0] | b[0], jnp.where(b[0], b[1], op(a[1], b[1]))

    _, scanned = lax.associative_scan(combine, (seg_start, x), axis=axis)
    if inclusive:  # the scan at the end of each run of tied ranks
        run_end = jnp.concatenate([run_start[..., 1:], run_start[..., :1]], axis=-1)
        end = lax.cummin(jnp.where(run_end, position, n), axis=axis, reverse=True)
        value = jnp.take_along_axis(scanned, end, axis=-1)
    else:  # the scan just before the run's start, within the segment
        start = lax.cummax(jnp.where(run_start, position, 0), axis=axis)
        before = jnp.take_along_axis(scanned, jnp.maximum(start - 1, 0), axis=-1)
        at_seg_start = jnp.take_along_axis(seg_start, start, axis=-1)
        value = jnp.where(at_seg_start, identity, before)
    return lax.sort((order, value), num_keys=1)[1]


def _weighted_gains(lists: _Lists, gain_fn) -> Array:
    labels = lists.inputs.labels
    gains = checks.check_elementwise("gain_fn", gain_fn, labels) * lists.weights
    return jnp.where(lists.inputs.valid, gains, jnp.zeros((), labels.dtype))


def _discounted(gains: Array, ranks: Array, valid: Array, discount_fn) -> Array:
    """Each valid item's gain times the discount of its rank, 0 on invalid items."""
    discounts = checks.check_elementwise("discount_fn", discount_fn, ranks)
    return jnp.where(valid, gains * discounts, jnp.zeros((), gains.dtype))


_SHARED_ARGS = """segments: optional ``(..., n)`` integer ids; items with equal ids
        form one sub-list, measured on its own (module docstring).
      key: optional PRNG key; when given, ties in score are broken at random
        instead of by position.
      rank_fn: optional rax-style ``rank_fn(scores, *, where, segments, key)``
        returning 1-based ranks; ``None`` ranks exactly (module docstring).
      cutoff_fn: optional rax-style ``cutoff_fn(a, *, n, segments)`` returning the
        weight of each item in the top ``n`` of ``a = -ranks``."""

_K_ARG = """k: rank cut-off, a positive int, ``None`` for the whole list, or a
        tuple/list of them (one value per cut-off, on a last axis)."""


def _documented(fn):
    """Puts the arguments every metric shares into ``fn``'s docstring."""
    doc = fn.__doc__.replace("<shared args>", _SHARED_ARGS)
    fn.__doc__ = doc.replace("<k arg>", _K_ARG)
    return fn


def _dcg_terms(ranked: _Ranked, gain_fn, discount_fn):
    """Each valid item's weighted gain times the discount of its rank, 0 on invalid
    items."""
    gains = _weighted_gains(ranked.lists, gain_fn)
    return _discounted(gains, ranked.ranks, ranked.lists.inputs.valid, discount_fn)


def _ideal_terms(ranked: _Ranked, gains: Array, discount_fn):
    """The terms of the ideal DCG (:func:`_discounted` at the ranks of decreasing
    ``gains``, ignored items ranked by their gain 0) and those ranks, in an order
    that :func:`_total` sums: each list sorted by increasing gain without
    segments (one sort, whose last item has rank 1), else the items' own."""
    valid = ranked.lists.inputs.valid
    if ranked.ids is None:
        gains, valid = lax.sort((gains, valid), num_keys=1)
        ranks = gains.shape[-1] - positions_like(gains)
    else:
        ranks = ranking.ranks(gains, None, ranked.segments)
    ranks = ranks.astype(gains.dtype)
    return _discounted(gains, ranks, valid, discount_fn), ranks


@cached_jit
@_documented
def dcg(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    segments: ArrayLike | None = None,
    k: int | Sequence[int] | None = None,
    gain_fn: Callable[[Array], Array] = default_gain_fn,
    discount_fn: Callable[[Array], Array] = default_discount_fn,
    key=None,
    rank_fn: RankFn | None = None,
    cutoff_fn: CutoffFn | None = None,
) -> Array:
    r"""Discounted cumulative gain (DCG@k) of each list.

    With :math:`r_i` the rank of item :math:`i` and :math:`c_i = [r_i \le k]`,

    .. math::
      \mathrm{DCG@k} = \sum_i c_i\, w_i\, \mathrm{gain}(y_i)\,
        \mathrm{discount}(r_i),

    by default :math:`\mathrm{gain}(y) = 2^y - 1` and
    :math:`\mathrm{discount}(r) = 1 / \log_2(r + 1)`; :math:`w = 1` without
    ``weights``. Ignored items add nothing and rank after every valid item.

    Args:
      scores: ``(..., n)`` floating scores; higher ranks first.
      labels: ``(..., n)`` graded relevance; a negative label ignores the item.
      where: optional ``(..., n)`` boolean mask; ``False`` ignores the item.
      weights: optional scalar, per-item ``(..., n)`` or per-list ``(...)`` weights
        multiplying each item's gain, as keras_rs's item ``sample_weight``.
      <shared args>
      <k arg>
      gain_fn: elementwise map from labels to gains.
      discount_fn: elementwise map from 1-based ranks (floats) to discounts.

    Returns:
      ``(...)`` DCG@k per list; 0 for a list with no valid item.

    Examples:
      >>> scores = jnp.array([0.1, 0.9, 0.5])
      >>> labels = jnp.array([2, 0, 1])
      >>> # ranks: item 1 (gain 0), item 2 (gain 1), item 0 (gain 3)
      >>> print(f"{float(dcg(scores, labels)):.4f}")  # 0 + 1/log2(3) + 3/2
      2.1309
      >>> print(dcg(scores, labels, k=(1, 2)).round(4))  # two cut-offs, one sort
      [0.     0.6309]
    """
    ranked = _rank(scores, labels, where, weights, segments, key, rank_fn)
    terms = _dcg_terms(ranked, gain_fn, discount_fn)
    return _per_cutoff(
        ranked, k, cutoff_fn, lambda top, _: _total(_weigh(top, terms), ranked)
    )


@cached_jit
@_documented
def ndcg(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    segments: ArrayLike | None = None,
    k: int | Sequence[int] | None = None,
    gain_fn: Callable[[Array], Array] = default_gain_fn,
    discount_fn: Callable[[Array], Array] = default_discount_fn,
    no_relevant_value: float = 0.0,
    key=None,
    rank_fn: RankFn | None = None,
    cutoff_fn: CutoffFn | None = None,
) -> Array:
    r"""Normalised discounted cumulative gain (NDCG@k) of each list.

    .. math::
      \mathrm{NDCG@k} = \frac{\mathrm{DCG@k}}{\mathrm{IDCG@k}},

    where DCG@k is :func:`dcg` and the ideal IDCG@k is the DCG@k of the same list
    ordered by (weighted) gain, largest first (ignored items count as gain 0 in
    that order, as in keras_rs; this matters only for negative gains). A list whose
    IDCG@k is 0 (no relevant valid item, or no valid item at all) gets
    ``no_relevant_value``: 0 by default as in keras_rs; 1 is LightGBM's convention.
    The ideal DCG always uses the exact ranks and cut-off (as rax does), whatever
    ``rank_fn`` and ``cutoff_fn`` are.

    Args:
      scores: ``(..., n)`` floating scores; higher ranks first.
      labels: ``(..., n)`` graded relevance; a negative label ignores the item.
      where: optional ``(..., n)`` boolean mask; ``False`` ignores the item.
      weights: optional scalar, per-item ``(..., n)`` or per-list ``(...)`` weights
        multiplying each item's gain in both DCG and IDCG, as keras_rs's item
        ``sample_weight`` (per-list weights cancel out).
      <shared args>
      <k arg>
      gain_fn: elementwise map from labels to gains.
      discount_fn: elementwise map from 1-based ranks (floats) to discounts.
      no_relevant_value: the value of a list whose IDCG@k is 0.

    Returns:
      ``(...)`` NDCG@k per list.

    Examples:
      >>> scores = jnp.array([[0.1, 0.9, 0.5], [0.3, 0.2, 0.1]])
      >>> labels = jnp.array([[2, 0, 1], [0, 0, 0]])
      >>> # DCG = 0 + 1/log2(3) + 3/2; IDCG = 3 + 1/log2(3)
      >>> print(ndcg(scores, labels).round(4))
      [0.5869 0.    ]
      >>> print(ndcg(scores, labels, no_relevant_value=1.0).round(4))
      [0.5869 1.    ]
    """
    ranked = _rank(scores, labels, where, weights, segments, key, rank_fn)
    terms = _dcg_terms(ranked, gain_fn, discount_fn)
    gains = _weighted_gains(ranked.lists, gain_fn)
    ideal_terms, ideal_ranks = _ideal_terms(ranked, gains, discount_fn)
    fill = checks.check_real_scalar("no_relevant_value", no_relevant_value)
    fill = fill.astype(gains.dtype)

    def value(top, k):
        in_top = ideal_terms if k is None else _weigh(ideal_ranks <= k, ideal_terms)
        ideal = _total(in_top, ranked)
        return safe_divide(_total(_weigh(top, terms), ranked), ideal, fill)

    return _per_cutoff(ranked, k, cutoff_fn, value)


def _relevant(ranked: _Ranked) -> Array:
    """1.0 where a valid item has label at least 1, else 0.0 (compute dtype)."""
    inputs = ranked.lists.inputs
    return (inputs.valid & (inputs.labels >= 1)).astype(inputs.scores.dtype)


@cached_jit
@_documented
def reciprocal_rank(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    where: ArrayLike | None = None,
    segments: ArrayLike | None = None,
    k: int | Sequence[int] | None = None,
    key=None,
    rank_fn: RankFn | None = None,
    cutoff_fn: CutoffFn | None = None,
) -> Array:
    r"""Reciprocal rank (RR@k) of each list; its mean over lists is MRR.

    .. math::
      \mathrm{RR@k} = \max_i \frac{c_i\, [y_i \ge 1]}{r_i},

    one over the rank of the first relevant item (label at least 1), 0 when no
    relevant item is in the top ``k``.

    Args:
      scores: ``(..., n)`` floating scores; higher ranks first.
      labels: ``(..., n)`` labels; at least 1 is relevant, negative is ignored.
      where: optional ``(..., n)`` boolean mask; ``False`` ignores the item.
      <shared args>
      <k arg>

    Returns:
      ``(...)`` reciprocal rank per list.

    Examples:
      >>> scores = jnp.array([[0.1, 0.9, 0.5], [0.1, 0.9, 0.5]])
      >>> labels = jnp.array([[1, 0, 1], [1, 0, 0]])
      >>> print(reciprocal_rank(scores, labels))
      [0.5        0.33333334]
      >>> print(reciprocal_rank(scores, labels, k=2))
      [0.5 0. ]
    """
    ranked = _rank(scores, labels, where, None, segments, key, rank_fn)
    relevant = _relevant(ranked)
    inverse = safe_divide(relevant, ranked.ranks)
    return _per_cutoff(
        ranked, k, cutoff_fn, lambda top, _: _maximum(_weigh(top, inverse), ranked)
    )


@cached_jit
@_documented
def average_precision(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    segments: ArrayLike | None = None,
    k: int | Sequence[int] | None = None,
    key=None,
    rank_fn: RankFn | None = None,
    cutoff_fn: CutoffFn | None = None,
) -> Array:
    r"""Average precision (AP@k) of each list; its mean over lists is MAP.

    With :math:`\mathrm{rel}_i = [y_i \ge 1]` and :math:`P_i` the precision at
    item :math:`i`'s rank (the relevant items ranked at or above it, over
    :math:`r_i`),

    .. math::
      \mathrm{AP@k} = \frac{\sum_i c_i\, w_i\, \mathrm{rel}_i\, P_i}
        {\sum_i w_i\, \mathrm{rel}_i},

    (the denominator counts every relevant valid item, in the top ``k`` or not, as
    keras_rs does); 0 for a list with no relevant item. The counts of :math:`P_i`
    come from one sort by rank, not from pairs.

    Args:
      scores: ``(..., n)`` floating scores; higher ranks first.
      labels: ``(..., n)`` labels; at least 1 is relevant, negative is ignored.
      where: optional ``(..., n)`` boolean mask; ``False`` ignores the item.
      weights: optional scalar, per-item ``(..., n)`` or per-list ``(...)`` weights,
        as keras_rs's item ``sample_weight``; ``None`` weighs every item 1.
      <shared args>
      <k arg>

    Returns:
      ``(...)`` average precision per list.

    Examples:
      >>> scores = jnp.array([0.1, 0.9, 0.5, 0.3])
      >>> labels = jnp.array([1, 1, 0, 0])
      >>> # relevant items at ranks 1 and 4: (1/1 + 2/4) / 2
      >>> print(average_precision(scores, labels))
      0.75
      >>> print(average_precision(scores, labels, k=2))  # (1/1) / 2
      0.5
    """
    ranked = _rank(scores, labels, where, weights, segments, key, rank_fn)
    relevant = _relevant(ranked)
    above = _accumulate_above(relevant, ranked, inclusive=True)
    hits = relevant * ranked.lists.weights * safe_divide(above, ranked.ranks)
    total = _total(relevant * ranked.lists.weights, ranked)
    return _per_cutoff(
        ranked,
        k,
        cutoff_fn,
        lambda top, _: safe_divide(_total(_weigh(top, hits), ranked), total),
    )


@cached_jit
@_documented
def precision_at_k(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    where: ArrayLike | None = None,
    segments: ArrayLike | None = None,
    k: int | Sequence[int] | None = None,
    key=None,
    rank_fn: RankFn | None = None,
    cutoff_fn: CutoffFn | None = None,
) -> Array:
    r"""Precision (P@k) of each list.

    .. math::
      \mathrm{P@k} = \frac{\sum_i c_i\, [y_i \ge 1]}{\sum_i c_i},

    over valid items, so the denominator is :math:`\min(k, n_\mathrm{valid})`
    (keras_rs's convention); 0 for a list with no valid item.

    Args:
      scores: ``(..., n)`` floating scores; higher ranks first.
      labels: ``(..., n)`` labels; at least 1 is relevant, negative is ignored.
      where: optional ``(..., n)`` boolean mask; ``False`` ignores the item.
      <shared args>
      <k arg>

    Returns:
      ``(...)`` precision per list.

    Examples:
      >>> scores = jnp.array([0.1, 0.9, 0.5, 0.3])
      >>> labels = jnp.array([1, 1, 0, -1])  # the last item is ignored
      >>> print(precision_at_k(scores, labels, k=2))
      0.5
      >>> print(precision_at_k(scores, labels, k=4))  # 2 relevant of 3 valid
      0.6666667
    """
    ranked = _rank(scores, labels, where, None, segments, key, rank_fn)
    relevant = _relevant(ranked)
    ones = ranked.lists.inputs.valid.astype(relevant.dtype)

    def value(top, _):
        retrieved = _total(_weigh(top, ones), ranked)
        return safe_divide(_total(_weigh(top, relevant), ranked), retrieved)

    return _per_cutoff(ranked, k, cutoff_fn, value)


@cached_jit
@_documented
def recall_at_k(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    where: ArrayLike | None = None,
    segments: ArrayLike | None = None,
    k: int | Sequence[int] | None = None,
    key=None,
    rank_fn: RankFn | None = None,
    cutoff_fn: CutoffFn | None = None,
) -> Array:
    r"""Recall (R@k) of each list.

    .. math::
      \mathrm{R@k} = \frac{\sum_i c_i\, [y_i \ge 1]}{\sum_i [y_i \ge 1]},

    over valid items, 0 for a list with no relevant item.

    Args:
      scores: ``(..., n)`` floating scores; higher ranks first.
      labels: ``(..., n)`` labels; at least 1 is relevant, negative is ignored.
      where: optional ``(..., n)`` boolean mask; ``False`` ignores the item.
      <shared args>
      <k arg>

    Returns:
      ``(...)`` recall per list.

    Examples:
      >>> scores = jnp.array([0.1, 0.9, 0.5, 0.3])
      >>> labels = jnp.array([1, 1, 0, 0])
      >>> print(recall_at_k(scores, labels, k=2))
      0.5
    """
    ranked = _rank(scores, labels, where, None, segments, key, rank_fn)
    relevant = _relevant(ranked)
    total = _total(relevant, ranked)
    return _per_cutoff(
        ranked,
        k,
        cutoff_fn,
        lambda top, _: safe_divide(_total(_weigh(top, relevant), ranked), total),
    )


@cached_jit
@_documented
def expected_reciprocal_rank(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    where: ArrayLike | None = None,
    segments: ArrayLike | None = None,
    k: int | Sequence[int] | None = None,
    max_label: float | None = None,
    key=None,
    rank_fn: RankFn | None = None,
    cutoff_fn: CutoffFn | None = None,
) -> Array:
    r"""Expected reciprocal rank (ERR@k) of each list (Chapelle et al., 2009).

    A user scans the ranking from the top and stops at item :math:`i` with
    probability :math:`R_i = (2^{y_i} - 1) / 2^{y_\mathrm{max}}`; ERR is the
    expected reciprocal of the rank where they stop:

    .. math::
      \mathrm{ERR@k} = \sum_i c_i\, \frac{R_i}{r_i}
        \prod_{j:\, r_j < r_i} (1 - R_j).

    :math:`y_\mathrm{max}` is ``max_label``, the top grade of the label scale (4
    for the 0-4 grades of the Yahoo! and MSLR data sets, as in the paper); by
    default (``None``) it is the largest valid label of each list (of each
    segment), so that the best item of a list stops the user with probability
    :math:`1 - 2^{-y_\mathrm{max}}`. :math:`R` is clipped to ``[0, 1]`` (labels
    above ``max_label``). Label 0 never stops the user; a list with no positive
    label has ERR 0.

    Args:
      scores: ``(..., n)`` floating scores; higher ranks first.
      labels: ``(..., n)`` graded relevance; a negative label ignores the item.
      where: optional ``(..., n)`` boolean mask; ``False`` ignores the item.
      <shared args>
      <k arg>
      max_label: the top grade :math:`y_\mathrm{max}`, or ``None`` for the
        largest valid label of each list.

    Returns:
      ``(...)`` ERR@k per list.

    Examples:
      >>> scores = jnp.array([0.9, 0.5, 0.1])
      >>> labels = jnp.array([1, 2, 0])
      >>> # R = (1/4, 3/4, 0) with y_max = 2: 1/4 + (3/4)(3/4)/2
      >>> print(expected_reciprocal_rank(scores, labels))
      0.53125
      >>> print(expected_reciprocal_rank(scores, labels, k=1, max_label=4))
      0.0625
    """
    ranked = _rank(scores, labels, where, None, segments, key, rank_fn)
    inputs = ranked.lists.inputs
    zero = jnp.zeros((), inputs.labels.dtype)
    if max_label is None:
        y_max = _maximum(inputs.labels, ranked)
        y_max = y_max if ranked.ids is not None else y_max[..., None]
    else:
        y_max = checks.check_real_scalar("max_label", max_label)
        y_max = y_max.astype(inputs.labels.dtype)
    stop = jnp.clip((jnp.power(2.0, inputs.labels) - 1.0) / jnp.power(2.0, y_max), 0, 1)
    stop = jnp.where(inputs.valid, stop, zero)
    reached = _accumulate_above(1.0 - stop, ranked, inclusive=False, multiply=True)
    terms = safe_divide(stop * reached, ranked.ranks)
    return _per_cutoff(
        ranked, k, cutoff_fn, lambda top, _: _total(_weigh(top, terms), ranked)
    )


@cached_jit
def ordered_pair_accuracy(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    where: ArrayLike | None = None,
    segments: ArrayLike | None = None,
) -> Array:
    r"""Ordered pair accuracy (OPA) of each list: the share of the pairs with
    different labels that the scores order correctly.

    .. math::
      \mathrm{OPA} = \frac{\sum_{i,j} [y_i > y_j]\,[s_i > s_j]}
        {\sum_{i,j} [y_i > y_j]},

    over pairs of valid items (of one segment); a pair with tied scores counts as
    wrongly ordered, as in rax's ``opa_metric``, and a list with no such pair gets
    0. Counted by sorting, in :math:`O(n \log^2 n)` time and :math:`O(n)` memory
    per list, never with an ``(n, n)`` array. Not differentiable (a count).

    Args:
      scores: ``(..., n)`` floating scores.
      labels: ``(..., n)`` graded relevance; a negative label ignores the item.
      where: optional ``(..., n)`` boolean mask; ``False`` ignores the item.
      segments: optional ``(..., n)`` integer ids; items with equal ids form one
        sub-list, measured on its own (module docstring).

    Returns:
      ``(...)`` OPA per list; with ``segments``, ``(..., n)``.

    Examples:
      >>> scores = jnp.array([0.3, 0.1, 0.2, 0.2])
      >>> labels = jnp.array([2, 0, 1, 0])
      >>> # pairs (0,1) (0,2) (0,3) (2,1) right, (2,3) tied: 4 of 5
      >>> print(ordered_pair_accuracy(scores, labels))
      0.8
    """
    ranked = _unranked(scores, labels, where, None, segments)
    inputs = ranked.lists.inputs
    ids = ranked.ids
    if ids is None:
        ids = jnp.zeros_like(inputs.scores, dtype=jnp.int32)
    correct, pairs = ordered_pair_counts(
        inputs.scores, inputs.labels, inputs.valid, ids
    )
    dtype = inputs.scores.dtype
    value = safe_divide(
        _total(correct.astype(dtype), ranked), _total(pairs.astype(dtype), ranked)
    )
    return _finish(value, ranked)


def _deprecated_alias(fn, old_name: str):
    """``fn`` under its name before 0.2, warning that the name is deprecated."""

    def alias(*args, **kwargs):
        warnings.warn(
            f"`jaxrank.metrics.{old_name}` is deprecated (it returns one value per "
            f"list, not a mean); use `jaxrank.metrics.{fn.__name__}`.",
            DeprecationWarning,
            stacklevel=2,
        )
        return fn(*args, **kwargs)

    alias.__name__ = alias.__qualname__ = old_name
    alias.__doc__ = f"Deprecated name of :func:`{fn.__name__}`."
    return alias


mean_reciprocal_rank = _deprecated_alias(reciprocal_rank, "mean_reciprocal_rank")
mean_average_precision = _deprecated_alias(average_precision, "mean_average_precision")
