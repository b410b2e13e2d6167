"""Loss classes with keras_rs's calling convention and numbers.

``loss(y_true, y_pred, sample_weight=None)``, where ``y_true`` is a label array or a
dict ``{"labels": ..., "mask": ...}``, arrays have rank 1 (one list, a batch of one)
or rank 2 ``(batch, list_size)``, and ``sample_weight`` is a scalar, per list
``(batch, 1)`` or ``(batch,)``, or per item. The classes are thin wrappers over the
loss functions of :mod:`jaxrank.losses`, so both give identical numbers; they are
computed in ``dtype`` (float32 by default, Keras's ``floatx``).

One documented difference from keras_rs: a per-list ``sample_weight`` of shape
``(batch,)`` is read as one weight per list. keras_rs broadcasts such a weight along
the list axis instead, which fails unless ``batch == list_size`` and then weights
items by position.
"""

from __future__ import annotations

from typing import Any, ClassVar

import jax
import jax.numpy as jnp

from jaxrank._src import checks
from jaxrank._src.keras_convention import Configurable, standardize
from jaxrank._src.lambda_weights import LambdaWeight
from jaxrank._src.losses import (
    list_mle_loss,
    pairwise_hinge_loss,
    pairwise_logistic_loss,
    pairwise_mean_squared_error,
    pairwise_qr_loss,
    pairwise_soft_zero_one_loss,
)
from jaxrank._src.types import HingeMethod, Reduction

_COMMON_ARGS = """reduction: ``"sum_over_batch_size"`` (default), ``"mean"``, ``"sum"``,
        ``"mean_with_sample_weight"`` or ``"none"``/``None``.
      name: optional name.
      dtype: computation dtype (default float32, as Keras)."""


def _documented(cls):
    """Puts the constructor arguments every loss class shares into its docstring."""
    cls.__doc__ = cls.__doc__.replace("<common args>", _COMMON_ARGS)
    return cls


class RankingLoss(Configurable):
    """Base of the loss classes: the calling convention, config and reduction.

    Subclasses set ``loss_fn`` (a jaxrank loss function) and pass their own keyword
    options to ``__init__`` as ``options``.
    """

    loss_fn: ClassVar[Any]

    def __init__(
        self,
        reduction: Reduction | None = "sum_over_batch_size",
        name: str | None = None,
        dtype: Any = None,
        **options: Any,
    ) -> None:
        self.reduction = checks.check_reduction(reduction)
        self.name = name or type(self).__name__
        self.dtype = jnp.dtype(jnp.float32 if dtype is None else dtype)
        self.options = options

    def __call__(self, y_true, y_pred, sample_weight=None) -> jax.Array:
        """Computes the loss of one batch, as ``keras_rs`` does.

        Args:
          y_true: labels ``(list_size,)`` or ``(batch, list_size)``, or a dict with
            ``"labels"`` and an optional boolean (or 0/1) ``"mask"`` of that shape.
          y_pred: scores of the labels' shape.
          sample_weight: optional scalar, ``(batch, 1)``/``(batch,)`` per list, or
            per item; for rank-1 input also ``(list_size,)`` per item.

        Returns:
          The reduced loss, or per-item losses ``(batch, list_size)`` for
          ``reduction="none"`` (rank-1 input gives ``(1, list_size)``).
        """
        batch = standardize(y_true, y_pred, sample_weight, self.dtype)
        if batch.sample_weight is not None:
            checks.check_unambiguous_weights(batch.sample_weight, batch.labels.shape)
        return type(self).loss_fn(
            batch.scores,
            batch.labels,
            where=batch.mask,
            weights=batch.sample_weight,
            reduction=self.reduction,
            **self.options,
        )

    def _arguments(self) -> dict[str, Any]:
        return {"reduction": self.reduction, **self.options}


