r"""Differentiable stand-ins for ranks and top-``n`` cut-offs.

An item's rank counts the items scored above it: with the step :math:`[x \ge 0]`,

.. math::

    r_i = 1 + \sum_{j \ne i} [s_j - s_i \ge 0],

summed over the valid items :math:`j` of :math:`i`'s list (and of its segment when
``segments`` are given). Replacing the step by a smooth or piecewise-linear function
:math:`h` gives ranks with useful gradients (Qin, Liu and Li, 2010):

* :func:`approx_ranks`, :math:`h(x) = \sigma(x / T)`, the logistic sigmoid at
  temperature :math:`T` (the ranks of rax's ``approx_t12n``);
* :func:`bound_ranks`, :math:`h(x) = \max(0, x + 1)`, which is at least the step
  everywhere, so the ranks are upper bounds of the exact ones (rax's
  ``bound_t12n``).

The sums run over all pairs, :math:`O(n^2)` time per list, but never hold an
``(n, n)`` array: the rows are split into blocks of ``b`` (the static size
:func:`jaxrank._src.pair_blocks.block_size_for` picks, as for the pairwise losses),
each block builds a ``(..., b, n)`` slab and reduces it (on GPUs and TPUs, blocks of
at least 512 rows, so that the loop over blocks stays short), one block after
another, and each block is a ``jax.checkpoint``, so reverse mode rebuilds the slab
instead of keeping it: :math:`O(n b)` memory in both passes. The functions are plain
JAX otherwise, so forward mode and higher derivatives work too.

The ready losses (:func:`jaxrank.approx_ndcg_loss`, :func:`jaxrank.approx_mrr_loss`)
take the sigmoid ranks with a hand-written gradient instead: the sigmoid's slope is
even, so for a cotangent :math:`g` the gradient of :math:`\sum_i g_i r_i` is, over
the partners :math:`j` of item :math:`k`,

.. math::

    \frac{\partial}{\partial s_k} \sum_i g_i r_i
      = \frac{1}{T} \sum_{j \ne k} \sigma'\Bigl(\frac{s_j - s_k}{T}\Bigr)
        (g_j - g_k),

one more pass over the same row blocks, with only the ``(..., n)`` inputs kept
between the passes (reverse mode only; ``jax.hessian``, forward over reverse, works).

A cut-off at ``n`` keeps the items whose rank is at most ``n``; as a function of
``a = -ranks`` it is :math:`[a_i - c \ge 0]` for a threshold :math:`c` between the
``n``-th and ``(n+1)``-th largest entries of ``a``. :func:`approx_cutoff` and
:func:`bound_cutoff` replace that step by :math:`\sigma(x / T)` and by
:math:`1 - \max(0, 1 - x)` (at most the step: a lower bound), with :math:`c` held
constant under differentiation. The order statistics come from one sort, so the
cut-offs cost :math:`O(n \log n)`.

These functions have the ``rank_fn`` / ``cutoff_fn`` signatures of the metrics' hooks
(rax's convention): ``rank_fn(scores, *, where, segments, key)`` and
``cutoff_fn(a, *, n, segments)``.
"""

from __future__ import annotations

import functools
from typing import Literal

import jax
import jax.numpy as jnp
from jax import lax
from jax.typing import ArrayLike

from jaxrank._src import checks, pair_blocks, ranking
from jaxrank._src import segments as segment_ops
from jaxrank._src.eager_cache import cached_jit
from jaxrank._src.platforms import VARIANTS, per_platform
from jaxrank._src.positions import positions_like

Step = Literal["sigmoid", "upper_hinge", "lower_hinge"]


def _step(kind: Step, x: jax.Array, temperature: float) -> jax.Array:
    """The stand-in for :math:`[x \\ge 0]` named ``kind``."""
    if kind == "sigmoid":
        return jax.nn.sigmoid(x / jnp.asarray(temperature, x.dtype))
    one = jnp.ones((), x.dtype)
    # `jax.nn.relu` has derivative 0 at its kink, so a pair exactly at it adds 0.
    if kind == "upper_hinge":
        return jax.nn.relu(x + one)
    return one - jax.nn.relu(one - x)


def _pairs(rows, cols):
    """``s_j - s_i`` for the row items ``i`` and all items ``j``, and whether each
    pair is counted (valid, distinct, same segment); ``rows`` and ``cols`` start
    with ``(position, scores, valid, ids)`` (:func:`_row_blocks`)."""
    position, scores, valid, ids = rows[:4]
    col_position, col_scores, col_valid, col_ids = cols[:4]
    diff = col_scores[..., None, :] - scores[..., :, None]
    paired = valid[..., :, None] & col_valid[..., None, :]
    paired = paired & (position[..., :, None] != col_position[..., None, :])
    if ids is not None:
        paired = paired & (ids[..., :, None] == col_ids[..., None, :])
    return diff, paired


