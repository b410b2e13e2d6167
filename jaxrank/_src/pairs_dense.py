"""The dense pairwise hinge: an ``(..., n, n)`` pair tensor, built and dropped per pass.

For scores :math:`s`, labels :math:`y`, validity :math:`v` and temperature :math:`T`,
the per-item hinge loss of item :math:`i` is

.. math::

    \\ell_i = \\sum_j c_{ij} \\max\\bigl(0,\\ m_{ij}\\bigr), \\qquad
    m_{ij} = 1 - \\frac{s_i - s_j}{T}, \\qquad
    c_{ij} = v_i v_j [y_i - y_j > 0].

With :math:`a_{ij} = c_{ij} [m_{ij} > 0]` (the *active* pairs) the gradient is

.. math::

    \\frac{\\partial}{\\partial s_k} \\sum_i g_i \\ell_i
      = \\frac{1}{T} \\Bigl(\\sum_i g_i a_{ik} - g_k \\sum_j a_{kj}\\Bigr).

A pair exactly at the kink (:math:`m_{ij} = 0`) is inactive: it adds 0 to the value and
0 to the gradient, the subgradient ``jax.nn.relu`` picks at 0. The float expression of
:math:`m_{ij}` is keras_rs's (difference, then division by ``T``, then ``1 -``), so
values match keras_rs pair for pair. The backward pass rebuilds :math:`a` from the
saved ``(scores, labels, valid)``; no ``(n, n)`` array outlives either pass. This path
costs :math:`O(n^2)` time and transient memory per list: it is the fast choice for
short lists, and :mod:`jaxrank._src.pairs_sorted` takes over for long ones.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp


def _active_pairs(scores, labels, valid, temperature):
    """Margins :math:`m_{ij}` and the mask of active pairs, both ``(..., n, n)``."""
    diff = scores[..., :, None] - scores[..., None, :]
    margins = 1 - diff / jnp.asarray(temperature, scores.dtype)
    counted = (
        valid[..., :, None]
        & valid[..., None, :]
        & (labels[..., :, None] - labels[..., None, :] > 0)
    )
    return margins, counted & (margins > 0)


@functools.partial(jax.custom_vjp, nondiff_argnums=(3,))
def hinge_item_losses_dense(scores, labels, valid, temperature):
    """Per-item pairwise hinge losses from a dense pair tensor (module docstring).

    Args:
      scores: ``(..., n)`` finite scores in the compute dtype (invalid items' may be
        anything finite; they take part in no pair).
      labels: ``(..., n)`` labels in the compute dtype.
      valid: ``(..., n)`` bool, True for items that take part in pairs.
      temperature: static Python float > 0.

    Returns:
      ``(..., n)`` unweighted per-item losses, 0 for invalid items. Differentiable in
      ``scores`` in reverse mode only (``jax.custom_vjp``).
    """
    margins, active = _active_pairs(scores, labels, valid, temperature)
    return jnp.sum(jnp.where(active, margins, jnp.zeros((), margins.dtype)), axis=-1)


def _hinge_fwd(scores, labels, valid, temperature):
    losses = hinge_item_losses_dense(scores, labels, valid, temperature)
    return losses, (scores, labels, valid)


def _hinge_bwd(temperature, residuals, cotangent):
    scores, labels, valid = residuals
    _, active = _active_pairs(scores, labels, valid, temperature)
    active = active.astype(cotangent.dtype)
    as_lower = jnp.sum(active * cotangent[..., :, None], axis=-2)
    as_higher = cotangent * jnp.sum(active, axis=-1)
    grad = (as_lower - as_higher) / jnp.asarray(temperature, cotangent.dtype)
    return grad.astype(scores.dtype), None, None


hinge_item_losses_dense.defvjp(_hinge_fwd, _hinge_bwd)
