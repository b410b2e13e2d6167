r"""ListMLE: the negative log-likelihood of the label order under a Plackett-Luce model.

Shares the input conventions of the pairwise losses (:mod:`jaxrank._src.losses`) but
produces one loss per list, so its ``reduction="none"`` output has the leading shape
and its weights are per list.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from jaxrank._src.checks import (
    RankingInputs,
    check_reduction,
    check_temperature,
    prepare_inputs,
    weights_kind,
)
from jaxrank._src.reductions import reduce_losses

# keras_rs's constants: the floor inside the log, and the fill of ignored items.
EPSILON = 1e-10
FILL = -1e9


def _sort_by_label(labels, valid, scores):
    """Scores and validity in the order of decreasing label; ties keep list order.

    Ignored items go last. This is keras_rs's own ordering: ``top_k`` over the labels
    with ignored items filled with -1e9, which puts equal labels in list order (it
    does not shuffle ties).
    """
    fill = jnp.full((), FILL, labels.dtype)
    _, order = lax.top_k(jnp.where(valid, labels, fill), labels.shape[-1])
    return (
        jnp.take_along_axis(scores, order, axis=-1),
        jnp.take_along_axis(valid, order, axis=-1),
    )


def _list_losses(scores, labels, valid, temperature):
    """Per-list negative log-likelihoods ``(...)`` with keras_rs's arithmetic."""
    dtype = scores.dtype
    fill = jnp.full((), FILL, dtype)
    logits, ranked_valid = _sort_by_label(labels, valid, scores)
    logits = logits / jnp.asarray(temperature, dtype)
    has_items = jnp.any(valid, axis=-1, keepdims=True)
    top = jnp.max(
        jnp.where(ranked_valid, logits, fill), axis=-1, keepdims=True, initial=fill
    )
    top = jnp.where(has_items, top, jnp.zeros((), dtype))
    # Shifted by the largest logit, exp cannot overflow (the log-sum-exp trick).
    logits = jnp.where(ranked_valid, logits - top, fill)
    tail_sums = jnp.flip(jnp.cumsum(jnp.flip(jnp.exp(logits), -1), axis=-1), -1)
    log_probs = logits - jnp.log(tail_sums + jnp.asarray(EPSILON, dtype))
    log_probs = jnp.where(ranked_valid, log_probs, jnp.zeros((), dtype))
    return -jnp.sum(log_probs, axis=-1)


def _per_list_inputs(inputs: RankingInputs) -> RankingInputs:
    """The inputs viewed as lists of one entry, for :func:`reduce_losses`."""
    dtype = inputs.scores.dtype
    shape = inputs.scores.shape[:-1] + (1,)
    # A list's weight is on each of its items (an empty list's loss is 0 anyway).
    has_items = inputs.scores.shape[-1] > 0
    return inputs._replace(
        scores=jnp.zeros(shape, dtype),
        labels=jnp.zeros(shape, dtype),
        valid=jnp.ones(shape, bool),
        weights=inputs.weights[..., :1] if has_items else jnp.ones(shape, dtype),
    )


def list_mle_loss(
    scores: jax.Array,
    labels: jax.Array,
    *,
    where: jax.Array | None = None,
    weights: jax.Array | None = None,
    temperature: float = 1.0,
    reduction: str | None = "sum_over_batch_size",
) -> jax.Array:
    r"""ListMLE loss, with the numbers of ``keras_rs.losses.ListMLELoss``.

    Order each list's valid items by decreasing label, :math:`\pi(1), \pi(2), \dots,
    \pi(m)`. The loss is the negative log-probability of that order when items are
    drawn one at a time with probability proportional to :math:`e^{s/T}`:

    .. math::

        L = -w \sum_{k=1}^{m} \Bigl(z_k - \log\bigl(\epsilon
            + \textstyle\sum_{l \ge k} e^{z_l}\bigr)\Bigr), \qquad
        z_k = \frac{s_{\pi(k)}}{T} - \max_l \frac{s_{\pi(l)}}{T},

    with keras_rs's :math:`\epsilon = 10^{-10}`. Subtracting the maximum makes every
    exponential at most 1 (the log-sum-exp trick); the :math:`\epsilon` floor is
    keras_rs's, kept so the numbers agree (it bounds each term when scores span more
    than about 23/T). Cost: one sort and a reverse cumulative sum, :math:`O(n \log
    n)` time and :math:`O(n)` memory per list; the gradient is plain autodiff of
    that computation, also :math:`O(n)`.

    Conventions: **ties** in labels keep their order in the list (the first-listed
    item is drawn first), which is also what keras_rs does on the JAX backend; a
    list with tied labels therefore has one of the orders consistent with its
    labels, not an average over them. Ignored items (label < 0 or ``where`` False)
    are left out; a list with no valid item has loss 0; a NaN or infinite score on
    a valid item makes its list's loss NaN.

    Args:
      scores: ``(..., n)`` floating scores; the last axis is the list.
      labels: ``(..., n)`` relevance labels (integer or float); negative = ignore.
      where: optional ``(..., n)`` boolean mask; False = ignore the item.
      weights: optional scalar or per-list ``(...)``/``(..., 1)`` weights (per-item
        weights have no meaning for a per-list loss and are refused, as in keras_rs).
      temperature: static Python float > 0 that divides the scores.
      reduction: ``"sum_over_batch_size"`` (default) or ``"mean"`` (both divide by
        the number of lists), ``"sum"``, ``"mean_with_sample_weight"``,
        ``"none"``/``None`` (per-list losses of the leading shape).

    Returns:
      A scalar, or per-list losses of shape ``scores.shape[:-1]`` for
      ``reduction="none"``.

    Raises:
      TypeError, ValueError: at trace time, for inputs of the wrong dtype or shape,
        per-item weights, a non-positive temperature or an unknown reduction.

    Examples:
      >>> import jax.numpy as jnp
      >>> import jaxrank
      >>> labels = jnp.array([[3.0, 2.0, 1.0, 0.0], [0.0, 1.0, 2.0, -1.0]])
      >>> scores = jnp.array([[0.8, 0.6, 0.4, 0.2], [1.0, 1.8, 2.0, 5.0]])
      >>> jaxrank.list_mle_loss(scores, labels, reduction="none")
      Array([2.6211944, 1.1534532], dtype=float32)

    References:
      keras_rs ``ListMLELoss``; Xia et al., *Listwise approach to learning to rank:
      theory and algorithm* (2008).
    """
    temperature = check_temperature(temperature)
    reduction = check_reduction(reduction)
    inputs = prepare_inputs(scores, labels, where=where, weights=weights)
    shape = inputs.scores.shape
    if (
        weights is not None
        and shape[-1] != 1
        and weights_kind(weights, shape) == "item"
    ):
        raise ValueError(
            "`weights` of `list_mle_loss` must be a scalar or per list "
            f"{shape[:-1]} or {shape[:-1] + (1,)}; received per-item shape "
            f"{tuple(jnp.shape(weights))}."
        )
    losses = _list_losses(inputs.scores, inputs.labels, inputs.valid, temperature)
    reduced = reduce_losses(losses[..., None], _per_list_inputs(inputs), reduction)
    return reduced[..., 0] if reduction == "none" else reduced
