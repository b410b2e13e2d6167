"""Softmax listwise losses: softmax (ListNet), poly1 softmax and unique softmax.

Each loss is one number per list, or, given ``segments``, one number per segment: a
softmax over a list (or segment) compares every valid item with every other, and no
normaliser crosses a segment. The numbers are rax 0.4.0's (``rax.softmax_loss``,
``rax.poly1_softmax_loss``, ``rax.unique_softmax_loss``), with jaxrank's conventions
(:mod:`jaxrank.losses`) for ignored items (a negative label or a False ``where``),
empty lists (0, gradient 0) and non-finite scores (NaN for the list, or with
``segments`` for the segment, gradient 0).

Layout of the unreduced losses (``reduction="none"``): the leading shape ``(...)``,
one loss per list; with ``segments``, the scores' shape ``(..., n)``, each segment's
loss at its first valid item and 0 elsewhere (rax's layout).

Reductions: ``"sum"`` is rax's ``reduce_fn=jnp.sum``. ``"mean"`` is rax's default
``jnp.mean``: the sum divided by the number of lists (or segments) with at least one
valid item; lists without one count in neither rax's mean nor ours.
``"sum_over_batch_size"`` divides by the number of entries of the unreduced losses,
as Keras does; ``"mean_with_sample_weight"`` by the sum of the weights as given.

Weights are rax's: for the softmax and poly1 losses they multiply the labels before
``label_fn`` and the normalisation (so a per-list weight scales the loss with the
default ``label_fn``, and cancels in poly1's normalised target); for the unique
softmax they multiply each item's term. Cost: :math:`O(n)` memory per list; per-segment
maxima and sums go through :mod:`jaxrank._src.segments`, never an ``(n, n)`` mask.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax import lax
from jax.typing import ArrayLike

from jaxrank._src import checks, ranking, segments
from jaxrank._src.eager_cache import cached_jit
from jaxrank._src.inputs import RankingInputs, finite_scores, prepare_inputs
from jaxrank._src.metrics import default_gain_fn
from jaxrank._src.positions import inverse_permutation, positions_like, run_starts
from jaxrank._src.reductions import reduce_losses
from jaxrank._src.running_totals import log_cumsum_exp
from jaxrank._src.types import Reduction

_ARGS = """scores: ``(..., n)`` floating scores; the last axis is the list.
      labels: ``(..., n)`` relevance labels (integer or float); negative = ignore.
      where: optional ``(..., n)`` boolean mask; False = ignore the item.
      weights: optional scalar, per-list ``(...)``/``(..., 1)`` or per-item
        ``(..., n)`` weights (module docstring for what they multiply).
      segments: optional ``(..., n)`` integer segment ids: items of one list with
        equal ids form one sub-list with a loss of its own.
      reduction: ``"sum_over_batch_size"`` (default), ``"mean"`` (rax's mean over
        non-empty lists or segments), ``"sum"``, ``"mean_with_sample_weight"`` or
        ``"none"``/``None``."""
_RETURNS = """A scalar, or for ``reduction="none"`` per-list losses of the leading
      shape (with ``segments``: the scores' shape, each segment's loss at its first
      valid item)."""


def _documented(fn):
    fn.__doc__ = fn.__doc__.format(args=_ARGS, returns=_RETURNS)
    return fn


class _Prepared:
    """Checked inputs of a softmax loss: finite scores, targets and segment ids."""

    def __init__(self, scores, labels, where, weights, segments_):
        self.inputs: RankingInputs = prepare_inputs(
            scores, labels, where=where, weights=weights, exact_label_order=True
        )
        self.scores, self.nonfinite = finite_scores(self.inputs)
        given = checks.check_segments(segments_, self.scores)
        self.ids = None if given is None else segments.dense_ids(given)
        self.valid = self.inputs.valid
        self.zero = jnp.zeros((), self.scores.dtype)

    def masked(self, x: jax.Array) -> jax.Array:
        return jnp.where(self.valid, x, self.zero)

    def in_group(self, reduce, x: jax.Array) -> jax.Array:
        """``reduce`` (``"sum"`` or ``"max"``) of ``x`` over each item's list or
        segment, at every item."""
        if self.ids is None:
            if reduce == "sum":
                total = jnp.sum(x, axis=-1, keepdims=True)
            else:
                total = jnp.max(x, axis=-1, keepdims=True, initial=-jnp.inf)
            return jnp.broadcast_to(total, x.shape)
        op = segments.segment_sum if reduce == "sum" else segments.segment_max
        return op(x, self.ids)

    def log_softmax(self) -> jax.Array:
        """Log-softmax of the valid scores within each list or segment (0 at ignored
        items)."""
        top = self.in_group("max", jnp.where(self.valid, self.scores, -jnp.inf))
        # Any shift leaves the log-softmax unchanged; the largest valid score keeps
        # every exponential at most 1 and the normaliser at least 1.
        top = lax.stop_gradient(jnp.where(jnp.isfinite(top), top, self.zero))
        shifted = self.masked(self.scores - top)
        normaliser = self.in_group("sum", self.masked(jnp.exp(shifted)))
        normaliser = jnp.where(self.valid, normaliser, jnp.ones((), self.zero.dtype))
        return self.masked(shifted - jnp.log(normaliser))

    def weighted_labels(self) -> jax.Array:
        return self.masked(self.inputs.labels * self.inputs.weights)

    def totals(self, item_terms: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Per-list (or per-segment) sums of ``item_terms``, and the bool of the
        entries that hold a non-empty list's (or segment's) loss."""
        if self.ids is None:
            return jnp.sum(item_terms, axis=-1), jnp.any(self.valid, axis=-1)
        first = segments.first_valid_item(self.ids, self.valid)
        return segments.segment_totals(item_terms, self.ids, self.valid), first

    def reduce(self, losses, counted, reduction) -> jax.Array:
        nonfinite = self.nonfinite
        if self.ids is not None:  # each segment's loss sits at its first valid item
            nonfinite = counted & segments.holds_nonfinite(self.inputs.scores, self.ids)
        return reduce_losses(
            losses,
            reduction,
            weights=jnp.ones(losses.shape, losses.dtype),
            nonfinite=nonfinite,
            weight_sum=self.inputs.weight_sum,
            mean_count=jnp.sum(counted),
        )


