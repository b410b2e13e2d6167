"""The all-pairs pairwise hinge: every pair visited, one partner at a time.

The kernel behind ``jaxrank.pairwise_hinge_loss(..., method="all_pairs")``.

For scores :math:`s`, labels :math:`y`, validity :math:`v` and temperature :math:`T`,
the per-item hinge loss of item :math:`i` is

.. math::

    \\ell_i = \\sum_j c_{ij} \\max\\bigl(0,\\ m_{ij}\\bigr), \\qquad
    m_{ij} = 1 - \\frac{s_i - s_j}{T}, \\qquad
    c_{ij} = v_i v_j [y_i - y_j > 0].

With :math:`a_{ij} = c_{ij} [m_{ij} > 0]` (the *active* pairs) and
:math:`C_i = \\sum_j a_{ij}` the gradient is

.. math::

    \\frac{\\partial}{\\partial s_k} \\sum_i g_i \\ell_i
      = \\frac{1}{T} \\Bigl(\\sum_i g_i a_{ik} - g_k C_k\\Bigr).

A pair exactly at the kink (:math:`m_{ij} = 0`) is inactive: it adds 0 to the value and
0 to the gradient, the subgradient ``jax.nn.relu`` picks at 0. The float expressions of
:math:`m_{ij}` and of the label test are keras_rs's (difference, then division by
``T``, then ``1 -``), so every pair term matches keras_rs bit for bit wherever the
difference does not overflow: for :math:`T > 1` the scores are first scaled by a power
of two (:func:`jaxrank._src.numerics.temperature_scaling`), which changes no bit but
keeps :math:`s_i - s_j` and :math:`1/T` in range.

**Algorithm.** A loop over the partner :math:`j` (unrolled for lists of up to 64
items, else a ``lax.scan``) updates all items :math:`i` of all lists at once: the
forward pass adds :math:`j`'s hinge term to :math:`\\ell_i` (and, when differentiated,
:math:`a_{ij}` to :math:`C_i`); the backward pass adds :math:`g_j a_{jk}` to every
:math:`k`. The validity of both items is folded into the labels (:math:`-\\infty` for
an invalid item in the higher role, :math:`+\\infty` in the lower), so the label test
alone rules out invalid pairs. Time is :math:`O(n^2)` per list but memory
:math:`O(n)`: no ``(n, n)`` pair tensor is ever built (the peers' pair tensors spill
out of cache or memory as lists grow), and the residuals are the inputs and
:math:`C`. Short lists are fastest this way; the sorted kernel
(``method="sorted"``) takes over for long ones.
"""

from __future__ import annotations

import functools

import chex
import jax
import jax.numpy as jnp
from jax import lax

from jaxrank._src.numerics import divide_by_temperature, scale_for_temperature

# Partners per scan step: XLA fuses the unrolled steps into one pass over the items.
_UNROLL = 16
# Lists up to this long are unrolled whole: one fused pass, no loop, no transposes.
_FULL_UNROLL = 64


def _role_labels(labels, valid):
    """Labels as the higher and as the lower item of a pair, validity folded in:
    ``higher_i - lower_j > 0`` is :math:`c_{ij}` (both valid, :math:`y_i - y_j > 0`)."""
    inf = jnp.asarray(jnp.inf, labels.dtype)
    return jnp.where(valid, labels, -inf), jnp.where(valid, labels, inf)


def _over_partners(step, init, *per_item):
    """Runs ``carry = step(carry, *partner_values)`` for every partner position of the
    last axis, each ``per_item`` array read at that position (shape ``(...,)``)."""
    n = per_item[0].shape[-1]
    if n <= _FULL_UNROLL:
        carry = init
        for j in range(n):
            carry = step(carry, *(x[..., j] for x in per_item))
        return carry

    def body(carry, partner):
        return step(carry, *partner), None

    partners = tuple(jnp.moveaxis(x, -1, 0) for x in per_item)
    return lax.scan(body, init, partners, unroll=_UNROLL)[0]


def _losses_and_counts(scores, labels, valid, temperature, with_counts):
    """:math:`\\ell` and, if ``with_counts``, :math:`C` (floats), both ``(..., n)``."""
    scores, temperature = scale_for_temperature(scores, temperature)
    t = jnp.asarray(temperature, scores.dtype)
    zero = jnp.zeros((), scores.dtype)
    higher, lower = _role_labels(labels, valid)

    def step(carry, s_j, lower_j):
        margins = 1 - (scores - s_j[..., None]) / t
        active = (higher - lower_j[..., None] > 0) & (margins > 0)
        losses = carry[0] + jnp.where(active, margins, zero)
        if not with_counts:
            return (losses,)
        return losses, carry[1] + active.astype(scores.dtype)

    init = (jnp.zeros_like(scores),) * (2 if with_counts else 1)
    return _over_partners(step, init, scores, lower)


@functools.partial(jax.custom_vjp, nondiff_argnums=(3,))
def hinge_losses_allpairs(scores, labels, valid, temperature):
    """Per-item pairwise hinge losses over all pairs (module docstring).

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
    chex.assert_equal_shape([scores, labels, valid])
    return _losses_and_counts(scores, labels, valid, temperature, False)[0]


def hinge_losses_allpairs_fwd(scores, labels, valid, temperature):
    chex.assert_equal_shape([scores, labels, valid])
    losses, counts = _losses_and_counts(scores, labels, valid, temperature, True)
    return losses, (scores, labels, valid, counts)


def hinge_losses_allpairs_bwd(temperature, residuals, cotangent):
    scores, labels, valid, counts = residuals
    scaled, scaled_temperature = scale_for_temperature(scores, temperature)
    t = jnp.asarray(scaled_temperature, scores.dtype)
    zero = jnp.zeros((), scores.dtype)
    cotangent = cotangent.astype(scores.dtype)
    higher, lower = _role_labels(labels, valid)

    def step(as_lower, s_j, higher_j, g_j):
        # j is the higher item of the pair (j, k): m_jk, in the forward's expression.
        margins = 1 - (s_j[..., None] - scaled) / t
        active = (higher_j[..., None] - lower > 0) & (margins > 0)
        return as_lower + jnp.where(active, g_j[..., None], zero)

    as_lower = _over_partners(step, jnp.zeros_like(scores), scaled, higher, cotangent)
    grad = divide_by_temperature(as_lower - cotangent * counts, temperature)
    return grad, None, None


hinge_losses_allpairs.defvjp(hinge_losses_allpairs_fwd, hinge_losses_allpairs_bwd)
