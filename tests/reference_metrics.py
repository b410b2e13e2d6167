"""Float64 NumPy references for the ranking metrics: one list at a time, explicit loops.

Conventions (as documented in ``jaxrank._src.metrics``): an item is valid when its
label is >= 0 and its mask is True; valid items are ranked by score, highest first,
ties by lower index first; a NaN score on a valid item makes the list's value NaN.
"""

import math

import numpy as np


def exp2_gain(label):
    return 2.0**label - 1.0


def log2_discount(rank):
    return 1.0 / math.log2(rank + 1.0)


def _per_list(fn, scores, labels, where, weights, **kwargs):
    """Applies ``fn(scores, labels, valid, weights, **kwargs)`` to every list."""
    scores = np.asarray(scores, np.float64)
    labels = np.asarray(labels, np.float64)
    n = scores.shape[-1]
    valid = labels >= 0
    if where is not None:
        valid = valid & np.asarray(where, bool)
    if weights is None:
        weights = np.ones_like(scores)
    weights = np.broadcast_to(np.asarray(weights, np.float64), scores.shape)
    flat = [a.reshape(-1, n) for a in (scores, labels, valid, weights)]
    out = np.empty(flat[0].shape[0])
    for row in range(out.shape[0]):
        s, y, v, w = (a[row] for a in flat)
        if any(v[i] and math.isnan(s[i]) for i in range(n)):
            out[row] = math.nan
        else:
            out[row] = fn(s, y, v, w, **kwargs)
    return out.reshape(scores.shape[:-1])


def _ranked(s, v):
    """Indices of the valid items in rank order."""
    return sorted((i for i in range(len(s)) if v[i]), key=lambda i: (-s[i], i))


def _top(s, v, k):
    ranked = _ranked(s, v)
    return ranked if k is None else ranked[:k]


def _dcg(s, y, v, w, k, gain, discount):
    return sum(
        w[i] * gain(y[i]) * discount(r) for r, i in enumerate(_top(s, v, k), start=1)
    )


def _ideal_dcg(y, v, w, k, gain, discount):
    # Ignored items count as gain 0 in the ideal order (matters for negative gains).
    gains = sorted(w[i] * gain(y[i]) if v[i] else 0.0 for i in range(len(y)))[::-1]
    if k is not None:
        gains = gains[:k]
    return sum(g * discount(r) for r, g in enumerate(gains, start=1))


def dcg(
    scores,
    labels,
    where=None,
    weights=None,
    k=None,
    gain=exp2_gain,
    discount=log2_discount,
):
    def one(s, y, v, w):
        return _dcg(s, y, v, w, k, gain, discount)

    return _per_list(one, scores, labels, where, weights)


def ndcg(
    scores,
    labels,
    where=None,
    weights=None,
    k=None,
    gain=exp2_gain,
    discount=log2_discount,
    no_relevant_value=0.0,
):
    def one(s, y, v, w):
        ideal = _ideal_dcg(y, v, w, k, gain, discount)
        if ideal == 0:
            return no_relevant_value
        return _dcg(s, y, v, w, k, gain, discount) / ideal

    return _per_list(one, scores, labels, where, weights)


def mean_reciprocal_rank(scores, labels, where=None, k=None):
    def one(s, y, v, w):
        for r, i in enumerate(_top(s, v, k), start=1):
            if y[i] >= 1:
                return 1.0 / r
        return 0.0

    return _per_list(one, scores, labels, where, None)


def mean_average_precision(scores, labels, where=None, weights=None, k=None):
    def one(s, y, v, w):
        total = sum(w[i] for i in range(len(y)) if v[i] and y[i] >= 1)
        if total == 0:
            return 0.0
        hits, acc = 0, 0.0
        for r, i in enumerate(_top(s, v, k), start=1):
            if y[i] >= 1:
                hits += 1
                acc += w[i] * hits / r
        return acc / total

    return _per_list(one, scores, labels, where, weights)


def precision_at_k(scores, labels, where=None, k=None):
    def one(s, y, v, w):
        top = _top(s, v, k)
        if not top:
            return 0.0
        return sum(y[i] >= 1 for i in top) / len(top)

    return _per_list(one, scores, labels, where, None)


def recall_at_k(scores, labels, where=None, k=None):
    def one(s, y, v, w):
        relevant = sum(1 for i in range(len(y)) if v[i] and y[i] >= 1)
        if relevant == 0:
            return 0.0
        return sum(y[i] >= 1 for i in _top(s, v, k)) / relevant

    return _per_list(one, scores, labels, where, None)


def expected_reciprocal_rank(scores, labels, where=None, k=None, max_label=None):
    """ERR@k (Chapelle et al. 2009) with stop probability (2^y - 1) / 2^max_label,
    clipped to [0, 1]; max_label None is the largest valid label of the list."""

    def one(s, y, v, w):
        valid_labels = [y[i] for i in range(len(y)) if v[i]]
        top = max(valid_labels, default=0.0) if max_label is None else max_label
        reach, total = 1.0, 0.0
        for r, i in enumerate(_top(s, v, k), start=1):
            stop = min(max((2.0 ** y[i] - 1.0) / 2.0**top, 0.0), 1.0)
            total += reach * stop / r
            reach *= 1.0 - stop
        return total

    return _per_list(one, scores, labels, where, None)


def ordered_pair_accuracy(scores, labels, where=None):
    """Share of valid pairs with y_i > y_j that have s_i > s_j (ties wrong); 0 if
    there is no such pair."""

    def one(s, y, v, w):
        items = [i for i in range(len(y)) if v[i]]
        pairs = [(i, j) for i in items for j in items if y[i] > y[j]]
        if not pairs:
            return 0.0
        return sum(s[i] > s[j] for i, j in pairs) / len(pairs)

    return _per_list(one, scores, labels, where, None)
