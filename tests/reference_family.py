"""Independent float64 NumPy references for the loss family and the lambda weights.

Written from the definitions with explicit loops over lists, items and pairs, sharing
no code with the library; the keras reductions come from ``reference.py``. A lambda
weight is described by a plain tuple, ``("labeldiff",)``, ``("dcg", topn, normalize)``
or ``("dcg2", topn, normalize, light_discount)``, and enters the pairwise references
as an ``(..., n, n)`` array of pair weights.
"""

from __future__ import annotations

import math

import numpy as np

import reference as ref


def _lists(x):
    x = np.asarray(x)
    return x.reshape((int(np.prod(x.shape[:-1])), x.shape[-1]))


def _logistic(x):
    return math.log(1.0 + math.exp(-x)) if x > -30 else -x + math.exp(x)


def _soft_zero_one(x):
    return 1.0 / (1.0 + math.exp(x)) if x < 700 else 0.0


def _hinge(x):
    return max(0.0, 1.0 - x)


PAIR_TERMS = {"hinge": _hinge, "logistic": _logistic, "soft_zero_one": _soft_zero_one}


def pairwise_item_losses(name, scores, labels, valid, temperature=1.0, lam=None):
    """``loss_i = sum_j [valid i, j; y_i > y_j] lam_ij f((s_i - s_j) / T)``."""
    term = PAIR_TERMS[name]
    scores, labels = np.asarray(scores, np.float64), np.asarray(labels, np.float64)
    n = scores.shape[-1]
    lam = np.ones(scores.shape + (n,)) if lam is None else np.asarray(lam, np.float64)
    out = np.zeros(scores.shape)
    flat, lams = _lists(out), lam.reshape((-1, n, n))
    rows = zip(_lists(scores), _lists(labels), _lists(valid), lams, strict=True)
    for r, (s, y, v, w) in enumerate(rows):
        for i in range(n):
            for j in range(n):
                if v[i] and v[j] and y[i] > y[j]:
                    flat[r, i] += w[i, j] * term((s[i] - s[j]) / temperature)
    return out


def squared_error_item_losses(scores, labels, valid, lam=None):
    """``loss_i = sum_{j != i, valid} lam_ij ((y_i - y_j) - (s_i - s_j))^2``."""
    scores, labels = np.asarray(scores, np.float64), np.asarray(labels, np.float64)
    n = scores.shape[-1]
    lam = np.ones(scores.shape + (n,)) if lam is None else np.asarray(lam, np.float64)
    out = np.zeros(scores.shape)
    flat, lams = _lists(out), lam.reshape((-1, n, n))
    rows = zip(_lists(scores), _lists(labels), _lists(valid), lams, strict=True)
    for r, (s, y, v, w) in enumerate(rows):
        for i in range(n):
            for j in range(n):
                if i != j and v[i] and v[j]:
                    flat[r, i] += w[i, j] * ((y[i] - y[j]) - (s[i] - s[j])) ** 2
    return out


def list_mle_list_losses(scores, labels, valid, temperature=1.0):
    """Per-list ListMLE with keras_rs's arithmetic: the valid items in decreasing
    label order (equal labels in list order), ``z = s / T - max(s / T)`` and
    ``loss = -sum_k (z_k - log(1e-10 + sum_{l >= k} exp(z_l)))``."""
    scores, labels = np.asarray(scores, np.float64), np.asarray(labels, np.float64)
    out = []
    for s, y, v in zip(_lists(scores), _lists(labels), _lists(valid), strict=True):
        order = sorted((i for i in range(len(s)) if v[i]), key=lambda i: (-y[i], i))
        if not order:
            out.append(0.0)
            continue
        z = [s[i] / temperature for i in order]
        top = max(z)
        z = [x - top for x in z]
        total = 0.0
        for k in range(len(z)):
            tail = sum(math.exp(x) for x in z[k:])
            total += z[k] - math.log(tail + 1e-10)
        out.append(-total)
    return np.asarray(out).reshape(scores.shape[:-1])


