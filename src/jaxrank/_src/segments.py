"""Sub-lists inside one list: the ``segments=`` argument of the losses and metrics.

A ``segments`` array has the scores' shape ``(..., n)`` and holds integer ids: the
items of one list with equal ids form one sub-list (for example, a query packed into a
longer row with other queries). No pair, softmax or normaliser crosses a segment; a
list without ``segments`` is one segment. Ids need not be contiguous, sorted or small:
only equality matters, so ``[7, 7, 3, 7]`` holds two segments, the second of one item.

The helpers map arbitrary ids to *dense* ids ``0..m-1`` per list (in order of each
segment's first item), so that per-segment reductions run through
``jax.ops.segment_*`` with ``num_segments=n``: O(n) time and memory per list, never an
``(n, n)`` same-segment mask.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from jaxrank._src.positions import inverse_permutation, positions_like, run_starts


def _take(x: jax.Array, index: jax.Array) -> jax.Array:
    return jnp.take_along_axis(x, index, axis=-1)


def _in_order(segments: jax.Array) -> jax.Array:
    """True when every list's ids are non-decreasing (segments already in runs)."""
    return jnp.all(segments[..., 1:] >= segments[..., :-1])


def _run_numbers(sorted_ids: jax.Array) -> jax.Array:
    """``0, 0, 1, ...``: the run of each item of lists sorted by id."""
    return jnp.cumsum(run_starts(sorted_ids), axis=-1, dtype=jnp.int32) - 1


def segment_order(segments: jax.Array) -> tuple[jax.Array, jax.Array]:
    """The permutation that sorts each list stably by segment id, and its inverse.

    Ids that are already non-decreasing (queries packed one after another) skip the
    sort: a run-time ``lax.cond`` returns the identity for them.

    Examples:
      >>> import jax.numpy as jnp
      >>> order, inverse = segment_order(jnp.array([7, 3, 7, 3]))
      >>> order, inverse
      (Array([1, 3, 0, 2], dtype=int32), Array([2, 0, 3, 1], dtype=int32))
    """
    shape = segments.shape
    position = positions_like(segments)
    if shape[-1] == 0:
        return position, position
    order = lax.cond(
        _in_order(segments),
        lambda: position,
        lambda: lax.sort((segments, position), num_keys=1, is_stable=True)[1],
    )
    return order, inverse_permutation(order)


def dense_ids(segments: jax.Array) -> jax.Array:
    """Each item's segment as an int32 in ``0..m-1``, numbered in order of the
    segments' first items.

    Examples:
      >>> import jax.numpy as jnp
      >>> dense_ids(jnp.array([7, 7, 3, 7, 9]))
      Array([0, 0, 1, 0, 2], dtype=int32)
    """
    shape = segments.shape
    if shape[-1] == 0:
        return jnp.zeros(shape, jnp.int32)
    # Ids already in runs are numbered by counting the runs (no sort).
    return lax.cond(_in_order(segments), _run_numbers, _numbered_by_sorting, segments)


def _numbered_by_sorting(segments: jax.Array) -> jax.Array:
    shape = segments.shape
    position = positions_like(segments)
    # Sorted by (id, position), each run of equal ids starts at its first item.
    sorted_ids, sorted_pos = lax.sort((segments, position), num_keys=2)
    starts = run_starts(sorted_ids)
    start_index = lax.cummax(jnp.where(starts, position, 0), axis=len(shape) - 1)
    run_first = _take(sorted_pos, start_index)
    _, first_pos = lax.sort((sorted_pos, run_first), num_keys=1)  # back to list order
    is_first = first_pos == position
    number = jnp.cumsum(is_first, axis=-1, dtype=jnp.int32) - 1
    return _take(number, first_pos)


def _per_list(op, x: jax.Array, ids: jax.Array) -> jax.Array:
    """``op(x, ids, num_segments=n)`` on every list, read back at each item."""
    n = x.shape[-1]
    if x.size == 0:
        return x
    flat_x, flat_ids = x.reshape(-1, n), ids.reshape(-1, n)
    totals = jax.vmap(lambda v, i: op(v, i, num_segments=n))(flat_x, flat_ids)
    return _take(totals, flat_ids).reshape(x.shape)


def segment_sum(x: jax.Array, ids: jax.Array) -> jax.Array:
    """The sum of ``x`` over each item's segment, at every item (``ids`` dense).

    Examples:
      >>> import jax.numpy as jnp
      >>> segment_sum(jnp.array([1.0, 2.0, 4.0]), jnp.array([0, 1, 0]))
      Array([5., 2., 5.], dtype=float32)
    """
    return _per_list(jax.ops.segment_sum, x, ids)


def segment_max(x: jax.Array, ids: jax.Array) -> jax.Array:
    """The maximum of ``x`` over each item's segment, at every item (``ids`` dense).

    Examples:
      >>> import jax.numpy as jnp
      >>> segment_max(jnp.array([1.0, 2.0, 4.0]), jnp.array([0, 1, 0]))
      Array([4., 2., 4.], dtype=float32)
    """
    return _per_list(jax.ops.segment_max, x, ids)


