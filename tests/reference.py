"""Independent float64 NumPy references for jaxrank's losses.

Written from the definitions (``../shared/spec/PairwiseHingeLoss.md`` and the keras
reduction rules), with explicit loops and no code shared with the library, so that a
test comparing against them checks the library rather than restating it.

Each loss has three small pieces that other loss references can mirror:

* ``<loss>_item_losses(scores, labels, valid, temperature)``: unweighted per-item losses
  of the scores' shape ``(..., n)`` (0 for invalid items);
* ``<loss>_item_losses_vjp(scores, labels, valid, temperature, cotangent)``: the
  gradient of ``sum(cotangent * item_losses)`` w.r.t. the scores, derived by hand;
* the shared ``valid_items``, ``reduce`` and ``reduce_cotangent`` (weights and the keras
  reductions), so ``loss = reduce(item_losses(...), valid, weights, reduction, shape)``
  and ``d loss / d scores = item_losses_vjp(..., reduce_cotangent(...))``.
"""

from __future__ import annotations

import numpy as np

REDUCTIONS = ("sum_over_batch_size", "mean", "sum", "mean_with_sample_weight", "none")


def valid_items(labels, where=None):
    """An item is valid when its label is >= 0 and (if given) its mask is True."""
    valid = np.asarray(labels, np.float64) >= 0
    if where is not None:
        valid = valid & np.asarray(where, bool)
    return valid


def _lists(x):
    """Views ``(..., n)`` as ``(num_lists, n)``."""
    x = np.asarray(x)
    return x.reshape((int(np.prod(x.shape[:-1])), x.shape[-1]))


def hinge_item_losses(scores, labels, valid, temperature=1.0):
    """``loss_i = sum_j [valid_i, valid_j, y_i - y_j > 0] max(0, 1 - (s_i - s_j) / T)``.

    Invalid items' scores are never read, so padding values (inf, NaN) cannot matter.
    """
    scores = np.asarray(scores, np.float64)
    labels = np.asarray(labels, np.float64)
    valid = np.asarray(valid, bool)
    t = float(temperature)
    out = np.zeros(scores.shape, np.float64)
    flat = _lists(out)
    rows = zip(_lists(scores), _lists(labels), _lists(valid), strict=True)
    for row, (s, y, v) in enumerate(rows):
        n = s.shape[0]
        for i in range(n):
            for j in range(n):
                if v[i] and v[j] and y[i] - y[j] > 0:
                    flat[row, i] += max(0.0, 1.0 - (s[i] - s[j]) / t)
    return out


def hinge_item_losses_vjp(scores, labels, valid, temperature, cotangent):
    """Gradient of ``sum(cotangent * hinge_item_losses(...))`` w.r.t. the scores.

    A pair (i, j) with ``margin = 1 - (s_i - s_j) / T > 0`` adds ``-c_i / T`` to
    ``s_i`` and ``+c_i / T`` to ``s_j``; a pair with ``margin <= 0`` (including exactly
    at the kink) adds nothing, the subgradient ``jax.nn.relu`` uses.
    """
    scores = np.asarray(scores, np.float64)
    labels = np.asarray(labels, np.float64)
    valid = np.asarray(valid, bool)
    cot = np.broadcast_to(np.asarray(cotangent, np.float64), scores.shape)
    t = float(temperature)
    out = np.zeros(scores.shape, np.float64)
    flat = _lists(out)
    rows = zip(_lists(scores), _lists(labels), _lists(valid), _lists(cot), strict=True)
    for row, (s, y, v, c) in enumerate(rows):
        n = s.shape[0]
        for i in range(n):
            for j in range(n):
                if v[i] and v[j] and y[i] - y[j] > 0 and 1.0 - (s[i] - s[j]) / t > 0:
                    flat[row, i] -= c[i] / t
                    flat[row, j] += c[i] / t
    return out


def per_item_weights(weights, scores_shape):
    """Broadcasts scalar / per-item / per-list ``(...)`` or ``(..., 1)`` weights."""
    shape = tuple(scores_shape)
    if weights is None:
        return np.ones(shape, np.float64)
    w = np.asarray(weights, np.float64)
    if w.shape in ((), shape, shape[:-1] + (1,)):
        return np.broadcast_to(w, shape).astype(np.float64)
    if w.shape == shape[:-1]:
        return np.broadcast_to(w[..., None], shape).astype(np.float64)
    raise ValueError(f"unrecognised weights shape {w.shape} for scores {shape}")