def reduce_lists(list_losses, weights, reduction):
    """keras's reductions of per-list losses with scalar or per-list weights."""
    losses = np.asarray(list_losses, np.float64)
    w = 1.0 if weights is None else np.asarray(weights, np.float64)
    w = np.broadcast_to(np.reshape(w, np.shape(w)[: losses.ndim]), losses.shape)
    weighted = losses * w
    if reduction in ("none", None):
        return weighted
    total = float(weighted.sum())
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and weights is not None:
        divisor = float(np.sum(weights))
    else:
        divisor = float(losses.size)
    return 0.0 if divisor == 0 else total / divisor


def ranks(scores, valid):
    """1-based ranks of one list: decreasing score, ties in list order, invalid last."""
    n = len(scores)
    order = sorted(range(n), key=lambda i: (not valid[i], -scores[i], i))
    out = np.zeros(n)
    for position, i in enumerate(order):
        out[i] = position + 1
    return out


def _gain(y):
    return 2.0**y - 1.0


def _discount(r):
    return 1.0 / math.log2(r + 1.0)


def lambda_weights(spec, scores, labels, valid):
    """The ``(..., n, n)`` lambda weights of ``spec`` (module docstring); 0 for any
    pair with an invalid item. Gains are divided by the ideal DCG@topn when
    ``normalize`` (a zero ideal DCG counts as 1); ``n`` is the padded list size."""
    scores, labels = np.asarray(scores, np.float64), np.asarray(labels, np.float64)
    n = scores.shape[-1]
    out = np.zeros(scores.shape + (n,))
    flat = out.reshape((-1, n, n))
    for r, (s, y, v) in enumerate(
        zip(_lists(scores), _lists(labels), _lists(valid), strict=True)
    ):
        rank = ranks(s, v)
        gains = np.array([_gain(y[i]) if v[i] else 0.0 for i in range(n)])
        kind, *options = spec
        if kind != "labeldiff" and options[1]:  # normalize
            topn = options[0] if options[0] is not None else n
            ideal = sorted((gains[i] for i in range(n) if v[i]), reverse=True)
            idcg = sum(g * _discount(k + 1) for k, g in enumerate(ideal[:topn]))
            gains = gains / (idcg if idcg != 0 else 1.0)
        for i in range(n):
            for j in range(n):
                if not (v[i] and v[j]):
                    continue
                if kind == "labeldiff":
                    flat[r, i, j] = abs(y[i] - y[j])
                elif kind == "dcg":
                    topn = options[0]

                    def disc(k, topn=topn):
                        return _discount(k) if topn is None or k <= topn else 0.0

                    delta = abs(disc(rank[i]) - disc(rank[j]))
                    flat[r, i, j] = n * abs(gains[i] - gains[j]) * delta
                else:  # dcg2
                    topn, _, light = options
                    dist = abs(rank[i] - rank[j])
                    if dist == 0:
                        continue
                    if light:
                        delta = _discount(dist)
                    else:
                        delta = abs(_discount(dist) - _discount(dist + 1))
                    lowest = max(rank[i], rank[j])
                    if topn is not None and lowest > topn:
                        delta /= 1.0 - _discount(lowest)
                    flat[r, i, j] = n * abs(gains[i] - gains[j]) * delta
    return out


def loss(
    name,
    scores,
    labels,
    *,
    where=None,
    weights=None,
    temperature=1.0,
    reduction="sum_over_batch_size",
    lambda_spec=None,
):
    """The reference of jaxrank loss ``name`` (``"hinge"``, ``"logistic"``,
    ``"soft_zero_one"``, ``"mse"`` or ``"list_mle"``), library conventions."""
    scores = np.asarray(scores, np.float64)
    valid = ref.valid_items(labels, where)
    if name == "list_mle":
        losses = list_mle_list_losses(scores, labels, valid, temperature)
        return reduce_lists(losses, weights, reduction)
    lam = None
    if lambda_spec is not None:
        lam = lambda_weights(lambda_spec, scores, labels, valid)
    if name == "mse":
        item = squared_error_item_losses(scores, labels, valid, lam)
    else:
        item = pairwise_item_losses(name, scores, labels, valid, temperature, lam)
    return ref.reduce(item, valid, weights, reduction, scores.shape)
