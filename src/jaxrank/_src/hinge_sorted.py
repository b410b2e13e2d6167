"""The exact pairwise hinge in :math:`O(n \\log n)` time and :math:`O(n)` memory.

The kernel behind ``jaxrank.pairwise_hinge_loss(..., method="sorted")``, with the
contract and the numbers of the all-pairs kernel (``method="all_pairs"``): for scores
:math:`s`, labels :math:`y`, validity :math:`v` and temperature :math:`T`,

.. math::

    \\ell_i = \\sum_j v_i v_j [y_i - y_j > 0] \\max(0,\\ m_{ij}), \\qquad
    m_{ij} = 1 - \\frac{s_i - s_j}{T},

and a pair is *active* when it is counted and :math:`m_{ij} > 0` (a pair exactly at
the kink adds 0 to value and gradient, the subgradient ``jax.nn.relu`` picks at 0).
With :math:`C_i` active partners of :math:`i`, the first of them in score order at
position :math:`p_i` (below),

.. math::

    \\ell_i = C_i + \\frac{D_i}{T}, \\quad
    D_i = \\sum_{j\\ \\mathrm{active}} (s_j - s_i)
        = A_i - C_i\\,(s_i - s_{p_i}), \\quad
    A_i = \\sum_{j\\ \\mathrm{active}} (s_j - s_{p_i}) \\ge 0,

.. math::

    \\frac{\\partial}{\\partial s_k} \\sum_i g_i \\ell_i
      = \\frac{1}{T}\\Bigl(\\sum_{i:\\,(i,k)\\ \\mathrm{active}} g_i - g_k C_k\\Bigr).

**Algorithm (per list).** One sort by score. :math:`m_{ij}` falls as :math:`s_j`
falls, so the partners that pass the margin test form a suffix ``[p_i, n)`` of the
score order; ``p`` comes from a vectorised binary search that evaluates the *same float
expression* as the all-pairs kernel (never a precomputed threshold ``s_i - T``, which
disagrees on rare boundary pairs). ``p`` never decreases along the score order, so on
long lists every 64th position is searched first and the rest only inside the bracket
their neighbours leave (about half the halvings at :math:`n = 2^{20}`). What remains
are "how many of the items in ``[p_i, n)`` have a smaller label key, and what is the
sum of their :math:`s_j - s_{p_i}`" queries over integer label keys, answered for all
``i`` at once in one of two ways, chosen at run time from the largest key ``K`` of the
batch:

* **Few keys** (``K < 8``: binary labels, grades 0..7): one pass per key value
  ``c < K``, a suffix table of the items with key ``c`` read at ``p_i`` by every query
  whose key is above ``c``.
* **Many keys**: a binary wavelet matrix, one key bit per level, top bit first (a
  ``lax.fori_loop`` whose trip count, the number of key bits, is a run-time value).
  Items whose keys agree on the bits already read form contiguous *segments* in score
  order, and a query's range runs from its first item at or after ``p_i`` to the end
  of its segment. Each level builds suffix tables of the "bit is 0" items within the
  segments, reads them at the start of every query's range (plus, for the sum, the
  count times the exact difference from :math:`s_{p_i}` to the score there), and
  partitions the items stably by the bit (a scatter) for the next level.

A *suffix table* holds, at each position ``y``, the number of chosen items from ``y``
on and the sum of :math:`s_z - s_y` over those in ``y``'s segment: the suffix sum of
:math:`N(x+1)\\,(s_{x+1} - s_x)` over positions ``x >= y`` (:math:`N(x+1)` the chosen
items after ``x`` in the segment), non-negative differences of neighbours in score
order, each exact as a double-float, times integers, each product exact. Two passes
of a lane-parallel reverse ``lax.scan`` (lane totals, joined over the lanes by a
scan, then running sums) finish the tables. Tied scores add exactly 0 and near-ties
only their own differences, however large the scores.

*Plain tables* skip the anchoring: the sum of the chosen :math:`s_z` themselves from
``y`` to the end of ``y``'s segment, one TwoSum per step and no count product, so
about a third of the anchored tables' time; :math:`D_i = S_i - C_i s_i` with
:math:`S_i` the active partners' score sum, read at one table position (never the
difference of two prefix sums, so its rounding is relative to the partners' own
magnitudes). Their error grows with :math:`\\max |s| / T`, so one ``lax.cond`` on
the batch's largest valid :math:`|s|` picks the formulation: plain while
:math:`\\max |s| \\le \\lambda_n T`, where they are within the precision rule below
(:func:`_plain_sum_limit`: :math:`\\lambda_n` is about 50 at :math:`n = 2^{20}`,
1200 at 16384, 3.7 at :math:`2^{24}`), anchored otherwise. Everything else (sort,
margin search, counts, residuals, backward pass) is shared; float64 always takes
the anchored tables. The keys:

* **Integer labels** (every valid label an integer in ``[0, max(n, 8))``, detected at
  run time) are the keys themselves: no second sort.
* **Other real labels** are replaced by the number of valid labels below them (one
  more sort, of the labels' bit patterns as integers, and a ``searchsorted``), so up
  to :math:`\\lceil \\log_2 n \\rceil` wavelet levels. Both key builders sit in one
  ``lax.cond``; the rest is shared, so the kernel is compiled once per shape.

Invalid items take part in no table. The items for which ``k`` is the lower partner
of an active pair form a prefix ``[0, e_k)`` of the score order (``e`` from a
histogram of ``p``), restricted to higher keys. The forward pass also counts them,
:math:`D_k`, with a few more table reads on the same passes, so that when every valid
item of a list has the same cotangent :math:`g` (every reduction without per-item
weights) the backward pass is the :math:`O(n)` map
:math:`g (D_k - C_k) / T` (with segments, a cotangent equal within each segment
suffices). A caller that knows this holds says so (``uniform_cotangent=True``, what
the public loss passes when it reduces without per-item weights), and only that map
is compiled. For other cotangents (a ``lax.cond`` on the values) it
reuses the saved permutation: the prefix ``[0, e_k)``, read backwards with
complemented keys, is the same suffix query over the cotangents, with plain (not
anchored) sums (under ``vmap`` of the loss, the ``lax.cond`` becomes a select and both
run). Residuals are six ``(n,)`` arrays (permutation, ``e``, :math:`C`, :math:`D`,
sorted keys, sorted validity; with segments three more, the runs below), the
validity mask and ``K``.

**Precision.** Counts are exact integers (``int32``; the float conversion is exact up to
:math:`2^{24}` items per list). The scores are first scaled by a power of two: by at
most 1/2, so that every difference of two is finite, and for :math:`T \\ge 1` by about
:math:`1/T`, so that no sum overflows where the loss does not (no product
:math:`C_i T` is ever formed). In float32, :math:`A_i` is a double-float sum of
non-negative exact terms, :math:`C_i (s_i - s_{p_i})` an exact product,
:math:`0 \\le s_i - s_{p_i} < T (1 + 3u)`, and :math:`C_i + D_i / T` is formed as a
double-float and rounded once. For lists of up to :math:`2^{24}` items the rule is

.. math::

    |\\hat\\ell_i - \\ell_i| \\le u\\,|\\ell_i| + \\frac{u}{4} B_i, \\qquad
    u = 2^{-24}, \\qquad
    B_i = \\sum_{j\\ \\mathrm{active}} \\Bigl(1 + \\frac{|s_i - s_j|}{T}\\Bigr),

where :math:`\\ell_i` is the exact sum over the pairs that the float32 margin test
makes active and :math:`B_i` the sum of the magnitudes of its terms (so
:math:`\\ell_i \\le B_i`): one rounding of the loss plus a quarter of a rounding of
:math:`B_i` (anchored: double-float sums of :math:`m \\le 2^{24}` non-negative
terms, in lanes of at most :math:`2^{10}` steps, err by under :math:`2^{20} u^2` of
what they sum, at most :math:`3.01\\,B_i T`; plain: :func:`_plain_sum_limit`).
When all pair terms are integers (tied scores, or score differences that are
multiples of :math:`T`) and the loss is below :math:`2^{24}`, every intermediate of
the anchored tables is exact, and so is the result, at any magnitude above the plain
tables' :math:`\\lambda_n T` (and below it for dyadic scores whose sums fit a
double-float).
The all-pairs path rounds every pair term (by up to about
:math:`3u (1 + |s_i - s_j|/T)`) and its running sum, so its error can reach
:math:`(C_i + 3)\\,u B_i`; the two paths agree within the sum of the two bounds. The
rule assumes no subnormal intermediate: XLA on CPU flushes them to zero, which adds
at most :math:`n\\,2^{-124} / T`, below the second term for :math:`T \\ge 2^{-73}`.
XLA also compiles a division by the constant :math:`T` into a multiplication by
:math:`1/T`, which is subnormal, so flushed, for :math:`T > 2^{126}`: there this
kernel divides in two steps (the all-pairs path, which does not, counts every pair of
distinct labels as active with term 1 there, and returns zero gradients).
``python -m jaxrank.benchmark --precision`` measures the float32 error against a
float64 evaluation at :math:`n = 2^{20}`; the tests check the rule against exact sums
at magnitudes up to :math:`10^{38}`. float64 inputs (with x64 enabled) use plain
float64 arithmetic.

**Segments.** With integer ids ``segments`` (items of equal id form one sub-list,
no pair crosses two), the one sort is by (id, score), so each segment is a
contiguous *run* of the order, and every step above is confined to the item's run:
the margin search runs between the run's ends (the two-round search brackets only
within a run), a query's range ends at its run's end, every suffix table restarts
where the run changes (at each wavelet level too, whose stable partition keeps a
run's items in order), and the "lower partner" prefix starts at the run's start. A
segment's numbers are those its items give as a list of their own, within the same
precision rule (whose bounds depend on the list length, here that of the whole
row); the plain or anchored choice is made once for the batch. The cost stays
:math:`O(n \\log n)` per list, whatever the segments' lengths.

**Conventions.** As the all-pairs kernel: equal labels form no pair, equal scores are an
ordinary difference of 0, invalid items take part in no pair and get loss 0, lists of
fewer than 2 items give zeros. Valid scores must be finite (the public loss replaces a
list with a non-finite valid score by NaN after the kernel; a NaN here would only
misplace items in the sort, never hang or crash).

**Dispatch.** ``method="auto"`` takes this path for long lists, with or without
segments (:func:`prefers_sorted_path`).
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import chex
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from jaxrank._src.numerics import count_times, df_add, two_sum
from jaxrank._src.segments import run_bounds

# Crossover of the static dispatch (see prefers_sorted_path).
_MIN_LIST = 2048
_MIN_LIST_FEW_LISTS = 768
_FEW_LISTS = 4
_MIN_LIST_SEGMENTS = 1024
# On GPUs and TPUs (see prefers_sorted_path): the all-pairs kernels up to this many
# items per list and pairs per batch.
_ACCELERATOR_MAX_LIST = 4096
_ACCELERATOR_MAX_PAIRS = 2**29
# Every _SEARCH_STRIDE-th query of a long list is searched first (_first_active).
_SEARCH_STRIDE = 64
# Lists whose largest label key is below this take one prefix pass per key value
# instead of the wavelet matrix's levels (_suffix_smaller_few_keys).
_FEW_KEYS = 8


def prefers_sorted_path(shape, segmented: bool = False, variant="cpu") -> bool:
    """Whether ``method="auto"`` uses this module for scores of static ``shape``.

    The all-pairs kernel costs :math:`O(n^2)` per list, this one
    :math:`O(n \\log n)` with a larger constant and a fixed overhead per call; both
    need only :math:`O(n)` memory and give the same numbers, so this only picks the
    faster. The all-pairs kernel also spreads a batch over a CPU's cores better. The
    thresholds (lists of at least 768 items in batches of up to 4 lists, at least
    2048 items in larger batches) are the measured crossover of
    ``jit(value_and_grad)`` on a CPU; the README has the figures.

    With segments the alternative is the band kernel
    (:func:`jaxrank._src.pair_blocks.segment_pair_losses`), whose cost grows with
    the longest segment, unknown at trace time and as long as the list at worst:
    for lists of at least 1024 items, whatever the batch, the loss chooses at run
    time by the longest segment (True here means: may take this path). There the band
    kernel is up to about twice as fast when every segment is short (tens of
    items), and this path several times faster as soon as segments reach a few
    hundred items (hundreds of times for segments of :math:`2^{16}`).

    On GPUs and TPUs (``variant="accelerator"``) the choice is made from the
    programs' structure, with or without segments: the all-pairs kernels there are
    broadcast reductions over blocks of rows, at most 64 blocks one after another,
    whose work grows as the batch's pairs; this path runs about a hundred small
    kernels one after another (the margin search's halvings, the wavelet levels'
    scans and partitions), a few microseconds each whatever the length. So lists of
    up to 4096 items with at most :math:`2^{29}` pairs in the batch (about what a
    GPU reduces in those microseconds' sum) take the all-pairs kernels, longer ones
    this path.

    Args:
      shape: the static shape ``(..., n)`` of the scores.
      segmented: whether the lists hold segments.
      variant: ``"cpu"`` or ``"accelerator"`` (:mod:`jaxrank._src.platforms`).

    Returns:
      True to use the sorted path.
    """
    if not shape:
        return False
    n, lists = shape[-1], math.prod(shape[:-1])
    if variant == "accelerator":
        return n > _ACCELERATOR_MAX_LIST or lists * n * n > _ACCELERATOR_MAX_PAIRS
    if segmented:
        return n >= _MIN_LIST_SEGMENTS
    return n >= _MIN_LIST or (n >= _MIN_LIST_FEW_LISTS and lists <= _FEW_LISTS)


# --- the score order and the margin boundary -----------------------------------------


def _take(x, idx):
    return x.at[idx].get(mode="promise_in_bounds")


def _ordered_bits(x):
    """Signed integers ordered as the non-NaN floats ``x`` (``-0.0`` just below
    ``+0.0``): XLA sorts a lone integer array several times faster than floats."""
    int_type = jnp.int32 if x.dtype.itemsize == 4 else jnp.int64
    bits = lax.bitcast_convert_type(x, int_type)
    return jnp.where(bits < 0, bits ^ jnp.iinfo(int_type).max, bits)


class _Runs(NamedTuple):
    """The segments of one list sorted by (segment id, score), each a contiguous run
    of positions: ``run`` numbers them ``0, 1, ...``; ``start`` and ``end`` hold, at
    every position, the first position of its run and one past the last."""

    run: jax.Array
    start: jax.Array
    end: jax.Array

    def reversed(self):
        """The same runs with the positions read backwards (``x`` as ``n - 1 - x``)."""
        n = self.run.shape[-1]
        return _Runs(self.run[::-1], (n - self.end)[::-1], (n - self.start)[::-1])


def _bounds(runs, n):
    """``(start, end)`` of every position's run; the whole list without segments."""
    if runs is None:
        return jnp.zeros((n,), jnp.int32), jnp.full((n,), n, jnp.int32)
    return runs.start, runs.end


def _first_active(sorted_scores, temperature, runs, variant):
    """For each sorted position ``k``, the first position ``j`` of its run (the whole
    list without segments) with ``m_kj > 0``.

    The accelerator variant searches every position over its whole run, in
    :math:`\\lceil \\log_2 (n + 2) \\rceil` lock-step halvings. On a CPU, long lists
    are searched in two rounds. :math:`m_{kj}` falls as :math:`s_k` rises
    (float rounding is monotone), so within a run the answer ``p_k`` never decreases
    with ``k``: every ``_SEARCH_STRIDE``-th position is searched over its whole run
    first, and the others only between the answers of the two sampled positions
    around them, in as many halvings as the widest such bracket needs (a run-time
    count). Where a run starts or ends between the two, its start, or ``k + 1``
    (:math:`m_{kk} = 1 > 0`, so :math:`p_k \\le k`), takes the other's place.
    """
    n = sorted_scores.shape[-1]
    start, end = _bounds(runs, n)

    def search(query_scores, lo, hi, steps):
        def halve(_, bounds):
            lo, hi = bounds
            mid = (lo + hi) // 2
            s_mid = _take(sorted_scores, jnp.minimum(mid, n - 1))
            # The all-pairs path's expression, so that boundary pairs agree bit for
            # bit (for T up to 2^126, see _over_temperature).
            active = 1 - _over_temperature(query_scores - s_mid, temperature) > 0
            return jnp.where(active, lo, jnp.minimum(mid + 1, hi)), jnp.where(
                active, mid, hi
            )

        return lax.fori_loop(0, steps, halve, (lo, hi))[0]

    full_steps = (n + 1).bit_length()
    if variant == "accelerator" or n < _SEARCH_STRIDE * _SEARCH_STRIDE:
        return search(sorted_scores, start, end, full_steps)
    every = slice(None, None, _SEARCH_STRIDE)
    anchors = search(sorted_scores[every], start[every], end[every], full_steps)
    upper = jnp.concatenate([anchors[1:], jnp.full((1,), n, jnp.int32)])
    block = jnp.arange(n, dtype=jnp.int32) // _SEARCH_STRIDE
    lo, hi = _take(anchors, block), _take(upper, block)
    if runs is not None:
        sampled_run = runs.run[every]
        next_run = jnp.concatenate([sampled_run[1:], jnp.full((1,), -1, jnp.int32)])
        lo = jnp.where(_take(sampled_run, block) == runs.run, lo, start)
        position = jnp.arange(n, dtype=jnp.int32)
        hi = jnp.where(_take(next_run, block) == runs.run, hi, position + 1)
    width = jnp.max(hi - lo)
    steps = 32 - lax.clz(width)  # bit length: halvings to shrink a bracket to one
    return search(sorted_scores, lo, hi, steps)


# --- suffix tables and the binary wavelet matrix -------------------------------------


def _lane_shape(size):
    """``(steps, lanes)`` with ``steps * lanes >= size`` and ``steps`` a power of 2
    (so positions split into lane and step by shifts): lanes run in parallel."""
    steps = 1 << max(0, (size.bit_length() - 1) // 2 - 2)
    lanes = -(-size // steps)
    return steps, lanes


class _Layout:
    """Positions ``y`` in ``[0, steps * lanes)`` laid out as ``(steps, lanes)`` with
    lane ``y // steps`` and step ``y % steps``: each lane is a contiguous chunk, and a
    ``lax.scan`` over steps keeps one running sum per lane (the CPU variant). The
    accelerator variant has one step (one row of ``n + 1`` lanes, the positions in
    order), which its tables scan in parallel. Items sit at positions ``0..n-1``;
    position ``n`` and the rest are empty pads, so a suffix read at ``n`` is empty."""

    def __init__(self, n, variant):
        self.n = n
        self.parallel = variant == "accelerator"
        self.steps, self.lanes = (1, n + 1) if self.parallel else _lane_shape(n + 1)
        self.pad = self.steps * self.lanes - n
        self.shift = self.steps.bit_length() - 1

    def rows(self, x):
        x = jnp.concatenate([x, jnp.zeros((self.pad,), x.dtype)])
        return x.reshape(self.lanes, self.steps).T

    def flat_index(self, y):
        return (y & (self.steps - 1)) * self.lanes + (y >> self.shift)

    def positions(self):
        step = lax.broadcasted_iota(jnp.int32, (self.steps, self.lanes), 0)
        lane = lax.broadcasted_iota(jnp.int32, (self.steps, self.lanes), 1)
        return lane * self.steps + step


def _add(x, y, compensated):
    """``x + y`` for double-floats (plain sums of the high parts if not compensated)."""
    if not compensated:
        return x[0] + y[0], x[1]
    return df_add(x, y)


def _difference(a, b, compensated):
    """``a - b`` as an exact double-float (TwoSum), or plain if not compensated."""
    if not compensated:
        return a - b, jnp.zeros_like(a)
    return two_sum(a, -b)


def _fast_two_sum(a, b):
    """``a + b`` as ``(hi, lo)``, exactly, when ``|a| >= |b|`` or ``a == 0``."""
    hi = a + b
    return hi, b - (hi - a)


def _halves(x):
    """``x`` (float32) as ``x_1 + x_0``: its 12 leading significand bits and the rest,
    each a float32 of at most 12 significant bits, of the sign of ``x``."""
    bits = lax.bitcast_convert_type(x, jnp.uint32)
    x_1 = lax.bitcast_convert_type(bits & jnp.uint32(0xFFFFF000), x.dtype)
    return x_1, x - x_1


def _join_products(a_1, a_0, b_1, b_0):
    """``(a_1 + a_0)(b_1 + b_0)`` from four exact partial products (12-bit halves,
    ``|a_0| < 2^{-11} |a_1|`` or ``a_1 == 0``, ``|b_0| <= |b_1|``, the signs of
    each pair alike): three FastTwoSums, largest first, so ``hi + lo`` is the
    product up to the rounding of ``lo`` (relative :math:`2^{-46}`). No step
    rounds a product, so a fused multiply-add in place of one changes nothing."""
    hi, e_1 = _fast_two_sum(a_1 * b_1, a_1 * b_0)
    hi, e_2 = _fast_two_sum(hi, a_0 * b_1)
    hi, e_3 = _fast_two_sum(hi, a_0 * b_0)
    return hi, (e_1 + e_2) + e_3


def _count_times_df(count, x, compensated):
    """``count * (x_hi + x_lo)`` as a double-float, for an int32 ``count`` in
    ``[0, 2**24)`` and a finite double-float ``x``; plain if not ``compensated``.

    ``count`` splits into its bits from 12 up and below 12, ``x_hi`` into
    :func:`_halves` (:func:`_join_products`); the small product with ``x_lo`` is
    rounded.
    """
    dtype = x[0].dtype
    c = count.astype(dtype)
    if not compensated:
        return c * x[0], jnp.zeros_like(x[0])
    c_1 = (count >> 12).astype(dtype) * jnp.asarray(4096.0, dtype)
    c_0 = (count & 4095).astype(dtype)
    hi, lo = _join_products(c_1, c_0, *_halves(x[0]))
    return hi, lo + c * x[1]


def _divide_df(x, d, compensated):
    """``(x_hi + x_lo) / d`` as a double-float, for a positive float ``d``: the
    quotient ``q`` of the high parts and the exact remainder ``x - q d`` (``q d`` by
    :func:`_join_products`, whose high part is within a rounding of ``x_hi``, so the
    first subtraction is exact) divided by ``d``, good to :math:`2^{-46}` relative."""
    q = x[0] / d
    if not compensated:
        return q, jnp.zeros_like(q)
    p = _join_products(*_halves(q), *_halves(d))
    rest = ((x[0] - p[0]) - p[1]) + x[1]
    return q, rest / d


def _select(mask, x):
    return tuple(jnp.where(mask, part, jnp.zeros((), part.dtype)) for part in x)


class _Tables(NamedTuple):
    """Suffix tables over ``layout``'s positions (flat, row-major): ``count[y]``
    the chosen items in ``[y, n)``; ``total[y]`` the double-float sum over the
    chosen items ``z`` in ``[y, end of y's segment)`` of ``v_z`` (plain) or of
    ``v_z - v_y`` (anchored)."""

    count: jax.Array
    total: tuple[jax.Array, jax.Array]


def _next_position(rows, fill):
    """``rows`` shifted by one position: the entry of position ``y + 1`` at ``y``
    (``fill`` after the last position)."""
    wrapped = jnp.concatenate([rows[0, 1:], jnp.full((1,), fill, rows.dtype)])
    return jnp.concatenate([rows[1:], wrapped[None]], axis=0)


def _suffix_tables(layout, value_rows, chosen_rows, classes, anchored, compensated):
    """The :class:`_Tables` of the chosen items, in segments of positions that agree
    on every array of the tuple ``classes`` (one segment if empty): two passes of a
    reverse lane-parallel ``lax.scan``, lane totals then running sums started from
    the summary of everything after the lane (a reverse scan over the lanes), so the
    tables come out of a scan finished.

    Anchored (values that do not decrease along a segment), a position ``y`` adds
    :math:`N(y+1)\\,(v_{y+1} - v_y)` to the running sum, ``N(y+1)`` the chosen items
    after ``y`` in its segment, so the sum at ``y`` is :math:`\\sum_z (v_z - v_y)`:
    every addend is a non-negative difference, exact as a double-float
    (:func:`~jaxrank._src.numerics.two_sum`), times an integer (an exact product),
    and the tables have only the relative rounding of a sum of non-negative terms,
    however large the values themselves are.

    With a parallel layout the same sums come from segmented parallel scans
    (:func:`_parallel_suffix_tables`).
    """
    if layout.parallel:
        return _parallel_suffix_tables(
            value_rows[0],
            chosen_rows[0],
            [c[0] for c in classes],
            anchored,
            compensated,
        )
    dtype = value_rows.dtype
    lanes = layout.lanes
    zero_f = jnp.zeros((lanes,), dtype)
    zero_i = jnp.zeros((lanes,), jnp.int32)
    ends_rows = jnp.zeros(chosen_rows.shape, bool)
    for class_rows in classes:  # the last position of each segment
        ends_rows = ends_rows | (class_rows != _next_position(class_rows, -1))
    if anchored:
        addend = _difference(_next_position(value_rows, 0), value_rows, compensated)
    else:
        addend = (jnp.where(chosen_rows, value_rows, jnp.zeros((), dtype)),)

    def step(carry, xs):
        n_seg, n_all, acc = carry
        ends, chosen, x = xs
        if classes:
            n_seg = jnp.where(ends, 0, n_seg)
            acc = _select(~ends, acc)
        if anchored:
            x = _count_times_df(n_seg, x, compensated)
        else:
            x = (x[0], zero_f)
        acc = _add(acc, x, compensated)
        n_seg = n_seg + chosen
        n_all = n_all + chosen
        return (n_seg, n_all, acc), (n_all, acc)

    xs = (ends_rows, chosen_rows.astype(jnp.int32), addend)
    init = (zero_i, zero_i, (zero_f, zero_f))
    n_seg, n_all, acc = lax.scan(step, init, xs, reverse=True)[0]

    def combine(later, earlier):
        # earlier's summary followed by later's, if earlier's first segment goes on.
        v_l, n_l, a_l = later
        v_e, n_e, a_e, o_e = earlier
        if anchored:
            gap = _difference(v_l, v_e, compensated)
            a_l = _add(a_l, _count_times_df(n_l, gap, compensated), compensated)
        n = n_e + jnp.where(o_e, n_l, 0)
        a = _add(a_e, _select(o_e, a_l), compensated)
        if compensated:  # |lo| stays below an ulp of hi along the lanes
            a = tuple(
                jnp.where(jnp.isinf(a[0]), x, y)
                for x, y in zip(a, _fast_two_sum(*a), strict=True)
            )
        out = v_e, n, a
        return out, out[1:]

    open_ = ~jnp.any(ends_rows, axis=0)  # the lane's first segment goes on
    scalar = jnp.zeros((), dtype)
    _, (n_after, a_after) = lax.scan(
        combine,
        (scalar, jnp.int32(0), (scalar, scalar)),
        (value_rows[0], n_seg, acc, open_),
        reverse=True,
    )
    count_after = jnp.cumsum(n_all[::-1])[::-1]

    def next_lane(x):
        return jnp.concatenate([x[1:], jnp.zeros((1,), x.dtype)])

    init = (
        next_lane(n_after),
        next_lane(count_after),
        tuple(next_lane(a) for a in a_after),
    )
    _, (count, total) = lax.scan(step, init, xs, reverse=True)
    return _Tables(count.reshape(-1), tuple(t.reshape(-1) for t in total))


def _parallel_suffix_tables(values, chosen, classes, anchored, compensated):
    """:func:`_suffix_tables` over positions in order (flat ``(m,)`` arrays), with
    no sequential loop: the counts are reverse cumulative sums of integers (exact),
    and the sums a segmented doubling scan of double-floats
    (:func:`_segmented_suffix_sums`), in :math:`\\lceil \\log_2 m \\rceil`
    elementwise passes.

    A segment ends where any array of ``classes`` changes and at the last position.
    Anchored, position ``y`` adds :math:`N(y+1)\\,(v_{y+1} - v_y)` with
    :math:`N(y+1) = \\mathrm{count}(y+1) - \\mathrm{count}(e_y + 1)` the chosen items
    after ``y`` in its segment (``e_y`` its last position): every addend is exact
    and non-negative, as in the sequential tables. A scan tree sums each entry's
    addends through at most :math:`d = \\lceil \\log_2 m \\rceil` additions, where
    a lane's sequential scan takes up to its step count: the error bounds of
    :func:`_plain_sum_limit` hold with :math:`d` in place of the steps.
    """
    m = values.shape[0]
    dtype = values.dtype
    position = jnp.arange(m, dtype=jnp.int32)
    ends = position == m - 1
    for c in classes:
        ends = ends | (c != jnp.concatenate([c[1:], jnp.full((1,), -1, c.dtype)]))
    count = lax.cumsum(chosen.astype(jnp.int32), reverse=True)
    if anchored:
        after = jnp.concatenate([count[1:], jnp.zeros((1,), jnp.int32)])
        last = lax.cummin(jnp.where(ends, position, m - 1), reverse=True)
        in_segment = after - _take(after, last)
        gap = _difference(
            jnp.concatenate([values[1:], jnp.zeros((1,), dtype)]), values, compensated
        )
        addend = _count_times_df(in_segment, gap, compensated)
    else:
        addend = (
            jnp.where(chosen, values, jnp.zeros((), dtype)),
            jnp.zeros_like(values),
        )
    return _Tables(count, _segmented_suffix_sums(ends, addend, compensated))


def _segmented_suffix_sums(ends, addend, compensated):
    """``out[y]``: the double-float sum of ``addend`` over ``[y, e_y]``, ``e_y`` the
    first position at or after ``y`` where ``ends`` is True (the last one is).

    A doubling scan: after the round of ``shift``, position ``y`` holds the sum over
    ``[y, min(y + 2 shift, e_y + 1))`` and whether an end lies in that window; a
    round adds the window that follows unless an end closed the own one. Each
    round is one elementwise pass, :math:`\\lceil \\log_2 m \\rceil` of them.
    """
    m = ends.shape[0]
    closed, total = ends, addend
    shift = 1
    while shift < m:

        def following(x, fill, shift=shift):
            return jnp.concatenate([x[shift:], jnp.full((shift,), fill, x.dtype)])

        more = _add(total, tuple(following(t, 0) for t in total), compensated)
        total = tuple(
            jnp.where(closed, t, t_more) for t, t_more in zip(total, more, strict=True)
        )
        closed = closed | following(closed, True)
        shift *= 2
    return total


def _suffix_count(layout, tables, y):
    """The chosen items at positions ``>= y`` (``0 <= y <= n``)."""
    return _take(tables.count, layout.flat_index(y))


def _range_sum(layout, tables, value_flat, lo, hi, at_lo, at_hi, anchor, compensated):
    """For each query, the double-float sum over the chosen items ``z`` in
    ``[lo, hi)``, where ``hi`` ends ``lo``'s segment (or ``lo == hi``): of ``v_z``
    (``anchor`` None) or of ``v_z - anchor`` (``anchor <= v_lo``; ``value_flat``
    None when ``v_lo`` is ``anchor``)."""
    f_lo = layout.flat_index(lo)
    total = _select(lo < hi, tuple(_take(t, f_lo) for t in tables.total))
    if anchor is None or value_flat is None:
        return total
    local = _difference(_take(value_flat, f_lo), anchor, compensated)
    return _add(total, _count_times_df(at_lo - at_hi, local, compensated), compensated)


def _suffix_smaller(
    keys, values, lower, levels, anchor, compensated, runs, variant, ends=None
):
    """For every query ``k``: over positions ``j >= lower[k]`` of ``k``'s run
    (:class:`_Runs`; the whole list if None) with ``keys[j] < keys[k]``, the number
    of items and the double-float sum of ``values[j]`` (``anchor`` None) or of
    ``values[j] - anchor[k]`` (``values`` non-decreasing along each run,
    ``anchor[k] <= values[lower[k]]``); and, if ``ends`` is given, the number of
    positions ``i < ends[k]`` of ``k``'s run with ``keys[i] > keys[k]`` (else None).

    A binary wavelet matrix over ``keys`` (non-negative, below ``2**levels``), top bit
    first, all queries in lock-step: at each level the items split stably by the bit
    (zeros first); a query whose bit is 1 adds the zeros of its current range, one
    whose bit is 0 adds the ones of its prefix range, and both ranges follow the
    query's own bit into the next level. Items whose keys agree on the bits above the
    level's form a contiguous segment in score order, and a query's range runs from
    its first item at or after ``lower`` to the end of its own segment: a suffix of a
    segment, what :func:`_suffix_tables` answers. With runs, the partition keeps
    each run's items in order, so the items of one run whose keys agree on the bits
    read form a contiguous sub-segment: the tables restart at run changes too, and
    a query's range starts inside its run and ends at its run's end.
    ``levels`` may be traced; ``variant`` picks the tables' layout (:class:`_Layout`).
    """
    n = keys.shape[-1]
    layout = _Layout(n, variant)
    where_y = layout.positions()
    pad = where_y >= n
    size = layout.steps * layout.lanes
    anchored = anchor is not None

    def level(i, state):
        key_rows, value_rows, run_rows, lo, hi, count, total, prefix = state
        shift = levels - 1 - i
        zero_rows = (((key_rows >> shift) & 1) == 0) & ~pad
        q_one = ((keys >> shift) & 1) == 1
        classes = (key_rows >> (shift + 1),) + (() if runs is None else (run_rows,))
        tables = _suffix_tables(
            layout, value_rows, zero_rows, classes, anchored, compensated
        )
        n_zero = tables.count[0]

        def at(y):
            return _suffix_count(layout, tables, y)

        def follow(y, at_y):
            before = n_zero - at_y  # zeros before y
            return jnp.where(q_one, n_zero + y - before, before)

        at_lo, at_hi = at(lo), at(hi)
        part = _range_sum(
            layout,
            tables,
            value_rows.reshape(-1) if anchored else None,
            lo,
            hi,
            at_lo,
            at_hi,
            anchor,
            compensated,
        )
        count = count + jnp.where(q_one, at_lo - at_hi, 0)
        total = _add(total, _select(q_one, part), compensated)
        lo, hi = follow(lo, at_lo), follow(hi, at_hi)
        if prefix is not None:
            start, end, greater = prefix
            at_start, at_end = at(start), at(end)
            ones = (end - start) - (at_start - at_end)
            greater = greater + jnp.where(q_one, 0, ones)
            prefix = follow(start, at_start), follow(end, at_end), greater
        # Zeros before each position, then the stable partition (zeros first),
        # scattered straight into the next level's rows; the pads are dropped.
        before = n_zero - tables.count.reshape(layout.steps, layout.lanes)
        dest = jnp.where(zero_rows, before, n_zero + where_y - before)
        dest = jnp.where(pad, size, layout.flat_index(dest)).reshape(-1)

        def move(x):
            new = (
                jnp.zeros((size,), x.dtype)
                .at[dest]
                .set(x.reshape(-1), mode="drop", unique_indices=True)
            )
            return new.reshape(layout.steps, layout.lanes)

        moved = jax.tree.map(move, (key_rows, value_rows, run_rows))
        return *moved, lo, hi, count, total, prefix

    dtype = values.dtype
    zeros = jnp.zeros((n,), dtype)
    no_items = jnp.zeros((n,), jnp.int32)
    start, end = _bounds(runs, n)
    prefix = None if ends is None else (start, ends, no_items)
    state = (
        layout.rows(keys),
        layout.rows(values),
        None if runs is None else layout.rows(runs.run),
        lower,
        end,
        no_items,
        (zeros, zeros),
        prefix,
    )
    *_, count, total, prefix = lax.fori_loop(0, levels, level, state)
    return count, total, None if ends is None else prefix[2]


def _count_before(mask, ends, runs):
    """For each ``e`` in ``ends`` (``0..n``), the number of True in ``mask[b:e]``,
    ``b`` the start of the query's run (:class:`_Runs`; 0 if None)."""
    before = jnp.concatenate(
        [jnp.zeros((1,), jnp.int32), jnp.cumsum(mask, dtype=jnp.int32)]
    )
    count = _take(before, ends)
    return count if runs is None else count - _take(before, runs.start)


def _suffix_smaller_few_keys(
    keys, values, valid, lower, num_keys, anchor, compensated, runs, variant, ends=None
):
    """:func:`_suffix_smaller` for valid keys in ``[0, num_keys]``, ``num_keys`` small.

    One pass per key value ``c < num_keys``: suffix tables of the valid items with
    key ``c`` (count and sum, restarting at every run), read at ``lower`` (less the
    count at the run's end), go to every query whose key is above ``c`` (and, read at
    ``ends`` and the run's start, to the "not greater" count of every query whose key
    is at least ``c``). Invalid items (any key) are left out. Each pass is one table
    and one or two reads per query, where a wavelet level also partitions the items
    and follows the range ends.
    """
    n = keys.shape[-1]
    dtype = values.dtype
    layout = _Layout(n, variant)
    key_rows, value_rows = layout.rows(keys), layout.rows(values)
    valid_rows = layout.rows(valid)  # the pads are False
    classes = () if runs is None else (layout.rows(runs.run),)
    start, end = _bounds(runs, n)
    nothing = jnp.zeros((n,), jnp.int32)

    def one_key(c, state):
        count, total, not_greater = state
        tables = _suffix_tables(
            layout,
            value_rows,
            valid_rows & (key_rows == c),
            classes,
            anchor is not None,
            compensated,
        )

        def at(y, whole_list):  # the count at y, known without runs
            return whole_list if runs is None else _suffix_count(layout, tables, y)

        at_lower, at_end = _suffix_count(layout, tables, lower), at(end, nothing)
        # The range [lower, end) starts at the anchor itself.
        part = _range_sum(
            layout, tables, None, lower, end, at_lower, at_end, anchor, compensated
        )
        above = keys > c
        count = count + jnp.where(above, at_lower - at_end, 0)
        total = _add(total, _select(above, part), compensated)
        if ends is not None:
            at_start = at(start, tables.count[0])
            before = at_start - _suffix_count(layout, tables, ends)
            not_greater = not_greater + jnp.where(keys >= c, before, 0)
        return count, total, not_greater

    zeros = jnp.zeros((n,), dtype)
    count, total, not_greater = lax.fori_loop(
        0, num_keys, one_key, (nothing, (zeros, zeros), nothing)
    )
    if ends is None:
        return count, total, None
    in_range = _count_before(valid, ends, runs)
    greater = jnp.where(keys < num_keys, in_range - not_greater, 0)
    return count, total, greater


def _suffix_smaller_valid(
    keys, values, valid, lower, key_bound, anchor, compensated, runs, variant, ends=None
):
    """:func:`_suffix_smaller` over the valid items only, by the cheaper algorithm.

    ``keys`` of valid items lie in ``[0, key_bound]``; invalid items' keys are
    ignored. ``key_bound`` is a traced scalar shared by the batch (so that under
    ``vmap`` the choice stays one branch): below ``_FEW_KEYS`` one pass per key
    value, else the wavelet matrix (invalid items get its top key, so they are never
    a smaller partner; the invalid items before ``ends`` are taken back out of the
    "greater" counts).
    """
    levels = 32 - lax.clz(key_bound)
    top = (1 << levels) - 1

    def wavelet():
        topped = jnp.where(valid, keys, top)
        count, total, greater = _suffix_smaller(
            topped, values, lower, levels, anchor, compensated, runs, variant, ends
        )
        if ends is not None:
            invalid_before = _count_before(~valid, ends, runs)
            greater = greater - jnp.where(topped < top, invalid_before, 0)
        return count, total, greater

    return lax.cond(
        key_bound < _FEW_KEYS,
        lambda: _suffix_smaller_few_keys(
            keys,
            values,
            valid,
            lower,
            key_bound,
            anchor,
            compensated,
            runs,
            variant,
            ends,
        ),
        wavelet,
    )


# --- the kernel -----------------------------------------------------------------------


def _scaling(temperature, dtype):
    """``(scale, tau, factor)``, static: the kernel sums the scores times ``scale``
    (a power of two at most 1/2, as one or two factors) and forms
    :math:`\\ell = C + f D' / \\tau` with :math:`D'` the partner differences so
    scaled and ``f = factor``.

    ``T >= 1``: ``scale = 2^{-e}`` with :math:`2^{e-1} \\le T < 2^e`, so
    :math:`\\tau = T\\,\\mathrm{scale} \\in [1/2, 1)` and no sum can overflow
    where the loss does not; ``T < 1``: the scores are halved, ``tau = T`` and
    ``factor = 2``. Halving keeps every difference of two scaled scores finite.
    """
    t = np.asarray(temperature, dtype)
    if t < 1:
        return (0.5,), t, 2
    e = int(np.floor(np.log2(t))) + 1
    return (2.0 ** -(e // 2), 2.0 ** -(e - e // 2)), np.ldexp(t, -e), 1


def _scaled(x, scale):
    """``x`` times the factors of ``scale`` in turn. XLA must not fold them into one
    constant: below float32's normal range it would be flushed to zero."""
    for i, part in enumerate(scale):
        if i:
            x = lax.optimization_barrier(x)
        x = x * jnp.asarray(part, x.dtype)
    return x


def _over_temperature(x, temperature):
    """``x / T``. XLA compiles a division by a constant into a multiplication by its
    reciprocal, which for ``T > 2^126`` is below float32's normal range and flushed
    to zero on CPU: such temperatures divide in two steps (:func:`_scaling`)."""
    dtype = x.dtype
    t = np.asarray(temperature, dtype)
    if t <= 2.0**126 or dtype == jnp.float64:
        return x / jnp.asarray(t, dtype)
    scale, tau, _ = _scaling(temperature, dtype)
    return _scaled(x, scale) / jnp.asarray(tau, dtype)


def _plain_sum_limit(n, temperature, variant):
    """The largest ``max |s|`` (static, for lists of ``n`` float32 items at
    temperature ``T``) up to which the plain partner sums are within the module's
    precision rule, so that :func:`_forward_list` may skip the anchored ones.

    A plain table entry sums the scaled scores :math:`v_j` of the partners it covers
    as a double-float: two passes of ``steps`` TwoSum steps whose low parts are
    summed without renormalisation, joined over ``lanes`` lanes, err by at most
    :math:`(m^2 + m + 4 L)\\,u^2 \\sum |v_j|` (``m`` steps, ``L`` lanes); the level
    joins, the exact product :math:`C_i v_i`, its subtraction and the double-float
    division add under :math:`2^8 u^2 C_i \\max|v|`. Over :math:`\\tau`, that is at
    most :math:`\\gamma\\,C_i \\max|s| / T` with
    :math:`\\gamma = (m^2 + m + 4L + 2^8)\\,u^2`, within the rule's
    :math:`\\frac{u}{4} B_i \\ge \\frac{u}{4} C_i` while
    :math:`\\max|s| \\le T / (4 \\gamma / u)`. About ``50 T`` at :math:`n = 2^{20}`,
    ``1200 T`` at 16384, ``3.7 T`` at :math:`2^{24}`.

    The accelerator variant's scan tree (:func:`_parallel_suffix_tables`) counts
    as one lane of :math:`m = \\lceil \\log_2 (n + 1) \\rceil` steps and no lane
    join, :math:`L = 0` (a level-:math:`k` node holds a low part below :math:`k u`
    times what its subtree sums, and rounds it once): about :math:`2.5 \\times
    10^4\\,T` at :math:`2^{20}`.
    """
    if variant == "accelerator":
        steps, lanes = n.bit_length(), 0
    else:
        steps, lanes = _lane_shape(n + 1)
    u = 2.0**-24
    gamma = (steps * steps + steps + 4 * lanes + 256) * u * u
    limit = float(temperature) * u / (4 * gamma) * (1 - 2.0**-20)
    return min(limit, float(np.finfo(np.float32).max))


def _partner_sums(
    sorted_keys,
    values,
    sorted_valid,
    first,
    key_bound,
    ends,
    runs,
    variant,
    anchored,
    compensated,
):
    """``(C, D', E)`` for every sorted position: the active partners' count, the
    double-float :math:`D' = \\sum_j (v_j - v_i)` over them (``values`` ``v``
    scaled), and the count of items for which it is the lower partner.

    Anchored: :math:`D' = A - C (v_i - v_{p_i})` from the anchored suffix tables,
    within the precision rule at any magnitude. Plain: :math:`D' = S - C v_i` from
    plain suffix tables (no neighbour differences, no count products in the scans),
    within the rule only while :func:`_plain_sum_limit` holds.
    """
    anchor = _take(values, first) if anchored else None
    count, total, as_lower = _suffix_smaller_valid(
        sorted_keys,
        values,
        sorted_valid,
        first,
        key_bound,
        anchor,
        compensated,
        runs,
        variant,
        ends,
    )
    if anchored:
        own = _difference(values, anchor, compensated)
    else:
        own = (values, jnp.zeros_like(values))
    below = _count_times_df(count, own, compensated)
    return count, _add(total, (-below[0], -below[1]), compensated), as_lower


def _sort_list(scores, segments):
    """The permutation that sorts one list by score, or by (segment id, score), and
    the :class:`_Runs` of the segments in that order (None without segments)."""
    n = scores.shape[-1]
    position = jnp.arange(n, dtype=jnp.int32)
    if segments is None:
        _, order = lax.sort(
            (_ordered_bits(scores), position), num_keys=1, is_stable=False
        )
        return order, None
    ids, _, order = lax.sort(
        (segments, _ordered_bits(scores), position), num_keys=2, is_stable=False
    )
    new_run = jnp.concatenate([jnp.ones((1,), bool), ids[1:] != ids[:-1]])
    return order, _Runs(*run_bounds(new_run))


def _forward_list(scores, keys, valid, segments, shared, temperature, variant):
    """Per-item losses of one list, plus the residuals for the backward pass.

    ``shared`` is ``(key_bound, plain)``: the batch's largest key and whether its
    scores are small enough for the plain partner sums (:func:`_plain_sum_limit`);
    ``plain`` is a traced scalar, so one ``lax.cond`` picks the sums' formulation
    and everything else is shared. With ``segments`` every query, table and search
    is confined to the item's run (:class:`_Runs`).
    """
    key_bound, plain = shared
    n = scores.shape[-1]
    dtype = scores.dtype
    compensated = dtype != jnp.float64
    order, runs = _sort_list(scores, segments)
    sorted_scores = _take(scores, order)
    first = _first_active(sorted_scores, temperature, runs, variant)
    sorted_keys = keys[order]
    sorted_valid = valid[order]
    scale, tau, factor = _scaling(temperature, dtype)
    values = _scaled(sorted_scores, scale)
    # ends[x]: the number of items k with first[k] <= x, i.e. those for which x is
    # a lower partner as far as the margin goes (a prefix [0, ends[x]), as first
    # never decreases along a run and lies in [start, k] of k's run: the earlier
    # runs' items all count, the later ones' none).
    hist = jnp.zeros((n + 1,), jnp.int32).at[first].add(1)
    ends = lax.associative_scan(jnp.add, hist)[:n]
    args = (sorted_keys, values, sorted_valid, first, key_bound, ends, runs, variant)
    if compensated:
        count, diff, as_lower = lax.cond(
            plain,
            lambda: _partner_sums(*args, anchored=False, compensated=True),
            lambda: _partner_sums(*args, anchored=True, compensated=True),
        )
    else:  # float64: always anchored
        count, diff, as_lower = _partner_sums(*args, anchored=True, compensated=False)
    t = jnp.asarray(tau, dtype)
    # loss = C + factor D' / tau, the double-float result rounded once.
    diff = _divide_df((diff[0] * factor, diff[1] * factor), t, compensated)
    value = _add((count.astype(dtype), jnp.zeros((n,), dtype)), diff, compensated)
    # An infinite high part comes with a NaN low one.
    value = jnp.where(jnp.isinf(value[0]), value[0], value[0] + value[1])
    losses = jnp.where(sorted_valid, value, jnp.zeros((), dtype))
    unsorted = jnp.zeros((n,), dtype).at[order].set(losses, unique_indices=True)
    residuals = (order, ends, count, as_lower, sorted_keys, sorted_valid, runs)
    return unsorted, residuals


def _backward_list(residuals, cotangent, key_bound, temperature, variant):
    """The gradient of one list for any cotangent: a second query pass over the
    cotangents, as the forward pass's over the scores."""
    order, ends, count, _, sorted_keys, sorted_valid, runs = residuals
    n = order.shape[-1]
    dtype = cotangent.dtype
    compensated = dtype != jnp.float64
    g = jnp.where(sorted_valid, cotangent[order], jnp.zeros((), dtype))
    # Read backwards with complemented keys, "k < e[x], key_k > key_x" is a suffix
    # query "smaller key" (invalid items have g = 0, so their keys do not matter);
    # a run's start becomes its end.
    flipped = (key_bound - sorted_keys)[::-1]
    _, total, _ = _suffix_smaller_valid(
        flipped,
        g[::-1],
        sorted_valid[::-1],
        (n - ends)[::-1],
        key_bound,
        None,
        compensated,
        None if runs is None else runs.reversed(),
        variant,
    )
    g_c = count_times(count, g, compensated)
    grad = df_add((total[0][::-1], total[1][::-1]), (-g_c[0], -g_c[1]))
    grad = _over_temperature(grad[0] + grad[1], temperature)
    grad = jnp.where(sorted_valid, grad, jnp.zeros((), dtype))
    return jnp.zeros((n,), dtype).at[order].set(grad, unique_indices=True)


def _backward_list_uniform(residuals, cotangent, key_bound, temperature, variant):
    """The gradient of one list whose valid items share one cotangent ``g``:
    ``g (D_k - C_k) / T`` from the forward pass's counts, in :math:`O(n)`."""
    del key_bound, variant
    order, _, count, as_lower, _, sorted_valid, _ = residuals
    dtype = cotangent.dtype
    g = jnp.where(sorted_valid, cotangent[order], jnp.zeros((), dtype))
    grad = _over_temperature(g * (as_lower - count).astype(dtype), temperature)
    return jnp.zeros(order.shape, dtype).at[order].set(grad, unique_indices=True)


def _uniform_per_list(cotangent, valid):
    """True when, in every list, all valid items have the same cotangent."""
    dtype = cotangent.dtype
    inf = jnp.asarray(jnp.inf, dtype)
    high = jnp.max(jnp.where(valid, cotangent, -inf), axis=-1)
    low = jnp.min(jnp.where(valid, cotangent, inf), axis=-1)
    return jnp.all((high == low) | ~jnp.any(valid, axis=-1))


def _integer_keyed(labels, valid):
    """True when every valid label is an integer in ``[0, max(n, 8))``: the labels
    themselves are then the wavelet keys (no label sort)."""
    limit = max(labels.shape[-1], 8)
    ok = (labels == jnp.floor(labels)) & (labels < limit)
    return jnp.all(ok | ~valid)


def _rank_keys(labels, valid):
    """Per list, the number of valid labels strictly below each label.

    Valid labels are ``>= 0`` (``-0.0`` is made ``+0.0``; invalid ones become
    ``+inf``), so their bit patterns read as integers are ordered as the labels: one
    integer sort and a ``searchsorted``.
    """
    inf = jnp.asarray(jnp.inf, labels.dtype)
    bits = _ordered_bits(jnp.where(valid, labels + jnp.zeros((), labels.dtype), inf))
    ordered = lax.sort(bits, dimension=bits.ndim - 1)
    return _map_lists(
        lambda o, b, _: jnp.searchsorted(o, b).astype(jnp.int32), (ordered, bits), None
    )


def _keys(labels, valid):
    """Integer keys ordered as the valid labels (invalid items get 0), and the largest
    valid key of the whole batch (a traced scalar)."""
    keys = lax.cond(
        _integer_keyed(labels, valid),
        lambda y, v: jnp.where(v, y, jnp.zeros((), y.dtype)).astype(jnp.int32),
        _rank_keys,
        labels,
        valid,
    )
    keys = jnp.where(valid, keys, 0)
    return keys, jnp.max(keys, initial=0)


def _as_lists(x):
    return x.reshape((-1, x.shape[-1]))


def _map_lists(fn, per_list, shared):
    """``fn(*per_list_slices, shared)`` over the leading (list) axis of ``per_list``.

    A batch of one list is passed to ``fn`` directly: under ``vmap`` every gather and
    scatter would carry a list index beside each position, which cost 5 to 8% of the
    time at ``n = 2^20``.
    """
    if jax.tree.leaves(per_list)[0].shape[0] == 1:
        out = fn(*jax.tree.map(lambda x: x[0], per_list), shared)
        return jax.tree.map(lambda x: x[None], out)
    return jax.vmap(fn, in_axes=(0,) * len(per_list) + (None,))(*per_list, shared)


def _forward(scores, labels, valid, segments, temperature, variant):
    shape = scores.shape
    s, v = _as_lists(scores), _as_lists(valid)
    ids = None if segments is None else _as_lists(segments)
    keys, key_bound = _keys(_as_lists(labels), v)
    # One choice for the whole batch (under vmap a per-list lax.cond would run both).
    largest = jnp.max(jnp.where(v, jnp.abs(s), jnp.zeros((), s.dtype)), initial=0)
    plain = largest <= _plain_sum_limit(shape[-1], temperature, variant)
    fwd = functools.partial(_forward_list, temperature=temperature, variant=variant)
    losses, res = _map_lists(fwd, (s, keys, v, ids), (key_bound, plain))
    return losses.reshape(shape), (res, v, key_bound)


def hinge_losses_sorted(
    scores,
    labels,
    valid,
    temperature,
    segments=None,
    *,
    variant="cpu",
    uniform_cotangent=False,
):
    """Per-item pairwise hinge losses in :math:`O(n \\log n)` (module docstring).

    Takes the arguments and returns the losses of the all-pairs kernel
    (``hinge_losses_allpairs``), the same numbers up to the rounding the module
    docstring bounds; reverse-mode differentiable in ``scores`` (``jax.custom_vjp``).
    ``segments``, optional integer ids of the scores' shape, confine the pairs to
    the items of equal id (module docstring: *Segments*). ``variant`` (static) is
    ``"cpu"`` (lane-parallel sequential scans and a two-round search) or
    ``"accelerator"`` (parallel scans: only the margin search's halvings and the
    wavelet levels or key passes loop; :mod:`jaxrank._src.platforms`); both give
    numbers within the precision rule. ``uniform_cotangent`` (static) promises that
    every cotangent the losses will get is equal over the valid items of each list
    (of each segment, with segments): the backward pass is then compiled for that
    case alone (module docstring); otherwise it checks at run time.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxrank._src.hinge_sorted import hinge_losses_sorted
      >>> scores = jnp.array([[1.0, 3.0, 2.0, 4.0], [1.0, 1.8, 2.0, 3.0]])
      >>> labels = jnp.array([[1.0, 0.0, 1.0, 3.0], [0.0, 1.0, 2.0, 3.0]])
      >>> hinge_losses_sorted(scores, labels, labels >= 0, 1.0)
      Array([[3. , 0. , 2. , 0. ],
             [0. , 0.2, 0.8, 0. ]], dtype=float32)
      >>> segments = jnp.array([[0, 0, 1, 1], [0, 0, 1, 1]])
      >>> hinge_losses_sorted(scores, labels, labels >= 0, 1.0, segments)
      Array([[3. , 0. , 0. , 0. ],
             [0. , 0.2, 0. , 0. ]], dtype=float32)
    """
    return _hinge_losses_sorted(
        scores, labels, valid, segments, temperature, variant, uniform_cotangent
    )


@functools.partial(jax.custom_vjp, nondiff_argnums=(4, 5, 6))
def _hinge_losses_sorted(
    scores, labels, valid, segments, temperature, variant, uniform
):
    return _hinge_losses_sorted_fwd(
        scores, labels, valid, segments, temperature, variant, uniform
    )[0]


def _hinge_losses_sorted_fwd(
    scores, labels, valid, segments, temperature, variant, uniform
):
    del uniform  # an option of the backward pass
    # A jax.custom_vjp traces both its function and its forward rule, the second
    # time (under a jit's linearisation) with the abstract mesh set: named in both,
    # the jit's trace cache hands the second the first's trace.
    with jax.sharding.use_abstract_mesh(jax.sharding.get_abstract_mesh()):
        return _forward_traced_once(
            scores, labels, valid, segments, temperature, variant
        )


@functools.partial(jax.jit, static_argnums=(4, 5))
def _forward_traced_once(scores, labels, valid, segments, temperature, variant):
    chex.assert_equal_shape([scores, labels, valid])
    chex.assert_type([scores, labels, valid], [scores.dtype, scores.dtype, bool])
    if segments is not None:
        chex.assert_equal_shape([scores, segments])
        chex.assert_type(segments, int)
    if scores.shape[-1] < 2:
        return jnp.zeros_like(scores), None
    return _forward(scores, labels, valid, segments, temperature, variant)


def _hinge_losses_sorted_bwd(temperature, variant, uniform, residuals, cotangent):
    if residuals is None:
        return jnp.zeros_like(cotangent), None, None, None
    res, valid, key_bound = residuals
    cotangent = jnp.asarray(cotangent)  # a caller's vjp may hand in a NumPy array
    g = _as_lists(cotangent)

    def gradient(backward_list):
        bwd = functools.partial(backward_list, temperature=temperature, variant=variant)
        return _map_lists(bwd, (res, g), key_bound)

    # Any reduction without per-item weights hands every valid item of a list the
    # same cotangent: then the counts saved by the forward pass give the gradient.
    if uniform:
        grad = gradient(_backward_list_uniform)
    else:
        grad = lax.cond(
            _uniform_per_list(g, valid),
            lambda: gradient(_backward_list_uniform),
            lambda: gradient(_backward_list),
        )
    return grad.reshape(cotangent.shape), None, None, None


_hinge_losses_sorted.defvjp(_hinge_losses_sorted_fwd, _hinge_losses_sorted_bwd)
