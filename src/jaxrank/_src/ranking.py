"""The ranking rule shared by the metrics, the lambda weights and ListMLE.

Items are put in order of decreasing key (a score, or for ListMLE a label), valid
items first. Ties are broken by position in the list (the lower index first), a
stable and documented rule, or, given a PRNG ``key``, at random: each tied group in
a uniformly random order. Ignored items follow every valid item, in list order.
``+inf`` comes first and ``-inf`` last among the valid items; ``-0.0`` ties with
``0.0``. Given ``segments`` (integer ids, :mod:`jaxrank._src.segments`), each segment is
ranked on its own: :func:`rank_order` puts the segments one after another (by id), each
in rank order, and :func:`ranks` counts from 1 within each segment.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from jaxrank._src.positions import positions_like, run_starts


class Ranked(NamedTuple):
    """The arrays of :func:`rank_sort`, each ``(..., n)`` in rank order.

    Attributes:
      order: int32 indices: ``take_along_axis(x, order, -1)`` is ``x`` in rank order.
      valid: the ``valid`` flags (True first); None if none were given.
      keys: the keys ranked by.
      segments: the segment ids (None if none were given).
    """

    order: jax.Array
    valid: jax.Array | None
    keys: jax.Array
    segments: jax.Array | None


def rank_sort(
    keys: jax.Array,
    valid: jax.Array | None,
    key=None,
    segments: jax.Array | None = None,
) -> Ranked:
    """Puts each list in rank order (module docstring) with one sort, which also
    returns the arrays it sorted by in that order: the ranked valid flags, keys and
    segment ids take no gather.

    Args:
      keys: ``(..., n)`` values to rank by, largest first.
      valid: ``(..., n)`` bool, invalid items going last; None when every item is
        valid.
      key: optional PRNG key; ties are then broken at random.
      segments: optional ``(..., n)`` integer segment ids; the items of each segment
        come together, in rank order, segments in increasing order of id.

    Returns:
      A :class:`Ranked`.

    Examples:
      >>> import jax.numpy as jnp
      >>> ranked = rank_sort(jnp.array([0.5, 0.9, 0.5, 2.0]),
      ...                    jnp.array([1, 1, 1, 0], bool))
      >>> ranked.order
      Array([1, 0, 2, 3], dtype=int32)
      >>> ranked.valid
      Array([ True,  True,  True, False], dtype=bool)
      >>> ranked.keys
      Array([0.9, 0.5, 0.5, 2. ], dtype=float32)
    """
    shape = keys.shape
    axis = len(shape) - 1
    position = positions_like(keys)
    operands = [-keys]
    if valid is not None:
        operands.insert(0, (~valid).astype(jnp.int32))
    if segments is not None:
        operands.insert(0, segments)
    if key is not None:
        sharding = jax.typeof(keys).sharding
        operands.append(jax.random.bits(key, shape, jnp.uint32, out_sharding=sharding))
    *ranked, order = lax.sort(
        (*operands, position), dimension=axis, is_stable=True, num_keys=len(operands)
    )
    ranked_segments = None if segments is None else ranked.pop(0)
    ranked_valid = None if valid is None else ranked.pop(0) == 0
    return Ranked(
        order=order, valid=ranked_valid, keys=-ranked[0], segments=ranked_segments
    )


def rank_order(
    keys: jax.Array,
    valid: jax.Array | None,
    key=None,
    segments: jax.Array | None = None,
) -> jax.Array:
    """Indices that put each list in rank order (module docstring): the ``order``
    of :func:`rank_sort`.

    Args:
      keys: ``(..., n)`` values to rank by, largest first.
      valid: ``(..., n)`` bool; invalid items go last. None: all valid.
      key: optional PRNG key; ties are then broken at random.
      segments: optional ``(..., n)`` integer segment ids; the items of each segment
        come together, in rank order, segments in increasing order of id.

    Returns:
      ``(..., n)`` int32 indices: ``take_along_axis(x, order, -1)`` is ``x`` in
      rank order.

    Examples:
      >>> import jax.numpy as jnp
      >>> rank_order(jnp.array([0.5, 0.9, 0.5, 2.0]), jnp.array([1, 1, 1, 0], bool))
      Array([1, 0, 2, 3], dtype=int32)
    """
    return rank_sort(keys, valid, key=key, segments=segments).order


def ranks(
    keys: jax.Array,
    valid: jax.Array | None,
    segments: jax.Array | None = None,
    key=None,
) -> jax.Array:
    """1-based rank of every item under :func:`rank_order` (int32): a permutation of
    ``1..n`` per list, or with ``segments``, of ``1..size`` per segment; given a
    PRNG ``key``, ties are broken at random as in :func:`rank_order`.

    Examples:
      >>> import jax.numpy as jnp
      >>> ranks(jnp.array([0.5, 0.9, 0.5, 2.0]), jnp.array([1, 1, 1, 0], bool))
      Array([2, 1, 3, 4], dtype=int32)
      >>> ranks(jnp.array([0.5, 0.9, 0.5, 2.0]), jnp.array([1, 1, 1, 1], bool),
      ...       segments=jnp.array([3, 3, 1, 1]))
      Array([2, 1, 2, 1], dtype=int32)
    """
    order = rank_order(keys, valid, key, segments)
    axis = keys.ndim - 1
    position = positions_like(keys)
    rank = position
    if segments is not None and keys.shape[-1] > 0:
        ordered = jnp.take_along_axis(segments, order, axis=-1)
        starts = run_starts(ordered)
        rank = position - lax.cummax(jnp.where(starts, position, 0), axis=axis)
    # Sorting (order, rank) by `order` puts each rank back at its item.
    return lax.sort((order, rank), num_keys=1)[1] + 1
