"""Functional ranking losses in the optax/rax convention.

Every loss takes ``scores`` then ``labels``, with the options keyword-only. The last
axis is the list; any leading axes are batch axes (so a loss can be ``vmap``-ed).
Shared conventions, enforced by :func:`jaxrank._src.checks.prepare_inputs`:

* **Ignored items.** An item whose label is negative (keras_rs uses -1) or whose
  ``where`` entry is False takes part in no pair and has loss 0. Its score can be
  anything, ``inf`` and ``NaN`` included: it changes neither value nor gradient.
* **Empty lists.** A list with no valid pair (``n`` of 0 or 1, all items ignored, all
  labels equal) has loss 0 and gradient 0.
* **Ties.** Two items with equal labels form no pair; equal scores are an ordinary
  difference of 0.
* **Non-finite scores.** A NaN or infinite score on a *valid* item makes every per-item
  loss of its list NaN (so any reduction is NaN); the gradient for that list is 0.
  Other lists are unaffected. keras_rs returns NaN in these cases too.
* **Precision.** bfloat16/float16 inputs are computed and returned in float32; float64
  inputs (with ``jax_enable_x64``) stay float64.
* **Weights.** A scalar, per item (the scores' shape), or per list (the leading shape,
  or the leading shape plus a trailing 1). A weight multiplies the per-item losses of
  its item or list.
* **Reductions** use Keras's names; see :mod:`jaxrank._src.reductions`.
"""

from __future__ import annotations

import jax

from jaxrank._src import pairs_blocked, pairs_dense, pairs_sorted
from jaxrank._src.checks import check_reduction, check_temperature, prepare_inputs
from jaxrank._src.lambda_weights import LambdaWeight
from jaxrank._src.reductions import reduce_losses

HINGE_METHODS = ("auto", "dense", "sorted")


def check_hinge_method(method: str, lambda_weights: LambdaWeight | None) -> str:
    """Returns ``method`` after checking it names a hinge algorithm that can run."""
    if method not in HINGE_METHODS:
        raise ValueError(
            f"`method` must be one of {HINGE_METHODS}; received {method!r}."
        )
    if lambda_weights is not None and method == "sorted":
        raise ValueError(
            '`method` must be "auto" or "dense" when `lambda_weights` are given (the '
            "sorted path has no per-pair weights); received 'sorted'."
        )
    return method


def _hinge_kernel(method: str, shape: tuple[int, ...]):
    if method == "sorted" or (
        method == "auto" and pairs_sorted.prefers_sorted_path(shape)
    ):
        return pairs_sorted.hinge_item_losses_sorted
    return pairs_dense.hinge_item_losses_dense


