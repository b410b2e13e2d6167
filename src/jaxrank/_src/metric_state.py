"""A weighted running mean for accumulating metrics inside jitted evaluation loops.

:class:`WeightedMean` is a ``NamedTuple`` of two scalars, hence a pytree: it can be
carried through ``jax.lax.scan``/``fori_loop``, returned from ``jax.jit``, and
reduced across devices with ``jax.lax.psum(state, axis_name)`` inside
``shard_map``/``pmap``. Under ``jax.jit`` with a batch sharded across devices,
:meth:`WeightedMean.update` sums over the global batch and XLA inserts the
cross-device reduction itself.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxrank._src import checks
from jaxrank._src.numerics import safe_divide


class WeightedMean(NamedTuple):
    r"""Running totals of a weighted mean, :math:`\sum_l w_l v_l / \sum_l w_l`.

    Feeding it the per-list values and weights of several batches gives the same
    result as one batch holding all those lists: this is how keras_rs's metrics
    (subclasses of ``keras.metrics.Mean``) accumulate across ``update_state``
    calls.

    Attributes:
      total: sum of ``weight * value`` so far.
      count: sum of the weights so far.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxrank.metrics import WeightedMean, ndcg
      >>> scores = jnp.array([[0.3, 0.2, 0.1], [0.1, 0.2, 0.3]])
      >>> labels = jnp.array([[1, 0, 0], [1, 0, 0]])
      >>> @jax.jit
      ... def step(state, scores, labels):
      ...     return state.update(ndcg(scores, labels))
      >>> state = WeightedMean.empty()
      >>> for i in range(2):  # two batches of one list each
      ...     state = step(state, scores[i:i + 1], labels[i:i + 1])
      >>> print(f"{float(state.compute()):.4f}")  # (1 + 1/log2(4)) / 2
      0.7500
    """

    total: jax.Array
    count: jax.Array

    @classmethod
    def empty(cls, dtype=jnp.float32) -> WeightedMean:
        """A state with nothing accumulated; its :meth:`compute` is 0."""
        zero = jnp.zeros((), dtype)
        return cls(zero, zero)

    def update(self, values, weights=None) -> WeightedMean:
        """Adds per-list ``values`` with optional ``weights`` of the same shape, both
        real numbers (a ``TypeError`` names the argument otherwise).

        A list of weight 0 is left out entirely (even if its value is NaN).
        ``weights=None`` weighs every list 1.
        """
        dtype = self.total.dtype
        values = checks.check_real("values", values).astype(dtype)
        if weights is None:
            weights = jnp.ones(values.shape, dtype)
        weights = checks.check_real("weights", weights).astype(dtype)
        checks.check_same_shape_as_values(weights, values)
        zero = jnp.zeros((), dtype)
        weighted = jnp.where(weights != zero, weights * values, zero)
        return WeightedMean(
            self.total + jnp.sum(weighted), self.count + jnp.sum(weights)
        )

    def merge(self, other: WeightedMean) -> WeightedMean:
        """The state of both accumulations together (e.g. from two devices)."""
        return WeightedMean(self.total + other.total, self.count + other.count)

    def compute(self) -> jax.Array:
        """The weighted mean so far; 0 when the total weight is 0."""
        return safe_divide(self.total, self.count)