@cached_jit
@_documented
def softmax_loss(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    segments: ArrayLike | None = None,
    label_fn: Callable[..., ArrayLike] | None = None,
    reduction: Reduction | None = "sum_over_batch_size",
) -> jax.Array:
    r"""Softmax (ListNet) cross-entropy loss, with the numbers of ``rax.softmax_loss``.

    With targets :math:`t = \operatorname{{label\_fn}}(w \odot y)` over the valid
    items of a list (or segment),

    .. math::

        L = -\sum_i t_i \log \frac{{e^{{s_i}}}}{{\sum_j e^{{s_j}}}}.

    ``label_fn`` defaults to the identity (rax's default: raw labels, not a
    distribution); ``rax.utils.normalize_probabilities`` or any
    ``fn(labels, where=valid)`` of the same shape can turn them into one. It is
    called once on the whole ``(..., n)`` array, as rax calls it, also with
    ``segments``. The log-softmax subtracts each list's (segment's) largest valid
    score; the gradient is plain autodiff, :math:`O(n)` per list.

    Args:
      {args}
      label_fn: optional ``fn(labels, *, where)`` mapping the weighted labels
        (0 at ignored items) to targets of the same shape.

    Returns:
      {returns}

    Raises:
      TypeError, ValueError: at trace time, for inputs of the wrong dtype or shape,
        a ``label_fn`` that is not callable or changes the shape, or an unknown
        reduction.

    Examples:
      >>> import jax.numpy as jnp
      >>> import jaxrank
      >>> scores = jnp.array([[2.0, 1.0, 0.0], [0.0, 0.0, 5.0]])
      >>> labels = jnp.array([[1.0, 0.0, 0.0], [1.0, 1.0, -1.0]])
      >>> jaxrank.softmax_loss(scores, labels, reduction="none")
      Array([0.40760595, 1.3862944 ], dtype=float32)

    References:
      rax ``softmax_loss``; Cao et al., *Learning to rank: from pairwise approach to
      listwise approach* (2007).
    """
    reduction = checks.check_reduction(reduction)
    if label_fn is not None:
        checks.check_function("label_fn", label_fn, "None or a function")
    p = _Prepared(scores, labels, where, weights, segments)
    targets = p.weighted_labels()
    if label_fn is not None:
        targets = checks.check_elementwise(
            "label_fn", lambda x: label_fn(x, where=p.valid), targets
        )
        targets = p.masked(targets)
    losses, counted = p.totals(-targets * p.log_softmax())
    return p.reduce(losses, counted, reduction)


