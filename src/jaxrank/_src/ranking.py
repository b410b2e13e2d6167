"""The ranking rule shared by the metrics, the lambda weights and ListMLE.

Items are put in order of decreasing key (a score, or for ListMLE a label), valid
items first. Ties are broken by position in the list (the lower index first), a
stable and documented rule, or, given a PRNG ``key``, at random: each tied group in
a uniformly random order. Ignored items follow every valid item, in list order.
``+inf`` comes first and ``-inf`` last among the valid items; ``-0.0`` ties with
``0.0``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax


def rank_order(keys: jax.Array, valid: jax.Array, key=None) -> jax.Array:
    """Indices that put each list in rank order (module docstring).

    Args:
      keys: ``(..., n)`` values to rank by, largest first.
      valid: ``(..., n)`` bool; invalid items go last.
      key: optional PRNG key; ties are then broken at random.

    Returns:
      ``(..., n)`` int32 indices: ``take_along_axis(x, order, -1)`` is ``x`` in
      rank order.

    Examples:
      >>> import jax.numpy as jnp
      >>> rank_order(jnp.array([0.5, 0.9, 0.5, 2.0]), jnp.array([1, 1, 1, 0], bool))
      Array([1, 0, 2, 3], dtype=int32)
    """
    shape = keys.shape
    axis = len(shape) - 1
    position = lax.broadcasted_iota(jnp.int32, shape, axis)
    operands = [(~valid).astype(jnp.int32), -keys]
    if key is not None:
        operands.append(jax.random.bits(key, shape, jnp.uint32))
    *_, order = lax.sort(
        (*operands, position), dimension=axis, is_stable=True, num_keys=len(operands)
    )
    return order


def ranks(keys: jax.Array, valid: jax.Array) -> jax.Array:
    """1-based rank of every item under :func:`rank_order`, a permutation of
    ``1..n`` per list (int32).

    Examples:
      >>> import jax.numpy as jnp
      >>> ranks(jnp.array([0.5, 0.9, 0.5, 2.0]), jnp.array([1, 1, 1, 0], bool))
      Array([2, 1, 3, 4], dtype=int32)
    """
    order = rank_order(keys, valid)
    position = lax.broadcasted_iota(jnp.int32, keys.shape, keys.ndim - 1)
    # Sorting (order, position) by `order` inverts the permutation.
    return lax.sort((order, position), num_keys=1)[1] + 1