def _row_blocks(row_fn, block, cols):
    """``row_fn(rows, cols) -> (..., b)`` for every block of ``b = min(block, n)``
    rows of the ``(..., n)`` arrays ``cols``, ``rows`` being their slices, and
    each item's position put first in both; laid end to end, ``(..., n)``.

    The blocks run one after another (``lax.fori_loop``); the last one ends at the
    last item, overlapping the one before, whose rows it computes again with the
    same values. ``row_fn`` is a ``jax.checkpoint``, so that reverse-mode autodiff
    rebuilds each block's slab instead of keeping it.
    """
    n = cols[0].shape[-1]
    # An array, not an iota that XLA would fuse into the slab's pass, which then
    # runs several times slower.
    position = lax.optimization_barrier(positions_like(cols[0]))
    cols = (position, *cols)
    if block >= n:
        return row_fn(cols, cols)
    row_fn = jax.checkpoint(row_fn, prevent_cse=False)

    def add_block(i, out):
        start = jnp.minimum(i * block, n - block)
        rows = jax.tree.map(
            lambda x: lax.dynamic_slice_in_dim(x, start, block, axis=-1), cols
        )
        return lax.dynamic_update_slice_in_dim(out, row_fn(rows, cols), start, axis=-1)

    # Every block overwrites its rows, so the loop can start from any (..., n)
    # array: the scores (a zeros array would be one more kernel).
    return lax.fori_loop(0, -(-n // block), add_block, lax.stop_gradient(cols[1]))


def _step_sums(kind, temperature, block, scores, valid, ids):
    """:math:`\\sum_j h(s_j - s_i)` over the partners of every item."""

    def row_fn(rows, cols):
        diff, paired = _pairs(rows, cols)
        steps = _step(kind, diff, temperature)
        return jnp.sum(jnp.where(paired, steps, jnp.zeros((), steps.dtype)), axis=-1)

    return _row_blocks(row_fn, block, (scores, valid, ids))


def _for_platform(fn, block_size, variant, scores, *args):
    """``fn(block, scores, *args)`` with the row blocks
    (:func:`jaxrank._src.pair_blocks.block_size_for`) of ``variant``: a CPU's, or
    the fewer, longer blocks for GPUs and TPUs; None for those of the platform the
    computation is lowered for (:func:`jaxrank._src.platforms.per_platform`, or
    one kernel traced once when every platform gets the same blocks)."""

    def kernel(*arrays, variant):
        return fn(
            pair_blocks.block_size_for(scores.shape, block_size, variant), *arrays
        )

    if variant is None:
        blocks = {
            pair_blocks.block_size_for(scores.shape, block_size, v) for v in VARIANTS
        }
        if len(blocks) > 1:
            return per_platform(kernel, scores, *args)
        variant = VARIANTS[0]
    return kernel(scores, *args, variant=variant)


def _blocked_ranks(kind, temperature, block_size, scores, valid, ids, *, variant):
    """The ranks with the row blocks of ``variant`` (:func:`_for_platform`)."""
    step_sums = functools.partial(_step_sums, kind, temperature)
    sums = _for_platform(step_sums, block_size, variant, scores, valid, ids)
    return sums + jnp.ones((), sums.dtype)


# The forward rule calls the plain function, not the custom_vjp one: forward mode
# over the gradient (jax.hessian) then differentiates ordinary code.
@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 1, 2))
def _sigmoid_ranks(temperature, block_size, variant, scores, valid, ids):
    """:func:`_blocked_ranks` of the sigmoid, with the hand-written reverse-mode
    gradient of the module docstring (forward mode unavailable)."""
    return _blocked_ranks(
        "sigmoid", temperature, block_size, scores, valid, ids, variant=variant
    )


def _sigmoid_ranks_fwd(temperature, block_size, variant, scores, valid, ids):
    ranks = _blocked_ranks(
        "sigmoid", temperature, block_size, scores, valid, ids, variant=variant
    )
    return ranks, (scores, valid, ids)


def _sigmoid_slopes(temperature, block, scores, valid, ids, cotangent):
    # The module docstring's gradient, sigmoid'(x) = sigmoid(x) (1 - sigmoid(x)).
    temperature = jnp.asarray(temperature, scores.dtype)

    def row_fn(rows, cols):
        diff, paired = _pairs(rows, cols)
        p = jax.nn.sigmoid(diff / temperature)
        slopes = p * (1 - p) * (cols[4][..., None, :] - rows[4][..., :, None])
        return jnp.sum(jnp.where(paired, slopes, jnp.zeros((), diff.dtype)), axis=-1)

    cols = (scores, valid, ids, cotangent)
    return _row_blocks(row_fn, block, cols) / temperature