@cached_jit
@_documented
def poly1_softmax_loss(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    segments: ArrayLike | None = None,
    epsilon: float = 1.0,
    reduction: Reduction | None = "sum_over_batch_size",
) -> jax.Array:
    r"""Poly-1 softmax loss, with the numbers of ``rax.poly1_softmax_loss``.

    The softmax loss (identity ``label_fn``) plus :math:`\epsilon` times one minus
    the probability the softmax gives the normalised target:

    .. math::

        L = L_{{\text{{softmax}}}} + \epsilon\,(1 - p_t), \qquad
        p_t = \sum_i \frac{{w_i y_i}}{{\sum_j w_j y_j}}
              \frac{{e^{{s_i}}}}{{\sum_j e^{{s_j}}}},

    sums over the valid items of a list (or segment). A list whose weighted labels
    sum to 0 takes the uniform target :math:`1/m` over its :math:`m` valid items
    (rax's rule); a list without valid items has :math:`L = 0`.

    Args:
      {args}
      epsilon: static finite float, the weight of the poly-1 term (rax's default 1).

    Returns:
      {returns}

    Raises:
      TypeError, ValueError: at trace time, for inputs of the wrong dtype or shape,
        a non-finite ``epsilon`` or an unknown reduction.

    Examples:
      >>> import jax.numpy as jnp
      >>> import jaxrank
      >>> scores = jnp.array([2.0, 1.0, 0.0])
      >>> labels = jnp.array([1.0, 0.0, 0.0])
      >>> print(f"{{jaxrank.poly1_softmax_loss(scores, labels, epsilon=0.5):.4f}}")
      0.5750

    References:
      rax ``poly1_softmax_loss``; Leng et al., *PolyLoss: a polynomial expansion
      perspective of classification loss functions* (2022).
    """
    reduction = checks.check_reduction(reduction)
    epsilon = checks.check_finite_number("epsilon", epsilon)
    p = _Prepared(scores, labels, where, weights, segments)
    targets = p.weighted_labels()
    log_probs = p.log_softmax()
    dtype = targets.dtype
    target_sum = p.in_group("sum", targets)
    count = p.in_group("sum", p.valid.astype(dtype))
    uniform = 1 / jnp.where(p.valid, count, jnp.ones((), dtype))
    safe_sum = jnp.where(target_sum != 0, target_sum, jnp.ones((), dtype))
    normalised = p.masked(jnp.where(target_sum != 0, targets / safe_sum, uniform))
    cross_entropy, counted = p.totals(-targets * log_probs)
    target_prob, _ = p.totals(normalised * p.masked(jnp.exp(log_probs)))
    poly = jnp.where(counted, 1 - target_prob, jnp.zeros((), dtype))
    return p.reduce(cross_entropy + epsilon * poly, counted, reduction)


def _unique_softmax_terms(scores, label_keys, valid, ids):
    r"""Per item :math:`\log(1 + \sum_{j: y_j < y_i} e^{s_j - s_i})` over the valid
    items ``j`` of the item's list (segment), 0 when no label is lower, in
    :math:`O(n \log n)` time and :math:`O(n)` memory; in the order of the returned
    :class:`jaxrank._src.ranking.Ranked` (``take_along_axis(x, ranked.order, -1)``
    puts ``x`` in that order).

    Items sorted by (segment, ignored last, increasing label) put every lower label
    of a segment before an item's tie group; a running log-sum-exp restarted at each
    segment (:func:`jaxrank._src.running_totals.log_cumsum_exp`, no loop) then gives the
    sum over lower labels at the position before that group.
    """
    ranked = ranking.rank_sort(-label_keys, valid, segments=ids)
    keys, ranked_valid, runs = ranked.keys, ranked.valid, ranked.segments
    # A gather, not one more operand of the sort: each swap would move it too.
    s = jnp.take_along_axis(scores, ranked.order, axis=-1)
    lse = log_cumsum_exp(jnp.where(ranked_valid, s, 0.0), runs)
    axis = s.ndim - 1
    position = positions_like(s)
    new_tie = run_starts(keys) if runs is None else run_starts(keys, runs)
    # The first position of each item's tie group (and of its run): no constant
    # array is scanned, so the compiler has nothing to fold.
    tie_start = lax.cummax(jnp.where(new_tie, position, 0), axis=axis)
    if runs is None:
        has_lower = ranked_valid & (tie_start > 0)
    else:
        run_start = lax.cummax(jnp.where(run_starts(runs), position, 0), axis=axis)
        has_lower = ranked_valid & (tie_start > run_start)
    lower = jnp.take_along_axis(lse, jnp.maximum(tie_start - 1, 0), axis=-1)
    gap = jnp.where(has_lower, lower - s, 0.0)
    return jnp.where(has_lower, jax.nn.softplus(gap), 0.0), ranked


