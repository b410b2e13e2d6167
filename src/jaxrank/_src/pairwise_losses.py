r"""The pairwise logistic, soft zero-one and squared-error losses.

They share the conventions of :func:`jaxrank.pairwise_hinge_loss` (module docstring
of :mod:`jaxrank._src.losses`: ignored items, empty lists, ties, non-finite scores,
precision, weights and reductions) and its numbers' source, keras_rs 0.4.0. Each
accepts ``lambda_weights=`` (:mod:`jaxrank._src.lambda_weights`), which multiply the
pair terms, as in rax.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrank._src import pairs_blocked
from jaxrank._src.checks import check_reduction, check_temperature, prepare_inputs
from jaxrank._src.lambda_weights import LambdaWeight
from jaxrank._src.reductions import reduce_losses


def _pairwise_loss(
    term,
    scores,
    labels,
    *,
    where,
    weights,
    temperature,
    reduction,
    lambda_weights,
    block_size,
):
    temperature = check_temperature(temperature)
    reduction = check_reduction(reduction)
    lambda_weights = pairs_blocked.check_lambda_weights(lambda_weights)
    block_size = pairs_blocked.check_block_size(block_size)
    inputs = prepare_inputs(scores, labels, where=where, weights=weights)
    item_losses = pairs_blocked.pair_item_losses(
        inputs,
        term,
        temperature=temperature,
        lambda_weights=lambda_weights,
        block_size=block_size,
    )
    return reduce_losses(item_losses, inputs, reduction)


def pairwise_logistic_loss(
    scores: jax.Array,
    labels: jax.Array,
    *,
    where: jax.Array | None = None,
    weights: jax.Array | None = None,
    temperature: float = 1.0,
    reduction: str | None = "sum_over_batch_size",
    lambda_weights: LambdaWeight | None = None,
    block_size: int | None = None,
) -> jax.Array:
    r"""Pairwise logistic (RankNet) loss, with the numbers of keras_rs.

    Item :math:`i`'s loss sums a logistic penalty over the valid items :math:`j` it
    should outrank:

    .. math::

        \ell_i = w_i \sum_j [y_i - y_j > 0]\,\lambda_{ij}\,
                 \log\Bigl(1 + e^{-(s_i - s_j)/T}\Bigr),

    with :math:`\lambda_{ij} = 1` unless ``lambda_weights`` are given. The penalty is
    evaluated as :math:`\max(0, -x) + \operatorname{log1p}(e^{-|x|})`, which neither
    overflows nor loses digits (keras_rs writes ``log(1 + ...)``, equal to float
    rounding). The gradient, a ``jax.custom_vjp`` with :math:`O(n)` residuals, is
    :math:`-\sigma(-x)/T` per pair; forward-mode differentiation is not available.
    Long lists are computed in blocks of rows (``block_size``), so memory stays
    :math:`O(\text{rows} \times n)` per list while time is :math:`O(n^2)`.

    Args:
      scores: ``(..., n)`` floating scores; the last axis is the list.
      labels: ``(..., n)`` relevance labels (integer or float); negative = ignore.
      where: optional ``(..., n)`` boolean mask; False = ignore the item.
      weights: optional scalar, per-item ``(..., n)`` or per-list ``(...)`` or
        ``(..., 1)`` weights, multiplying the per-item losses.
      temperature: static Python float > 0 that divides score differences.
      reduction: ``"sum_over_batch_size"`` (default) or ``"mean"``, ``"sum"``,
        ``"mean_with_sample_weight"``, ``"none"``/``None`` (per-item losses).
      lambda_weights: optional lambda weights such as
        :class:`jaxrank.DCGLambdaWeight`, multiplying each pair's term.
      block_size: static number of rows per block, or None (default) to choose:
        the dense ``(n, n)`` computation when it is small, blocks of rows otherwise.

    Returns:
      A scalar, or per-item losses of the labels' shape for ``reduction="none"``.

    Raises:
      TypeError, ValueError: at trace time, for inputs of the wrong dtype or shape,
        a non-positive temperature, an unknown reduction, or a bad
        ``lambda_weights`` or ``block_size``.

    Examples:
      >>> import jax.numpy as jnp
      >>> import jaxrank
      >>> labels = jnp.array([1.0, 0.0, 1.0, 3.0, 2.0])
      >>> scores = jnp.array([1.0, 3.0, 2.0, 4.0, 0.8])
      >>> print(f"{jaxrank.pairwise_logistic_loss(scores, labels):.4f}")
      1.7071

    References:
      keras_rs ``PairwiseLogisticLoss``; Burges et al., *Learning to rank using
      gradient descent* (2005).
    """
    return _pairwise_loss(
        pairs_blocked.LOGISTIC,
        scores,
        labels,
        where=where,
        weights=weights,
        temperature=temperature,
        reduction=reduction,
        lambda_weights=lambda_weights,
        block_size=block_size,
    )


def pairwise_soft_zero_one_loss(
    scores: jax.Array,
    labels: jax.Array,
    *,
    where: jax.Array | None = None,
    weights: jax.Array | None = None,
    temperature: float = 1.0,
    reduction: str | None = "sum_over_batch_size",
    lambda_weights: LambdaWeight | None = None,
    block_size: int | None = None,
) -> jax.Array:
    r"""Pairwise soft zero-one loss, with the numbers of keras_rs.

    A smooth count of mis-ordered pairs:

    .. math::

        \ell_i = w_i \sum_j [y_i - y_j > 0]\,\lambda_{ij}\,
                 \sigma\Bigl(-\frac{s_i - s_j}{T}\Bigr),

    with :math:`\sigma` the logistic sigmoid and :math:`\lambda_{ij} = 1` unless
    ``lambda_weights`` are given. keras_rs writes :math:`1 - \sigma(x)` for
    :math:`x > 0`; :math:`\sigma(-x)` is the same number without the cancellation.
    The gradient, a ``jax.custom_vjp`` with :math:`O(n)` residuals, is
    :math:`-\sigma(x)\sigma(-x)/T` per pair; forward-mode differentiation is not
    available. Long lists are computed in blocks of rows (``block_size``).

    Args:
      scores: ``(..., n)`` floating scores; the last axis is the list.
      labels: ``(..., n)`` relevance labels (integer or float); negative = ignore.
      where: optional ``(..., n)`` boolean mask; False = ignore the item.
      weights: optional scalar, per-item ``(..., n)`` or per-list ``(...)`` or
        ``(..., 1)`` weights, multiplying the per-item losses.
      temperature: static Python float > 0 that divides score differences.
      reduction: ``"sum_over_batch_size"`` (default) or ``"mean"``, ``"sum"``,
        ``"mean_with_sample_weight"``, ``"none"``/``None`` (per-item losses).
      lambda_weights: optional lambda weights such as
        :class:`jaxrank.DCGLambdaWeight`, multiplying each pair's term.
      block_size: static number of rows per block, or None (default) to choose:
        the dense ``(n, n)`` computation when it is small, blocks of rows otherwise.

    Returns:
      A scalar, or per-item losses of the labels' shape for ``reduction="none"``.

    Raises:
      TypeError, ValueError: at trace time, for inputs of the wrong dtype or shape,
        a non-positive temperature, an unknown reduction, or a bad
        ``lambda_weights`` or ``block_size``.

    Examples:
      >>> import jax.numpy as jnp
      >>> import jaxrank
      >>> labels = jnp.array([1.0, 0.0, 1.0, 3.0, 2.0])
      >>> scores = jnp.array([1.0, 3.0, 2.0, 4.0, 0.8])
      >>> print(f"{jaxrank.pairwise_soft_zero_one_loss(scores, labels):.4f}")
      0.8610

    References:
      keras_rs ``PairwiseSoftZeroOneLoss``.
    """
    return _pairwise_loss(
        pairs_blocked.SOFT_ZERO_ONE,
        scores,
        labels,
        where=where,
        weights=weights,
        temperature=temperature,
        reduction=reduction,
        lambda_weights=lambda_weights,
        block_size=block_size,
    )


def _squared_error_item_losses(inputs) -> jax.Array:
    """:math:`\\sum_j v_j ((y_i - y_j) - (s_i - s_j))^2` for valid i, in O(n).

    With residuals :math:`e = y - s` centred over the valid items,
    :math:`d = e - \\bar e`, the sum is :math:`m d_i^2 + \\sum_j v_j d_j^2` for
    :math:`m` valid items; centring avoids the cancellation of the raw moments.
    """
    dtype = inputs.scores.dtype
    zero = jnp.zeros((), dtype)
    valid = inputs.valid
    residuals = jnp.where(valid, inputs.labels - inputs.scores, zero)
    count = jnp.sum(valid, axis=-1, keepdims=True).astype(dtype)
    safe_count = jnp.where(count > 0, count, jnp.ones((), dtype))
    mean = jnp.sum(residuals, axis=-1, keepdims=True) / safe_count
    centred = jnp.where(valid, residuals - mean, zero)
    spread = jnp.sum(jnp.square(centred), axis=-1, keepdims=True)
    return jnp.where(valid, count * jnp.square(centred) + spread, zero)


def pairwise_mean_squared_error(
    scores: jax.Array,
    labels: jax.Array,
    *,
    where: jax.Array | None = None,
    weights: jax.Array | None = None,
    reduction: str | None = "sum_over_batch_size",
    lambda_weights: LambdaWeight | None = None,
    block_size: int | None = None,
) -> jax.Array:
    r"""Pairwise squared error of score differences against label differences.

    Over every ordered pair of distinct valid items (equal labels included),

    .. math::

        \ell_i = w_i \sum_{j \ne i} \lambda_{ij}\,
                 \bigl((y_i - y_j) - (s_i - s_j)\bigr)^2,

    with the numbers of keras_rs's ``PairwiseMeanSquaredError`` (which has no
    temperature: it accepts one and ignores it). Without lambda weights the per-item
    sums have a closed form: with residuals :math:`e = y - s` centred over the
    :math:`m` valid items, :math:`d = e - \bar e`,

    .. math:: \ell_i = w_i \Bigl(m\,d_i^2 + \sum_j d_j^2\Bigr),

    computed in :math:`O(n)` time and memory per list, differentiated by plain
    autodiff (also :math:`O(n)`). With ``lambda_weights`` the pair terms are summed
    explicitly, in blocks of rows (``block_size``).

    Args:
      scores: ``(..., n)`` floating scores; the last axis is the list.
      labels: ``(..., n)`` relevance labels (integer or float); negative = ignore.
      where: optional ``(..., n)`` boolean mask; False = ignore the item.
      weights: optional scalar, per-item ``(..., n)`` or per-list ``(...)`` or
        ``(..., 1)`` weights, multiplying the per-item losses.
      reduction: ``"sum_over_batch_size"`` (default) or ``"mean"``, ``"sum"``,
        ``"mean_with_sample_weight"``, ``"none"``/``None`` (per-item losses).
      lambda_weights: optional lambda weights such as
        :class:`jaxrank.LabelDiffLambdaWeight`, multiplying each pair's term.
      block_size: with ``lambda_weights``, static rows per block or None to choose.

    Returns:
      A scalar, or per-item losses of the labels' shape for ``reduction="none"``.

    Raises:
      TypeError, ValueError: at trace time, for inputs of the wrong dtype or shape,
        an unknown reduction, or a bad ``lambda_weights`` or ``block_size``.

    Examples:
      >>> import jax.numpy as jnp
      >>> import jaxrank
      >>> labels = jnp.array([1.0, 0.0, 1.0, 3.0, 2.0])
      >>> scores = jnp.array([1.0, 3.0, 2.0, 4.0, 0.8])
      >>> print(f"{jaxrank.pairwise_mean_squared_error(scores, labels):.3f}")
      19.104

    References:
      keras_rs ``PairwiseMeanSquaredError``.
    """
    if lambda_weights is not None:
        return _pairwise_loss(
            pairs_blocked.SQUARED,
            scores,
            labels,
            where=where,
            weights=weights,
            temperature=1.0,
            reduction=reduction,
            lambda_weights=lambda_weights,
            block_size=block_size,
        )
    reduction = check_reduction(reduction)
    pairs_blocked.check_block_size(block_size)
    inputs = prepare_inputs(scores, labels, where=where, weights=weights)
    return reduce_losses(_squared_error_item_losses(inputs), inputs, reduction)
