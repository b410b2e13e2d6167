"""A float64 NumPy reference of the pairwise hinge for long lists (n up to ~10^5).

Independent of jaxrank's sorted kernel: pairs are found with Fenwick (binary indexed)
trees over the score order, filled one label group at a time, in plain Python/NumPy
float64. Only the margin test ``1 - (s_i - s_j) / T > 0`` is evaluated in the scores'
own float dtype (float32 in the tests), because the contract defines the kink by that
float expression; every sum is float64.

``loss_i = C_i + (S_i - C_i s_i) / T`` over the active partners ``j`` of ``i``
(``C_i`` of them, scores summing to ``S_i``), and the gradient of
``sum_i g_i loss_i`` w.r.t. ``s_k`` is ``(sum_{i: (i, k) active} g_i - g_k C_k) / T``.
"""

from __future__ import annotations

import types

import numpy as np


class _Fenwick:
    """Prefix sums over positions ``0..n-1`` with point updates, float64."""

    def __init__(self, n):
        self.n = n
        self.tree = np.zeros(n + 1)

    def add(self, pos, value):
        i = pos + 1
        while i <= self.n:
            self.tree[i] += value
            i += i & -i

    def prefix(self, end):
        """Sum over positions ``[0, end)``."""
        total = 0.0
        i = end
        while i > 0:
            total += self.tree[i]
            i -= i & -i
        return total


def _first_active(sorted_scores, temperature):
    """Per sorted position k, the first j with ``1 - (s_k - s_j) / T > 0``.

    The test runs in the scores' dtype.
    """
    s = sorted_scores
    t = s.dtype.type(temperature)
    one = s.dtype.type(1)
    n = s.shape[0]
    lo = np.zeros(n, np.int64)
    hi = np.full(n, n, np.int64)
    while np.any(lo < hi):
        mid = (lo + hi) // 2
        active = one - (s - s[np.minimum(mid, n - 1)]) / t > 0
        searching = lo < hi
        hi = np.where(searching & active, mid, hi)
        lo = np.where(searching & ~active, mid + 1, lo)
    return lo


def hinge_list(scores, labels, valid, temperature, cotangent=None):
    """Per-item losses (and, if ``cotangent`` is given, the VJP) of one list.

    Args:
      scores: ``(n,)`` floating scores (the margin test runs in their dtype).
      labels: ``(n,)`` labels.
      valid: ``(n,)`` bool.
      temperature: float > 0.
      cotangent: optional ``(n,)`` weights ``g`` of the per-item losses.

    Returns:
      ``losses`` (float64), or ``(losses, grad)`` when ``cotangent`` is given.
    """
    scores = np.asarray(scores)
    labels = np.asarray(labels, np.float64)
    valid = np.asarray(valid, bool)
    n = scores.shape[0]
    order = np.argsort(scores, kind="stable")
    pos = np.empty(n, np.int64)
    pos[order] = np.arange(n)
    first = _first_active(scores[order], temperature)[pos]  # per item
    s64 = scores.astype(np.float64)
    items = np.flatnonzero(valid)
    by_label = items[np.argsort(labels[items], kind="stable")]
    groups = np.split(by_label, np.flatnonzero(np.diff(labels[by_label]) != 0) + 1)

    # Forward: insert groups in increasing label order; query before inserting a group,
    # so only strictly smaller labels are present: suffix [first_i, n) of score order.
    count_tree, sum_tree = _Fenwick(n), _Fenwick(n)
    count = np.zeros(n)
    total = np.zeros(n)
    for group in groups:
        for i in group:
            count[i] = count_tree.prefix(n) - count_tree.prefix(first[i])
            total[i] = sum_tree.prefix(n) - sum_tree.prefix(first[i])
        for j in group:
            count_tree.add(pos[j], 1.0)
            sum_tree.add(pos[j], s64[j])
    t = float(temperature)
    losses = np.where(valid, count + (total - count * s64) / t, 0.0)
    if cotangent is None:
        return losses

    # Backward: (i, k) is active iff first[i] <= pos[k] and y_i > y_k. Insert groups in
    # decreasing label order at position first[i]; query prefix [0, pos[k]].
    g = np.where(valid, np.asarray(cotangent, np.float64), 0.0)
    upper_tree = _Fenwick(n)
    received = np.zeros(n)
    for group in reversed(groups):
        for k in group:
            received[k] = upper_tree.prefix(pos[k] + 1)
        for i in group:
            upper_tree.add(first[i], g[i])
    grad = np.where(valid, (received - g * count) / t, 0.0)
    return losses, grad