@cached_jit
@_documented
def unique_softmax_loss(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    segments: ArrayLike | None = None,
    gain_fn: Callable[[jax.Array], ArrayLike] | None = default_gain_fn,
    reduction: Reduction | None = "sum_over_batch_size",
) -> jax.Array:
    r"""Unique softmax loss, with the numbers of ``rax.unique_softmax_loss``.

    Each valid item competes only with the valid items of lower label in its list
    (or segment):

    .. math::

        L = -\sum_i w_i\,g(y_i) \log \frac{{e^{{s_i}}}}
            {{e^{{s_i}} + \sum_{{j:\,y_j < y_i}} e^{{s_j}}}}
          = \sum_i w_i\,g(y_i)\,\operatorname{{softplus}}\Bigl(
            \log \sum_{{j:\,y_j < y_i}} e^{{s_j}} - s_i\Bigr),

    with the gain :math:`g(y) = 2^y - 1` by default (``gain_fn=None``: no gain). An
    item with no lower label adds 0. Computed from one sort by label and a running
    log-sum-exp in blocks (each prefix shifted by its own largest term; no loop on
    any platform), :math:`O(n \log n)` time and :math:`O(n)` memory per list (rax
    builds ``(n, n)`` arrays); the gradient is plain autodiff of that computation.
    Labels are compared exactly (:mod:`jaxrank.losses`), ties form no pair.

    Args:
      {args}
      gain_fn: elementwise gain of the labels, or None for none.

    Returns:
      {returns}

    Raises:
      TypeError, ValueError: at trace time, for inputs of the wrong dtype or shape,
        a ``gain_fn`` that is not elementwise, or an unknown reduction.

    Examples:
      >>> import jax.numpy as jnp
      >>> import jaxrank
      >>> scores = jnp.array([1.0, 2.0, 0.0])
      >>> labels = jnp.array([2.0, 1.0, 0.0])
      >>> print(f"{{jaxrank.unique_softmax_loss(scores, labels, reduction='sum'):.4f}}")
      4.3497

    References:
      rax ``unique_softmax_loss``; Zhu and Klabjan, *Listwise learning to rank by
      exploring unique ratings* (2020).
    """
    reduction = checks.check_reduction(reduction)
    if gain_fn is not None:
        checks.check_function("gain_fn", gain_fn, "None or a function")
    p = _Prepared(scores, labels, where, weights, segments)
    factors = p.masked(p.inputs.weights)
    if gain_fn is not None:
        gains = checks.check_elementwise("gain_fn", gain_fn, p.inputs.labels)
        factors = factors * p.masked(gains)
    ranked_terms, ranked = _unique_softmax_terms(
        p.scores, p.inputs.label_keys, p.valid, p.ids
    )
    if p.ids is None:
        # Summed in rank order: the factors are permuted, not the terms (whose
        # permutation would cost a second sort, and a scatter in the gradient).
        ranked_factors = jnp.take_along_axis(factors, ranked.order, axis=-1)
        losses = jnp.sum(ranked_terms * ranked_factors, axis=-1)
        # Valid items come first: a list has one if its first ranked item is.
        return p.reduce(losses, jnp.any(ranked.valid[..., :1], axis=-1), reduction)
    in_list_order = inverse_permutation(ranked.order)
    terms = jnp.take_along_axis(ranked_terms, in_list_order, axis=-1)
    losses, counted = p.totals(terms * factors)
    return p.reduce(losses, counted, reduction)