def holds_nonfinite(scores: jax.Array, ids: jax.Array) -> jax.Array:
    """True at every item whose segment holds a NaN or infinite score (``scores``
    with ignored items already set to 0; ``ids`` dense).

    Examples:
      >>> import jax.numpy as jnp
      >>> holds_nonfinite(jnp.array([1.0, jnp.nan, 2.0]), jnp.array([0, 1, 1]))
      Array([False,  True,  True], dtype=bool)
    """
    bad = (~jnp.isfinite(scores)).astype(jnp.int32)
    return segment_max(bad, ids) > 0


def first_valid_item(ids: jax.Array, valid: jax.Array) -> jax.Array:
    """True at the first valid item of each segment (where a metric with segments
    reports the segment's value); False elsewhere.

    Examples:
      >>> import jax.numpy as jnp
      >>> ids, valid = jnp.array([0, 0, 1, 1]), jnp.array([False, True, True, True])
      >>> first_valid_item(ids, valid)
      Array([False,  True,  True, False], dtype=bool)
    """
    position = positions_like(ids)
    n = ids.shape[-1]
    first = -segment_max(jnp.where(valid, -position, -n), ids)
    return valid & (first == position)


def run_scan(op, x: jax.Array, runs: jax.Array, *, reverse: bool = False) -> jax.Array:
    """Inclusive scan of the associative ``op`` along the last axis, restarted at
    every run of equal ``runs`` (ids that are contiguous, e.g. after sorting by
    segment): O(n) memory, O(log n) depth.

    Examples:
      >>> import jax.numpy as jnp
      >>> runs = jnp.array([0, 0, 0, 1, 1])
      >>> run_scan(jnp.add, jnp.array([1.0, 2.0, 3.0, 4.0, 5.0]), runs)
      Array([1., 3., 6., 4., 9.], dtype=float32)
      >>> run_scan(jnp.add, jnp.array([1.0, 2.0, 3.0, 4.0, 5.0]), runs, reverse=True)
      Array([6., 5., 3., 9., 5.], dtype=float32)
    """
    if x.shape[-1] == 0:
        return x
    edge = jnp.ones_like(runs[..., :1], dtype=bool)
    changes = runs[..., 1:] != runs[..., :-1]
    # A run restarts at its first item, or scanning backwards at its last.
    parts = (changes, edge) if reverse else (edge, changes)
    restarts = jnp.concatenate(parts, axis=-1)

    def combine(a, b):
        # ``a`` is the earlier part in scan order (the later items when reversed).
        (restart_a, value_a), (restart_b, value_b) = a, b
        value = jnp.where(restart_b, value_b, op(value_a, value_b))
        return restart_a | restart_b, value

    axis = x.ndim - 1
    return lax.associative_scan(combine, (restarts, x), reverse=reverse, axis=axis)[1]


def run_bounds(new_run: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Runs of a 1-d sequence from the flags of their first items (``new_run[0]``
    True): every position's run number (``0, 1, ...``), and the first position of
    its run and one past the last.

    Examples:
      >>> import jax.numpy as jnp
      >>> run, start, end = run_bounds(jnp.array([True, False, True, False, False]))
      >>> run, start
      (Array([0, 0, 1, 1, 1], dtype=int32), Array([0, 0, 2, 2, 2], dtype=int32))
      >>> end
      Array([2, 2, 5, 5, 5], dtype=int32)
    """
    n = new_run.shape[0]
    position = jnp.arange(n, dtype=jnp.int32)
    last = jnp.concatenate([new_run[1:], jnp.ones((1,), bool)])
    run = jnp.cumsum(new_run, dtype=jnp.int32) - 1
    # associative_scan, not lax.cummax/cummin: the same integers, several times
    # faster on CPU.
    start = lax.associative_scan(jnp.maximum, jnp.where(new_run, position, 0))
    end = lax.associative_scan(
        jnp.minimum, jnp.where(last, position + 1, n), reverse=True
    )
    return run, start, end


def segment_totals(x: jax.Array, ids: jax.Array, valid: jax.Array) -> jax.Array:
    """The sum of ``x`` over each segment, at the segment's first valid item, 0
    elsewhere (``ids`` dense): per-segment losses laid out as rax lays them out.

    Examples:
      >>> import jax.numpy as jnp
      >>> ids, valid = jnp.array([0, 0, 1, 1]), jnp.array([False, True, True, True])
      >>> segment_totals(jnp.array([1.0, 2.0, 4.0, 8.0]), ids, valid)
      Array([ 0.,  3., 12.,  0.], dtype=float32)
    """
    first = first_valid_item(ids, valid)
    return jnp.where(first, segment_sum(x, ids), jnp.zeros((), x.dtype))
