"""Pointwise losses: each valid item's score against its own label.

The numbers are rax 0.4.0's (``rax.pointwise_sigmoid_loss``,
``rax.pointwise_mse_loss``) with jaxrank's conventions (:mod:`jaxrank.losses`):
ignored items (negative label or False ``where``) have loss 0; a non-finite score on
a valid item makes its whole list (with ``segments``, its segment) NaN, with gradient
0 (rax returns NaN for that item only); weights multiply the per-item losses. Apart
from that, ``segments`` has no effect: no item's loss depends on another's (as in
rax).

Reductions: ``"none"`` returns per-item losses of the scores' shape; ``"sum"`` is
rax's ``reduce_fn=jnp.sum``; ``"mean"`` is rax's default ``jnp.mean``: the sum over
the number of *valid* items; ``"sum_over_batch_size"`` divides by the number of
items, ignored ones included, as Keras does; ``"mean_with_sample_weight"`` by the sum
of the weights as given. The gradients are plain autodiff, :math:`O(n)`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxrank._src import checks
from jaxrank._src.eager_cache import cached_jit
from jaxrank._src.inputs import finite_scores, prepare_inputs
from jaxrank._src.reductions import reduce_losses
from jaxrank._src.segments import dense_ids, holds_nonfinite
from jaxrank._src.types import Reduction

_ARGS = """scores: ``(..., n)`` floating scores; the last axis is the list.
      labels: ``(..., n)`` labels (integer or float); negative = ignore.
      where: optional ``(..., n)`` boolean mask; False = ignore the item.
      weights: optional scalar, per-list ``(...)``/``(..., 1)`` or per-item
        ``(..., n)`` weights (or any shape broadcasting to the scores')
        multiplying the per-item losses.
      segments: optional ``(..., n)`` integer segment ids; only a non-finite score
        reaches beyond its item (to its segment instead of its list).
      reduction: ``"sum_over_batch_size"`` (default), ``"mean"`` (over the valid
        items, rax's mean), ``"sum"``, ``"mean_with_sample_weight"`` or
        ``"none"``/``None`` (per-item losses)."""


def _documented(fn):
    fn.__doc__ = fn.__doc__.format(args=_ARGS)
    return fn


def _pointwise_loss(item_loss, scores, labels, where, weights, segments, reduction):
    """``item_loss(scores, labels)`` at every valid item, weighted and reduced."""
    reduction = checks.check_reduction(reduction)
    inputs = prepare_inputs(scores, labels, where=where, weights=weights)
    kernel_scores, nonfinite = finite_scores(inputs)
    segments = checks.check_segments(segments, kernel_scores)
    nonfinite = nonfinite[..., None]
    if segments is not None:
        nonfinite = holds_nonfinite(inputs.scores, dense_ids(segments))
    losses = item_loss(kernel_scores, inputs.labels)
    return reduce_losses(
        losses,
        reduction,
        weights=inputs.weights,
        valid=inputs.valid,
        nonfinite=nonfinite,
        weight_sum=inputs.weight_sum,
        mean_count=jnp.sum(inputs.valid),
    )


def _sigmoid_cross_entropy(scores, labels):
    # -y log(sigmoid(s)) - (1 - y) log(1 - sigmoid(s)), without overflow.
    labels = jnp.clip(labels, 0, 1)
    return jax.nn.relu(scores) - scores * labels + jnp.log1p(jnp.exp(-jnp.abs(scores)))


@cached_jit
@_documented
def pointwise_sigmoid_loss(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    segments: ArrayLike | None = None,
    reduction: Reduction | None = "sum_over_batch_size",
) -> jax.Array:
    r"""Sigmoid cross-entropy of each score against its label, as
    ``rax.pointwise_sigmoid_loss``.

    With labels clipped to :math:`[0, 1]` (rax's rule) and :math:`\sigma` the
    logistic sigmoid,

    .. math::

        \ell_i = -w_i\bigl(y_i \log \sigma(s_i) + (1 - y_i) \log(1 - \sigma(s_i))\bigr)
               = w_i\bigl(\max(s_i, 0) - s_i y_i + \log(1 + e^{{-|s_i|}})\bigr),

    the right-hand form neither overflows nor loses digits.

    Args:
      {args}

    Returns:
      A scalar, or per-item losses of the scores' shape for ``reduction="none"``.

    Raises:
      TypeError, ValueError: at trace time, for inputs of the wrong dtype or shape,
        or an unknown reduction.

    Examples:
      >>> import jax.numpy as jnp
      >>> import jaxrank
      >>> jaxrank.pointwise_sigmoid_loss(
      ...     jnp.array([0.0, 2.0, -1.0]), jnp.array([1.0, 0.0, -1.0]),
      ...     reduction="none")
      Array([0.6931472, 2.126928 , 0.       ], dtype=float32)
    """
    return _pointwise_loss(
        _sigmoid_cross_entropy, scores, labels, where, weights, segments, reduction
    )


def _squared_error(scores, labels):
    return jnp.square(scores - labels)


@cached_jit
@_documented
def pointwise_mse_loss(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    segments: ArrayLike | None = None,
    reduction: Reduction | None = "sum_over_batch_size",
) -> jax.Array:
    r"""Squared error of each score against its label, as ``rax.pointwise_mse_loss``.

    .. math:: \ell_i = w_i (s_i - y_i)^2

    Args:
      {args}

    Returns:
      A scalar, or per-item losses of the scores' shape for ``reduction="none"``.

    Raises:
      TypeError, ValueError: at trace time, for inputs of the wrong dtype or shape,
        or an unknown reduction.

    Examples:
      >>> import jax.numpy as jnp
      >>> import jaxrank
      >>> scores, labels = jnp.array([0.5, 2.0, 9.0]), jnp.array([1.0, 0.0, -1.0])
      >>> print(jaxrank.pointwise_mse_loss(scores, labels, reduction="mean"))
      2.125
    """
    return _pointwise_loss(
        _squared_error, scores, labels, where, weights, segments, reduction
    )
