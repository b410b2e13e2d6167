r"""Metric classes with keras_rs's calling convention and numbers.

``metric(y_true, y_pred, sample_weight=None)`` returns what a *fresh*
``keras_rs.metrics`` object returns after one ``update_state`` on that batch; the
classes hold configuration only, no state, so a call never depends on earlier
calls. To accumulate over batches (as repeated ``update_state`` calls do), carry
a :class:`~jaxrank.metrics.WeightedMean` through :meth:`RankingMetric.update`.

Inputs follow keras_rs: ``y_true`` is a label array or a dict
``{"labels": ..., "mask": ...}``; arrays have rank 1 (one list, a batch of one) or
rank 2 ``(batch, list_size)``; ``sample_weight`` is a scalar, per list ``(batch,)``
or ``(batch, 1)``, or per item ``(batch, list_size)`` (for rank-1 input: a scalar or
``(list_size,)``). An item takes part when its label is ``>= 0``, its mask is True
and its weight is ``> 0``.

How keras_rs turns item weights into one weight per list (kept here): with the
list's relevance :math:`r_i` (the gain for (N)DCG, ``label >= 1`` otherwise),

.. math::
  w_l = \frac{\sum_i w_i r_i}{\sum_i r_i},

a list with :math:`\sum_i r_i \le 0` but some positive weight gets the mean
:math:`w_l` of the lists that have both, or 1 if no list has both, and a list
whose weights are all 0 gets 0. The batch value is
:math:`\sum_l w_l v_l / \sum_l w_l` (0 when :math:`\sum_l w_l = 0`). With all
weights 1, every list weighs 1 and the value is the plain mean over lists.

Differences from keras_rs: ties in ``y_pred`` are broken deterministically (see
:mod:`jaxrank.metrics`) where keras_rs shuffles them at random whatever
``shuffle_ties`` says; a NaN score on a valid item makes its list's value NaN.
"""

from __future__ import annotations

from typing import Any, ClassVar

import jax
import jax.numpy as jnp

from jaxrank._src import checks
from jaxrank._src import metrics as fn
from jaxrank._src.keras_convention import Configurable, standardize
from jaxrank._src.metric_state import WeightedMean
from jaxrank._src.numerics import safe_divide


def _list_weights(weights: jax.Array, relevance: jax.Array) -> jax.Array:
    """keras_rs's per-list weights from item weights and item relevance, ``(B,)``."""
    zero = jnp.zeros((), weights.dtype)
    has_weight = jnp.sum(weights, axis=-1) > zero
    relevance_sum = jnp.sum(relevance, axis=-1)
    has_relevance = relevance_sum > zero
    both = (has_weight & has_relevance).astype(weights.dtype)
    n_both = jnp.sum(both)
    per_list = safe_divide(jnp.sum(weights * relevance, axis=-1), relevance_sum)
    mean_weight = jnp.where(
        n_both > zero,
        jnp.sum(per_list) / jnp.where(n_both > zero, n_both, jnp.ones_like(n_both)),
        jnp.ones((), weights.dtype),
    )
    return jnp.where(has_weight, jnp.where(has_relevance, per_list, mean_weight), zero)


