"""The exact pairwise hinge in :math:`O(n \\log n)` time and :math:`O(n)` memory.

Same contract and the same numbers as :mod:`jaxrank._src.pairs_dense`: for scores
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
expression* as the dense path (never a precomputed threshold ``s_i - T``, which
disagrees on rare boundary pairs). What remains are "how many / what sum of the items in
``[p_i, n)`` have a smaller label key" queries, answered for all ``i`` at once by a
radix-:math:`2^b` wavelet matrix over integer label keys: each level is one
lane-parallel ``lax.scan`` building suffix tables of counts and sums per digit, a few
gathers, and a stable partition by digit for the next level.

* **Graded labels** (every valid label an integer in ``[0, 8)``, detected at run time
  with ``lax.cond``; both branches are compiled, one runs) use the labels as keys: one
  level, no second sort, no partition, and each query is a direct suffix sum.
* **Arbitrary real labels** are replaced by their dense rank (a second sort) and take
  :math:`\\lceil \\log_8 n \\rceil` levels.

The backward pass reuses the saved permutation: the items for which ``k`` is the lower
partner form a prefix ``[0, e_k)`` of the score order (``e`` from a histogram of ``p``),
which, read backwards with complemented keys, is the same suffix query. Residuals are
five ``(n,)`` arrays (permutation, ``p``, counts, sorted keys, sorted validity).

**Precision.** Counts are exact integers (``int32``; the float conversion is exact up to
:math:`2^{24}` items per list). In float32 each lane of the scan sums sequentially with
TwoSum compensation and lanes are joined by compensated ("double-float") offsets;
:math:`C_i s_i` and :math:`C_i T` are split into exact partial products, so the
numerator :math:`C_i T + S_i - C_i s_i` is formed without cancellation and rounded
once. At :math:`n = 2^{20}` the per-item losses are within 6e-8 relative (one float32
rounding) and the gradient within 3e-8 of its maximum, against a float64
evaluation (``python -m jaxrank.benchmark --precision``). float64 inputs (with x64
enabled) use plain float64 sums.

**Conventions.** As the dense path: equal labels form no pair, equal scores are an
ordinary difference of 0, invalid items take part in no pair and get loss 0, lists of
fewer than 2 items give zeros. Valid scores must be finite (the public loss replaces a
list with a non-finite valid score by NaN after the kernel; a NaN here would only
misplace items in the sort, never hang or crash).

**Crossover.** ``method="auto"`` takes this path for one list of ``n >= 128`` and
for batches of lists of ``n >= 256`` (measured; see :func:`prefers_sorted_path`).
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
from jax import lax

# Graded labels 0..7: one wavelet level of 3-bit digits; dense ranks: 3-bit digits too.
_GRADED_BITS = 3
_GRADED_PLAN = (_GRADED_BITS, 1)
_GENERAL_BITS = 3

# Crossover of the static dispatch (see prefers_sorted_path).
_MIN_SINGLE_LIST = 128
_MIN_BATCHED_LIST = 256


def prefers_sorted_path(shape) -> bool:
    """Whether ``method="auto"`` uses this module for scores of static ``shape``.

    The dense path costs :math:`O(n^2)` per list, the sorted one :math:`O(n \\log n)`
    with a larger constant and a fixed overhead per call. Measured with
    ``jit(value_and_grad)`` of the mean loss on a shared 2-core CPU (noisy; ms, dense /
    sorted): one list of 64: 0.11 / 0.09, 256: 0.17 / 0.13, 1024: 2.7 / 0.26, 4096:
    68 / 0.9; batches (256, 32): 0.45 / 1.1, (64, 128): 0.78 / 1.3, (16, 256): 3.6 /
    0.8, (16, 1024): 65 / 3.8. So a single list switches at ``n >= 128`` and a batch
    of lists at ``n >= 256``. Both paths give the same numbers; this only picks the
    faster (and the sorted path also avoids the dense one's :math:`O(n^2)` memory).

    Args:
      shape: the static shape ``(..., n)`` of the scores.

    Returns:
      True to use the sorted path.
    """
    if not shape:
        return False
    n = shape[-1]
    lists = math.prod(shape[:-1])
    return n >= (_MIN_SINGLE_LIST if lists <= 1 else _MIN_BATCHED_LIST)


# --- compensated arithmetic ----------------------------------------------------------


def _two_sum(a, b):
    """``a + b`` as ``(hi, lo)`` with ``hi + lo`` exact (Knuth's TwoSum)."""
    hi = a + b
    b_virtual = hi - a
    a_virtual = hi - b_virtual
    return hi, (a - a_virtual) + (b - b_virtual)


def _df_add(x, y):
    """Sum of two double-float numbers ``(hi, lo)``."""
    hi, err = _two_sum(x[0], y[0])
    return hi, err + (x[1] + y[1])


def _exact_count_products(count, x):
    """``count * x`` as four floats summing to it exactly (``count < 2**24``, float32).

    ``x`` is split by clearing its 12 low mantissa bits and ``count`` into two 12-bit
    halves, so every partial product fits in float32's 24-bit significand without a
    fused multiply-add or a splitting constant.
    """
    dtype = x.dtype
    bits = lax.bitcast_convert_type(x, jnp.uint32)
    x_hi = lax.bitcast_convert_type(bits & jnp.uint32(0xFFFFF000), dtype)
    x_lo = x - x_hi
    c_hi = (count >> 12).astype(dtype) * jnp.asarray(4096.0, dtype)
    c_lo = (count & 4095).astype(dtype)
    return c_hi * x_hi, c_hi * x_lo, c_lo * x_hi, c_lo * x_lo


def _count_times(count, x, compensated):
    """``count * x`` as a double-float ``(hi, lo)`` (plain if uncompensated)."""
    if not compensated:
        return count.astype(x.dtype) * x, jnp.zeros_like(x)
    parts = _exact_count_products(count, x)
    acc = _two_sum(parts[0], parts[1])
    for part in parts[2:]:
        acc = _df_add(acc, _two_sum(part, jnp.zeros_like(part)))
    return acc


# --- the score order and the margin boundary -----------------------------------------


def _first_active(sorted_scores, temperature):
    """For each sorted position ``k``, the first position ``j`` with ``m_kj > 0``."""
    n = sorted_scores.shape[-1]
    dtype = sorted_scores.dtype
    t = jnp.asarray(temperature, dtype)
    lo = jnp.zeros((n,), jnp.int32)
    hi = jnp.full((n,), n, jnp.int32)

    def halve(_, bounds):
        lo, hi = bounds
        mid = (lo + hi) // 2
        s_mid = sorted_scores.at[jnp.minimum(mid, n - 1)].get(mode="promise_in_bounds")
        # The dense path's expression, so that boundary pairs agree bit for bit.
        active = 1 - (sorted_scores - s_mid) / t > 0
        return jnp.where(active, lo, jnp.minimum(mid + 1, hi)), jnp.where(
            active, mid, hi
        )

    steps = max(1, (n + 1).bit_length())
    lo, _ = lax.fori_loop(0, steps, halve, (lo, hi))
    return lo


# --- suffix tables: one lane-parallel scan per wavelet level ------------------------


def _lane_shape(size):
    """``(steps, lanes)`` with ``steps * lanes >= size``: lanes run in parallel."""
    lanes = 1 << max(0, (size.bit_length() + 1) // 2)
    lanes = min(lanes, 4096)
    steps = -(-size // lanes)
    return steps, lanes


class _SuffixTables:
    """Suffix sums ``T[x, c] = sum_{x' >= x} w[x'] [d[x'] <= c]``, ``x`` in ``[0, n]``.

    Built from the reversed sequence with one ``lax.scan`` over ``steps`` whose carry
    holds ``lanes`` independent running sums (each lane a contiguous chunk), then
    joined by per-lane offsets. Floating weights are summed with TwoSum compensation
    when ``compensated``; integer weights exactly.
    """

    def __init__(self, digits, weights, radix, compensated):
        n = digits.shape[-1]
        self.radix = radix
        self.n = n
        self.steps, self.lanes = _lane_shape(n + 1)
        pad = self.steps * self.lanes - n

        def lanes_of(x):
            x = jnp.concatenate([x[::-1], jnp.zeros((pad,), x.dtype)])
            return x.reshape(self.lanes, self.steps).T

        cols = jnp.arange(radix, dtype=jnp.int32)
        floating = [jnp.issubdtype(w.dtype, jnp.floating) for w in weights]
        comp = [f and compensated for f in floating]

        def zeros(w):
            return jnp.zeros((self.lanes, radix), w.dtype)

        init = tuple(
            (zeros(w), zeros(w)) if c else zeros(w)
            for w, c in zip(weights, comp, strict=True)
        )

        def step(carry, xs):
            d, *ws = xs
            below = d[:, None] <= cols[None, :]
            new = []
            for acc, w, c in zip(carry, ws, comp, strict=True):
                add = jnp.where(below, w[:, None], jnp.zeros((), w.dtype))
                if c:
                    hi, err = _two_sum(acc[0], add)
                    new.append((hi, acc[1] + err))
                else:
                    new.append(acc + add)
            return tuple(new), carry

        final, self.rows = lax.scan(
            step, init, (lanes_of(digits), *(lanes_of(w) for w in weights))
        )
        self.offsets = [
            self._lane_offsets(f, c) for f, c in zip(final, comp, strict=True)
        ]
        self.comp = comp
        self.floating = floating

    @staticmethod
    def _lane_offsets(total, compensated):
        """Exclusive prefix over lanes of the lanes' totals."""
        if not compensated:
            return jnp.cumsum(total, axis=0) - total

        def combine(x, y):
            return _df_add(x, y)

        hi, lo = lax.associative_scan(combine, total, axis=0)
        zero = jnp.zeros_like(hi[:1])
        return (
            jnp.concatenate([zero, hi[:-1]], axis=0),
            jnp.concatenate([zero, lo[:-1]], axis=0),
        )

    def get(self, which, x, col):
        """``T[x, col]`` for the ``which``-th weight; ``col`` may be -1 (gives 0).

        Floating weights come back as a double-float ``(hi, lo)``.
        """
        y = self.n - x
        step, lane = y % self.steps, y // self.steps
        c = jnp.maximum(col, 0)
        flat_rows = (step * self.lanes + lane) * self.radix + c
        flat_off = lane * self.radix + c

        def take(a, idx):
            return a.reshape(-1).at[idx].get(mode="promise_in_bounds")

        rows, off = self.rows[which], self.offsets[which]
        if self.comp[which]:
            value = _df_add(
                (take(rows[0], flat_rows), take(rows[1], flat_rows)),
                (take(off[0], flat_off), take(off[1], flat_off)),
            )
            zero = jnp.zeros_like(value[0])
            return tuple(jnp.where(col >= 0, v, zero) for v in value)
        value = take(rows, flat_rows) + take(off, flat_off)
        value = jnp.where(col >= 0, value, jnp.zeros_like(value))
        if self.floating[which]:  # float64: a double-float with a zero low part
            return value, jnp.zeros_like(value)
        return value


def _level(state, level, query_keys, bits, compensated, partition):
    """One wavelet level: add this digit's "smaller" range sums, then (if
    ``partition``) move the sequence and the query ranges to the next level."""
    keys, counted, values, lo_pos, hi_pos, total_count, total_sum = state
    mask = (1 << bits) - 1
    digits = (keys >> (level * bits)) & mask
    q = (query_keys >> (level * bits)) & mask
    counting = counted is not None
    weights = [values] + ([counted] if counting else [])
    if partition:
        weights.append(jnp.ones_like(keys))
    tables = _SuffixTables(digits, weights, 1 << bits, compensated)

    # Sums over [lo, hi); at the top level hi = n, where the suffix tables are 0.
    at_lo, at_hi = tables.get(0, lo_pos, q - 1), tables.get(0, hi_pos, q - 1)
    total_sum = _df_add(total_sum, _df_add(at_lo, (-at_hi[0], -at_hi[1])))
    if counting:
        total_count = (
            total_count + tables.get(1, lo_pos, q - 1) - tables.get(1, hi_pos, q - 1)
        )
    if partition:
        # Stable partition by digit: digit d's block starts after every smaller digit,
        # and an item keeps its order within its block; query ranges follow their digit.
        every = len(weights) - 1
        zeros = jnp.zeros_like(keys)

        def block_position(pos, d):
            smaller = tables.get(every, zeros, d - 1)
            in_block = tables.get(every, zeros, d) - smaller
            from_pos = tables.get(every, pos, d) - tables.get(every, pos, d - 1)
            return smaller + in_block - from_pos

        lo_pos, hi_pos = block_position(lo_pos, q), block_position(hi_pos, q)
        dest = block_position(jnp.arange(keys.shape[-1], dtype=jnp.int32), digits)

        def move(x):
            return jnp.zeros_like(x).at[dest].set(x, unique_indices=True)

        keys, values = move(keys), move(values)
        counted = move(counted) if counting else None
    return keys, counted, values, lo_pos, hi_pos, total_count, total_sum


def _suffix_smaller(
    keys, counted, values, lower, query_keys, bits, levels, compensated
):
    """Range "smaller key" queries by a radix wavelet matrix, top digit first.

    For every query ``k``: over positions ``j >= lower[k]`` with ``keys[j] <
    query_keys[k]``, the number of ``counted`` items (if given; else 0) and the sum of
    ``values`` as a double-float ``(hi, lo)``.
    """
    n = keys.shape[-1]
    dtype = values.dtype
    state = (
        keys,
        counted,
        values,
        lower,
        jnp.full((n,), n, jnp.int32),
        jnp.zeros((n,), jnp.int32),
        (jnp.zeros((n,), dtype), jnp.zeros((n,), dtype)),
    )
    level = functools.partial(
        _level, query_keys=query_keys, bits=bits, compensated=compensated
    )
    if levels > 1:
        # One traced body for every partitioning level keeps compile time flat in n.
        def step(state, lvl):
            return level(state, lvl, partition=True), None

        state, _ = lax.scan(step, state, jnp.arange(levels - 1, 0, -1, dtype=jnp.int32))
    state = level(state, 0, partition=False)
    return state[5], state[6]


# --- the kernel -----------------------------------------------------------------------


def _dense_rank(labels):
    """Dense rank of ``labels`` (equal labels share a rank; ranks start at 0)."""
    n = labels.shape[-1]
    ordered, where_from = lax.sort((labels, jnp.arange(n, dtype=jnp.int32)), num_keys=1)
    starts = jnp.concatenate(
        [jnp.zeros((1,), jnp.int32), (ordered[1:] != ordered[:-1]).astype(jnp.int32)]
    )
    return (
        jnp.zeros((n,), jnp.int32)
        .at[where_from]
        .set(jnp.cumsum(starts), unique_indices=True)
    )


def _general_plan(n):
    """``(bits per digit, levels)`` for dense label ranks in ``[0, n)``."""
    key_bits = max(1, (n - 1).bit_length())
    return _GENERAL_BITS, -(-key_bits // _GENERAL_BITS)


def _forward_list(scores, keys, valid, temperature, plan):
    """Per-item losses of one list, plus the residuals for the backward pass."""
    n = scores.shape[-1]
    dtype = scores.dtype
    compensated = dtype != jnp.float64
    sorted_scores, order = lax.sort(
        (scores, jnp.arange(n, dtype=jnp.int32)), num_keys=1, is_stable=False
    )
    first = _first_active(sorted_scores, temperature)
    sorted_keys = keys[order]
    sorted_valid = valid[order]
    values = jnp.where(sorted_valid, sorted_scores, jnp.zeros((), dtype))
    count, total = _suffix_smaller(
        sorted_keys,
        sorted_valid.astype(jnp.int32),
        values,
        first,
        sorted_keys,
        *plan,
        compensated,
    )
    t = jnp.asarray(temperature, dtype)
    numerator = _df_add(
        _count_times(count, jnp.broadcast_to(t, (n,)), compensated), total
    )
    c_s = _count_times(count, sorted_scores, compensated)
    numerator = _df_add(numerator, (-c_s[0], -c_s[1]))
    losses = jnp.where(
        sorted_valid, (numerator[0] + numerator[1]) / t, jnp.zeros((), dtype)
    )
    unsorted = jnp.zeros((n,), dtype).at[order].set(losses, unique_indices=True)
    return unsorted, (order, first, count, sorted_keys, sorted_valid)


def _backward_list(residuals, cotangent, temperature, plan):
    order, first, count, sorted_keys, sorted_valid = residuals
    n = order.shape[-1]
    dtype = cotangent.dtype
    compensated = dtype != jnp.float64
    g = jnp.where(sorted_valid, cotangent[order], jnp.zeros((), dtype))
    # e[x]: the items k with first[k] <= x, i.e. those for which x is a lower partner.
    ends = jnp.cumsum(jnp.zeros((n + 1,), jnp.int32).at[first].add(1))[:n]
    # Read backwards with complemented keys, "k < e[x], key_k > key_x" is a suffix
    # query.
    bits, levels = plan
    top = (1 << (levels * bits)) - 1
    flipped = (top - sorted_keys)[::-1]
    _, total = _suffix_smaller(
        flipped, None, g[::-1], (n - ends)[::-1], flipped, bits, levels, compensated
    )
    g_c = _count_times(count, g, compensated)
    grad = _df_add((total[0][::-1], total[1][::-1]), (-g_c[0], -g_c[1]))
    t = jnp.asarray(temperature, dtype)
    grad = jnp.where(sorted_valid, (grad[0] + grad[1]) / t, jnp.zeros((), dtype))
    return jnp.zeros((n,), dtype).at[order].set(grad, unique_indices=True)


def _graded(labels, valid):
    """True when every valid label is an integer in ``[0, 8)``."""
    ok = (labels == jnp.floor(labels)) & (labels < (1 << _GRADED_BITS))
    return jnp.all(ok | ~valid)


def _keys_graded(labels, valid):
    return jnp.where(valid, labels, jnp.zeros((), labels.dtype)).astype(jnp.int32)


def _keys_ranked(labels, valid):
    return jax.vmap(_dense_rank)(jnp.where(valid, labels, jnp.zeros((), labels.dtype)))


def _as_lists(x):
    return x.reshape((-1, x.shape[-1]))


def _forward(scores, labels, valid, temperature):
    shape = scores.shape
    s, y, v = _as_lists(scores), _as_lists(labels), _as_lists(valid)

    def branch(keys_fn, plan):
        def run(s, y, v):
            keys = keys_fn(y, v)
            fwd = functools.partial(_forward_list, temperature=temperature, plan=plan)
            losses, res = jax.vmap(fwd)(s, keys, v)
            return losses, res

        return run

    losses, res = lax.cond(
        _graded(y, v),
        branch(_keys_graded, _GRADED_PLAN),
        branch(_keys_ranked, _general_plan(shape[-1])),
        s,
        y,
        v,
    )
    return losses.reshape(shape), res


@functools.partial(jax.custom_vjp, nondiff_argnums=(3,))
def hinge_item_losses_sorted(scores, labels, valid, temperature):
    """Per-item pairwise hinge losses in :math:`O(n \\log n)` (module docstring).

    Args:
      scores: ``(..., n)`` finite scores in the compute dtype.
      labels: ``(..., n)`` labels in the compute dtype.
      valid: ``(..., n)`` bool, True for items that take part in pairs.
      temperature: static Python float > 0.

    Returns:
      ``(..., n)`` unweighted per-item losses, 0 for invalid items. Differentiable in
      ``scores`` in reverse mode only (``jax.custom_vjp``).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxrank._src.pairs_sorted import hinge_item_losses_sorted
      >>> scores = jnp.array([[1.0, 3.0, 2.0, 4.0], [1.0, 1.8, 2.0, 3.0]])
      >>> labels = jnp.array([[1.0, 0.0, 1.0, 3.0], [0.0, 1.0, 2.0, 3.0]])
      >>> hinge_item_losses_sorted(scores, labels, labels >= 0, 1.0)
      Array([[3. , 0. , 2. , 0. ],
             [0. , 0.2, 0.8, 0. ]], dtype=float32)
    """
    if scores.shape[-1] < 2:
        return jnp.zeros_like(scores)
    return _forward(scores, labels, valid, temperature)[0]


def _sorted_fwd(scores, labels, valid, temperature):
    if scores.shape[-1] < 2:
        return jnp.zeros_like(scores), None
    losses, res = _forward(scores, labels, valid, temperature)
    graded = _graded(_as_lists(labels), _as_lists(valid))
    return losses, (res, graded)


def _sorted_bwd(temperature, residuals, cotangent):
    if residuals is None:
        return jnp.zeros_like(cotangent), None, None
    res, graded = residuals
    shape = cotangent.shape

    def branch(plan):
        bwd = functools.partial(_backward_list, temperature=temperature, plan=plan)
        return lambda res, g: jax.vmap(bwd)(res, g)

    grad = lax.cond(
        graded,
        branch(_GRADED_PLAN),
        branch(_general_plan(shape[-1])),
        res,
        _as_lists(cotangent),
    )
    return grad.reshape(shape), None, None


hinge_item_losses_sorted.defvjp(_sorted_fwd, _sorted_bwd)
