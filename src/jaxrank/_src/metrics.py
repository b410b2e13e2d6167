"""Functional ranking metrics: one value per list.

Every function takes ``scores`` and ``labels`` of shape ``(..., n)``: the last axis
is the list, any leading axes are batch, and the result has the leading shape
``(...)``. The functions are pure, work under ``jax.jit`` and ``jax.vmap``, and
match the per-list values of the keras_rs 0.4.0 metrics.

Conventions shared by every metric:

* **Ranking.** Items are ranked by score, highest first (rank 1). Ties are broken
  deterministically by position in the list: of two items with equal scores, the
  one with the lower index ranks first. Passing a PRNG ``key`` breaks ties at
  random instead (each tied group is put in a uniformly random order). ``+inf``
  ranks first and ``-inf`` last among the valid items. The lambda weights and
  ListMLE use the same rule.
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
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax
from jax.typing import ArrayLike

from jaxrank._src import checks
from jaxrank._src.inputs import RankingInputs, prepare_inputs
from jaxrank._src.numerics import safe_divide
from jaxrank._src.ranking import rank_order

Array = jax.Array


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
        nan_lists=jnp.any(jnp.isnan(inputs.scores), axis=-1),
    )


def _ranking(lists: _Lists, key) -> Array:
    return rank_order(lists.inputs.scores, lists.inputs.valid, checks.check_key(key))


def _in_rank_order(x: Array, order: Array) -> Array:
    return jnp.take_along_axis(x, order, axis=-1)


def _rank_positions(shape, dtype) -> Array:
    """1-based ranks ``1..n`` broadcast to ``shape`` (explicitly: no rank promotion)."""
    return lax.broadcasted_iota(dtype, shape, len(shape) - 1) + jnp.ones((), dtype)


def _cutoff(shape, k) -> Array:
    """Boolean mask of the positions ``1..k`` of each list (rank order)."""
    n = shape[-1]
    k = n if k is None else min(k, n)
    return lax.broadcasted_iota(jnp.int32, shape, len(shape) - 1) < k


def _finish(values: Array, lists: _Lists) -> Array:
    return jnp.where(lists.nan_lists, jnp.full((), jnp.nan, values.dtype), values)


def _weighted_gains(lists: _Lists, gain_fn) -> Array:
    labels = lists.inputs.labels
    gains = checks.check_elementwise("gain_fn", gain_fn, labels) * lists.weights
    return jnp.where(lists.inputs.valid, gains, jnp.zeros((), labels.dtype))


def _discounts(shape, dtype, k, discount_fn) -> Array:
    ranks = _rank_positions(shape, dtype)
    discounts = checks.check_elementwise("discount_fn", discount_fn, ranks)
    return jnp.where(_cutoff(shape, k), discounts, jnp.zeros((), dtype))


def _dcg_and_ideal(scores, labels, where, weights, k, gain_fn, discount_fn, key):
    checks.check_positive_int("k", k)
    lists = _prepare(scores, labels, where, weights)
    gains = _weighted_gains(lists, gain_fn)
    discounts = _discounts(gains.shape, gains.dtype, k, discount_fn)
    order = _ranking(lists, key)
    dcg = jnp.sum(_in_rank_order(gains, order) * discounts, axis=-1)
    ideal_gains = -jnp.sort(-gains, axis=-1)
    ideal_dcg = jnp.sum(ideal_gains * discounts, axis=-1)
    return dcg, ideal_dcg, lists


def dcg(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    k: int | None = None,
    gain_fn: Callable[[Array], Array] = default_gain_fn,
    discount_fn: Callable[[Array], Array] = default_discount_fn,
    key=None,
) -> Array:
    r"""Discounted cumulative gain (DCG@k) of each list.

    With :math:`\pi(r)` the item ranked :math:`r`-th by score,

    .. math::
      \mathrm{DCG@k} = \sum_{r=1}^{\min(k, n)} w_{\pi(r)}\,
        \mathrm{gain}(y_{\pi(r)})\, \mathrm{discount}(r),

    by default :math:`\mathrm{gain}(y) = 2^y - 1` and
    :math:`\mathrm{discount}(r) = 1 / \log_2(r + 1)`; :math:`w = 1` without
    ``weights``. Ignored items add nothing and rank after every valid item.

    Args:
      scores: ``(..., n)`` floating scores; higher ranks first.
      labels: ``(..., n)`` graded relevance; a negative label ignores the item.
      where: optional ``(..., n)`` boolean mask; ``False`` ignores the item.
      weights: optional scalar, per-item ``(..., n)`` or per-list ``(...)`` weights
        multiplying each item's gain, as keras_rs's item ``sample_weight``.
      k: rank cut-off, a positive int, or ``None`` for the whole list.
      gain_fn: elementwise map from labels to gains.
      discount_fn: elementwise map from 1-based ranks (floats) to discounts.
      key: optional PRNG key; when given, ties in score are broken at random
        instead of by position.

    Returns:
      ``(...)`` DCG@k per list; 0 for a list with no valid item.

    Examples:
      >>> scores = jnp.array([0.1, 0.9, 0.5])
      >>> labels = jnp.array([2, 0, 1])
      >>> # ranks: item 1 (gain 0), item 2 (gain 1), item 0 (gain 3)
      >>> print(f"{float(dcg(scores, labels)):.4f}")  # 0 + 1/log2(3) + 3/2
      2.1309
      >>> print(f"{float(dcg(scores, labels, k=2)):.4f}")
      0.6309
    """
    value, _, lists = _dcg_and_ideal(
        scores, labels, where, weights, k, gain_fn, discount_fn, key
    )
    return _finish(value, lists)


def ndcg(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    k: int | None = None,
    gain_fn: Callable[[Array], Array] = default_gain_fn,
    discount_fn: Callable[[Array], Array] = default_discount_fn,
    no_relevant_value: float = 0.0,
    key=None,
) -> Array:
    r"""Normalised discounted cumulative gain (NDCG@k) of each list.

    .. math::
      \mathrm{NDCG@k} = \frac{\mathrm{DCG@k}}{\mathrm{IDCG@k}},

    where DCG@k is :func:`dcg` and the ideal IDCG@k is the DCG@k of the same list
    ordered by (weighted) gain, largest first (ignored items count as gain 0 in
    that order, as in keras_rs; this matters only for negative gains). A list whose
    IDCG@k is 0 (no relevant valid item, or no valid item at all) gets
    ``no_relevant_value``: 0 by default as in keras_rs; 1 is LightGBM's convention.

    Args:
      scores: ``(..., n)`` floating scores; higher ranks first.
      labels: ``(..., n)`` graded relevance; a negative label ignores the item.
      where: optional ``(..., n)`` boolean mask; ``False`` ignores the item.
      weights: optional scalar, per-item ``(..., n)`` or per-list ``(...)`` weights
        multiplying each item's gain in both DCG and IDCG, as keras_rs's item
        ``sample_weight`` (per-list weights cancel out).
      k: rank cut-off, a positive int, or ``None`` for the whole list.
      gain_fn: elementwise map from labels to gains.
      discount_fn: elementwise map from 1-based ranks (floats) to discounts.
      no_relevant_value: the value of a list whose IDCG@k is 0.
      key: optional PRNG key; when given, ties in score are broken at random
        instead of by position.

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
    value, ideal, lists = _dcg_and_ideal(
        scores, labels, where, weights, k, gain_fn, discount_fn, key
    )
    fill = checks.check_real_scalar("no_relevant_value", no_relevant_value)
    fill = fill.astype(value.dtype)
    return _finish(safe_divide(value, ideal, fill), lists)