class RankingMetric(Configurable):
    """Base of the Keras-style metric classes: inputs, list weights, config.

    Subclasses set ``metric_fn`` (a functional jaxrank metric) and may override
    :meth:`_relevance` (the relevance used for list weights) and
    :meth:`_values` (per-list values from the validated batch).
    """

    metric_fn: ClassVar[Any]
    takes_item_weights: ClassVar[bool] = False

    def __init__(
        self,
        k: int | None = None,
        shuffle_ties: bool = True,
        seed: int | None = None,
        name: str | None = None,
        dtype: Any = None,
        **options: Any,
    ) -> None:
        self.k = checks.check_positive_int("k", k)
        self.shuffle_ties = bool(shuffle_ties)
        self.seed = checks.check_seed(seed)
        self.name = name or type(self).__name__
        self.dtype = jnp.dtype(jnp.float32 if dtype is None else dtype)
        self.options = options

    def _tie_key(self, key):
        if key is not None:
            return key
        if self.shuffle_ties and self.seed is not None:
            return jax.random.key(self.seed)
        return None

    def _relevance(self, labels: jax.Array) -> jax.Array:
        return (labels >= 1).astype(labels.dtype)

    def _values(self, scores, labels, valid, weights, key) -> jax.Array:
        extra = {"weights": weights} if self.takes_item_weights else {}
        return type(self).metric_fn(
            scores, labels, where=valid, k=self.k, key=key, **extra, **self.options
        )

    def per_list(
        self, y_true, y_pred, sample_weight=None, *, key=None
    ) -> tuple[jax.Array, jax.Array]:
        """Per-list values and weights of one batch, both ``(batch,)``.

        They are what keras_rs feeds to ``keras.metrics.Mean.update_state``; the
        call's result is their weighted mean.

        Args:
          y_true: labels ``(list_size,)`` or ``(batch, list_size)``, or a dict with
            ``"labels"`` and an optional boolean (or 0/1) ``"mask"`` of that shape.
          y_pred: scores of the labels' shape.
          sample_weight: optional scalar, per-list or per-item weights.
          key: optional PRNG key: break score ties at random with it. Without one,
            ties are broken by position unless the metric was built with
            ``shuffle_ties=True`` and an int ``seed`` (then ``jax.random.key(seed)``).

        Returns:
          ``(values, list_weights)``; rank-1 input counts as a batch of one.
        """
        batch = standardize(y_true, y_pred, sample_weight, self.dtype)
        labels = batch.labels
        if batch.sample_weight is None:
            weights = jnp.ones(labels.shape, labels.dtype)
        else:
            weights = checks.check_broadcast_weights(batch.sample_weight, labels.shape)
        zero = jnp.zeros((), labels.dtype)
        valid = (labels >= zero) & (weights > zero)
        if batch.mask is not None:
            valid = valid & batch.mask
        labels = jnp.where(valid, labels, zero)
        weights = jnp.where(valid, weights, zero)
        scores = batch.scores
        values = self._values(scores, labels, valid, weights, self._tie_key(key))
        list_weights = _list_weights(weights, self._relevance(labels))
        return values, list_weights

    def update(
        self, state: WeightedMean, y_true, y_pred, sample_weight=None, *, key=None
    ) -> WeightedMean:
        """``state`` with this batch added, as one more keras ``update_state``."""
        return state.update(*self.per_list(y_true, y_pred, sample_weight, key=key))

    def __call__(self, y_true, y_pred, sample_weight=None, *, key=None) -> jax.Array:
        """The metric of one batch: a fresh keras_rs metric after one update."""
        return self.update(
            WeightedMean.empty(self.dtype), y_true, y_pred, sample_weight, key=key
        ).compute()

    def _arguments(self) -> dict[str, Any]:
        return {
            "k": self.k,
            "shuffle_ties": self.shuffle_ties,
            "seed": self.seed,
            **self.options,
        }


_COMMON_ARGS = """Args:
      k: rank cut-off, a positive int, or ``None`` for the whole list.
      shuffle_ties: with an int ``seed``, break score ties at random with
        ``jax.random.key(seed)``; otherwise ties are broken by position.
      seed: optional int seed, see ``shuffle_ties``.
      name: optional name.
      dtype: computation dtype (default float32, as Keras)."""


_GAIN_ARGS = """gain_fn: ``"exp2"`` (default, ``2**y - 1``), ``"identity"`` (``y``), or
        an elementwise map from labels to gains.
      rank_discount_fn: ``"log2"`` (default, ``1 / log2(rank + 1)``),
        ``"reciprocal"`` (``1 / rank``), or an elementwise map from 1-based ranks
        to discounts. A name is kept as given in :meth:`get_config` (so a Keras
        config holds a string); so is a callable."""


