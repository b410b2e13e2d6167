"""Independent float64 NumPy references for the softmax, pointwise and ListMLE losses.

Written from the definitions (rax 0.4.0's documented formulas, keras_rs's ListMLE),
with explicit loops over lists and segments and no code shared with the library.
Every function takes NumPy arrays ``scores, labels, valid, weights, segments`` of one
shape ``(..., n)`` (weights per item, segments integer ids or None) and returns the
unreduced losses in jaxrank's layout: per list ``(...)`` without segments, and with
segments the scores' shape, each segment's loss at its first valid item.
:func:`reduce` applies ``"sum"``/``"mean"`` (rax's mean over the counted entries)
and :func:`numeric_grad` differentiates any of them by central differences.
"""

from __future__ import annotations

import numpy as np

LIST_MLE_EPSILON = 1e-10  # keras_rs's floor inside ListMLE's log


def _groups(valid, segments):
    """For one list: the index arrays of its groups (segments, or the whole list)
    holding at least one valid item, each with the position of its first valid item
    (None without segments)."""
    if segments is None:
        members = np.flatnonzero(valid)
        return [(members, None)] if members.size else []
    groups = []
    for sid in dict.fromkeys(segments.tolist()):
        members = np.flatnonzero((segments == sid) & valid)
        if members.size:
            groups.append((members, int(members[0])))
    return groups


def _per_group(group_loss, scores, labels, valid, weights, segments):
    """Applies ``group_loss(s, y, w)`` (float64 vectors of one group's valid items)
    to every group of every list, in jaxrank's unreduced layout."""
    shape = scores.shape
    n = shape[-1]
    flat = [np.asarray(x).reshape(-1, n) for x in (scores, labels, valid, weights)]
    segs = None if segments is None else np.asarray(segments).reshape(-1, n)
    out = np.zeros((flat[0].shape[0],) if segs is None else (flat[0].shape[0], n))
    for row in range(flat[0].shape[0]):
        s, y, v, w = (x[row] for x in flat)
        s, y, w, v = s.astype(np.float64), y.astype(np.float64), w, v.astype(bool)
        for members, first in _groups(v, None if segs is None else segs[row]):
            value = group_loss(s[members], y[members], w[members].astype(np.float64))
            if first is None:
                out[row] = value
            else:
                out[row, first] = value
    return out.reshape(shape[:-1] if segments is None else shape)


def _log_softmax(s):
    shifted = s - s.max()
    return shifted - np.log(np.sum(np.exp(shifted)))


def softmax(scores, labels, valid, weights, segments=None, normalize=False):
    """``-sum_i t_i log softmax(s)_i`` with ``t = w * y`` (optionally divided by its
    sum, a uniform target if that sum is 0: rax's ``normalize_probabilities``)."""

    def group(s, y, w):
        t = w * y
        if normalize:
            t = t / t.sum() if t.sum() != 0 else np.full_like(t, 1 / t.size)
        return -np.sum(t * _log_softmax(s))

    return _per_group(group, scores, labels, valid, weights, segments)


def poly1_softmax(scores, labels, valid, weights, segments=None, epsilon=1.0):
    """Softmax loss plus ``epsilon * (1 - p_t)``, ``p_t`` the softmax probability of
    the normalised weighted labels."""

    def group(s, y, w):
        t = w * y
        target = t / t.sum() if t.sum() != 0 else np.full_like(t, 1 / t.size)
        log_p = _log_softmax(s)
        return -np.sum(t * log_p) + epsilon * (1 - np.sum(target * np.exp(log_p)))

    return _per_group(group, scores, labels, valid, weights, segments)


def unique_softmax(scores, labels, valid, weights, segments=None, gain=True):
    """``-sum_i w_i g(y_i) log(e^{s_i} / (e^{s_i} + sum_{y_j < y_i} e^{s_j}))``."""

    def group(s, y, w):
        total = 0.0
        for i in range(s.size):
            lower = s[y < y[i]]
            log_denominator = np.logaddexp.reduce(np.concatenate([[s[i]], lower]))
            g = 2.0 ** y[i] - 1 if gain else 1.0
            total -= w[i] * g * (s[i] - log_denominator)
        return total

    return _per_group(group, scores, labels, valid, weights, segments)


def list_mle(scores, labels, valid, weights, segments=None):
    """keras_rs's ListMLE per group: items drawn by decreasing label (ties in list
    order), ``-sum_k (z_k - log(eps + sum_{l >= k} e^{z_l}))`` with
    ``z = s - max(s)``; times the group's (per-list) weight."""

    def group(s, y, w):
        order = np.argsort(-y, kind="stable")
        z = s[order] - s.max()
        tails = np.cumsum(np.exp(z)[::-1])[::-1]
        return -w[0] * np.sum(z - np.log(tails + LIST_MLE_EPSILON))

    return _per_group(group, scores, labels, valid, weights, segments)


def pointwise(kind, scores, labels, valid, weights):
    """Per-item ``w_i * loss_i`` (0 at invalid items): ``"sigmoid"`` is sigmoid
    cross-entropy against labels clipped to [0, 1], ``"mse"`` the squared error."""
    s = np.asarray(scores, np.float64)
    y = np.asarray(labels, np.float64)
    if kind == "sigmoid":
        y = np.clip(y, 0, 1)
        p = 1 / (1 + np.exp(-s))
        item = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    else:
        item = (s - y) ** 2
    return np.where(valid, np.asarray(weights, np.float64) * item, 0.0)


def counted(valid, segments=None, per_item=False):
    """The number of entries rax's mean averages over: valid items for a pointwise
    loss; else non-empty lists, or non-empty segments."""
    valid = np.asarray(valid, bool)
    if per_item:
        return int(valid.sum())
    n = valid.shape[-1]
    rows = valid.reshape(-1, n)
    if segments is None:
        return int(rows.any(axis=-1).sum())
    segs = np.asarray(segments).reshape(-1, n)
    return sum(len(_groups(v, g)) for v, g in zip(rows, segs, strict=True))


def reduce(losses, reduction, count):
    """``"none"``, ``"sum"`` or ``"mean"`` (sum over ``count``, 0 if it is 0)."""
    if reduction == "none":
        return losses
    total = np.sum(losses)
    if reduction == "sum":
        return total
    return total / count if count else 0.0


def numeric_grad(fn, scores, step=1e-6):
    """Central-difference gradient of the scalar ``fn(scores)`` in float64."""
    scores = np.asarray(scores, np.float64)
    grad = np.zeros_like(scores)
    for index in np.ndindex(scores.shape):
        up, down = scores.copy(), scores.copy()
        up[index] += step
        down[index] -= step
        grad[index] = (fn(up) - fn(down)) / (2 * step)
    return grad
