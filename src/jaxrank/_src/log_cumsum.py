r"""Running log-sum-exp along the last axis, restarted at runs, without a loop.

For :math:`x` of shape ``(..., n)`` and optional run ids :math:`r` (equal ids
contiguous, as after a sort by segment), :func:`log_cumsum_exp` returns

.. math::

    L_k = \log \sum_{j \le k,\ r_j = r_k} e^{x_j},

the inclusive running log-sum-exp of each run. Each :math:`L_k` is summed with its
own shift, the largest term it holds, so a term far below another list's (or an
earlier run's) largest one does not underflow: the numbers are those of a
log-sum-exp of each prefix, to rounding.

The list is cut into blocks of :data:`BLOCK` items. Within a block every prefix is
one masked log-sum-exp over a ``(..., n / BLOCK, BLOCK, BLOCK)`` broadcast (a fused
reduction, never a loop); the blocks' totals are summed the same way, one level up,
and each block's running values are combined with the total of the blocks before it
(of the same run). That makes :math:`\lceil \log_{BLOCK} n \rceil` levels of a few
fused passes each: :math:`O(n \cdot BLOCK)` work, no sequential loop on any
platform, and a short program for the compiler (a ``lax.associative_scan`` of
``jnp.logaddexp`` unrolls :math:`\log_2 n` levels of slices, and its derivative as
many again). Gradients are plain autodiff.

Examples:
  >>> import jax.numpy as jnp
  >>> x = jnp.log(jnp.array([1.0, 2.0, 3.0, 4.0]))
  >>> jnp.exp(log_cumsum_exp(x)).round(4)
  Array([ 1.,  3.,  6., 10.], dtype=float32)
  >>> jnp.exp(log_cumsum_exp(x, jnp.array([0, 0, 1, 1]))).round(4)
  Array([1., 3., 3., 7.], dtype=float32)
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

# Items per block: a level covers BLOCK times more items than the one below it.
BLOCK = 32


def _within_blocks(x: jax.Array, runs: jax.Array | None) -> jax.Array:
    """Inclusive running log-sum-exp along the last axis of ``x`` (at most
    :data:`BLOCK` items), one masked log-sum-exp per prefix."""
    shape = x.shape + x.shape[-1:]
    rows = lax.broadcasted_iota(jnp.int32, shape, x.ndim - 1)
    cols = lax.broadcasted_iota(jnp.int32, shape, x.ndim)
    summed = cols <= rows
    if runs is not None:
        summed = summed & (runs[..., :, None] == runs[..., None, :])
    terms = x[..., None, :]
    lowest = jnp.full((), -jnp.inf, x.dtype)
    # Each prefix's largest term, held constant (any shift gives the same value).
    top = jnp.max(
        jnp.where(summed, terms, lowest), axis=-1, keepdims=True, initial=lowest
    )
    top = lax.stop_gradient(jnp.where(jnp.isfinite(top), top, jnp.zeros((), x.dtype)))
    # Masked before the exp, so that no unsummed term overflows (its cotangent, 0,
    # would meet an infinite derivative).
    total = jnp.sum(jnp.exp(jnp.where(summed, terms - top, lowest)), axis=-1)
    return jnp.log(total) + top[..., 0]


def _shifted_right(x: jax.Array, fill) -> jax.Array:
    """``x`` moved one place along the last axis, ``fill`` first."""
    head = jnp.full(x.shape[:-1] + (1,), fill, x.dtype)
    return jnp.concatenate([head, x[..., :-1]], axis=-1)


def log_cumsum_exp(x: jax.Array, runs: jax.Array | None = None) -> jax.Array:
    """Inclusive running log-sum-exp of ``x`` along its last axis, restarted at
    every run of equal ``runs`` (module docstring).

    Args:
      x: ``(..., n)`` floating values (``-inf`` adds nothing).
      runs: optional ``(..., n)`` integer run ids, equal ids contiguous; None for
        one run per list.

    Returns:
      ``(..., n)`` running log-sum-exps, of ``x``'s dtype.
    """
    n = x.shape[-1]
    if n <= BLOCK or x.size == 0:
        return _within_blocks(x, runs)
    blocks = -(-n // BLOCK)
    pad = [(0, 0)] * (x.ndim - 1) + [(0, blocks * BLOCK - n)]
    shape = x.shape[:-1] + (blocks, BLOCK)
    x_blocks = jnp.pad(x, pad).reshape(shape)
    lowest = -jnp.inf
    if runs is None:
        inner = _within_blocks(x_blocks, None)
        before = _shifted_right(log_cumsum_exp(inner[..., -1]), lowest)
        out = jnp.logaddexp(before[..., None], inner)
    else:
        run_blocks = jnp.pad(runs, pad, mode="edge").reshape(shape)
        inner = _within_blocks(x_blocks, run_blocks)
        last_run = run_blocks[..., -1]
        # The running total of each block's last run up to the block's end; the
        # first block has none before it (-inf adds nothing, whatever the fill).
        before = _shifted_right(log_cumsum_exp(inner[..., -1], last_run), lowest)
        continued = run_blocks == _shifted_right(last_run, 0)[..., None]
        out = jnp.where(continued, jnp.logaddexp(before[..., None], inner), inner)
    return out.reshape(x.shape[:-1] + (blocks * BLOCK,))[..., :n]