def _sigmoid_ranks_bwd(temperature, block_size, variant, arrays, cotangent):
    # The barrier keeps XLA from sharing this pass's pair differences and masks
    # with the forward pass's (one dense block each), which would materialise them.
    scores, valid, ids = lax.optimization_barrier(arrays)
    cotangent = cotangent.astype(scores.dtype)
    slopes = functools.partial(_sigmoid_slopes, temperature)
    grad = _for_platform(slopes, block_size, variant, scores, valid, ids, cotangent)
    return grad, None, None


_sigmoid_ranks.defvjp(_sigmoid_ranks_fwd, _sigmoid_ranks_bwd)


def _ranks(kind, temperature, scores, where, segments, block_size, reverse=False):
    scores = checks.check_scores(scores)
    dtype = checks.compute_dtype(scores.dtype)
    valid = jnp.ones(scores.shape, bool)
    if where is not None:
        valid = checks.check_where(where, scores)
    segments = checks.check_segments(segments, scores)
    block_size = checks.check_positive_int("block_size", block_size)
    scores = scores.astype(dtype)
    if reverse:  # the sigmoid's
        return _sigmoid_ranks(temperature, block_size, None, scores, valid, segments)
    # An ignored item's score may be anything (NaN): autodiff would multiply its
    # pairs' zero cotangents by their slopes, so it is set to 0 first. The
    # hand-written gradient selects the pairs, as the sums do.
    scores = jnp.where(valid, scores, jnp.zeros((), dtype))
    return _blocked_ranks(
        kind, temperature, block_size, scores, valid, segments, variant=None
    )


@cached_jit
def approx_ranks(
    scores: ArrayLike,
    *,
    where: ArrayLike | None = None,
    segments: ArrayLike | None = None,
    key=None,
    temperature: float = 1.0,
    block_size: int | None = None,
) -> jax.Array:
    r"""Smooth 1-based ranks: each item's rank with the step replaced by a sigmoid.

    .. math::

        r_i = 1 + \sum_{j \ne i} \sigma\Bigl(\frac{s_j - s_i}{T}\Bigr),

    over the valid items :math:`j` of item :math:`i`'s list (and segment). As
    :math:`T \to 0` this tends to the exact rank of distinct scores; tied scores
    count half each. An ignored item gets rank 1 (it has no partners), as in rax.

    Args:
      scores: ``(..., n)`` floating scores; higher ranks first.
      where: optional ``(..., n)`` boolean mask; False ignores the item.
      segments: optional ``(..., n)`` integer segment ids; only items with equal
        ids are compared.
      key: unused (the ``rank_fn`` hook's signature).
      temperature: static float > 0 dividing score differences.
      block_size: static rows per block, or None to choose from the shape.

    Returns:
      ``(..., n)`` ranks in the compute dtype (float32 for 16-bit scores).

    Examples:
      >>> import jax.numpy as jnp
      >>> print(approx_ranks(jnp.array([2.0, 0.0, 1.0]), temperature=0.1).round(2))
      [1. 3. 2.]
      >>> print(approx_ranks(jnp.array([1.0, 1.0, 5.0])).round(3))
      [2.482 2.482 1.036]
    """
    del key
    temperature = checks.check_temperature(temperature)
    return _ranks("sigmoid", temperature, scores, where, segments, block_size)


def reverse_mode_approx_ranks(
    scores: ArrayLike,
    *,
    where: ArrayLike | None = None,
    segments: ArrayLike | None = None,
    key=None,
    temperature: float = 1.0,
    block_size: int | None = None,
) -> jax.Array:
    """:func:`approx_ranks` with the hand-written gradient of the module docstring
    (``jax.custom_vjp``: reverse mode only): the ``rank_fn`` of the ready losses."""
    del key
    temperature = checks.check_temperature(temperature)
    return _ranks("sigmoid", temperature, scores, where, segments, block_size, True)


@cached_jit
def bound_ranks(
    scores: ArrayLike,
    *,
    where: ArrayLike | None = None,
    segments: ArrayLike | None = None,
    key=None,
    block_size: int | None = None,
) -> jax.Array:
    r"""Upper bounds of the 1-based ranks, piecewise linear in the scores.

    .. math::

        r_i = 1 + \sum_{j \ne i} \max(0,\ s_j - s_i + 1) \;\ge\;
              1 + \sum_{j \ne i} [s_j \ge s_i],

    over the valid items :math:`j` of item :math:`i`'s list (and segment); an
    ignored item gets rank 1. A pair exactly at the kink has derivative 0.

    Args:
      scores: ``(..., n)`` floating scores; higher ranks first.
      where: optional ``(..., n)`` boolean mask; False ignores the item.
      segments: optional ``(..., n)`` integer segment ids; only items with equal
        ids are compared.
      key: unused (the ``rank_fn`` hook's signature).
      block_size: static rows per block, or None to choose from the shape.

    Returns:
      ``(..., n)`` ranks in the compute dtype (float32 for 16-bit scores).

    Examples:
      >>> import jax.numpy as jnp
      >>> print(bound_ranks(jnp.array([3.0, 0.0, 1.5])))  # 1 + 4 + 2.5 for the 2nd
      [1.  7.5 3.5]
    """
    del key
    return _ranks("upper_hinge", 1.0, scores, where, segments, block_size)


