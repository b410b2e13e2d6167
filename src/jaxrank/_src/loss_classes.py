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
from jaxrank._src.approx_metric_losses import approx_mrr_loss, approx_ndcg_loss
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
from jaxrank._src.metric_classes import GAIN_FUNCTIONS
from jaxrank._src.pointwise_losses import pointwise_mse_loss, pointwise_sigmoid_loss
from jaxrank._src.softmax_losses import (
    poly1_softmax_loss,
    softmax_loss,
    unique_softmax_loss,
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

    Subclasses set ``loss_fn`` (a jaxrank loss function), ``per_list`` when it is
    one loss per list (whose weights must not vary within a list), and pass their
    own keyword options to ``__init__`` as ``options``.
    """

    loss_fn: ClassVar[Any]
    per_list: ClassVar[bool] = False

    def __init__(
        self,
        reduction: Reduction | None = "sum_over_batch_size",
        name: str | None = None,
        dtype: Any = None,
        **options: Any,
    ) -> None:
        self.reduction = checks.check_reduction(reduction)
        self.name = name or type(self).__name__
        self.dtype = checks.check_dtype(dtype)
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
            shape = batch.labels.shape
            checks.check_unambiguous_weights(batch.sample_weight, shape)
            checks.check_weights(batch.sample_weight, shape, "sample_weight")
            if self.per_list:
                checks.check_list_weights(batch.sample_weight, shape, "sample_weight")
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
        squared = checks.check_flag("squared", squared)
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
    per_list = True

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


class _ApproxMetricLoss(RankingLoss):
    """Shared constructor of the losses from metrics with smooth ranks."""

    def __init__(
        self,
        temperature: float = 1.0,
        reduction: Reduction | None = "sum_over_batch_size",
        name: str | None = None,
        dtype: Any = None,
        block_size: int | None = None,
    ) -> None:
        super().__init__(
            reduction,
            name,
            dtype,
            temperature=checks.check_temperature(temperature),
            block_size=checks.check_positive_int("block_size", block_size),
        )


@_documented
class ApproxNDCGLoss(_ApproxMetricLoss):
    r"""ApproxNDCG as a class: the negated NDCG with smooth ranks, per list.

    See :func:`jaxrank.approx_ndcg_loss`; the calling convention is
    :class:`PairwiseHingeLoss`'s, with ``sample_weight`` a scalar or per list
    (``(batch,)`` or ``(batch, 1)``); ``reduction="none"`` returns ``(batch,)``.

    Args:
      temperature: float > 0 of the sigmoid ranks.
      <common args>
      block_size: optional static rows per block (default: chosen from the shape).

    Examples:
      >>> import numpy as np
      >>> import jaxrank
      >>> y_true = np.array([[0.0, 0.0, 1.0, 2.0], [1.0, 0.0, 0.0, -1.0]])
      >>> y_pred = np.array([[0.0, 1.0, 3.0, 2.0], [1.0, 2.0, 0.0, 0.5]])
      >>> print(f"{jaxrank.ApproxNDCGLoss()(y_true, y_pred):.4f}")
      -0.6744
    """

    loss_fn = staticmethod(approx_ndcg_loss)


@_documented
class ApproxMRRLoss(_ApproxMetricLoss):
    r"""ApproxMRR as a class: the negated reciprocal rank with smooth ranks.

    See :func:`jaxrank.approx_mrr_loss`; arguments and calling convention as
    :class:`ApproxNDCGLoss`.

    Args:
      temperature: float > 0 of the sigmoid ranks.
      <common args>
      block_size: optional static rows per block (default: chosen from the shape).

    Examples:
      >>> import numpy as np
      >>> import jaxrank
      >>> loss = jaxrank.ApproxMRRLoss(reduction="none")
      >>> y_true, y_pred = np.array([[0, 0, 1.0, 2]]), np.array([[0, 1, 3.0, 2]])
      >>> print(loss(y_true, y_pred))
      [-0.6965873]
    """

    loss_fn = staticmethod(approx_mrr_loss)


@_documented
class SoftmaxLoss(RankingLoss):
    r"""Softmax (ListNet) loss as a class, with the numbers of ``rax.softmax_loss``.

    .. math:: L = -\sum_i t_i \log \operatorname{softmax}(s)_i, \qquad
              t = \operatorname{label\_fn}(w \odot y)

    One loss per list: ``reduction="none"`` returns ``(batch,)``. ``sample_weight``
    multiplies the labels, as rax's ``weights``. See :func:`jaxrank.softmax_loss`
    for the conventions and ``"mean"`` (rax's mean over non-empty lists).

    Args:
      label_fn: optional ``fn(labels, *, where)`` giving the targets (default: the
        weighted labels as they are).
      <common args>

    Examples:
      >>> import numpy as np
      >>> import jaxrank
      >>> y_true = np.array([[1.0, 0.0, 0.0], [1.0, 1.0, -1.0]])
      >>> y_pred = np.array([[2.0, 1.0, 0.0], [0.0, 0.0, 5.0]])
      >>> jaxrank.SoftmaxLoss(reduction="none")(y_true, y_pred)
      Array([0.40760595, 1.3862944 ], dtype=float32)
    """

    loss_fn = staticmethod(softmax_loss)

    def __init__(
        self,
        label_fn=None,
        reduction: Reduction | None = "sum_over_batch_size",
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        if label_fn is not None:
            checks.check_function("label_fn", label_fn, "None or a function")
        super().__init__(reduction, name, dtype, label_fn=label_fn)


@_documented
class Poly1SoftmaxLoss(RankingLoss):
    r"""Poly-1 softmax loss as a class, with the numbers of
    ``rax.poly1_softmax_loss``.

    .. math:: L = L_{\text{softmax}} + \epsilon\,(1 - p_t)

    One loss per list; see :func:`jaxrank.poly1_softmax_loss` and
    :class:`SoftmaxLoss`.

    Args:
      epsilon: finite float, the weight of the poly-1 term (default 1).
      <common args>

    Examples:
      >>> import numpy as np
      >>> import jaxrank
      >>> loss = jaxrank.Poly1SoftmaxLoss(epsilon=0.5)
      >>> print(f"{loss(np.array([1.0, 0.0, 0.0]), np.array([2.0, 1.0, 0.0])):.4f}")
      0.5750
    """

    loss_fn = staticmethod(poly1_softmax_loss)

    def __init__(
        self,
        epsilon: float = 1.0,
        reduction: Reduction | None = "sum_over_batch_size",
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        epsilon = checks.check_finite_number("epsilon", epsilon)
        super().__init__(reduction, name, dtype, epsilon=epsilon)


@_documented
class UniqueSoftmaxLoss(RankingLoss):
    r"""Unique softmax loss as a class, with the numbers of
    ``rax.unique_softmax_loss``.

    .. math:: L = -\sum_i g(y_i) \log \frac{e^{s_i}}
              {e^{s_i} + \sum_{j: y_j < y_i} e^{s_j}}

    One loss per list; see :func:`jaxrank.unique_softmax_loss`.

    Args:
      gain_fn: ``"exp2"`` (default, ``2**y - 1``), ``"identity"``, an elementwise
        callable, or None for no gain; kept as given in :meth:`get_config`.
      <common args>

    Examples:
      >>> import numpy as np
      >>> import jaxrank
      >>> loss = jaxrank.UniqueSoftmaxLoss(reduction="sum")
      >>> print(f"{loss(np.array([2.0, 1.0, 0.0]), np.array([1.0, 2.0, 0.0])):.4f}")
      4.3497
    """

    loss_fn = staticmethod(unique_softmax_loss)

    def __init__(
        self,
        gain_fn="exp2",
        reduction: Reduction | None = "sum_over_batch_size",
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        function = None
        if gain_fn is not None:
            function = checks.check_named_function("gain_fn", gain_fn, GAIN_FUNCTIONS)
        super().__init__(reduction, name, dtype, gain_fn=function)
        self.gain_choice = gain_fn

    def _arguments(self) -> dict[str, Any]:
        return {**super()._arguments(), "gain_fn": self.gain_choice}


@_documented
class PointwiseSigmoidLoss(RankingLoss):
    r"""Pointwise sigmoid cross-entropy as a class, with the numbers of
    ``rax.pointwise_sigmoid_loss``.

    .. math:: \ell_i = -y_i \log \sigma(s_i) - (1 - y_i) \log(1 - \sigma(s_i))

    Per item, labels clipped to :math:`[0, 1]`; see
    :func:`jaxrank.pointwise_sigmoid_loss` (``"mean"`` averages over valid items).

    Args:
      <common args>

    Examples:
      >>> import numpy as np
      >>> import jaxrank
      >>> loss = jaxrank.PointwiseSigmoidLoss(reduction="none")
      >>> loss(np.array([[1.0, 0.0, -1.0]]), np.array([[0.0, 2.0, -1.0]]))
      Array([[0.6931472, 2.126928 , 0.       ]], dtype=float32)
    """

    loss_fn = staticmethod(pointwise_sigmoid_loss)


@_documented
class PointwiseMSELoss(RankingLoss):
    r"""Pointwise squared error as a class, with the numbers of
    ``rax.pointwise_mse_loss``.

    .. math:: \ell_i = (s_i - y_i)^2

    Per item; see :func:`jaxrank.pointwise_mse_loss` (``"mean"`` averages over
    valid items).

    Args:
      <common args>

    Examples:
      >>> import numpy as np
      >>> import jaxrank
      >>> loss = jaxrank.PointwiseMSELoss(reduction="mean")
      >>> print(loss(np.array([1.0, 0.0, -1.0]), np.array([0.5, 2.0, 9.0])))
      2.125
    """

    loss_fn = staticmethod(pointwise_mse_loss)
