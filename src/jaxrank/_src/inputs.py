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
      label_keys: numbers in the compute dtype that compare exactly as the given
        labels do (integer labels beyond the compute dtype's exact range, e.g.
        above 2**24 for float32, are replaced by their rank among the list's valid
        labels); the labels themselves unless ``exact_label_order`` was asked for.
      valid: bool, True where the item takes part.
      weights: per-item weights in the compute dtype: the given weights broadcast to
        the scores' shape, a per-list weight over its list (ones if none were given).
      weight_sum: the sum of the weights *as given* (a scalar counts once, a per-list
        weight once per list), or None when none were given: the divisor of the
        ``"mean_with_sample_weight"`` reduction.
    """

    scores: jax.Array
    labels: jax.Array
    label_keys: jax.Array
    valid: jax.Array
    weights: jax.Array
    weight_sum: jax.Array | None


def prepare_inputs(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    exact_label_order: bool = False,
) -> RankingInputs:
    """Validates the arrays of a loss or metric and returns them normalised.

    Args:
      scores: ``(..., n)`` floating scores.
      labels: ``(..., n)`` real labels; a label ``< 0`` marks an item to ignore.
      where: optional ``(..., n)`` boolean mask; False marks an item to ignore.
      weights: optional scalar, per-list ``(...)``/``(..., 1)`` weights, or weights of
        any shape that broadcasts to the scores' (per item ``(..., n)``, per
        position ``(n,)``, ...).
      exact_label_order: also build ``label_keys`` that keep the order of integer
        labels the compute dtype cannot hold exactly (for losses that compare
        labels).

    Returns:
      A :class:`RankingInputs`.

    Raises:
      TypeError, ValueError: naming the argument and what was received.
    """
    scores = checks.check_scores(scores)
    labels = checks.check_labels(labels, scores)
    dtype = checks.compute_dtype(scores.dtype)
    zero = jnp.zeros((), dtype)
    given_labels = labels
    labels = labels.astype(dtype)
    valid = labels >= zero
    if where is not None:
        valid = valid & checks.check_where(where, scores)
    scores = jnp.where(valid, scores.astype(dtype), zero)
    labels = jnp.where(valid, labels, zero)
    label_keys = labels
    if exact_label_order:
        label_keys = _exact_label_keys(given_labels, labels, valid)

    weight_sum = None
    item_weights = jnp.ones(scores.shape, dtype)
    if weights is not None:
        given, kind = checks.check_weights(weights, scores.shape)
        given = given.astype(dtype)
        weight_sum = jnp.sum(given)
        if kind == "list" and given.shape == scores.shape[:-1]:
            given = given[..., None]
        item_weights = jnp.broadcast_to(given, scores.shape)
    return RankingInputs(scores, labels, label_keys, valid, item_weights, weight_sum)


def _exact_label_keys(given: jax.Array, labels: jax.Array, valid: jax.Array):
    """``labels``, or, where the given integer labels exceed the exact integers of
    ``labels``'s dtype, each label's rank among its list's valid labels (the number of
    valid labels below it): the same comparisons, exact, in the compute dtype."""
    dtype = labels.dtype
    exact_bits = jnp.finfo(dtype).nmant + 1
    if not jnp.issubdtype(given.dtype, jnp.integer) or (
        jnp.iinfo(given.dtype).bits <= exact_bits
    ):
        return labels
    zero = jnp.zeros((), given.dtype)
    given = jnp.where(valid, given, zero)  # valid labels are >= 0

    def ranks():
        top = jnp.asarray(jnp.iinfo(given.dtype).max, given.dtype)
        ordered = jnp.sort(jnp.where(valid, given, top), axis=-1)
        flat = jax.vmap(jnp.searchsorted)(
            ordered.reshape(-1, given.shape[-1]), given.reshape(-1, given.shape[-1])
        )
        return jnp.where(valid, flat.reshape(given.shape).astype(dtype), 0)

    if given.size == 0:
        return labels
    return jax.lax.cond(jnp.all(given < 2**exact_bits), lambda: labels, ranks)


def finite_scores(inputs: RankingInputs) -> tuple[jax.Array, jax.Array]:
    """The scores a loss kernel may see, and the lists it must report as NaN.

    Returns:
      ``(scores, nonfinite_lists)``: the scores with every non-finite value replaced
      by 0, and a bool array of the leading shape, True for the lists with a NaN or
      infinite score on a valid item.
    """
    chex.assert_equal_shape([inputs.scores, inputs.valid])
    finite = jnp.isfinite(inputs.scores)
    zero = jnp.zeros((), inputs.scores.dtype)
    scores = jnp.where(finite, inputs.scores, zero)
    # A maximum of numbers rather than jnp.any: XLA's CPU compiler splits a boolean
    # reduction of a long axis into a tree of windows, one kernel per level.
    flags = jnp.where(finite, zero, jnp.ones((), zero.dtype))
    return scores, jnp.max(flags, axis=-1, initial=zero) > zero