@_documented
class PairwiseHingeLoss(RankingLoss):
    r"""Pairwise hinge loss as a class: a drop-in for keras_rs's ``PairwiseHingeLoss``.

    .. math::

        \ell_i = \sum_j [y_i > y_j]\,\max\Bigl(0,\ 1 - \frac{s_i - s_j}{T}\Bigr)

    See :func:`jaxrank.pairwise_hinge_loss` for the conventions, the gradient and the
    two algorithms (``method``).

    Args:
      temperature: float > 0 dividing score differences.
      <common args>
      method: ``"auto"`` (default), ``"all_pairs"`` or ``"sorted"``.
      lambda_weights: optional lambda weights such as
        :class:`jaxrank.DCGLambdaWeight` (beyond keras_rs; not with ``"sorted"``).

    Examples:
      >>> import numpy as np
      >>> import jaxrank
      >>> loss = jaxrank.PairwiseHingeLoss()
      >>> y_true = np.array([[1.0, 0.0, 1.0, 3.0], [0.0, 1.0, 2.0, 3.0]])
      >>> y_pred = np.array([[1.0, 3.0, 2.0, 4.0], [1.0, 1.8, 2.0, 3.0]])
      >>> print(f"{loss(y_true, y_pred):.2f}")
      0.75
      >>> mask = np.array([[True, True, True, True], [True, True, False, False]])
      >>> print(f"{loss({'labels': y_true, 'mask': mask}, y_pred):.2f}")
      0.65
      >>> weights = np.array([[2.0, 3.0, 1.0, 1.0], [2.0, 1.0, 0.0, 0.0]])
      >>> print(f"{loss(y_true, y_pred, sample_weight=weights):.3f}")
      1.025
      >>> print(f"{loss(y_true, y_pred, sample_weight=np.array([[2.0], [0.5]])):.4f}")
      1.3125
      >>> print(f"{jaxrank.PairwiseHingeLoss(temperature=0.5)(y_true, y_pred):.3f}")
      1.075
      >>> print(f"{jaxrank.PairwiseHingeLoss(reduction='sum')(y_true, y_pred):.1f}")
      6.0
      >>> mean_w = jaxrank.PairwiseHingeLoss(reduction="mean_with_sample_weight")
      >>> print(f"{mean_w(y_true, y_pred, sample_weight=weights):.2f}")
      0.82
      >>> jaxrank.PairwiseHingeLoss(reduction="none")(y_true, y_pred)
      Array([[3. , 0. , 2. , 0. ],
             [0. , 0.2, 0.8, 0. ]], dtype=float32)
    """

    loss_fn = staticmethod(pairwise_hinge_loss)

    def __init__(
        self,
        temperature: float = 1.0,
        reduction: Reduction | None = "sum_over_batch_size",
        name: str | None = None,
        dtype: Any = None,
        method: HingeMethod = "auto",
        lambda_weights: LambdaWeight | None = None,
    ) -> None:
        lambda_weights = checks.check_lambda_weights(lambda_weights)
        super().__init__(
            reduction,
            name,
            dtype,
            temperature=checks.check_temperature(temperature),
            method=checks.check_hinge_method(method, lambda_weights),
            lambda_weights=lambda_weights,
        )


class _PairwiseLambdaLoss(RankingLoss):
    """Shared constructor of the pairwise classes with lambda weights and blocks."""

    def __init__(
        self,
        temperature: float = 1.0,
        reduction: Reduction | None = "sum_over_batch_size",
        name: str | None = None,
        dtype: Any = None,
        lambda_weights: LambdaWeight | None = None,
        block_size: int | None = None,
    ) -> None:
        super().__init__(
            reduction,
            name,
            dtype,
            temperature=checks.check_temperature(temperature),
            lambda_weights=checks.check_lambda_weights(lambda_weights),
            block_size=checks.check_positive_int("block_size", block_size),
        )


