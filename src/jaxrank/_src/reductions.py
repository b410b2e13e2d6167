"""Weighting and reduction of per-item ranking losses, with Keras's reduction names.

With per-item losses :math:`\\ell_i` (already zero for invalid items) and per-item
weights :math:`w_i` (a per-list or scalar weight broadcast over its list):

* ``"none"`` returns :math:`w_i \\ell_i` in the scores' shape;
* ``"sum"`` returns :math:`\\sum_i w_i \\ell_i`;
* ``"sum_over_batch_size"`` and ``"mean"`` divide that sum by the number of per-item
  entries (masked and invalid items included, as Keras counts them);
* ``"mean_with_sample_weight"`` divides it by the sum of the weights *as given* (a
  scalar counts once, a per-list weight once per list) and equals
  ``"sum_over_batch_size"`` when no weights are given.

A zero divisor (an empty batch, or weights summing to 0) gives 0, never NaN.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from jaxrank._src.checks import RankingInputs, check_reduction


def _divide_no_nan(numerator: jax.Array, denominator: jax.Array) -> jax.Array:
    zero = denominator == 0
    safe = jnp.where(zero, jnp.ones_like(denominator), denominator)
    return jnp.where(zero, jnp.zeros_like(numerator), numerator / safe)


def reduce_losses(
    item_losses: jax.Array, inputs: RankingInputs, reduction: str | None
) -> jax.Array:
    """Weights ``item_losses`` and reduces them as ``reduction`` says.

    Args:
      item_losses: ``(..., n)`` unweighted per-item losses.
      inputs: the :class:`~jaxrank._src.checks.RankingInputs` they were computed from.
      reduction: one of the names in the module docstring, or ``None``.

    Returns:
      The per-item weighted losses for ``"none"``, else a scalar.
    """
    reduction = check_reduction(reduction)
    zero = jnp.zeros((), item_losses.dtype)
    weighted = jnp.where(inputs.valid, item_losses * inputs.weights, zero)
    weighted = jnp.where(
        inputs.nonfinite_lists[..., None],
        jnp.full((), jnp.nan, weighted.dtype),
        weighted,
    )
    if reduction == "none":
        return weighted
    total = jnp.sum(weighted)
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and inputs.given_weights is not None:
        divisor = jnp.sum(inputs.given_weights)
    else:
        divisor = jnp.asarray(math.prod(weighted.shape), weighted.dtype)
    return _divide_no_nan(total, divisor)