def _documented(cls):
    """Puts the constructor arguments the metrics share into ``cls``'s docstring."""
    doc = cls.__doc__.replace("<common args>", _COMMON_ARGS)
    cls.__doc__ = doc.replace("<gain args>", _GAIN_ARGS)
    return cls


def _identity_gain(labels: jax.Array) -> jax.Array:
    return labels


def _reciprocal_discount(ranks: jax.Array) -> jax.Array:
    return 1.0 / ranks


# The gain and discount choices that have names, so that configs can hold strings.
GAIN_FUNCTIONS = {"exp2": fn.default_gain_fn, "identity": _identity_gain}
DISCOUNT_FUNCTIONS = {
    "log2": fn.default_discount_fn,
    "reciprocal": _reciprocal_discount,
}


def resolve_function(name: str, choice, named: dict[str, Any]):
    """The callable of a gain/discount ``choice``: a key of ``named`` or a callable;
    errors name the argument ``name``."""
    if isinstance(choice, str):
        if choice not in named:
            raise ValueError(
                f"`{name}` must be one of {sorted(named)} or a callable; received "
                f"{choice!r}."
            )
        return named[choice]
    if not callable(choice):
        raise TypeError(
            f"`{name}` must be one of {sorted(named)} or a callable; received "
            f"{type(choice).__name__} {choice!r:.80}."
        )
    return choice


class _GainMetric(RankingMetric):
    """(N)DCG: gain and discount functions; item weights multiply gains."""

    takes_item_weights = True

    def __init__(
        self,
        k: int | None = None,
        gain_fn="exp2",
        rank_discount_fn="log2",
        shuffle_ties: bool = True,
        seed: int | None = None,
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            k,
            shuffle_ties,
            seed,
            name,
            dtype,
            gain_fn=resolve_function("gain_fn", gain_fn, GAIN_FUNCTIONS),
            discount_fn=resolve_function(
                "rank_discount_fn", rank_discount_fn, DISCOUNT_FUNCTIONS
            ),
        )
        self.choices = {"gain_fn": gain_fn, "rank_discount_fn": rank_discount_fn}

    def _relevance(self, labels: jax.Array) -> jax.Array:
        return jnp.asarray(self.options["gain_fn"](labels)).astype(labels.dtype)

    def _arguments(self) -> dict[str, Any]:
        arguments = super()._arguments()
        del arguments["discount_fn"]
        return {**arguments, **self.choices}  # names as given, not their functions


@_documented
class NDCG(_GainMetric):
    r"""Normalised discounted cumulative gain, a drop-in for ``keras_rs.metrics.NDCG``.

    Per list, :math:`\mathrm{DCG@k} / \mathrm{IDCG@k}` with item weights
    multiplying the gains (0 when IDCG@k is 0); see :func:`jaxrank.metrics.ndcg`.
    Lists are averaged with keras_rs's list weights (module docstring).

    <common args>
      <gain args>

    Examples:
      >>> import numpy as np
      >>> from jaxrank.metrics import NDCG
      >>> y_true = np.array([[2, 0, 1], [0, 1, 0]])
      >>> y_pred = np.array([[0.1, 0.9, 0.5], [0.3, 0.2, 0.1]])
      >>> print(f"{NDCG()(y_true, y_pred):.4f}")  # (0.5869 + 1/log2(3)) / 2
      0.6089
      >>> print(f"{NDCG(k=1)(y_true, y_pred):.4f}")
      0.0000
    """

    metric_fn = staticmethod(fn.ndcg)


