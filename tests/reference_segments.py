"""Float64 NumPy references of the pairwise losses with segments.

Dense and explicit, from the definitions: every pair ``(i, j)`` of a list is visited,
and it counts when both items are valid, they share a segment id and (for the
ordered terms) ``y_i > y_j``. No code is shared with the library. The gradient is
written by hand: with ``a_ij = g_i c_ij f'(x_ij, dy_ij)`` for the cotangent ``g``,
``d/ds_k sum_i g_i l_i = (sum_j a_kj - sum_i a_ik) / T``.
"""

from __future__ import annotations

import numpy as np


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def quantile(tau, squared):
    """The pinball pair term of ``rax.pairwise_qr_loss``: ``(f, f')`` in ``x``."""

    def value(x, dy):
        under, over = max(0.0, dy - x), max(0.0, x - dy)
        if squared:
            under, over = under**2, over**2
        return tau * under + (1 - tau) * over

    def slope(x, dy):
        if squared:
            return -2 * tau * max(0.0, dy - x) + 2 * (1 - tau) * max(0.0, x - dy)
        return -tau * float(dy - x > 0) + (1 - tau) * float(x - dy > 0)

    return value, slope, True


# name -> (f(x, dy), df/dx(x, dy), ordered)
TERMS = {
    "hinge": (lambda x, dy: max(0.0, 1 - x), lambda x, dy: -float(1 - x > 0), True),
    "logistic": (
        lambda x, dy: np.logaddexp(0.0, -x),
        lambda x, dy: -_sigmoid(-x),
        True,
    ),
    "soft_zero_one": (
        lambda x, dy: _sigmoid(-x),
        lambda x, dy: -_sigmoid(x) * _sigmoid(-x),
        True,
    ),
    "mse": (lambda x, dy: (dy - x) ** 2, lambda x, dy: -2 * (dy - x), False),
}


def _pairs(term, scores, labels, valid, segments, temperature):
    """Yields ``(row, i, j, x, dy)`` for every counted pair of every list."""
    _, _, ordered = term
    shape = (int(np.prod(scores.shape[:-1])), scores.shape[-1])
    n = shape[-1]
    s = np.asarray(scores, np.float64).reshape(shape)
    y = np.asarray(labels, np.float64).reshape(shape)
    v = np.asarray(valid, bool).reshape(shape)
    g = np.asarray(segments).reshape(shape)
    for row in range(s.shape[0]):
        for i in range(n):
            for j in range(n):
                if i == j or not (v[row, i] and v[row, j]):
                    continue
                if g[row, i] != g[row, j]:
                    continue
                dy = y[row, i] - y[row, j]
                if ordered and not dy > 0:
                    continue
                yield row, i, j, (s[row, i] - s[row, j]) / temperature, dy


def item_losses(term, scores, labels, valid, segments, temperature=1.0):
    """``(..., n)`` per-item losses: ``l_i = sum_j c_ij f(x_ij, dy_ij)``."""
    value = term[0]
    n = np.shape(scores)[-1]
    out = np.zeros((int(np.prod(np.shape(scores)[:-1])), n))
    for row, i, _, x, dy in _pairs(term, scores, labels, valid, segments, temperature):
        out[row, i] += value(x, dy)
    return out.reshape(np.shape(scores))


def item_losses_vjp(term, scores, labels, valid, segments, cotangent, temperature=1.0):
    """The gradient of ``sum(cotangent * item_losses)`` w.r.t. the scores."""
    slope = term[1]
    n = np.shape(scores)[-1]
    g = np.asarray(cotangent, np.float64).reshape(-1, n) if n else np.zeros((0, 0))
    out = np.zeros(g.shape)
    for row, i, j, x, dy in _pairs(term, scores, labels, valid, segments, temperature):
        a = g[row, i] * slope(x, dy)
        out[row, i] += a / temperature
        out[row, j] -= a / temperature
    return out.reshape(np.shape(scores))
