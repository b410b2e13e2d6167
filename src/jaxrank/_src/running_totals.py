r"""Running totals along the last axis, in blocks, without a loop.

:func:`cumsum` gives :math:`S_k = \sum_{j \le k} x_j` (or the sums from the end),
and :func:`log_cumsum_exp` the running log-sum-exp, restarted at runs of equal ids
(contiguous, as after a sort by segment):

.. math::

    L_k = \log \sum_{j \le k,\ r_j = r_k} e^{x_j}.

Both cut the list into blocks: within a block every prefix is one reduction over a
``(..., n / b, b, b)`` broadcast (for the sums, a product with a triangular matrix
of ones), the blocks' totals are summed the same way one level up, and each
block's running values are combined with the total of the blocks before it. That
makes :math:`\lceil \log_b n \rceil` levels of a few fused passes each: no
sequential loop on any platform, and a short program for the compiler, where a
``lax.associative_scan`` unrolls :math:`\log_2 n` levels of slices (and its
derivative as many again) and XLA's CPU cumulative sums expand into trees of
windows. Gradients are plain autodiff.

Each :math:`L_k` is summed with its own shift, the largest term it holds, so a term
far below another list's (or an earlier run's) largest one does not underflow: the
numbers are those of a log-sum-exp of each prefix, to rounding.

Examples:
  >>> import jax.numpy as jnp
  >>> cumsum(jnp.array([1.0, 2.0, 3.0, 4.0]))
  Array([ 1.,  3.,  6., 10.], dtype=float32)
  >>> cumsum(jnp.array([1.0, 2.0, 3.0, 4.0]), reverse=True)
  Array([10.,  9.,  7.,  4.], dtype=float32)
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

# Items per block of the log-sum-exp: a level covers BLOCK times more items than
# the one below it (its broadcast holds BLOCK terms per item).
BLOCK = 32
# Largest broadcast of the log-sum-exp done in one level, in terms: short lists (and
# the top level of long ones) take every prefix at once, one level fewer.
DENSE_TERMS = 2**20
# Items per block of the sums: one product with a (SUM_BLOCK, SUM_BLOCK) matrix.
SUM_BLOCK = 128


def _blocks(x: jax.Array, size: int, **pad) -> jax.Array:
    """``(..., n)`` -> ``(..., ceil(n / size), size)``, padded at the end."""
    blocks = -(-x.shape[-1] // size)
    widths = [(0, 0)] * (x.ndim - 1) + [(0, blocks * size - x.shape[-1])]
    return jnp.pad(x, widths, **pad).reshape(x.shape[:-1] + (blocks, size))


def _unblocked(x: jax.Array, n: int) -> jax.Array:
    return x.reshape(x.shape[:-2] + (x.shape[-2] * x.shape[-1],))[..., :n]


def cumsum(x: jax.Array, *, reverse: bool = False) -> jax.Array:
    """Inclusive running sums of ``x`` along its last axis (from the end if
    ``reverse``), by products with a triangular matrix of ones in blocks of
    :data:`SUM_BLOCK` (module docstring), in full float32 precision on every
    platform.

    Args:
      x: ``(..., n)`` floating values.
      reverse: sum from the last item.

    Returns:
      ``(..., n)`` running sums, of ``x``'s dtype.
    """
    return _running_sums(x, reverse=reverse, inclusive=True)


def _running_sums(x: jax.Array, *, reverse: bool, inclusive: bool) -> jax.Array:
    """:func:`cumsum`, or without each item's own term: the matrix of each block
    is triangular in the direction of the sums (no flip), and each block adds the
    sums of the blocks before it, taken the same way one level up."""
    n = x.shape[-1]
    if n == 0:
        return x
    # ones[j, k]: whether term j counts in the sum at k.
    rows = lax.broadcasted_iota(jnp.int32, (SUM_BLOCK, SUM_BLOCK), 0)
    cols = lax.broadcasted_iota(jnp.int32, (SUM_BLOCK, SUM_BLOCK), 1)
    summed = rows > cols if reverse else rows < cols
    if inclusive:
        summed = summed | (rows == cols)
    blocks = _blocks(x, SUM_BLOCK)
    inner = jnp.matmul(blocks, summed.astype(x.dtype), precision=lax.Precision.HIGHEST)
    if n > SUM_BLOCK:
        others = _running_sums(
            jnp.sum(blocks, axis=-1), reverse=reverse, inclusive=False
        )
        inner = inner + others[..., None]
    return _unblocked(inner, n)


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
    head = jnp.full_like(x[..., :1], fill)
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
    if n <= BLOCK or x.size * n <= DENSE_TERMS:
        return _within_blocks(x, runs)
    x_blocks = _blocks(x, BLOCK)
    lowest = -jnp.inf
    if runs is None:
        inner = _within_blocks(x_blocks, None)
        before = _shifted_right(log_cumsum_exp(inner[..., -1]), lowest)
        return _unblocked(jnp.logaddexp(before[..., None], inner), n)
    run_blocks = _blocks(runs, BLOCK, mode="edge")
    inner = _within_blocks(x_blocks, run_blocks)
    last_run = run_blocks[..., -1]
    # The running total of each block's last run up to the block's end; the first
    # block has none before it (-inf adds nothing, whatever the fill).
    before = _shifted_right(log_cumsum_exp(inner[..., -1], last_run), lowest)
    continued = run_blocks == _shifted_right(last_run, 0)[..., None]
    out = jnp.where(continued, jnp.logaddexp(before[..., None], inner), inner)
    return _unblocked(out, n)