def pairwise_hinge_loss(
    scores: jax.Array,
    labels: jax.Array,
    *,
    where: jax.Array | None = None,
    weights: jax.Array | None = None,
    temperature: float = 1.0,
    reduction: str | None = "sum_over_batch_size",
    method: str = "auto",
    lambda_weights: LambdaWeight | None = None,
) -> jax.Array:
    r"""Pairwise hinge loss, with the numbers of ``keras_rs.losses.PairwiseHingeLoss``.

    For each list, item :math:`i`'s loss sums a hinge over the valid items :math:`j`
    it should outrank:

    .. math::

        \ell_i = w_i \sum_j [y_i - y_j > 0]\,
                 \max\Bigl(0,\ 1 - \frac{s_i - s_j}{T}\Bigr),

    where :math:`w_i` is item :math:`i`'s weight and :math:`T` the temperature. The
    per-item losses are then reduced (module docstring of :mod:`jaxrank._src.losses`
    for the conventions on ignored items, ties, empty lists and NaN scores).

    The gradient is a hand-written ``jax.custom_vjp``: a pair exactly at the kink
    (:math:`1 - (s_i - s_j)/T = 0`) contributes 0 to value and gradient, as
    ``jax.nn.relu`` does, and only :math:`O(n)` numbers per list are kept for the
    backward pass. ``custom_vjp`` rules out forward-mode differentiation
    (``jax.jvp``, ``jax.jacfwd``, ``jax.hessian``); use reverse mode.

    Two exact algorithms compute it, both in :math:`O(n)` memory per list.
    ``"dense"`` visits all :math:`n^2` pairs, one partner at a time (fastest below
    768 to 2048 items, by batch size); ``"sorted"`` works from the score order
    and prefix sums in :math:`O(n \log n)` time (lists of up to millions of items).
    ``"auto"`` chooses from the static shape at trace time.

    Args:
      scores: ``(..., n)`` floating scores; the last axis is the list.
      labels: ``(..., n)`` relevance labels (integer or float); negative = ignore.
      where: optional ``(..., n)`` boolean mask; False = ignore the item.
      weights: optional scalar, per-item ``(..., n)`` or per-list ``(...)`` or
        ``(..., 1)`` weights.
      temperature: static Python float > 0 that divides score differences.
      reduction: ``"sum_over_batch_size"`` (default) or ``"mean"``, ``"sum"``,
        ``"mean_with_sample_weight"``, ``"none"``/``None`` (per-item losses).
      method: ``"auto"`` (default), ``"dense"`` or ``"sorted"``.
      lambda_weights: optional lambda weights :math:`\lambda_{ij}` such as
        :class:`jaxrank.DCGLambdaWeight`, multiplying each pair's hinge (beyond
        keras_rs). They need per-pair values, so the sorted path cannot take them:
        ``"auto"`` then computes the pairs densely for short lists and in blocks of
        rows for long ones (:mod:`jaxrank._src.pairs_blocked`), ``"dense"`` always
        densely, and ``"sorted"`` raises ``ValueError``.

    Returns:
      A scalar, or per-item losses of the labels' shape for ``reduction="none"``.

    Raises:
      TypeError, ValueError: at trace time, for inputs of the wrong dtype or shape, a
        non-positive temperature or an unknown reduction or method.

    Examples:
      >>> import jax.numpy as jnp
      >>> import jaxrank
      >>> labels = jnp.array([1.0, 0.0, 1.0, 3.0, 2.0])
      >>> scores = jnp.array([1.0, 3.0, 2.0, 4.0, 0.8])
      >>> print(f"{jaxrank.pairwise_hinge_loss(scores, labels):.2f}")
      2.32
      >>> jaxrank.pairwise_hinge_loss(
      ...     jnp.array([[1.0, 3.0, 2.0, 4.0], [1.0, 1.8, 2.0, 3.0]]),
      ...     jnp.array([[1.0, 0.0, 1.0, 3.0], [0.0, 1.0, 2.0, 3.0]]),
      ...     reduction="none")
      Array([[3. , 0. , 2. , 0. ],
             [0. , 0.2, 0.8, 0. ]], dtype=float32)

    References:
      keras_rs ``PairwiseHingeLoss``; Herbrich, Graepel and Obermayer, *Large margin
      rank boundaries for ordinal regression* (2000).
    """
    temperature = check_temperature(temperature)
    reduction = check_reduction(reduction)
    lambda_weights = pairs_blocked.check_lambda_weights(lambda_weights)
    method = check_hinge_method(method, lambda_weights)
    inputs = prepare_inputs(scores, labels, where=where, weights=weights)
    if lambda_weights is not None:
        item_losses = _lambda_hinge(inputs, temperature, lambda_weights, method)
        return reduce_losses(item_losses, inputs, reduction)
    kernel = _hinge_kernel(method, inputs.scores.shape)
    item_losses = kernel(inputs.scores, inputs.labels, inputs.valid, temperature)
    return reduce_losses(item_losses, inputs, reduction)


def _lambda_hinge(inputs, temperature, lambda_weights, method):
    """Per-item hinge losses with lambda weights, from the row-block pair kernel."""
    block_size = inputs.scores.shape[-1] if method == "dense" else None
    return pairs_blocked.pair_item_losses(
        inputs,
        pairs_blocked.HINGE,
        temperature=temperature,
        lambda_weights=lambda_weights,
        block_size=block_size,
    )