class _Binary(NamedTuple):
    relevant: Array  # 1.0 where a valid item has label >= 1, else 0.0
    ranked: Array  # `relevant` in rank order, 0 beyond the cut-off k
    order: Array  # the ranking permutation
    lists: _Lists


def _binary_ranked(scores, labels, where, k, key, weights=None) -> _Binary:
    """Relevance (label >= 1) of every valid item, in rank order, cut at ``k``."""
    checks.check_positive_int("k", k)
    lists = _prepare(scores, labels, where, weights)
    dtype = lists.inputs.scores.dtype
    relevant = lists.inputs.valid & (lists.inputs.labels >= 1)
    order = _ranking(lists, key)
    ranked = _in_rank_order(relevant, order) & _cutoff(relevant.shape, k)
    return _Binary(relevant.astype(dtype), ranked.astype(dtype), order, lists)


def reciprocal_rank(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    where: ArrayLike | None = None,
    k: int | None = None,
    key=None,
) -> Array:
    r"""Reciprocal rank (RR@k) of each list; its mean over lists is MRR.

    .. math::
      \mathrm{RR@k} = \max_{r \le \min(k, n)} \frac{[y_{\pi(r)} \ge 1]}{r},

    one over the rank of the first relevant item (label at least 1), 0 when no
    relevant item is in the top ``k``.

    Args:
      scores: ``(..., n)`` floating scores; higher ranks first.
      labels: ``(..., n)`` labels; at least 1 is relevant, negative is ignored.
      where: optional ``(..., n)`` boolean mask; ``False`` ignores the item.
      k: rank cut-off, a positive int, or ``None`` for the whole list.
      key: optional PRNG key to break score ties at random.

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
    _, ranked, _, lists = _binary_ranked(scores, labels, where, k, key)
    ranks = _rank_positions(ranked.shape, ranked.dtype)
    # initial=0: an empty list (n = 0) has reciprocal rank 0, as every metric gives.
    return _finish(jnp.max(ranked / ranks, axis=-1, initial=0.0), lists)


def average_precision(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    k: int | None = None,
    key=None,
) -> Array:
    r"""Average precision (AP@k) of each list; its mean over lists is MAP.

    With :math:`\mathrm{rel}_i = [y_i \ge 1]` and P@r the precision of the top r,

    .. math::
      \mathrm{AP@k} = \frac{\sum_{r=1}^{\min(k,n)} \mathrm{P@}r \;
        w_{\pi(r)} \mathrm{rel}_{\pi(r)}}{\sum_i w_i \mathrm{rel}_i},

    (the denominator counts every relevant valid item, in the top ``k`` or not, as
    keras_rs does); 0 for a list with no relevant item.

    Args:
      scores: ``(..., n)`` floating scores; higher ranks first.
      labels: ``(..., n)`` labels; at least 1 is relevant, negative is ignored.
      where: optional ``(..., n)`` boolean mask; ``False`` ignores the item.
      weights: optional scalar, per-item ``(..., n)`` or per-list ``(...)`` weights,
        as keras_rs's item ``sample_weight``; ``None`` weighs every item 1.
      k: rank cut-off, a positive int, or ``None`` for the whole list.
      key: optional PRNG key to break score ties at random.

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
    relevant, ranked, order, lists = _binary_ranked(
        scores, labels, where, k, key, weights
    )
    ranks = _rank_positions(ranked.shape, ranked.dtype)
    precision_at = jnp.cumsum(ranked, axis=-1) / ranks
    hits = ranked * _in_rank_order(lists.weights, order)
    total = jnp.sum(relevant * lists.weights, axis=-1)
    value = safe_divide(
        jnp.sum(precision_at * hits, axis=-1), total, jnp.zeros((), total.dtype)
    )
    return _finish(value, lists)


