"""One preparation of the arrays every loss and metric takes.

:func:`prepare_inputs` checks ``scores``, ``labels``, ``where`` and ``weights`` (with
the checks module) and returns them normalised, with the conventions of
:mod:`jaxrank.losses` and :mod:`jaxrank.metrics`:

* the list is the last axis; any leading axes are batch axes;
* an item is *valid* when its label is ``>= 0`` and its ``where`` entry is True;
* invalid items' scores and labels are replaced by 0 with a select, so an
  ``inf``/``NaN`` padding value can reach neither a value nor a gradient;
* 16-bit scores are computed in float32; labels and weights are cast to the compute
  dtype explicitly, so the code runs under ``jax_numpy_dtype_promotion="strict"``.

Valid items keep their scores, non-finite ones included: a metric ranks ``inf``
first, while a loss (:func:`finite_scores`) reports such a list as NaN.
"""

from __future__ import annotations

from typing import NamedTuple

import chex
import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxrank._src import checks


class RankingInputs(NamedTuple):
    """Validated inputs, every array of the scores' shape ``(..., n)``.

    Attributes:
      scores: scores in the compute dtype; invalid items' scores are 0.
      labels: labels in the compute dtype; invalid items' labels are 0.
      valid: bool, True where the item takes part.
      weights: per-item weights in the compute dtype, the given scalar or per-list
        weights broadcast over their lists (ones if none were given).
      weight_sum: the sum of the weights *as given* (a scalar counts once, a per-list
        weight once per list), or None when none were given: the divisor of the
        ``"mean_with_sample_weight"`` reduction.
    """

    scores: jax.Array
    labels: jax.Array
    valid: jax.Array
    weights: jax.Array
    weight_sum: jax.Array | None


def prepare_inputs(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> RankingInputs:
    """Validates the arrays of a loss or metric and returns them normalised.

    Args:
      scores: ``(..., n)`` floating scores.
      labels: ``(..., n)`` real labels; a label ``< 0`` marks an item to ignore.
      where: optional ``(..., n)`` boolean mask; False marks an item to ignore.
      weights: optional scalar, per-item ``(..., n)`` or per-list ``(...)``/``(..., 1)``
        weights.

    Returns:
      A :class:`RankingInputs`.

    Raises:
      TypeError, ValueError: naming the argument and what was received.
    """
    scores = checks.check_scores(scores)
    labels = checks.check_labels(labels, scores)
    dtype = checks.compute_dtype(scores.dtype)
    zero = jnp.zeros((), dtype)
    labels = labels.astype(dtype)
    valid = labels >= zero
    if where is not None:
        valid = valid & checks.check_where(where, scores)
    scores = jnp.where(valid, scores.astype(dtype), zero)
    labels = jnp.where(valid, labels, zero)

    weight_sum = None
    item_weights = jnp.ones(scores.shape, dtype)
    if weights is not None:
        given, kind = checks.check_weights(weights, scores.shape)
        given = given.astype(dtype)
        weight_sum = jnp.sum(given)
        if kind == "list" and given.shape == scores.shape[:-1]:
            given = given[..., None]
        item_weights = jnp.broadcast_to(given, scores.shape)
    return RankingInputs(scores, labels, valid, item_weights, weight_sum)


def finite_scores(inputs: RankingInputs) -> tuple[jax.Array, jax.Array]:
    """The scores a loss kernel may see, and the lists it must report as NaN.

    Returns:
      ``(scores, nonfinite_lists)``: the scores with every non-finite value replaced
      by 0, and a bool array of the leading shape, True for the lists with a NaN or
      infinite score on a valid item.
    """
    chex.assert_equal_shape([inputs.scores, inputs.valid])
    finite = jnp.isfinite(inputs.scores)
    scores = jnp.where(finite, inputs.scores, jnp.zeros((), inputs.scores.dtype))
    return scores, jnp.any(~finite, axis=-1)