@_documented
class DCG(_GainMetric):
    r"""Discounted cumulative gain, a drop-in for ``keras_rs.metrics.DCG``.

    Per list, DCG@k with item weights multiplying the gains (see
    :func:`jaxrank.metrics.dcg`). As in keras_rs, the batch value is
    :math:`\sum_l \mathrm{DCG}_l / \sum_l w_l` over lists of nonzero list weight
    :math:`w_l`: the item weights already sit inside each DCG.

    <common args>
      <gain args>

    Examples:
      >>> import numpy as np
      >>> from jaxrank.metrics import DCG
      >>> y_true = np.array([[2, 0, 1], [0, 1, 0]])
      >>> y_pred = np.array([[0.1, 0.9, 0.5], [0.3, 0.2, 0.1]])
      >>> print(f"{DCG()(y_true, y_pred):.4f}")  # (2.1309 + 1/log2(3)) / 2
      1.3809
      >>> linear_top2 = DCG(k=2, gain_fn=lambda y: y)  # gain = label, top 2 only
      >>> print(f"{linear_top2(y_true[:1], y_pred[:1]):.4f}")  # 0 + 1/log2(3)
      0.6309
    """

    metric_fn = staticmethod(fn.dcg)

    def per_list(self, y_true, y_pred, sample_weight=None, *, key=None):
        values, weights = super().per_list(y_true, y_pred, sample_weight, key=key)
        return safe_divide(values, weights), weights


@_documented
class MeanReciprocalRank(RankingMetric):
    r"""Mean reciprocal rank, a drop-in for ``keras_rs.metrics.MeanReciprocalRank``.

    Per list, one over the rank of the first item with label at least 1 in the top
    ``k`` (0 if none); see :func:`jaxrank.metrics.reciprocal_rank`.

    <common args>

    Examples:
      >>> import numpy as np
      >>> from jaxrank.metrics import MeanReciprocalRank
      >>> y_true = np.array([[1, 0, 1], [1, 0, 0]])
      >>> y_pred = np.array([[0.1, 0.9, 0.5], [0.1, 0.9, 0.5]])
      >>> print(f"{MeanReciprocalRank()(y_true, y_pred):.4f}")  # (1/2 + 1/3) / 2
      0.4167
    """

    metric_fn = staticmethod(fn.reciprocal_rank)


@_documented
class MeanAveragePrecision(RankingMetric):
    r"""Mean average precision, a drop-in for ``keras_rs.metrics.MeanAveragePrecision``.

    Per list, the (item-weighted) average precision at ``k``; see
    :func:`jaxrank.metrics.average_precision`.

    <common args>

    Examples:
      >>> import numpy as np
      >>> from jaxrank.metrics import MeanAveragePrecision
      >>> y_true = np.array([[1, 1, 0, 0], [0, 1, 0, 1]])
      >>> y_pred = np.array([[0.1, 0.9, 0.5, 0.3], [0.4, 0.3, 0.2, 0.1]])
      >>> # AP (1 + 2/4) / 2 and (1/2 + 2/4) / 2, the second list weighing 3
      >>> weights = np.array([[1.0], [3.0]])
      >>> print(f"{MeanAveragePrecision()(y_true, y_pred, weights):.4f}")
      0.5625
    """

    metric_fn = staticmethod(fn.average_precision)
    takes_item_weights = True


@_documented
class PrecisionAtK(RankingMetric):
    r"""Precision at k, a drop-in for ``keras_rs.metrics.PrecisionAtK``.

    Per list, the share of items with label at least 1 among the top
    ``min(k, n_valid)``; see :func:`jaxrank.metrics.precision_at_k`.

    <common args>

    Examples:
      >>> import numpy as np
      >>> from jaxrank.metrics import PrecisionAtK
      >>> # The mask drops item 1; the top 2 of the rest are items 2 and 3.
      >>> mask = np.array([[True, False, True, True]])
      >>> y_true = {"labels": np.array([[1, 1, 0, 1]]), "mask": mask}
      >>> PrecisionAtK(k=2)(y_true, np.array([[0.1, 0.9, 0.5, 0.3]]))
      Array(0.5, dtype=float32)
    """

    metric_fn = staticmethod(fn.precision_at_k)


