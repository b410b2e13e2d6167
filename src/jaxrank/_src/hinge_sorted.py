"""The exact pairwise hinge in :math:`O(n \\log n)` time and :math:`O(n)` memory.

The kernel behind ``jaxrank.pairwise_hinge_loss(..., method="sorted")``, with the
contract and the numbers of the all-pairs kernel (``method="all_pairs"``): for scores
:math:`s`, labels :math:`y`, validity :math:`v` and temperature :math:`T`,

.. math::

    \\ell_i = \\sum_j v_i v_j [y_i - y_j > 0] \\max(0,\\ m_{ij}), \\qquad
    m_{ij} = 1 - \\frac{s_i - s_j}{T},

and a pair is *active* when it is counted and :math:`m_{ij} > 0` (a pair exactly at
the kink adds 0 to value and gradient, the subgradient ``jax.nn.relu`` picks at 0).
With :math:`C_i` active partners of :math:`i` and :math:`S_i` the sum of their scores,

.. math::

    \\ell_i = \\frac{C_i T + S_i - C_i s_i}{T}, \\qquad
    \\frac{\\partial}{\\partial s_k} \\sum_i g_i \\ell_i
      = \\frac{1}{T}\\Bigl(\\sum_{i:\\,(i,k)\\ \\mathrm{active}} g_i - g_k C_k\\Bigr).

**Algorithm (per list).** One sort by score. :math:`m_{ij}` falls as :math:`s_j`
falls, so the partners that pass the margin test form a suffix ``[p_i, n)`` of the
score order; ``p`` comes from a vectorised binary search that evaluates the *same float
expression* as the all-pairs kernel (never a precomputed threshold ``s_i - T``, which
disagrees on rare boundary pairs). ``p`` never decreases along the score order, so on
long lists every 64th position is searched first and the rest only inside the bracket
their neighbours leave (about half the halvings at :math:`n = 2^{20}`). What remains
are "how many / what sum of the items in ``[p_i, n)`` have a smaller label key"
queries over integer label keys, answered for all ``i`` at once in one of two ways,
chosen at run time from the largest key ``K`` of the batch:

* **Few keys** (``K < 8``: binary labels, grades 0..7): one pass per key value
  ``c < K``, a prefix table of the items with key ``c`` (count and compensated score
  sum) read at ``p_i`` by every query whose key is above ``c``.
* **Many keys**: a binary wavelet matrix, one key bit per level, top bit first (a
  ``lax.fori_loop`` whose trip count, the number of key bits, is a run-time value).
  Each level builds prefix tables of "bit is 0" counts and compensated score sums,
  reads them at both ends of every query's range, and partitions the items stably by
  the bit (a scatter) for the next level.

Prefix tables come from two lane-parallel ``lax.scan`` passes. The keys:

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
:math:`g (D_k - C_k) / T`. For other cotangents (a ``lax.cond`` on the values) it
reuses the saved permutation: the prefix ``[0, e_k)``, read backwards with
complemented keys, is the same suffix query over the cotangents (under ``vmap`` of
the loss, the ``lax.cond`` becomes a select and both run). Residuals are six
``(n,)`` arrays (permutation, ``e``, :math:`C`, :math:`D`, sorted keys, sorted
validity), the validity mask and ``K``.

**Precision.** Counts are exact integers (``int32``; the float conversion is exact up to
:math:`2^{24}` items per list). In float32 each lane of the scan sums sequentially with
TwoSum compensation and lanes are joined by compensated ("double-float") offsets;
:math:`C_i s_i` and :math:`C_i T` are split into exact partial products, so the
numerator :math:`C_i T + S_i - C_i s_i` is formed without cancellation and rounded
once; ``python -m jaxrank.benchmark --precision`` measures the float32 error
against a float64 evaluation at :math:`n = 2^{20}`, and the tests bound it at
:math:`2^{16}` against a float64 reference. float64 inputs (with
x64 enabled) use plain float64 sums.

**Conventions.** As the all-pairs kernel: equal labels form no pair, equal scores are an
ordinary difference of 0, invalid items take part in no pair and get loss 0, lists of
fewer than 2 items give zeros. Valid scores must be finite (the public loss replaces a
list with a non-finite valid score by NaN after the kernel; a NaN here would only
misplace items in the sort, never hang or crash).

**Dispatch.** ``method="auto"`` takes this path for long lists
(:func:`prefers_sorted_path`).
"""