def _cutoff(kind, temperature, a, n, segments):
    a = checks.check_real("a", a)
    n = 0 if n == 0 else checks.check_positive_int("n", n)
    segments = checks.check_segments(segments, a)
    floating = jnp.issubdtype(a.dtype, jnp.floating)
    a = a.astype(checks.compute_dtype(a.dtype) if floating else jnp.float32)
    if n is None:
        return jnp.ones_like(a)
    if n == 0 or a.shape[-1] == 0:
        return jnp.zeros_like(a)
    zero = jnp.zeros((), a.dtype)
    exact = ranking.ranks(a, None, segments)
    # The threshold halfway between the n-th and the (n+1)-th largest entry, so
    # that a smooth step is near 1 at the first and near 0 at the second.
    at_boundary = jnp.where((exact == n) | (exact == n + 1), a, zero)
    if segments is None:
        boundary_sum = jnp.sum(at_boundary, axis=-1, keepdims=True)
        size = jnp.full(a.shape[:-1] + (1,), a.shape[-1], jnp.int32)
    else:
        ids = segment_ops.dense_ids(segments)
        boundary_sum = segment_ops.segment_sum(at_boundary, ids)
        size = segment_ops.segment_sum(jnp.ones(a.shape, jnp.int32), ids)
    threshold = lax.stop_gradient(boundary_sum / jnp.asarray(2, a.dtype))
    kept = _step(kind, a - threshold, temperature)
    # A list (or segment) of at most n items keeps everything.
    return jnp.where(size > n, kept, jnp.ones((), a.dtype))


@cached_jit
def approx_cutoff(
    a: ArrayLike,
    *,
    n: int | None = None,
    segments: ArrayLike | None = None,
    temperature: float = 1.0,
) -> jax.Array:
    r"""Smooth indicator of the ``n`` largest entries of each list (or segment).

    .. math::

        c_i = \sigma\Bigl(\frac{a_i - t}{T}\Bigr), \qquad
        t = \tfrac12\bigl(a_{(n)} + a_{(n+1)}\bigr),

    with :math:`a_{(k)}` the :math:`k`-th largest entry (ties in list order) and
    :math:`t` held constant under differentiation. A list or segment of at most
    ``n`` items is kept whole (all ones); ``n=None`` keeps everything, ``n=0``
    nothing. The metrics apply it to ``a = -ranks``.

    Args:
      a: ``(..., n_items)`` real values (integers computed in float32); larger
        is kept.
      n: the cut-off, a non-negative int, or None.
      segments: optional ``(..., n_items)`` integer segment ids; each segment is
        cut on its own.
      temperature: static float > 0 dividing the distances to the threshold.

    Returns:
      ``(..., n_items)`` values in :math:`[0, 1]`.

    Examples:
      >>> import jax.numpy as jnp
      >>> print(approx_cutoff(-jnp.array([1.0, 2.0, 3.0]), n=2).round(3))
      [0.818 0.622 0.378]
    """
    temperature = checks.check_temperature(temperature)
    return _cutoff("sigmoid", temperature, a, n, segments)


@cached_jit
def bound_cutoff(
    a: ArrayLike,
    *,
    n: int | None = None,
    segments: ArrayLike | None = None,
) -> jax.Array:
    r"""Lower bound of the indicator of the ``n`` largest entries of each list.

    .. math::

        c_i = 1 - \max\bigl(0,\ 1 - (a_i - t)\bigr) \;\le\; [a_i \ge t],

    with the threshold :math:`t` of :func:`approx_cutoff` (constant under
    differentiation) and the same conventions.

    Args:
      a: ``(..., n_items)`` real values (integers computed in float32); larger
        is kept.
      n: the cut-off, a non-negative int, or None.
      segments: optional ``(..., n_items)`` integer segment ids; each segment is
        cut on its own.

    Returns:
      ``(..., n_items)`` values of at most 1.

    Examples:
      >>> import jax.numpy as jnp
      >>> print(bound_cutoff(-jnp.array([1.0, 2.0, 3.0]), n=1))
      [ 0.5 -0.5 -1.5]
    """
    return _cutoff("lower_hinge", 1.0, a, n, segments)
