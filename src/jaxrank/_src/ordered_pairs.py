r"""Counts of the correctly ordered pairs of a list, by sorting instead of pairs.

For scores :math:`s`, labels :math:`y`, validity :math:`v` and segment ids, item
:math:`i` has

.. math::
  \mathrm{pairs}_i = \#\{j : y_j < y_i\}, \qquad
  \mathrm{correct}_i = \#\{j : y_j < y_i,\ s_j < s_i\},

over the valid items :math:`j` of :math:`i`'s segment (0 for an invalid :math:`i`).
A pair with tied scores is not correct; a pair with tied labels is not a pair.

``pairs`` is a sort by label. ``correct`` is a dominance count: with the items put
in order of increasing label (tied labels by decreasing score, so that they never
count), it is the number of items *before* :math:`i` with a smaller score, counted
for all items at once by a merge sort (each of the :math:`\lceil\log_2 n\rceil`
levels merges neighbouring sorted blocks with one sort and reads, for each item of
a right block, how many items of its left block are smaller). Time
:math:`O(n \log^2 n)`, memory :math:`O(n)`, per list; no ``(n, n)`` array.
Segments are laid one after another in that order; every item of an earlier
segment counts as smaller (scores are replaced by their rank in (segment, score)
order), so subtracting the position of the segment's start leaves the count inside
the segment.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from jaxrank._src.positions import positions_like, run_starts


def _first_of_run(*keys: jax.Array) -> jax.Array:
    """Position of the first item of each item's run of equal (sorted) ``keys``."""
    position = positions_like(keys[0])
    return lax.cummax(jnp.where(run_starts(*keys), position, 0), axis=position.ndim - 1)


def _unsort(order: jax.Array, x: jax.Array) -> jax.Array:
    """``x`` given in the order ``order``, put back in list order."""
    return lax.sort((order, x), num_keys=1)[1]


def smaller_before(values: jax.Array) -> jax.Array:
    """For each item, the number of items before it with a strictly smaller value.

    A bottom-up merge sort over the last axis: O(n log^2 n) time, O(n) memory.

    Examples:
      >>> import jax.numpy as jnp
      >>> smaller_before(jnp.array([3, 1, 2, 2, 5]))
      Array([0, 0, 1, 1, 4], dtype=int32)
    """
    shape = values.shape
    n = shape[-1]
    size = 1 << max(n - 1, 0).bit_length()  # n rounded up to a power of two
    pad = [(0, 0)] * (len(shape) - 1) + [(0, size - n)]
    values = jnp.pad(values, pad)  # padded items come last: they count nothing real
    index = positions_like(values)
    counts = jnp.zeros_like(values, dtype=jnp.int32)
    block = 1
    while block < size:
        merged = values.shape[:-1] + (size // (2 * block), 2 * block)
        values = values.reshape(merged)
        local = positions_like(values)
        is_left = (local < block).astype(jnp.int32)
        # Sorted by (value, side) with right before left on ties: an item of the
        # right block lands after exactly the left items smaller than it and the
        # right items before it.
        values, _, local, index, counts = lax.sort(
            (
                values,
                is_left,
                local,
                index.reshape(merged),
                counts.reshape(merged),
            ),
            num_keys=2,
        )
        landed = positions_like(values)
        gained = jnp.where(local >= block, landed - (local - block), 0)
        padded = shape[:-1] + (size,)
        values, index = values.reshape(padded), index.reshape(padded)
        counts = (counts + gained).reshape(padded)
        block *= 2
    return _unsort(index, counts)[..., :n]


def ordered_pair_counts(
    scores: jax.Array, labels: jax.Array, valid: jax.Array, ids: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """``(correct, pairs)`` of every item (module docstring), int32 ``(..., n)``.

    Args:
      scores: ``(..., n)`` scores.
      labels: ``(..., n)`` labels.
      valid: ``(..., n)`` bool; invalid items take part in no pair.
      ids: ``(..., n)`` integer segment ids (zeros for one segment per list).

    Examples:
      >>> import jax.numpy as jnp
      >>> scores = jnp.array([0.3, 0.1, 0.2, 0.2])
      >>> labels = jnp.array([2.0, 0.0, 1.0, 0.0])
      >>> correct, pairs = ordered_pair_counts(
      ...     scores, labels, jnp.ones(4, bool), jnp.zeros(4, jnp.int32))
      >>> print(correct, pairs)  # item 2 ties item 3 in score
      [3 0 1 0] [3 0 2 0]
    """
    shape = scores.shape
    if shape[-1] == 0:
        zeros = jnp.zeros(shape, jnp.int32)
        return zeros, zeros
    position = positions_like(scores)
    invalid = (~valid).astype(jnp.int32)

    # Each score as its rank in (segment, score) order, tied scores alike.
    seg, by_score, order = lax.sort((ids, scores, position), num_keys=2)
    score_key = _unsort(order, _first_of_run(seg, by_score))

    # Items by (segment, validity, increasing label, decreasing score).
    seg, inv, label, neg_key, order = lax.sort(
        (ids, invalid, labels, -score_key, position), num_keys=4
    )
    seg_start = _first_of_run(seg)
    lower = _first_of_run(seg, inv, label) - seg_start  # items of smaller label
    correct = smaller_before(-neg_key) - seg_start
    zero = jnp.zeros((), jnp.int32)
    usable = inv == 0
    correct = _unsort(order, jnp.where(usable, correct, zero))
    pairs = _unsort(order, jnp.where(usable, lower, zero))
    return correct, pairs