from __future__ import annotations

import functools
import math

import chex
import jax
import jax.numpy as jnp
from jax import lax

from jaxrank._src.numerics import count_times, df_add, two_sum

# Crossover of the static dispatch (see prefers_sorted_path).
_MIN_LIST = 2048
_MIN_LIST_FEW_LISTS = 768
_FEW_LISTS = 4
# Every _SEARCH_STRIDE-th query of a long list is searched first (_first_active).
_SEARCH_STRIDE = 64
# Lists whose largest label key is below this take one prefix pass per key value
# instead of the wavelet matrix's levels (_suffix_smaller_few_keys).
_FEW_KEYS = 8


def prefers_sorted_path(shape) -> bool:
    """Whether ``method="auto"`` uses this module for scores of static ``shape``.

    The all-pairs kernel costs :math:`O(n^2)` per list, this one
    :math:`O(n \\log n)` with a larger constant and a fixed overhead per call; both
    need only :math:`O(n)` memory and give the same numbers, so this only picks the
    faster. The all-pairs kernel also spreads a batch over a CPU's cores better. The
    thresholds (lists of at least 768 items in batches of up to 4 lists, at least
    2048 items in larger batches) are the measured crossover of
    ``jit(value_and_grad)`` on a CPU; the README has the figures.

    Args:
      shape: the static shape ``(..., n)`` of the scores.

    Returns:
      True to use the sorted path.
    """
    if not shape:
        return False
    n, lists = shape[-1], math.prod(shape[:-1])
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


def _first_active(sorted_scores, temperature):
    """For each sorted position ``k``, the first position ``j`` with ``m_kj > 0``.

    Long lists are searched in two rounds. :math:`m_{kj}` falls as :math:`s_k` rises
    (float rounding is monotone), so the answer ``p_k`` never decreases with ``k``:
    every ``_SEARCH_STRIDE``-th position is searched over the whole list first, and
    the others only between the answers of the two sampled positions around them,
    in as many halvings as the widest such bracket needs (a run-time count).
    """
    n = sorted_scores.shape[-1]
    dtype = sorted_scores.dtype
    t = jnp.asarray(temperature, dtype)

    def search(query_scores, lo, hi, steps):
        def halve(_, bounds):
            lo, hi = bounds
            mid = (lo + hi) // 2
            s_mid = _take(sorted_scores, jnp.minimum(mid, n - 1))
            # The dense path's expression, so that boundary pairs agree bit for bit.
            active = 1 - (query_scores - s_mid) / t > 0
            return jnp.where(active, lo, jnp.minimum(mid + 1, hi)), jnp.where(
                active, mid, hi
            )

        return lax.fori_loop(0, steps, halve, (lo, hi))[0]

    full_steps = (n + 1).bit_length()
    if n < _SEARCH_STRIDE * _SEARCH_STRIDE:
        size = (n,)
        return search(
            sorted_scores,
            jnp.zeros(size, jnp.int32),
            jnp.full(size, n, jnp.int32),
            full_steps,
        )
    sampled = sorted_scores[::_SEARCH_STRIDE]
    anchors = search(
        sampled,
        jnp.zeros(sampled.shape, jnp.int32),
        jnp.full(sampled.shape, n, jnp.int32),
        full_steps,
    )
    upper = jnp.concatenate([anchors[1:], jnp.full((1,), n, jnp.int32)])
    width = jnp.max(upper - anchors)
    steps = 32 - lax.clz(width)  # bit length: halvings to shrink a bracket to one
    block = jnp.arange(n, dtype=jnp.int32) // _SEARCH_STRIDE
    return search(sorted_scores, _take(anchors, block), _take(upper, block), steps)


# --- prefix tables and the binary wavelet matrix -------------------------------------


