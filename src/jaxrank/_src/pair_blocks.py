r"""Sums of any pair term over each item's partners, in blocks of rows.

The kernel of the pairwise logistic and soft zero-one losses, of the squared error
and of every pairwise loss with lambda weights (the hinge included).

For scores :math:`s`, labels :math:`y`, validity :math:`v`, temperature :math:`T`,
optional lambda weights :math:`\lambda` and a pair term :math:`f`, item :math:`i`'s
loss is

.. math::

    \ell_i = \sum_j c_{ij}\,\lambda_{ij}\,f(x_{ij}, y_i - y_j), \qquad
    x_{ij} = \frac{s_i - s_j}{T},

where :math:`c_{ij} = v_i v_j [y_i - y_j > 0]` for the ranking losses and
:math:`c_{ij} = v_i v_j` for the squared error (whose diagonal term is 0). With
:math:`a_{ij} = g_i c_{ij} \lambda_{ij} \partial_x f(x_{ij}, y_i - y_j)` for the
cotangent :math:`g`, the gradient is

.. math::

    \frac{\partial}{\partial s_k} \sum_i g_i \ell_i
      = \frac{1}{T} \Bigl(\sum_j a_{kj} - \sum_i a_{ik}\Bigr).

Neither the logistic nor the soft zero-one term has an exact sub-quadratic form, so
the work is :math:`O(n^2)` per list; memory need not be. The rows are split into
blocks of ``b`` (a static size, :func:`block_size_for` picks it from the shape):
each block builds a ``(..., b, n)`` slab, reduces it, and drops it, the forward pass
under ``lax.map`` and the backward pass under ``lax.scan`` (row sums out, column sums
carried). One block of all rows is the dense computation. A ``jax.custom_vjp`` keeps
only the ``(..., n)`` inputs between the passes and rebuilds each slab in the
backward pass; lambda weights enter through per-item features
(:meth:`jaxrank.LambdaWeight.item_features`), so they need no ``(n, n)`` array either.

With segments (sub-lists packed into one list), :func:`segment_pair_losses` sorts
the items by segment and visits only the pairs near the diagonal that a segment can
hold, so the work follows the segments' pairs rather than :math:`n^2`.

Both kernels are chosen per platform when the computation is lowered
(:func:`jaxrank._src.platforms.per_platform`), with the same numbers. On a CPU the
blocks are those measured fastest there (slabs of :data:`PAIR_BUDGET` elements; the
band kernel's chunks one after another, each visiting only its own offsets). On GPUs
and TPUs every step of a loop is at least one kernel launch, so the loops are short:
blocks of at least :data:`ACCELERATOR_ROWS` rows (at most :math:`\lceil n / 512
\rceil` steps: 8 up to 4096 items, 2048 at :math:`2^{20}`), and the band kernel's
chunks all at once (``vmap``), :data:`BAND_GROUP` offsets per step.

:math:`x_{ij}` is computed as ``(c s_i - c s_j) / (c T)`` with a power of two
:math:`c` (:func:`jaxrank._src.numerics.temperature_scaling`): the same bits as
``(s_i - s_j) / T``, but no overflow of the difference for :math:`T > 1` and no
reciprocal flushed to 0 for :math:`T > 2^{126}`. A pair of lambda weight 0 adds 0
(selected out, so that an overflowing term cannot make it ``0 * inf``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import chex
import jax
import jax.numpy as jnp
from jax import lax

from jaxrank._src.lambda_weights import LambdaWeight
from jaxrank._src.numerics import divide_by_temperature, scale_for_temperature
from jaxrank._src.platforms import Variant, per_platform
from jaxrank._src.positions import run_starts
from jaxrank._src.segments import run_bounds, segment_order

# Largest pair slab, in elements, built at once by `block_size_for` (32 MiB float32).
PAIR_BUDGET = 2**23
# Fewest rows per block on GPUs and TPUs, whatever the budget: every block is a step
# of a sequential loop, so a list of n items takes at most ceil(n / 512) steps (8 up
# to 4096 items, 2048 at 2^20); the slab is a fused broadcast reduction there.
ACCELERATOR_ROWS = 512


class PairTerm(NamedTuple):
    """A pair term :math:`f(x, \\Delta y)` and its derivative in :math:`x`.

    Attributes:
      value: ``f(x, dy)``, elementwise.
      slope: ``df/dx (x, dy)``, elementwise (the subgradient at kinks).
      ordered: True to count pairs with ``y_i > y_j`` only; False for all pairs of
        valid items.
      label_values: True when ``f`` reads ``dy`` as a number (not only its sign).
    """

    value: Callable[[jax.Array, jax.Array], jax.Array]
    slope: Callable[[jax.Array, jax.Array], jax.Array]
    ordered: bool
    label_values: bool = False


def _hinge(x, dy):
    del dy
    return jax.nn.relu(1 - x)


def _hinge_slope(x, dy):
    # Subgradient 0 at the kink 1 - x == 0, as `jax.nn.relu`.
    del dy
    return -(1 - x > 0).astype(x.dtype)


def _logistic(x, dy):
    # log(1 + exp(-x)) = relu(-x) + log1p(exp(-|x|)): no overflow, no cancellation.
    del dy
    return jax.nn.relu(-x) + jnp.log1p(jnp.exp(-jnp.abs(x)))


def _logistic_slope(x, dy):
    del dy
    return -jax.nn.sigmoid(-x)


def _soft_zero_one(x, dy):
    # 1 - sigmoid(x) written as sigmoid(-x): exact for large x, where 1 - p cancels.
    del dy
    return jax.nn.sigmoid(-x)


def _soft_zero_one_slope(x, dy):
    del dy
    return -jax.nn.sigmoid(x) * jax.nn.sigmoid(-x)


def _squared(x, dy):
    return jnp.square(dy - x)


def _squared_slope(x, dy):
    return -2 * (dy - x)


HINGE = PairTerm(_hinge, _hinge_slope, ordered=True)
LOGISTIC = PairTerm(_logistic, _logistic_slope, ordered=True)
SOFT_ZERO_ONE = PairTerm(_soft_zero_one, _soft_zero_one_slope, ordered=True)
SQUARED = PairTerm(_squared, _squared_slope, ordered=False, label_values=True)


def _quantile(x, dy, tau, squared):
    under, over = jax.nn.relu(dy - x), jax.nn.relu(x - dy)
    if squared:
        under, over = jnp.square(under), jnp.square(over)
    return tau * under + (1 - tau) * over


def _quantile_slope(x, dy, tau, squared):
    # Subgradient 0 at the kink x == dy, as `jax.nn.relu`.
    under, over = (dy - x > 0).astype(x.dtype), (x - dy > 0).astype(x.dtype)
    if squared:
        under, over = 2 * jax.nn.relu(dy - x), 2 * jax.nn.relu(x - dy)
    return (1 - tau) * over - tau * under


@functools.cache
def quantile_term(tau: float, squared: bool) -> PairTerm:
    """The pairwise quantile-regression term of quantile ``tau``: with
    :math:`u = \\Delta y - x`, :math:`f = \\tau\\max(0, u) + (1 - \\tau)\\max(0, -u)`,
    each hinge squared if ``squared``. Cached, so equal options give one static
    term (one compiled kernel)."""
    value = functools.partial(_quantile, tau=tau, squared=squared)
    slope = functools.partial(_quantile_slope, tau=tau, squared=squared)
    return PairTerm(value, slope, ordered=True, label_values=True)


def block_size_for(
    shape: tuple[int, ...], block_size: int | None, variant: Variant = "cpu"
) -> int:
    """The static row-block size for scores of ``shape``; ``>= n`` means dense.

    ``None`` picks the dense path when the ``(..., n, n)`` pair tensor has at most
    :data:`PAIR_BUDGET` elements, else blocks of rows that keep each slab within it;
    for ``variant="accelerator"``, blocks of at least :data:`ACCELERATOR_ROWS` rows
    (each block is one step of a sequential loop there).
    """
    n = shape[-1]
    if block_size is not None:
        return min(int(block_size), max(n, 1))
    lists = 1
    for size in shape[:-1]:
        lists *= size
    rows = PAIR_BUDGET // max(lists * n, 1)
    if variant == "accelerator":
        rows = max(rows, ACCELERATOR_ROWS)
    return max(n, 1) if rows >= n else max(rows, 1)


class _Items(NamedTuple):
    """The per-item arrays of some rows (or of all columns) of the pair matrix."""

    scores: jax.Array
    labels: jax.Array
    valid: jax.Array
    features: tuple[jax.Array, ...]


def _slab(term, temperature, lambda_weight, rows: _Items, cols: _Items):
    """``x``, ``dy``, the counted-pair mask and the pair weights of a row slab (the
    scores and ``temperature`` scaled by :func:`scale_for_temperature`)."""
    diff = rows.scores[..., :, None] - cols.scores[..., None, :]
    x = diff / jnp.asarray(temperature, diff.dtype)
    dy = rows.labels[..., :, None] - cols.labels[..., None, :]
    counted = rows.valid[..., :, None] & cols.valid[..., None, :]
    if term.ordered:
        counted = counted & (dy > 0)
    weights = None
    if lambda_weight is not None:
        weights = lambda_weight.pair_weights(
            tuple(f[..., :, None] for f in rows.features),
            tuple(f[..., None, :] for f in cols.features),
            cols.scores.shape[-1],
        )
        counted = counted & (weights != 0)
    return x, dy, counted, weights


def _slab_losses(term, temperature, lambda_weight, rows, cols):
    x, dy, counted, weights = _slab(term, temperature, lambda_weight, rows, cols)
    values = term.value(x, dy)
    if weights is not None:
        values = values * weights
    return jnp.sum(jnp.where(counted, values, jnp.zeros((), x.dtype)), axis=-1)


def _slab_slopes(term, temperature, lambda_weight, rows, cols, cotangent):
    """:math:`a_{ij}` of the module docstring for a row slab."""
    x, dy, counted, weights = _slab(term, temperature, lambda_weight, rows, cols)
    slopes = term.slope(x, dy) * cotangent[..., :, None]
    if weights is not None:
        slopes = slopes * weights
    return jnp.where(counted, slopes, jnp.zeros((), x.dtype))


def to_blocks(x: jax.Array, block: int) -> jax.Array:
    """``(..., n)`` -> ``(num_blocks, ..., block)``, padding the list with zeros."""
    n = x.shape[-1]
    num_blocks = -(-n // block)
    pad = [(0, 0)] * (x.ndim - 1) + [(0, num_blocks * block - n)]
    x = jnp.pad(x, pad)
    x = x.reshape(x.shape[:-1] + (num_blocks, block))
    return jnp.moveaxis(x, -2, 0)


def from_blocks(x: jax.Array, n: int) -> jax.Array:
    """Inverse of :func:`to_blocks`."""
    x = jnp.moveaxis(x, 0, -2)
    return x.reshape(x.shape[:-2] + (-1,))[..., :n]


def _pair_loss_values(
    term, temperature, lambda_weight, block, scores, labels, valid, features
):
    scaled, temperature = scale_for_temperature(scores, temperature)
    cols = _Items(scaled, labels, valid, features)
    if block >= scores.shape[-1]:
        return _slab_losses(term, temperature, lambda_weight, cols, cols)
    blocks = jax.tree.map(lambda a: to_blocks(a, block), cols)
    losses = lax.map(
        lambda rows: _slab_losses(term, temperature, lambda_weight, rows, cols), blocks
    )
    return from_blocks(losses, scores.shape[-1])


# The forward rules call the plain functions, not the custom_vjp ones: forward mode
# over the gradient (jax.hessian) then differentiates ordinary code.
_pair_losses = jax.custom_vjp(_pair_loss_values, nondiff_argnums=(0, 1, 2, 3))


def _pair_losses_fwd(term, temperature, lambda_weight, block, *arrays):
    losses = _pair_loss_values(term, temperature, lambda_weight, block, *arrays)
    return losses, arrays


def _pair_losses_bwd(term, temperature, lambda_weight, block, arrays, cotangent):
    scores, labels, valid, features = arrays
    scaled, scaled_temperature = scale_for_temperature(scores, temperature)
    cols = _Items(scaled, labels, valid, features)
    n = cols.scores.shape[-1]
    if block >= n:
        slopes = _slab_slopes(
            term, scaled_temperature, lambda_weight, cols, cols, cotangent
        )
        as_first, as_second = jnp.sum(slopes, axis=-1), jnp.sum(slopes, axis=-2)
    else:
        blocks = jax.tree.map(lambda a: to_blocks(a, block), (cols, cotangent))

        def step(col_sums, block_args):
            rows, row_cotangent = block_args
            slopes = _slab_slopes(
                term, scaled_temperature, lambda_weight, rows, cols, row_cotangent
            )
            return col_sums + jnp.sum(slopes, axis=-2), jnp.sum(slopes, axis=-1)

        as_second, as_first = lax.scan(step, jnp.zeros_like(cotangent), blocks)
        as_first = from_blocks(as_first, n)
    grad = divide_by_temperature(as_first - as_second, temperature)
    return grad.astype(scores.dtype), None, None, None


_pair_losses.defvjp(_pair_losses_fwd, _pair_losses_bwd)


def pair_losses(
    scores: jax.Array,
    labels: jax.Array,
    valid: jax.Array,
    term: PairTerm,
    *,
    temperature: float,
    lambda_weights: LambdaWeight | None,
    block_size: int | None,
    variant: Variant | None = None,
) -> jax.Array:
    """Unweighted per-item losses ``(..., n)`` of ``term`` (module docstring).

    Args:
      scores: ``(..., n)`` finite scores in the compute dtype.
      labels: ``(..., n)`` labels in the compute dtype.
      valid: ``(..., n)`` bool, True for items that take part in pairs.
      term: the pair term.
      temperature: static Python float > 0.
      lambda_weights: optional lambda weights, held constant under differentiation.
      block_size: static rows per block, or None to choose from the shape and the
        platform (:func:`block_size_for`).
      variant: None to choose the block size for the platform the computation is
        lowered for (:func:`jaxrank._src.platforms.per_platform`), or
        ``"cpu"``/``"accelerator"`` to force one (tests).

    Returns:
      ``(..., n)`` per-item losses, 0 for invalid items; reverse-mode differentiable
      in ``scores`` (``jax.custom_vjp``) with :math:`O(n)` residuals.
    """
    chex.assert_equal_shape([scores, labels, valid])
    features = ()
    if lambda_weights is not None:
        features = lambda_weights.item_features(
            lax.stop_gradient(scores), labels, valid
        )
        features = tuple(lax.stop_gradient(f) for f in features)
    options = (term, temperature, lambda_weights, block_size)
    args = (scores, labels, valid, features)
    if variant is None:
        return per_platform(functools.partial(_pair_losses_blocked, *options), *args)
    return _pair_losses_blocked(*options, *args, variant=variant)


def _pair_losses_blocked(
    term, temperature, lambda_weights, block_size, *arrays, variant
):
    block = block_size_for(arrays[0].shape, block_size, variant)
    return _pair_losses(term, temperature, lambda_weights, block, *arrays)


# Items per chunk of the band kernel (at most): each chunk visits the partner offsets
# its own segments need, so one long segment costs only the chunks it covers.
BAND_CHUNK = 8192
# Partner offsets per step of the band kernel's loop, fused into one elementwise pass
# (fewer steps, and each partner window is sliced once per step; with 8, XLA's CPU
# backend fuses the window's dynamic slice into the pass, which then runs several
# times slower; 32 runs the packed hinge some 10-15% faster than 16 but compiles a
# third slower).
BAND_UNROLL = 16
# Partner offsets per step on GPUs and TPUs: one (chunk, 64) slab gathered from the
# partner window and reduced, so a segment of L items takes about 2 L / 64 steps.
BAND_GROUP = 64


def _ceil_div(a, b):
    return -(-a // b)


def _runs(segments: jax.Array):
    """Each list sorted (stably) by segment id, then all lists laid end to end.

    Returns ``(order, inverse, first, last)``: the ``(..., n)`` sorting permutation
    and its inverse (:func:`jaxrank._src.segments.segment_order`), and for every
    item of the flat sorted sequence the offsets ``first <= 0 <= last`` from it to
    the first and the last item of its run (a run = one segment of one list).
    """
    order, inverse = segment_order(segments)
    ids = jnp.take_along_axis(segments, order, axis=-1)
    _, start, end = run_bounds(run_starts(ids).reshape(-1))
    position = jnp.arange(start.shape[0], dtype=jnp.int32)
    return order, inverse, start - position, end - 1 - position


def _ordered_pair(temperature, first, second):
    """``x``, ``dy`` and :math:`y_{first} > y_{second}` for pairs of items given as
    ``(scores, labels)`` (a NaN label, an invalid item's, is never ordered)."""
    x = (first[0] - second[0]) / jnp.asarray(temperature, first[0].dtype)
    dy = first[1] - second[1]
    return x, dy, dy > 0


def _over_offsets(pair_sum, rows, partners, begin, first, last):
    """``sum_d pair_sum(rows, cols_d, in_run_d)`` for one chunk of items.

    ``rows`` are the chunk's per-item arrays, ``cols_d`` the arrays ``partners`` read
    from ``begin + d`` (the items at offset ``d``), and ``in_run_d`` whether each
    item's partner at offset ``d`` lies in its run (``first <= d <= last``). The
    offsets run from the chunk's smallest ``first`` up past its largest ``last``,
    :data:`BAND_UNROLL` of them fused into one elementwise pass over a window read
    once, and are added in order of ``d``; the up to ``BAND_UNROLL - 1`` past the
    largest ``last`` lie outside every item's run and add 0.
    """
    chunk = first.shape[0]
    lowest = jnp.min(first)

    def body(step, acc):
        offset = lowest + step * BAND_UNROLL
        window = tuple(
            lax.dynamic_slice_in_dim(a, begin + offset, chunk + BAND_UNROLL - 1)
            for a in partners
        )
        below, above = first - offset, last - offset
        for d in range(BAND_UNROLL):
            cols = tuple(a[d : d + chunk] for a in window)
            acc = acc + pair_sum(rows, cols, (below <= d) & (d <= above))
        return acc

    steps = _ceil_div(jnp.max(last) - lowest + 1, BAND_UNROLL)
    return lax.fori_loop(0, steps, body, jnp.zeros(chunk, rows[0].dtype))


def _over_offset_groups(pair_sum, rows, partners, begin, first, last):
    """:func:`_over_offsets` for GPUs and TPUs: :data:`BAND_GROUP` offsets per step,
    as one ``(chunk, BAND_GROUP)`` slab gathered from the partner window and summed
    over its offsets (so fewer, wider steps; the terms are added in another order)."""
    chunk = first.shape[0]
    lowest = jnp.min(first)
    slab = (chunk, BAND_GROUP)
    d = lax.broadcasted_iota(jnp.int32, slab, 1)
    index = lax.broadcasted_iota(jnp.int32, slab, 0) + d
    row_slab = tuple(a[:, None] for a in rows)

    def body(step, acc):
        offset = lowest + step * BAND_GROUP
        cols = tuple(
            lax.dynamic_slice_in_dim(a, begin + offset, chunk + BAND_GROUP - 1)[index]
            for a in partners
        )
        in_run = (first[:, None] - offset <= d) & (d <= last[:, None] - offset)
        return acc + jnp.sum(pair_sum(row_slab, cols, in_run), axis=-1)

    steps = _ceil_div(jnp.max(last) - lowest + 1, BAND_GROUP)
    return lax.fori_loop(0, steps, body, jnp.zeros(chunk, rows[0].dtype))


def _over_chunks(fn, per_item, first, last, chunk, variant):
    """``fn(rows, begin, first, last)`` for every chunk of ``chunk`` items, rows
    being the chunk's part of each ``per_item`` array and ``begin`` the position of
    its first item in the arrays padded by :func:`_for_partners`; concatenated.

    On a CPU the chunks run one after another (``lax.map``, and each chunk visits
    only the offsets it needs, with :func:`_over_offsets`); on GPUs and TPUs all
    at once (``vmap``, with :func:`_over_offset_groups`: one loop whose steps cover
    the longest run of any chunk)."""
    num_chunks = first.shape[0] // chunk
    begins = chunk + jnp.arange(num_chunks, dtype=jnp.int32) * chunk
    blocks = jax.tree.map(lambda a: a.reshape(num_chunks, chunk), per_item)
    bounds = (first.reshape(num_chunks, chunk), last.reshape(num_chunks, chunk))
    if variant == "cpu":
        return lax.map(lambda a: fn(_over_offsets, *a), (blocks, begins, *bounds))
    return jax.vmap(functools.partial(fn, _over_offset_groups))(blocks, begins, *bounds)


def _for_partners(x, chunk):
    """``x`` padded with ``chunk`` NaN items before and ``chunk +`` the widest step
    after, so that every partner window of every chunk lies inside (a NaN label
    makes no pair ordered)."""
    after = chunk + max(BAND_UNROLL, BAND_GROUP)
    return jnp.pad(x, (chunk, after), constant_values=jnp.nan)


def _band_terms(term, temperature, chunk, variant, scores, labels, first, last):
    scaled, scaled_temperature = scale_for_temperature(scores, temperature)
    partners = (_for_partners(scaled, chunk), _for_partners(labels, chunk))
    zero = jnp.zeros((), scaled.dtype)

    def pair_sum(rows, cols, in_run):
        x, dy, ordered = _ordered_pair(scaled_temperature, rows, cols)
        return jnp.where(ordered & in_run, term.value(x, dy), zero)

    def chunk_losses(over, rows, begin, first, last):
        return over(pair_sum, rows, partners, begin, first, last)

    per_item = (scaled, labels)
    return _over_chunks(chunk_losses, per_item, first, last, chunk, variant)


def _band_loss_values(term, temperature, chunk, variant, scores, labels, first, last):
    return _band_terms(
        term, temperature, chunk, variant, scores, labels, first, last
    ).reshape(-1)


_band_losses = jax.custom_vjp(_band_loss_values, nondiff_argnums=(0, 1, 2, 3))


def _band_losses_fwd(term, temperature, chunk, variant, *arrays):
    return _band_loss_values(term, temperature, chunk, variant, *arrays), arrays


def _band_losses_bwd(term, temperature, chunk, variant, arrays, cotangent):
    scores, labels, first, last = arrays
    scaled, scaled_temperature = scale_for_temperature(scores, temperature)
    cotangent = cotangent.astype(scaled.dtype)
    per_item = (scaled, labels, cotangent)
    partners = tuple(_for_partners(a, chunk) for a in per_item)
    zero = jnp.zeros((), scaled.dtype)

    def pair_sum(rows, cols, in_run):
        # a_kj - a_jk (module docstring) for the chunk's items k, partners j.
        x, dy, ordered = _ordered_pair(scaled_temperature, rows, cols)
        as_first = jnp.where(ordered & in_run, term.slope(x, dy) * rows[2], zero)
        x, dy, ordered = _ordered_pair(scaled_temperature, cols, rows)
        as_second = jnp.where(ordered & in_run, term.slope(x, dy) * cols[2], zero)
        return as_first - as_second

    def chunk_slopes(over, rows, begin, first, last):
        return over(pair_sum, rows, partners, begin, first, last)

    grad = _over_chunks(chunk_slopes, per_item, first, last, chunk, variant)
    grad = divide_by_temperature(grad.reshape(-1), temperature)
    return grad.astype(scores.dtype), None, None, None


_band_losses.defvjp(_band_losses_fwd, _band_losses_bwd)


def _segment_pair_losses(
    term, temperature, chunk, scores, labels, valid, ids, *, variant
):
    shape = scores.shape
    order, inverse, first, last = _runs(ids)
    count = first.shape[0]
    # Chunks of at most `chunk` items, as even as the count allows, in whole vector
    # registers (an odd chunk runs several times slower on CPU).
    chunks = _ceil_div(count, chunk)
    chunk = min(_ceil_div(_ceil_div(count, chunks), 128) * 128, chunk)
    total = _ceil_div(count, chunk) * chunk

    def flat_sorted(x):
        x = jnp.take_along_axis(x, order, axis=-1).reshape(-1)
        return jnp.pad(x, (0, total - count), constant_values=jnp.nan)

    losses = _band_losses(
        term,
        temperature,
        chunk,
        variant,
        flat_sorted(scores),
        # Invalid items' labels are NaN: no comparison makes their pairs ordered.
        flat_sorted(jnp.where(valid, labels, jnp.nan)),
        jnp.pad(first, (0, total - count)),
        jnp.pad(last, (0, total - count)),
    )
    losses = losses[:count].reshape(shape)
    return jnp.take_along_axis(losses, inverse, axis=-1)


def segment_pair_losses(
    scores: jax.Array,
    labels: jax.Array,
    valid: jax.Array,
    segments: jax.Array,
    term: PairTerm,
    *,
    temperature: float,
    block_size: int | None,
    variant: Variant | None = None,
) -> jax.Array:
    """Per-item losses ``(..., n)`` of ``term`` over the pairs within each segment.

    Each list is sorted (stably) by segment id and the lists laid end to end, so
    that every segment is a contiguous run and its pairs lie within a band around
    the diagonal: item :math:`i`'s partners are the items :math:`i + d` of its run,
    :math:`d` between the offsets to the run's first and last items. The items are
    processed in chunks of at most ``block_size`` (default :data:`BAND_CHUNK`),
    split evenly; a chunk loops over the offsets from the smallest to the largest
    of its items' bounds, :data:`BAND_UNROLL` offsets per elementwise pass over the
    chunk (pairs outside an item's run, or with an invalid item, whose label is
    read as NaN, are masked), adding each item's terms in order of its partners'
    positions (on GPUs and TPUs, all chunks at once and :data:`BAND_GROUP` offsets
    per step, added in another order). Time is :math:`O(n \\log n)` for the sort plus
    :math:`O(\\sum_c b\\,L_c)` for chunks of ``b`` items whose longest run has
    :math:`L_c` items, which is :math:`O(\\sum_k n_k^2)` when segments are much
    shorter than a chunk; memory is :math:`O(n)` and the backward pass recomputes
    the pair terms from the :math:`O(n)` inputs. The losses are returned in list
    order.

    Args:
      scores, labels, valid: as for :func:`pair_losses`.
      segments: ``(..., n)`` integer segment ids.
      term: the pair term; an ordered one (``term.ordered``).
      temperature: static Python float > 0.
      block_size: static items per chunk (at most), or None for
        :data:`BAND_CHUNK`.
      variant: None for the kernel of the platform the computation is lowered
        for, or ``"cpu"``/``"accelerator"`` to force one (tests).

    Returns:
      ``(..., n)`` per-item losses, 0 for invalid items; reverse-mode differentiable
      in ``scores`` with :math:`O(n)` residuals.
    """
    chex.assert_equal_shape([scores, labels, valid, segments])
    if not term.ordered:
        raise ValueError("segment_pair_losses counts ordered pairs only")
    if scores.size == 0:
        return jnp.zeros_like(scores)
    chunk = BAND_CHUNK if block_size is None else int(block_size)
    args = (scores, labels, valid, segments)
    kernel = functools.partial(_segment_pair_losses, term, temperature, chunk)
    if variant is None:
        return per_platform(kernel, *args)
    return kernel(*args, variant=variant)
