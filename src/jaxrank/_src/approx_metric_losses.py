r"""Ready losses from metrics with smooth ranks: ApproxNDCG and ApproxMRR.

Each has the values of :func:`jaxrank.approx_t12n` of a metric of
:mod:`jaxrank.metrics` (the negated metric with the sigmoid ranks of
:func:`jaxrank.approx_ranks`), with the losses' signature and reductions, and the
ranks' hand-written gradient (:mod:`jaxrank._src.approx_ranks`): reverse mode only,
like the pairwise losses' (``jax.grad``, ``jax.jacrev`` and ``jax.hessian`` work,
``jax.jvp`` does not). The loss is per list (per segment with
``segments``), so ``weights`` are per list, as for :func:`jaxrank.list_mle_loss`:

* ``"none"`` returns the weighted per-list losses ``(...)``; with ``segments``,
  ``(..., n)`` holding each segment's loss at its first valid item and 0 elsewhere
  (the metrics' layout);
* ``"sum"`` sums them; ``"sum_over_batch_size"`` and ``"mean"`` divide the sum by
  the number of lists, or with ``segments`` by the number of segments with a valid
  item (rax's mean); ``"mean_with_sample_weight"`` by the sum of the weights as
  given.

The values are rax 0.4.0's ``approx_t12n(ndcg_metric)`` / ``approx_t12n(mrr_metric)``
per list. Ignored items (negative label, ``where`` False) take part in no pair; a
list without a relevant item has loss 0 and gradient 0.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxrank._src import checks, metrics
from jaxrank._src.approx_ranks import reverse_mode_approx_ranks
from jaxrank._src.eager_cache import cached_jit
from jaxrank._src.inputs import prepare_inputs
from jaxrank._src.numerics import safe_divide
from jaxrank._src.reductions import reduce_losses
from jaxrank._src.segments import dense_ids, first_valid_item
from jaxrank._src.types import Reduction


def _approx_metric_loss(
    metric_fn, scores, labels, where, weights, segments, reduction, temperature, block
):
    temperature = checks.check_temperature(temperature)
    reduction = checks.check_reduction(reduction)
    block = checks.check_positive_int("block_size", block)
    inputs = prepare_inputs(scores, labels, where=where, weights=weights)
    checks.check_list_weights(weights, inputs.scores.shape)
    segments = checks.check_segments(segments, inputs.scores)
    rank_fn = functools.partial(
        reverse_mode_approx_ranks, temperature=temperature, block_size=block
    )
    # approx_t12n(metric_fn) without its cut-off hook, which keeps every item
    # when there is no `k`.
    losses = -metric_fn(scores, labels, where=where, segments=segments, rank_fn=rank_fn)
    if segments is None:
        n = inputs.scores.shape[-1]
        list_weights = inputs.weights[..., 0] if n > 0 else jnp.ones_like(losses)
        return reduce_losses(
            losses, reduction, weights=list_weights, weight_sum=inputs.weight_sum
        )
    first = first_valid_item(dense_ids(segments), inputs.valid)
    if reduction not in ("sum_over_batch_size", "mean"):
        return reduce_losses(
            losses,
            reduction,
            weights=inputs.weights,
            valid=first,
            weight_sum=inputs.weight_sum,
        )
    total = reduce_losses(losses, "sum", weights=inputs.weights, valid=first)
    return safe_divide(total, jnp.sum(first).astype(total.dtype))


_ARGS = """scores: ``(..., n)`` floating scores; the last axis is the list.
      labels: ``(..., n)`` relevance labels; negative = ignore.
      where: optional ``(..., n)`` boolean mask; False = ignore the item.
      weights: optional scalar or per-list ``(...)``/``(..., 1)`` weights
        multiplying each list's loss (per-item weights are refused).
      segments: optional ``(..., n)`` integer ids; items with equal ids form one
        sub-list with a loss of its own.
      reduction: ``"sum_over_batch_size"`` (default) or ``"mean"``, ``"sum"``,
        ``"mean_with_sample_weight"``, ``"none"``/``None`` (module docstring).
      temperature: static float > 0 of the sigmoid ranks.
      block_size: static rows per block of the rank sums, or None to choose."""


def _documented(fn):
    fn.__doc__ = fn.__doc__.replace("<args>", _ARGS)
    return fn


@cached_jit
@_documented
def approx_ndcg_loss(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    segments: ArrayLike | None = None,
    reduction: Reduction | None = "sum_over_batch_size",
    temperature: float = 1.0,
    block_size: int | None = None,
) -> jax.Array:
    r"""ApproxNDCG: the negated NDCG of each list with smooth ranks.

    .. math::

        L = -\frac{1}{\mathrm{IDCG}} \sum_i \frac{2^{y_i} - 1}{\log_2(1 + \hat r_i)},
        \qquad
        \hat r_i = 1 + \sum_{j \ne i} \sigma\Bigl(\frac{s_j - s_i}{T}\Bigr),

    over the valid items of the list (segment), with the exact ideal DCG
    (:func:`jaxrank.metrics.ndcg`); 0 when the IDCG is 0. The pair sums run in
    blocks of rows (:math:`O(n \cdot \text{block})` memory in both passes).

    Args:
      <args>

    Returns:
      A scalar, or the per-list (per-segment) losses for ``reduction="none"``.

    Examples:
      >>> import jax.numpy as jnp
      >>> import jaxrank
      >>> scores = jnp.array([[0.0, 1.0, 3.0, 2.0], [1.0, 2.0, 0.0, 0.5]])
      >>> labels = jnp.array([[0.0, 0.0, 1.0, 2.0], [1.0, 0.0, 0.0, 0.0]])
      >>> jaxrank.approx_ndcg_loss(scores, labels, reduction="none")
      Array([-0.71789175, -0.56948483], dtype=float32)

    References:
      Qin, Liu and Li, *A general approximation framework for direct optimization
      of information retrieval measures* (2010); rax ``approx_t12n(ndcg_metric)``.
    """
    return _approx_metric_loss(
        metrics.ndcg,
        scores,
        labels,
        where,
        weights,
        segments,
        reduction,
        temperature,
        block_size,
    )


@cached_jit
@_documented
def approx_mrr_loss(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    segments: ArrayLike | None = None,
    reduction: Reduction | None = "sum_over_batch_size",
    temperature: float = 1.0,
    block_size: int | None = None,
) -> jax.Array:
    r"""ApproxMRR: the negated reciprocal rank of each list with smooth ranks.

    .. math::

        L = -\max_i \frac{[y_i \ge 1]}{\hat r_i}, \qquad
        \hat r_i = 1 + \sum_{j \ne i} \sigma\Bigl(\frac{s_j - s_i}{T}\Bigr),

    over the valid items of the list (segment); 0 without a relevant item. The
    gradient flows through the best relevant item's smooth rank.

    Args:
      <args>

    Returns:
      A scalar, or the per-list (per-segment) losses for ``reduction="none"``.

    Examples:
      >>> import jax.numpy as jnp
      >>> import jaxrank
      >>> scores = jnp.array([0.0, 1.0, 3.0, 2.0])
      >>> labels = jnp.array([0.0, 0.0, 1.0, 2.0])
      >>> print(jaxrank.approx_mrr_loss(scores, labels))
      -0.6965873

    References:
      rax ``approx_t12n(mrr_metric)``.
    """
    return _approx_metric_loss(
        metrics.reciprocal_rank,
        scores,
        labels,
        where,
        weights,
        segments,
        reduction,
        temperature,
        block_size,
    )
