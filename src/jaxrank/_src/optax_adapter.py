"""Adapter from jaxrank losses to the calling convention of optax's ranking losses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jaxrank._src import checks
from jaxrank._src.eager_cache import cached_jit
from jaxrank._src.inputs import prepare_inputs


def _safe_reduce(per_list, has_items, reduce_fn):
    """Reduces per-list losses as optax's ranking losses do.

    Lists without a valid item (``has_items`` False) are passed to ``reduce_fn`` as
    masked out (``reduce_fn(x, where=...)``), so padding lists do not dilute a mean; a
    mean over no list at all is 0 unless the losses themselves hold a NaN; unreduced
    output is 0 for such lists.
    """
    if reduce_fn is None:
        return jnp.where(has_items, per_list, jnp.zeros((), per_list.dtype))
    out = reduce_fn(per_list, where=has_items)
    if reduce_fn is jnp.mean:
        hides_no_nan = ~jnp.any(jnp.isnan(per_list))
        out = jnp.where(jnp.isnan(out) & hides_no_nan, jnp.zeros((), out.dtype), out)
    return out


def as_optax_loss(loss_fn: Callable[..., jax.Array], **options: Any):
    r"""Wraps a jaxrank loss in the convention of ``optax.losses.ranking_softmax_loss``.

    The returned ``fn(logits, labels, *, where=None, weights=None, reduce_fn=jnp.mean)``
    computes one loss per list, the sum of its per-item losses

    .. math:: L_b = \sum_i \ell_{b,i},

    and returns ``reduce_fn(losses, where=has_items)`` where ``has_items`` marks the
    lists with at least one valid item (label >= 0 and ``where`` True), so padded
    lists do not dilute a mean however the padding is expressed; ``reduce_fn`` must
    accept ``where=``, as ``jnp.mean`` and ``jnp.sum`` do. ``reduce_fn=None`` returns
    the per-list array, of the leading shape, 0 for padded lists. These are the rules
    of optax's ranking losses (which read only ``where`` for padding), so the result is
    a drop-in replacement.

    Args:
      loss_fn: a functional jaxrank loss, e.g. :func:`jaxrank.pairwise_hinge_loss`.
      **options: fixed keyword options of ``loss_fn`` (``temperature=``, ...); not
        ``reduction``, which the adapter owns.

    Returns:
      The wrapped loss function.

    Raises:
      ValueError: if ``options`` contains ``reduction``.
      TypeError: if ``loss_fn`` is not a function taking ``(scores, labels, *,
        where, weights, reduction)`` and ``options``; the returned function raises
        one for ``reduce_fn`` not taking ``where=``, and a ``TypeError`` or
        ``ValueError`` naming ``logits``, ``labels``, ``where`` or ``weights``
        when they are not arrays of the right kind and shape.

    Examples:
      >>> import jax.numpy as jnp
      >>> import jaxrank
      >>> loss = jaxrank.as_optax_loss(jaxrank.pairwise_hinge_loss, temperature=1.0)
      >>> logits = jnp.array([[1.0, 3.0, 2.0, 4.0], [1.0, 1.8, 2.0, 3.0]])
      >>> labels = jnp.array([[1.0, 0.0, 1.0, 3.0], [0.0, 1.0, 2.0, 3.0]])
      >>> loss(logits, labels, reduce_fn=None)
      Array([5., 1.], dtype=float32)
      >>> loss(logits, labels)
      Array(3., dtype=float32)
    """
    checks.check_fixed_options(options)
    checks.check_function(
        "loss_fn",
        loss_fn,
        "a functional jaxrank loss such as `jaxrank.pairwise_hinge_loss`",
        None,
        None,
        where=None,
        weights=None,
        reduction="none",
        **options,
    )

    def optax_loss(
        logits: jax.Array,
        labels: jax.Array,
        *,
        where: jax.Array | None = None,
        weights: jax.Array | None = None,
        reduce_fn: Callable[[jax.Array], jax.Array] | None = jnp.mean,
    ) -> jax.Array:
        logits = checks.check_scores(logits, "logits")
        labels = checks.check_labels(labels, logits, "logits")
        if where is not None:
            where = checks.check_where(where, logits, "logits")
        if reduce_fn is not None:
            checks.check_function(
                "reduce_fn",
                reduce_fn,
                "None or a reduction taking `where=`, such as `jnp.mean`",
                logits,
                where=None,
            )
        losses = loss_fn(
            logits, labels, where=where, weights=weights, reduction="none", **options
        )
        # A list is padding when no item is valid, whether its labels are all
        # negative or its `where` all False.
        has_items = jnp.any(prepare_inputs(logits, labels, where=where).valid, axis=-1)
        per_list = losses if losses.shape == logits.shape[:-1] else losses.sum(axis=-1)
        return _safe_reduce(per_list, has_items, reduce_fn)

    optax_loss.__name__ = f"optax_{getattr(loss_fn, '__name__', 'loss')}"
    optax_loss.__doc__ = (
        f"``{getattr(loss_fn, '__name__', 'loss')}`` in the optax ranking-loss "
        "convention: one loss per list, reduced by ``reduce_fn``."
    )
    return cached_jit(optax_loss)