def _lane_shape(size):
    """``(steps, lanes)`` with ``steps * lanes >= size`` and ``steps`` a power of 2
    (so positions split into lane and step by shifts): lanes run in parallel."""
    steps = 1 << max(0, (size.bit_length() - 1) // 2 - 2)
    lanes = -(-size // steps)
    return steps, lanes


class _Layout:
    """Positions ``y`` in ``[0, steps * lanes)`` laid out as ``(steps, lanes)`` with
    lane ``y // steps`` and step ``y % steps``: each lane is a contiguous chunk, and a
    ``lax.scan`` over steps keeps one running sum per lane. Position 0 is a leading
    zero, so an inclusive sum at ``y`` is the exclusive sum over items ``[0, y)``."""

    def __init__(self, n):
        self.n = n
        self.steps, self.lanes = _lane_shape(n + 1)
        self.pad = self.steps * self.lanes - n - 1

    def rows(self, x):
        x = jnp.concatenate(
            [jnp.zeros((1,), x.dtype), x, jnp.zeros((self.pad,), x.dtype)]
        )
        return x.reshape(self.lanes, self.steps).T

    def flat_index(self, y):
        shift = self.steps.bit_length() - 1
        return (y & (self.steps - 1)) * self.lanes + (y >> shift)

    def positions(self):
        step = lax.broadcasted_iota(jnp.int32, (self.steps, self.lanes), 0)
        lane = lax.broadcasted_iota(jnp.int32, (self.steps, self.lanes), 1)
        return lane * self.steps + step


def _prefix_rows(layout, zero_rows, value_rows, compensated):
    """Exclusive prefix sums of ``[zero]`` (int32) and ``values[zero]`` (double-float)
    at every position, in ``layout``'s rows.

    Two passes of lane-parallel scans: lane totals, then running sums started from
    each lane's (compensated) offset, so the tables come out of a scan finished and
    are read with gathers (nothing of size ``n`` is transposed or recomputed).
    """
    dtype = value_rows.dtype
    added = jnp.where(zero_rows, value_rows, jnp.zeros((), dtype))
    ones = zero_rows.astype(jnp.int32)

    def add(acc, x):
        if not compensated:
            return acc[0] + x, acc[1]
        hi, err = two_sum(acc[0], x)
        return hi, acc[1] + err

    lanes = layout.lanes
    zeros = jnp.zeros((lanes,), dtype)
    (hi_tot, lo_tot), _ = lax.scan(
        lambda acc, x: (add(acc, x), None), (zeros, zeros), added
    )
    c_tot = jnp.sum(ones, axis=0, dtype=jnp.int32)
    c_off = jnp.cumsum(c_tot) - c_tot
    if compensated:
        hi_inc, lo_inc = lax.associative_scan(df_add, (hi_tot, lo_tot))
        off = df_add((hi_inc, lo_inc), (-hi_tot, -lo_tot))
    else:
        off = (jnp.cumsum(hi_tot) - hi_tot, zeros)

    def step(carry, xs):
        c, acc = carry
        z, x = xs
        c, acc = c + z, add(acc, x)
        return (c, acc), (c, acc)

    _, (count, total) = lax.scan(step, (c_off, off), (ones, added))
    return count, total, jnp.sum(c_tot, dtype=jnp.int32)


def _suffix_smaller(keys, values, lower, levels, compensated, ends=None):
    """For every query ``k``: over positions ``j >= lower[k]`` with ``keys[j] <
    keys[k]``, the number of items and the sum of ``values`` as a double-float; and,
    if ``ends`` is given, the number of positions ``i < ends[k]`` with ``keys[i] >
    keys[k]`` (else None).

    A binary wavelet matrix over ``keys`` (non-negative, below ``2**levels``), top bit
    first, all queries in lock-step: at each level the items split stably by the bit
    (zeros first); a query whose bit is 1 adds the zeros of its current range, one
    whose bit is 0 adds the ones of its prefix range, and both ranges follow the
    query's own bit into the next level. ``levels`` may be traced.
    """
    n = keys.shape[-1]
    dtype = values.dtype
    layout = _Layout(n)
    where_y = layout.positions()
    # Items sit at positions 1..n; the leading and trailing pads are dropped on moves.
    dummy = (where_y == 0) | (where_y > n)
    item = jnp.where(dummy, 0, where_y - 1)
    size = layout.steps * layout.lanes

    def level(i, state):
        key_rows, value_rows, lo, hi, count, total, prefix = state
        shift = levels - 1 - i
        zero_rows = (((key_rows >> shift) & 1) == 0) & ~dummy
        q_one = ((keys >> shift) & 1) == 1
        c_rows, s_rows, n_zero = _prefix_rows(
            layout, zero_rows, value_rows, compensated
        )
        c_flat = c_rows.reshape(-1)
        s_flat = tuple(s.reshape(-1) for s in s_rows)

        def zeros_before(x):
            return _take(c_flat, layout.flat_index(x))

        def follow(x, z_x):
            return jnp.where(q_one, n_zero + x - z_x, z_x)

        f_lo, f_hi = layout.flat_index(lo), layout.flat_index(hi)
        z_lo, z_hi = _take(c_flat, f_lo), _take(c_flat, f_hi)
        s_lo = tuple(_take(s, f_lo) for s in s_flat)
        s_hi = tuple(_take(s, f_hi) for s in s_flat)
        in_range = df_add(s_hi, (-s_lo[0], -s_lo[1]))
        none = jnp.zeros((), dtype)
        count = count + jnp.where(q_one, z_hi - z_lo, 0)
        total = df_add(total, tuple(jnp.where(q_one, part, none) for part in in_range))
        lo, hi = follow(lo, z_lo), follow(hi, z_hi)
        if prefix is not None:
            start, end, greater = prefix
            z_start, z_end = zeros_before(start), zeros_before(end)
            ones = (end - start) - (z_end - z_start)
            greater = greater + jnp.where(q_one, 0, ones)
            prefix = follow(start, z_start), follow(end, z_end), greater
        # Item j sits at position j + 1, whose inclusive count is #zeros in [0, j].
        before = c_rows - zero_rows.astype(jnp.int32)
        dest = jnp.where(zero_rows, before, n_zero + item - before)
        # Scattered straight into the next level's rows (item j to position j + 1);
        # the pads are dropped and stay 0.
        dest = jnp.where(dummy, size, layout.flat_index(dest + 1)).reshape(-1)

        def move(x):
            new = (
                jnp.zeros((size,), x.dtype)
                .at[dest]
                .set(x.reshape(-1), mode="drop", unique_indices=True)
            )
            return new.reshape(layout.steps, layout.lanes)

        return move(key_rows), move(value_rows), lo, hi, count, total, prefix

    zeros = jnp.zeros((n,), dtype)
    no_items = jnp.zeros((n,), jnp.int32)
    prefix = None if ends is None else (no_items, ends, no_items)
    state = (
        layout.rows(keys),
        layout.rows(values),
        lower,
        jnp.full((n,), n, jnp.int32),
        no_items,
        (zeros, zeros),
        prefix,
    )
    state = lax.fori_loop(0, levels, level, state)
    return state[4], state[5], None if ends is None else state[6][2]


def _count_before(mask, ends):
    """For each ``e`` in ``ends`` (``0..n``), the number of True in ``mask[:e]``."""
    before = jnp.concatenate(
        [jnp.zeros((1,), jnp.int32), jnp.cumsum(mask, dtype=jnp.int32)]
    )
    return _take(before, ends)


def _suffix_smaller_few_keys(
    keys, values, valid, lower, num_keys, compensated, ends=None
):
    """:func:`_suffix_smaller` for valid keys in ``[0, num_keys]``, ``num_keys`` small.

    One pass per key value ``c < num_keys``: exclusive prefix tables of the valid
    items with key ``c`` (count and compensated sum of ``values``), read at ``lower``
    and at the end, go to every query whose key is above ``c`` (and, read at
    ``ends``, to the "not greater" count of every query whose key is at least ``c``).
    Invalid items (any key) are left out. Each pass is one prefix table and one or two
    reads per query (at ``lower`` and ``ends``, which the callers pass in increasing
    order), where a wavelet level also partitions the items and follows the range ends.
    """
    n = keys.shape[-1]
    dtype = values.dtype
    layout = _Layout(n)
    key_rows, value_rows = layout.rows(keys), layout.rows(values)
    valid_rows = layout.rows(valid)  # the pads are False
    f_lower, f_end = layout.flat_index(lower), layout.flat_index(jnp.int32(n))
    f_ends = None if ends is None else layout.flat_index(ends)

    def one_key(c, state):
        count, total, not_greater = state
        c_rows, s_rows, _ = _prefix_rows(
            layout, valid_rows & (key_rows == c), value_rows, compensated
        )
        c_flat = c_rows.reshape(-1)
        s_flat = tuple(s.reshape(-1) for s in s_rows)
        before = _take(c_flat, f_lower)
        in_range = df_add(
            tuple(s[f_end] for s in s_flat),
            tuple(-_take(s, f_lower) for s in s_flat),
        )
        above = keys > c
        none = jnp.zeros((), dtype)
        count = count + jnp.where(above, c_flat[f_end] - before, 0)
        total = df_add(total, tuple(jnp.where(above, x, none) for x in in_range))
        if f_ends is not None:
            not_greater = not_greater + jnp.where(keys >= c, _take(c_flat, f_ends), 0)
        return count, total, not_greater

    zeros = jnp.zeros((n,), dtype)
    no_items = jnp.zeros((n,), jnp.int32)
    count, total, not_greater = lax.fori_loop(
        0, num_keys, one_key, (no_items, (zeros, zeros), no_items)
    )
    if ends is None:
        return count, total, None
    greater = jnp.where(keys < num_keys, _count_before(valid, ends) - not_greater, 0)
    return count, total, greater


def _suffix_smaller_valid(
    keys, values, valid, lower, key_bound, compensated, ends=None
):
    """:func:`_suffix_smaller` over the valid items only, by the cheaper algorithm.

    ``keys`` of valid items lie in ``[0, key_bound]``; invalid items' keys are
    ignored. ``key_bound`` is a traced scalar shared by the batch (so that under
    ``vmap`` the choice stays one branch): below ``_FEW_KEYS`` one prefix pass per key
    value, else the wavelet matrix (invalid items get its top key, so they are never
    a smaller partner; the invalid items before ``ends`` are taken back out of the
    "greater" counts).
    """
    levels = 32 - lax.clz(key_bound)
    top = (1 << levels) - 1

    def wavelet():
        topped = jnp.where(valid, keys, top)
        count, total, greater = _suffix_smaller(
            topped, values, lower, levels, compensated, ends
        )
        if ends is not None:
            invalid_before = _count_before(~valid, ends)
            greater = greater - jnp.where(topped < top, invalid_before, 0)
        return count, total, greater

    return lax.cond(
        key_bound < _FEW_KEYS,
        lambda: _suffix_smaller_few_keys(
            keys, values, valid, lower, key_bound, compensated, ends
        ),
        wavelet,
    )


# --- the kernel -----------------------------------------------------------------------


def _forward_list(scores, keys, valid, key_bound, temperature):
    """Per-item losses of one list, plus the residuals for the backward pass."""
    n = scores.shape[-1]
    dtype = scores.dtype
    compensated = dtype != jnp.float64
    _, order = lax.sort(
        (_ordered_bits(scores), jnp.arange(n, dtype=jnp.int32)),
        num_keys=1,
        is_stable=False,
    )
    sorted_scores = _take(scores, order)
    first = _first_active(sorted_scores, temperature)
    sorted_keys = keys[order]
    sorted_valid = valid[order]
    values = jnp.where(sorted_valid, sorted_scores, jnp.zeros((), dtype))
    # ends[x]: the number of items k with first[k] <= x, i.e. those for which x is
    # a lower partner as far as the margin goes (a prefix [0, ends[x]), as first
    # never decreases).
    hist = jnp.zeros((n + 1,), jnp.int32).at[first].add(1)
    ends = lax.associative_scan(jnp.add, hist)[:n]
    count, total, as_lower = _suffix_smaller_valid(
        sorted_keys, values, sorted_valid, first, key_bound, compensated, ends
    )
    t = jnp.asarray(temperature, dtype)
    numerator = df_add(
        count_times(count, jnp.broadcast_to(t, (n,)), compensated), total
    )
    c_s = count_times(count, sorted_scores, compensated)
    numerator = df_add(numerator, (-c_s[0], -c_s[1]))
    losses = jnp.where(
        sorted_valid, (numerator[0] + numerator[1]) / t, jnp.zeros((), dtype)
    )
    unsorted = jnp.zeros((n,), dtype).at[order].set(losses, unique_indices=True)
    return unsorted, (order, ends, count, as_lower, sorted_keys, sorted_valid)


def _backward_list(residuals, cotangent, key_bound, temperature):
    """The gradient of one list for any cotangent: a second query pass over the
    cotangents, as the forward pass's over the scores."""
    order, ends, count, _, sorted_keys, sorted_valid = residuals
    n = order.shape[-1]
    dtype = cotangent.dtype
    compensated = dtype != jnp.float64
    g = jnp.where(sorted_valid, cotangent[order], jnp.zeros((), dtype))
    # Read backwards with complemented keys, "k < e[x], key_k > key_x" is a suffix
    # query "smaller key" (invalid items have g = 0, so their keys do not matter).
    flipped = (key_bound - sorted_keys)[::-1]
    _, total, _ = _suffix_smaller_valid(
        flipped, g[::-1], sorted_valid[::-1], (n - ends)[::-1], key_bound, compensated
    )
    g_c = count_times(count, g, compensated)
    grad = df_add((total[0][::-1], total[1][::-1]), (-g_c[0], -g_c[1]))
    t = jnp.asarray(temperature, dtype)
    grad = jnp.where(sorted_valid, (grad[0] + grad[1]) / t, jnp.zeros((), dtype))
    return jnp.zeros((n,), dtype).at[order].set(grad, unique_indices=True)


def _backward_list_uniform(residuals, cotangent, key_bound, temperature):
    """The gradient of one list whose valid items share one cotangent ``g``:
    ``g (D_k - C_k) / T`` from the forward pass's counts, in :math:`O(n)`."""
    del key_bound
    order, _, count, as_lower, _, sorted_valid = residuals
    dtype = cotangent.dtype
    g = jnp.where(sorted_valid, cotangent[order], jnp.zeros((), dtype))
    grad = g * (as_lower - count).astype(dtype) / jnp.asarray(temperature, dtype)
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


def _forward(scores, labels, valid, temperature):
    shape = scores.shape
    s, v = _as_lists(scores), _as_lists(valid)
    keys, key_bound = _keys(_as_lists(labels), v)
    fwd = functools.partial(_forward_list, temperature=temperature)
    losses, res = _map_lists(fwd, (s, keys, v), key_bound)
    return losses.reshape(shape), (res, v, key_bound)


@functools.partial(jax.custom_vjp, nondiff_argnums=(3,))
def hinge_losses_sorted(scores, labels, valid, temperature):
    """Per-item pairwise hinge losses in :math:`O(n \\log n)` (module docstring).

    Takes the arguments and returns the losses of the all-pairs kernel
    (``hinge_losses_allpairs``), with the same numbers; reverse-mode differentiable
    in ``scores`` (``jax.custom_vjp``).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxrank._src.hinge_sorted import hinge_losses_sorted
      >>> scores = jnp.array([[1.0, 3.0, 2.0, 4.0], [1.0, 1.8, 2.0, 3.0]])
      >>> labels = jnp.array([[1.0, 0.0, 1.0, 3.0], [0.0, 1.0, 2.0, 3.0]])
      >>> hinge_losses_sorted(scores, labels, labels >= 0, 1.0)
      Array([[3. , 0. , 2. , 0. ],
             [0. , 0.2, 0.8, 0. ]], dtype=float32)
    """
    return hinge_losses_sorted_fwd(scores, labels, valid, temperature)[0]


def hinge_losses_sorted_fwd(scores, labels, valid, temperature):
    chex.assert_equal_shape([scores, labels, valid])
    chex.assert_type([scores, labels, valid], [scores.dtype, scores.dtype, bool])
    if scores.shape[-1] < 2:
        return jnp.zeros_like(scores), None
    return _forward(scores, labels, valid, temperature)


def hinge_losses_sorted_bwd(temperature, residuals, cotangent):
    if residuals is None:
        return jnp.zeros_like(cotangent), None, None
    res, valid, key_bound = residuals
    cotangent = jnp.asarray(cotangent)  # a caller's vjp may hand in a NumPy array
    g = _as_lists(cotangent)

    def gradient(backward_list):
        bwd = functools.partial(backward_list, temperature=temperature)
        return _map_lists(bwd, (res, g), key_bound)

    # Any reduction without per-item weights hands every valid item of a list the
    # same cotangent: then the counts saved by the forward pass give the gradient.
    grad = lax.cond(
        _uniform_per_list(g, valid),
        lambda: gradient(_backward_list_uniform),
        lambda: gradient(_backward_list),
    )
    return grad.reshape(cotangent.shape), None, None


hinge_losses_sorted.defvjp(hinge_losses_sorted_fwd, hinge_losses_sorted_bwd)