@_documented
class RecallAtK(RankingMetric):
    r"""Recall at k, a drop-in for ``keras_rs.metrics.RecallAtK``.

    Per list, the share of the items with label at least 1 found in the top ``k``;
    see :func:`jaxrank.metrics.recall_at_k`.

    <common args>

    Examples:
      >>> import numpy as np
      >>> from jaxrank.metrics import RecallAtK, WeightedMean
      >>> y_true = np.array([[1, 1, 0, 0], [0, 1, 0, 1]])
      >>> y_pred = np.array([[0.1, 0.9, 0.5, 0.3], [0.4, 0.3, 0.2, 0.1]])
      >>> recall, state = RecallAtK(k=2), WeightedMean.empty()
      >>> for i in range(2):  # one list per batch, accumulated
      ...     state = recall.update(state, y_true[i:i + 1], y_pred[i:i + 1])
      >>> print(state.compute(), recall(y_true, y_pred))
      0.5 0.5
    """

    metric_fn = staticmethod(fn.recall_at_k)


@_documented
class ExpectedReciprocalRank(RankingMetric):
    r"""Expected reciprocal rank with keras_rs's calling convention.

    Per list, ERR@k with stop probabilities :math:`(2^y - 1) / 2^{y_\max}`; see
    :func:`jaxrank.metrics.expected_reciprocal_rank`. keras_rs has no ERR: the list
    weights follow its graded metrics, with the gain :math:`2^y - 1` as relevance.

    <common args>
      max_label: the top grade :math:`y_\max` of the label scale, or ``None`` for
        the largest valid label of each list.

    Examples:
      >>> import numpy as np
      >>> from jaxrank.metrics import ExpectedReciprocalRank
      >>> y_true = np.array([[1, 2, 0], [0, 0, 1]])
      >>> y_pred = np.array([[0.9, 0.5, 0.1], [0.9, 0.5, 0.1]])
      >>> # ERR 0.53125 (see the function) and 1/6 (R = 1/2 at rank 3)
      >>> print(f"{ExpectedReciprocalRank()(y_true, y_pred):.4f}")
      0.3490
    """

    metric_fn = staticmethod(fn.expected_reciprocal_rank)

    def __init__(
        self,
        k: int | None = None,
        max_label: float | None = None,
        shuffle_ties: bool = True,
        seed: int | None = None,
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        max_label = None if max_label is None else float(max_label)
        super().__init__(k, shuffle_ties, seed, name, dtype, max_label=max_label)

    def _relevance(self, labels: jax.Array) -> jax.Array:
        return fn.default_gain_fn(labels)


class OrderedPairAccuracy(RankingMetric):
    r"""Ordered pair accuracy with keras_rs's calling convention.

    Per list, the share of the pairs with different labels whose scores are in the
    labels' order (tied scores count as wrong); see
    :func:`jaxrank.metrics.ordered_pair_accuracy`. keras_rs has no OPA: lists are
    averaged with its list weights, relevance being ``label >= 1``. A count, with no
    cut-off and no ties to break.

    Args:
      name: optional name.
      dtype: computation dtype (default float32, as Keras).

    Examples:
      >>> import numpy as np
      >>> from jaxrank.metrics import OrderedPairAccuracy
      >>> y_true = np.array([[2, 0, 1, 0], [1, 0, 0, 0]])
      >>> y_pred = np.array([[0.3, 0.1, 0.2, 0.2], [0.1, 0.2, 0.0, 0.3]])
      >>> print(f"{OrderedPairAccuracy()(y_true, y_pred):.4f}")  # (4/5 + 1/3) / 2
      0.5667
    """

    def __init__(self, name: str | None = None, dtype: Any = None) -> None:
        super().__init__(None, False, None, name, dtype)

    def _values(self, scores, labels, valid, weights, key) -> jax.Array:
        del weights, key  # a count of pairs: no item weights, no ties to break
        return fn.ordered_pair_accuracy(scores, labels, where=valid)

    def _arguments(self) -> dict[str, Any]:
        return {}