def precision_at_k(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    where: ArrayLike | None = None,
    k: int | None = None,
    key=None,
) -> Array:
    r"""Precision (P@k) of each list.

    .. math::
      \mathrm{P@k} = \frac{\sum_{r=1}^{\min(k,n)} [y_{\pi(r)} \ge 1]}
        {\min(k, n_\mathrm{valid})},

    the denominator counting the valid items only (keras_rs's convention), 0 for
    a list with no valid item.

    Args:
      scores: ``(..., n)`` floating scores; higher ranks first.
      labels: ``(..., n)`` labels; at least 1 is relevant, negative is ignored.
      where: optional ``(..., n)`` boolean mask; ``False`` ignores the item.
      k: rank cut-off, a positive int, or ``None`` for the whole list.
      key: optional PRNG key to break score ties at random.

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
    _, ranked, _, lists = _binary_ranked(scores, labels, where, k, key)
    n_valid = jnp.sum(lists.inputs.valid, axis=-1)
    n_cut = n_valid if k is None else jnp.minimum(n_valid, k)
    value = safe_divide(
        jnp.sum(ranked, axis=-1),
        n_cut.astype(ranked.dtype),
        jnp.zeros((), ranked.dtype),
    )
    return _finish(value, lists)


def recall_at_k(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    where: ArrayLike | None = None,
    k: int | None = None,
    key=None,
) -> Array:
    r"""Recall (R@k) of each list.

    .. math::
      \mathrm{R@k} = \frac{\sum_{r=1}^{\min(k,n)} [y_{\pi(r)} \ge 1]}
        {\sum_i [y_i \ge 1]},

    over valid items, 0 for a list with no relevant item.

    Args:
      scores: ``(..., n)`` floating scores; higher ranks first.
      labels: ``(..., n)`` labels; at least 1 is relevant, negative is ignored.
      where: optional ``(..., n)`` boolean mask; ``False`` ignores the item.
      k: rank cut-off, a positive int, or ``None`` for the whole list.
      key: optional PRNG key to break score ties at random.

    Returns:
      ``(...)`` recall per list.

    Examples:
      >>> scores = jnp.array([0.1, 0.9, 0.5, 0.3])
      >>> labels = jnp.array([1, 1, 0, 0])
      >>> print(recall_at_k(scores, labels, k=2))
      0.5
    """
    relevant, ranked, _, lists = _binary_ranked(scores, labels, where, k, key)
    value = safe_divide(
        jnp.sum(ranked, axis=-1),
        jnp.sum(relevant, axis=-1),
        jnp.zeros((), ranked.dtype),
    )
    return _finish(value, lists)


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
