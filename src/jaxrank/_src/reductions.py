"""Weighting and reduction of ranking losses, with Keras's reduction names.

With losses :math:`\\ell_i` (per item, or per list for a listwise loss) and weights
:math:`w_i` (a per-list or scalar weight broadcast over its list):

* ``"none"`` returns :math:`w_i \\ell_i` in the losses' shape;
* ``"sum"`` returns :math:`\\sum_i w_i \\ell_i`;
* ``"sum_over_batch_size"`` and ``"mean"`` divide that sum by the number of entries
  (masked and invalid items included, as Keras counts them);
* ``"mean_with_sample_weight"`` divides it by the sum of the weights *as given* (a
  scalar counts once, a per-list weight once per list) and equals
  ``"sum_over_batch_size"`` when no weights are given.

A zero divisor (an empty batch, or weights summing to 0) gives 0, never NaN, unless the
sum itself is NaN (a list with a non-finite score): NaN stays reported.
"""

from __future__ import annotations

import math

import chex
import jax
import jax.numpy as jnp

from jaxrank._src.numerics import safe_divide


def reduce_losses(
    losses: jax.Array,
    reduction: str,
    *,
    weights: jax.Array,
    valid: jax.Array | None = None,
    nonfinite: jax.Array | None = None,
    weight_sum: jax.Array | None = None,
) -> jax.Array:
    """Weights ``losses`` and reduces them as ``reduction`` says (module docstring).

    Args:
      losses: unweighted losses, any shape.
      reduction: a canonical reduction name (``None`` already made ``"none"``).
      weights: weights of the losses' shape.
      valid: optional bool of the losses' shape; invalid entries count 0 whatever
        their loss or weight.
      nonfinite: optional bool broadcastable to the losses' shape; True entries are
        reported as NaN (a list with a non-finite valid score).
      weight_sum: the divisor of ``"mean_with_sample_weight"``, or None (no weights
        given) to divide by the number of entries.

    Returns:
      The weighted losses for ``"none"``, else a scalar.
    """
    chex.assert_equal_shape([losses, weights])
    zero = jnp.zeros((), losses.dtype)
    weighted = losses * weights
    if valid is not None:
        weighted = jnp.where(valid, weighted, zero)
    if nonfinite is not None:
        weighted = jnp.where(nonfinite, jnp.full((), jnp.nan, losses.dtype), weighted)
    if reduction == "none":
        return weighted
    total = jnp.sum(weighted)
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and weight_sum is not None:
        divisor = weight_sum
    else:
        divisor = jnp.asarray(math.prod(weighted.shape), weighted.dtype)
    # The fill is no function of `total` to differentiate: the gradient stays 0.
    nan = jnp.full((), jnp.nan, total.dtype)
    return safe_divide(total, divisor, if_zero=jnp.where(jnp.isnan(total), nan, zero))