@_documented
class PairwiseLogisticLoss(_PairwiseLambdaLoss):
    r"""Pairwise logistic loss as a class, a drop-in for keras_rs's.

    .. math::

        \ell_i = \sum_j [y_i > y_j]\,\lambda_{ij}\,
                 \log\bigl(1 + e^{-(s_i - s_j)/T}\bigr)

    See :func:`jaxrank.pairwise_logistic_loss` for the conventions and the gradient;
    the calling convention is :class:`PairwiseHingeLoss`'s.

    Args:
      temperature: float > 0 dividing score differences.
      <common args>
      lambda_weights: optional lambda weights (beyond keras_rs).
      block_size: optional static rows per block (default: chosen from the shape).

    Examples:
      >>> import numpy as np
      >>> import jaxrank
      >>> y_true = np.array([[1.0, 0.0, 1.0, 3.0], [0.0, 1.0, 2.0, 3.0]])
      >>> y_pred = np.array([[1.0, 3.0, 2.0, 4.0], [1.0, 1.8, 2.0, 3.0]])
      >>> print(f"{jaxrank.PairwiseLogisticLoss()(y_true, y_pred):.5f}")
      0.73936
    """

    loss_fn = staticmethod(pairwise_logistic_loss)


class PairwiseSoftZeroOneLoss(_PairwiseLambdaLoss):
    r"""Pairwise soft zero-one loss as a class, a drop-in for keras_rs's.

    .. math::

        \ell_i = \sum_j [y_i > y_j]\,\lambda_{ij}\,\sigma\bigl(-(s_i - s_j)/T\bigr)

    See :func:`jaxrank.pairwise_soft_zero_one_loss`; arguments as
    :class:`PairwiseLogisticLoss`.

    Examples:
      >>> import numpy as np
      >>> import jaxrank
      >>> loss = jaxrank.PairwiseSoftZeroOneLoss(reduction="none")
      >>> per_item = loss(np.array([[1.0, 0.0, 2.0]]), np.array([[0.5, 1.0, 2.0]]))
      >>> print(np.round(per_item, 3))  # sigmoid(-0.5) and sigmoid(-1.5)
      [[0.622 0.    0.451]]
    """

    loss_fn = staticmethod(pairwise_soft_zero_one_loss)


def _squared_error_ignoring_temperature(scores, labels, *, temperature, **options):
    del temperature  # keras_rs accepts one for this loss, and ignores it
    return pairwise_mean_squared_error(scores, labels, **options)


@_documented
class PairwiseMeanSquaredError(_PairwiseLambdaLoss):
    r"""Pairwise squared error as a class, a drop-in for keras_rs's.

    .. math::

        \ell_i = \sum_{j \ne i} \lambda_{ij}\bigl((y_i - y_j) - (s_i - s_j)\bigr)^2

    See :func:`jaxrank.pairwise_mean_squared_error`. ``temperature`` is accepted,
    checked and kept in the config for compatibility, and has no effect, as in
    keras_rs.

    Args:
      temperature: float > 0, unused (see above).
      <common args>
      lambda_weights: optional lambda weights (beyond keras_rs).
      block_size: with lambda weights, optional static rows per block.

    Examples:
      >>> import numpy as np
      >>> import jaxrank
      >>> loss = jaxrank.PairwiseMeanSquaredError(reduction="sum")
      >>> # One pair: label gap 2, score gap 0.5, counted from both items.
      >>> print(loss(np.array([[2.0, 0.0]]), np.array([[0.5, 0.0]])))
      4.5
    """

    loss_fn = staticmethod(_squared_error_ignoring_temperature)