def _divisor(weights, reduction, scores_shape):
    """What the weighted sum is divided by (None: no division)."""
    if reduction == "sum":
        return None
    if reduction == "mean_with_sample_weight" and weights is not None:
        return float(np.sum(np.asarray(weights, np.float64)))  # the weights as given
    return float(np.prod(scores_shape, dtype=np.int64))  # every entry, masked too


def reduce(item_losses, valid, weights, reduction, scores_shape):
    """Weights per-item losses, zeroes invalid items, and applies a keras reduction.

    ``"sum_over_batch_size"``/``"mean"``: sum over the number of entries;
    ``"mean_with_sample_weight"``: sum over the sum of the weights as given (entries
    count without weights); a zero divisor gives 0; ``"none"``/``None``: per item.
    """
    reduction = "none" if reduction is None else reduction
    assert reduction in REDUCTIONS, reduction
    w = per_item_weights(weights, scores_shape)
    weighted = np.where(np.asarray(valid, bool), np.asarray(item_losses) * w, 0.0)
    if reduction == "none":
        return weighted
    total = float(np.sum(weighted))
    divisor = _divisor(weights, reduction, scores_shape)
    if divisor is None:
        return total
    return 0.0 if divisor == 0 else total / divisor


def reduce_cotangent(valid, weights, reduction, scores_shape):
    """``d reduce(...) / d item_losses`` (for a scalar reduction), the scores' shape."""
    reduction = "none" if reduction is None else reduction
    assert reduction != "none"
    w = np.where(np.asarray(valid, bool), per_item_weights(weights, scores_shape), 0.0)
    divisor = _divisor(weights, reduction, scores_shape)
    if divisor is None:
        return w
    return np.zeros_like(w) if divisor == 0 else w / divisor


def reduce_weights_grad(item_losses, valid, weights, reduction, scores_shape):
    """``d reduce(...) / d weights`` in the shape the weights were given (a nonzero
    divisor assumed): the weights' share of the sum, summed over broadcast axes, with
    the divisor's own dependence on the weights for ``"mean_with_sample_weight"``."""
    w_given = np.asarray(weights, np.float64)
    shape = tuple(scores_shape)
    masked = np.where(np.asarray(valid, bool), np.asarray(item_losses, np.float64), 0.0)
    # d sum(w_item * loss) / d w_given: sum the per-item losses over broadcast axes.
    if w_given.shape == shape:
        d_sum = masked
    elif w_given.shape == ():
        d_sum = np.asarray(masked.sum())
    elif w_given.shape == shape[:-1]:
        d_sum = masked.sum(axis=-1)
    else:  # (..., 1)
        d_sum = masked.sum(axis=-1, keepdims=True)
    divisor = _divisor(weights, reduction, shape)
    if divisor is None:
        return d_sum
    if reduction == "mean_with_sample_weight":
        total = float(np.sum(masked * per_item_weights(weights, shape)))
        return d_sum / divisor - total / divisor**2
    return d_sum / divisor


def pairwise_hinge_loss(
    scores,
    labels,
    *,
    where=None,
    weights=None,
    temperature=1.0,
    reduction="sum_over_batch_size",
):
    """The reference pairwise hinge loss, same conventions as the library's."""
    scores = np.asarray(scores, np.float64)
    valid = valid_items(labels, where)
    item = hinge_item_losses(scores, labels, valid, temperature)
    return reduce(item, valid, weights, reduction, scores.shape)


def pairwise_hinge_loss_grad(
    scores,
    labels,
    *,
    where=None,
    weights=None,
    temperature=1.0,
    reduction="sum_over_batch_size",
):
    """Analytic gradient of :func:`pairwise_hinge_loss` (scalar reductions) w.r.t. the
    scores."""
    scores = np.asarray(scores, np.float64)
    valid = valid_items(labels, where)
    cot = reduce_cotangent(valid, weights, reduction, scores.shape)
    return hinge_item_losses_vjp(scores, labels, valid, temperature, cot)
