"""Float64 NumPy references for the rank stand-ins and the transformed metrics.

Written from the definitions, one list at a time with explicit loops over segments,
independently of the library (and of rax): ranks as pair sums with their gradients,
the top-n cut-off from a sort, and approximate NDCG / MRR on top of them.
"""

from __future__ import annotations

import numpy as np


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def step(kind: str, x, temperature: float = 1.0):
    """The stand-in for ``[x >= 0]``: ``"sigmoid"``, ``"upper_hinge"`` or
    ``"lower_hinge"``."""
    x = np.asarray(x, np.float64)
    if kind == "sigmoid":
        return _sigmoid(x / temperature)
    if kind == "upper_hinge":
        return np.maximum(0.0, x + 1.0)
    return 1.0 - np.maximum(0.0, 1.0 - x)


def step_slope(kind: str, x, temperature: float = 1.0):
    """The derivative of :func:`step` (0 at a hinge's kink, as ``jax.nn.relu``)."""
    x = np.asarray(x, np.float64)
    if kind == "sigmoid":
        p = _sigmoid(x / temperature)
        return p * (1.0 - p) / temperature
    if kind == "upper_hinge":
        return (x + 1.0 > 0).astype(np.float64)
    return (1.0 - x > 0).astype(np.float64)


def _lists(x):
    x = np.asarray(x)
    return x.reshape(-1, x.shape[-1])


def _partners(valid, segments):
    """(n, n) bool: j is a partner of i (distinct, both valid, same segment)."""
    n = valid.shape[0]
    paired = np.outer(valid, valid) & ~np.eye(n, dtype=bool)
    if segments is not None:
        paired &= segments[:, None] == segments[None, :]
    return paired


def step_ranks(kind, scores, valid=None, segments=None, temperature=1.0):
    """``1 + sum_j h(s_j - s_i)`` over each item's partners; 1 for ignored items."""
    scores = np.asarray(scores, np.float64)
    valid = np.ones(scores.shape, bool) if valid is None else np.asarray(valid)
    segs = None if segments is None else _lists(segments)
    out = np.ones_like(_lists(scores))
    for row, (s, v) in enumerate(zip(_lists(scores), _lists(valid), strict=True)):
        paired = _partners(v, None if segs is None else segs[row])
        h = step(kind, s[None, :] - s[:, None], temperature)
        out[row] += np.where(paired, h, 0.0).sum(axis=1)
    return out.reshape(scores.shape)


def step_ranks_vjp(kind, scores, cotangent, valid=None, segments=None, temperature=1):
    """The gradient of ``sum(cotangent * step_ranks(...))`` in the scores."""
    scores = np.asarray(scores, np.float64)
    valid = np.ones(scores.shape, bool) if valid is None else np.asarray(valid)
    segs = None if segments is None else _lists(segments)
    grads = np.zeros_like(_lists(scores))
    rows = zip(_lists(scores), _lists(valid), _lists(cotangent), strict=True)
    for row, (s, v, g) in enumerate(rows):
        paired = _partners(v, None if segs is None else segs[row])
        # r_i depends on s_j through h(s_j - s_i): +h' for j, -h' for i.
        a = np.where(paired, step_slope(kind, s[None, :] - s[:, None], temperature), 0)
        a = a * np.asarray(g, np.float64)[:, None]
        grads[row] = a.sum(axis=0) - a.sum(axis=1)
    return grads.reshape(scores.shape)


def _exact_ranks(a):
    """1-based ranks of ``a``, largest first, ties by position."""
    order = sorted(range(len(a)), key=lambda i: (-a[i], i))
    ranks = np.empty(len(a), np.int64)
    ranks[order] = np.arange(1, len(a) + 1)
    return ranks


def cutoff(kind, a, n, segments=None, temperature=1.0):
    """The stand-in top-``n`` indicator of each list (or segment), threshold halfway
    between the ``n``-th and ``(n+1)``-th largest entries (ties by position)."""
    a = np.asarray(a, np.float64)
    if n is None:
        return np.ones_like(a)
    if n == 0:
        return np.zeros_like(a)
    flat = _lists(a)
    segs = np.zeros(flat.shape, np.int64) if segments is None else _lists(segments)
    out = np.ones_like(flat)
    for row in range(flat.shape[0]):
        for seg in np.unique(segs[row]):
            members = np.flatnonzero(segs[row] == seg)
            if len(members) <= n:
                continue
            values = flat[row, members]
            ranks = _exact_ranks(values)
            threshold = values[(ranks == n) | (ranks == n + 1)].sum() / 2
            out[row, members] = step(kind, values - threshold, temperature)
    return out.reshape(a.shape)


def _gain(labels):
    return np.power(2.0, labels) - 1.0


def _ideal_dcg(gains, valid):
    ordered = np.sort(np.where(valid, gains, 0.0))[::-1]
    return np.sum(ordered / np.log2(np.arange(2, len(gains) + 2)))


def approx_ndcg(scores, labels, valid=None, temperature=1.0):
    """Per-list NDCG with sigmoid ranks (no cut-off), ideal DCG exact; 0 when the
    ideal DCG is 0."""
    scores = np.asarray(scores, np.float64)
    labels = np.asarray(labels, np.float64)
    valid = np.ones(scores.shape, bool) if valid is None else np.asarray(valid)
    ranks = _lists(step_ranks("sigmoid", scores, valid, None, temperature))
    out = []
    for r, y, v in zip(ranks, _lists(labels), _lists(valid), strict=True):
        gains = np.where(v, _gain(y), 0.0)
        ideal = _ideal_dcg(gains, v)
        dcg = np.sum(gains / np.log2(1.0 + r))
        out.append(dcg / ideal if ideal != 0 else 0.0)
    return np.asarray(out).reshape(scores.shape[:-1])


def approx_mrr(scores, labels, valid=None, temperature=1.0):
    """Per-list reciprocal rank with sigmoid ranks: ``max_i [y_i >= 1] / r_i`` over
    valid items, 0 without a relevant one."""
    scores = np.asarray(scores, np.float64)
    labels = np.asarray(labels, np.float64)
    valid = np.ones(scores.shape, bool) if valid is None else np.asarray(valid)
    ranks = _lists(step_ranks("sigmoid", scores, valid, None, temperature))
    relevant = (_lists(labels) >= 1) & _lists(valid)
    values = np.where(relevant, 1.0 / ranks, 0.0).max(axis=-1, initial=0.0)
    return values.reshape(scores.shape[:-1])
