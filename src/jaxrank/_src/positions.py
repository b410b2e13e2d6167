"""Positions, runs and permutations along the list axis, laid out like the arrays
they go with.

Under JAX's explicit sharding (``jax.set_mesh`` of a mesh whose axes are
``jax.sharding.AxisType.Explicit``) every array's type carries its sharding, and the
operands of one ``lax.sort`` must agree: a plain ``iota`` is replicated, so sorting
it beside a batch sharded over its lists fails at trace time, and so does
concatenating a constant column to it. Everything here is created with the sharding
of the array it goes with (on one device, or outside a mesh, that is no sharding at
all).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax


def positions_like(x: jax.Array) -> jax.Array:
    """int32 ``0, 1, ..., n - 1`` along the last axis of ``x`` (shape ``(..., n)``),
    of ``x``'s shape and sharding.

    Examples:
      >>> import jax.numpy as jnp
      >>> positions_like(jnp.zeros((2, 3)))
      Array([[0, 1, 2],
             [0, 1, 2]], dtype=int32)
    """
    return lax.broadcasted_iota(
        jnp.int32, x.shape, x.ndim - 1, out_sharding=jax.typeof(x).sharding
    )


def run_starts(*keys: jax.Array) -> jax.Array:
    """True at position 0 and wherever any of ``keys`` (arrays ``(..., n)``,
    ``n >= 1``, e.g. sorted ids) differs from the previous position: where each run
    of equal keys starts. Sharded as the keys.

    Examples:
      >>> import jax.numpy as jnp
      >>> run_starts(jnp.array([3, 3, 5, 5, 5]), jnp.array([0, 1, 1, 1, 2]))
      Array([ True,  True,  True, False,  True], dtype=bool)
    """
    change = keys[0][..., 1:] != keys[0][..., :-1]
    for k in keys[1:]:
        change = change | (k[..., 1:] != k[..., :-1])
    first = jnp.ones_like(keys[0][..., :1], dtype=bool)
    return jnp.concatenate([first, change], axis=-1)


def inverse_permutation(order: jax.Array) -> jax.Array:
    """The permutation that undoes ``order`` (int32 ``(..., n)``, a permutation of
    ``0..n-1`` along the last axis): ``inverse[..., order[..., i]] = i``. A scatter
    per list (its list axes as batch axes, so it stays within a shard).

    Examples:
      >>> import jax.numpy as jnp
      >>> inverse_permutation(jnp.array([[2, 0, 1], [0, 2, 1]]))
      Array([[1, 2, 0],
             [0, 2, 1]], dtype=int32)
    """

    def scatter(o, p):
        return jnp.zeros_like(o).at[o].set(p, unique_indices=True)

    for _ in range(order.ndim - 1):
        scatter = jax.vmap(scatter)
    return scatter(order, positions_like(order))