@_documented
class PairwiseQRLoss(RankingLoss):
    r"""Pairwise quantile-regression loss as a class (rax's pair terms, keras_rs's
    calling convention; keras_rs has no such loss).

    .. math::

        \ell_i = \sum_j [y_i > y_j]\,\lambda_{ij}\bigl(\tau \max(0, u_{ij})^p
                 + (1 - \tau) \max(0, -u_{ij})^p\bigr), \quad
        u_{ij} = (y_i - y_j) - (s_i - s_j)

    See :func:`jaxrank.pairwise_qr_loss`; the calling convention is
    :class:`PairwiseHingeLoss`'s.

    Args:
      tau: quantile in (0, 1] (default 0.5).
      squared: square each hinge (:math:`p = 2`; default False, :math:`p = 1`).
      <common args>
      lambda_weights: optional lambda weights.
      block_size: optional static rows per block (default: chosen from the shape).

    Examples:
      >>> import numpy as np
      >>> import jaxrank
      >>> loss = jaxrank.PairwiseQRLoss(tau=0.8, reduction="sum")
      >>> # One pair, label gap 2, score gap 0.5: u = 1.5, loss 0.8 * 1.5.
      >>> print(f"{loss(np.array([[2.0, 0.0]]), np.array([[0.5, 0.0]])):.2f}")
      1.20
    """

    loss_fn = staticmethod(pairwise_qr_loss)

    def __init__(
        self,
        tau: float = 0.5,
        squared: bool = False,
        reduction: Reduction | None = "sum_over_batch_size",
        name: str | None = None,
        dtype: Any = None,
        lambda_weights: LambdaWeight | None = None,
        block_size: int | None = None,
    ) -> None:
        if not isinstance(squared, bool):
            raise TypeError(f"`squared` must be a bool; received {squared!r}.")
        super().__init__(
            reduction,
            name,
            dtype,
            tau=checks.check_quantile(tau),
            squared=squared,
            lambda_weights=checks.check_lambda_weights(lambda_weights),
            block_size=checks.check_positive_int("block_size", block_size),
        )


@_documented
class ListMLELoss(RankingLoss):
    r"""ListMLE loss as a class, a drop-in for ``keras_rs.losses.ListMLELoss``.

    See :func:`jaxrank.list_mle_loss` for the definition and conventions. The loss is
    per list, and ``sample_weight`` is a scalar or per list: ``()``, ``(1,)``,
    ``(batch,)``, ``(1, 1)`` or ``(batch, 1)``. ``reduction="none"`` returns
    keras_rs's shapes: ``(batch,)``, or ``(batch, 1)`` for a rank-2 weight, and for
    one list ``(1,)``, or ``()`` with a scalar weight.

    Where keras_rs is ambiguous this class refuses or differs, on purpose: weights
    that vary within a list (``(batch, list_size)``, or ``(list_size,)`` for one
    list) are refused, as they have no meaning for a per-list loss (keras_rs fails,
    or multiplies list ``j``'s loss by the weight of position ``j`` when
    ``batch == list_size``); and for one list with a scalar ``sample_weight`` ``w``,
    keras squeezes the loss to a scalar and then skips every reduction, so its
    ``"mean_with_sample_weight"`` gives :math:`w L` where jaxrank gives
    :math:`w L / w = L`, the value keras_rs gives for two or more lists.

    Args:
      temperature: float > 0 dividing the scores.
      <common args>

    Examples:
      >>> import numpy as np
      >>> import jaxrank
      >>> y_true = np.array([[3.0, 2.0, 1.0, 0.0], [0.0, 1.0, 2.0, 3.0]])
      >>> y_pred = np.array([[0.8, 0.6, 0.4, 0.2], [1.0, 1.8, 2.0, 3.0]])
      >>> print(f"{jaxrank.ListMLELoss()(y_true, y_pred):.4f}")
      2.1824
      >>> jaxrank.ListMLELoss(reduction="none")(y_true, y_pred)
      Array([2.6211944, 1.7436862], dtype=float32)
    """

    loss_fn = staticmethod(list_mle_loss)

    def __init__(
        self,
        temperature: float = 1.0,
        reduction: Reduction | None = "sum_over_batch_size",
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            reduction, name, dtype, temperature=checks.check_temperature(temperature)
        )

    def __call__(self, y_true, y_pred, sample_weight=None) -> jax.Array:
        """Computes the loss of one batch, as ``keras_rs`` does (class docstring)."""
        losses = super().__call__(y_true, y_pred, sample_weight)
        if self.reduction != "none" or sample_weight is None:
            return losses
        weight_rank = jnp.ndim(sample_weight)
        if weight_rank == 2:  # Keras expands the per-list losses to the weight's rank
            return losses[:, None]
        if weight_rank == 0 and losses.shape == (1,):
            return losses[0]  # and squeezes one list's loss with a scalar weight
        return losses