def hinge_dense(scores, labels, valid, temperature, cotangent=None):
    """Per-item losses of one list from all pairs, exact to float64 rounding at any
    magnitude, with the margin test in the scores' own float dtype (float32 in the
    tests) and the temperature as that dtype rounds it (as both kernels see it).

    Each active pair adds ``1 + (s_j - s_i) / T``, a positive number, with the score
    difference formed in float64 (exact for float32 scores whose exponents differ by
    less than 29, else within float64 rounding of it), so the float64 sum has a
    relative error of order ``n * 2**-53``, whatever the scores' magnitude.

    The margin test here is IEEE float32 arithmetic; XLA compiles the kernels' test
    into a multiplication by ``1 / T``, possibly fused into a multiply-add, so a pair
    within a rounding of the kink may count in a kernel and not here, or the other
    way: ``kink`` collects such pairs (``|1 + (s_j - s_i) / T|`` within ``4 * 2**-24``
    of ``1 + |s_i - s_j| / T``).

    Returns:
      A namespace with ``losses``; ``budget_i = sum_j (1 + |s_i - s_j| / T)`` over the
      active partners (the scale of the rounding of any float32 evaluation);
      ``count``, the active partners; ``kink``, ``kink_i`` the same sum as
      ``budget_i`` over the near-kink partners; and, if ``cotangent`` is given,
      ``grad``, the gradient of ``sum_i cotangent_i * losses_i``, ``grad_scale``,
      ``(sum_i |g_i| a_ik + |g_k| C_k) / T``, and ``kink_grad``, the same over the
      near-kink pairs.
    """
    s = np.asarray(scores)
    t_own = s.dtype.type(temperature)
    y = np.asarray(labels, np.float64)
    v = np.asarray(valid, bool)
    with np.errstate(over="ignore", invalid="ignore"):
        margin = s.dtype.type(1) - (s[:, None] - s[None, :]) / t_own
    ordered = (y[:, None] > y[None, :]) & v[:, None] & v[None, :]
    active = ordered & (margin > 0)
    t = float(t_own)
    d = s.astype(np.float64)[None, :] - s.astype(np.float64)[:, None]  # s_j - s_i
    with np.errstate(over="ignore", invalid="ignore"):
        size = 1 + np.abs(d) / t
        kink = ordered & (np.abs(1 + d / t) <= 4 * 2.0**-24 * size)
        out = types.SimpleNamespace(
            losses=np.where(active, 1 + d / t, 0.0).sum(axis=1),
            budget=np.where(active, size, 0.0).sum(axis=1),
            count=active.sum(axis=1),
            kink=np.where(kink, size, 0.0).sum(axis=1),
        )
    if cotangent is None:
        return out
    g = np.where(v, np.asarray(cotangent, np.float64), 0.0)

    def spread(pairs, g):
        pairs = pairs.astype(np.float64)
        return pairs.T @ g, pairs.sum(axis=1)

    into, count = spread(active, g)
    out.grad = (into - g * count) / t
    into, count = spread(active, np.abs(g))
    out.grad_scale = (into + np.abs(g) * count) / t
    into, count = spread(kink, np.abs(g))
    out.kink_grad = (into + np.abs(g) * count) / t
    return out
