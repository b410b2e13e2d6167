"""Keras loss classes: ``keras.losses.Loss`` subclasses computed by jaxrank.

One class story: the classes of :mod:`jaxrank.losses` (``jaxrank.PairwiseHingeLoss``
...) stay what they are, keras_rs's calling convention for plain JAX code, with no
Keras anywhere (``import jaxrank`` never imports Keras). Each class here is a
``keras.losses.Loss`` that takes the same constructor arguments, builds that class
from them and hands it every call: the loss, the argument checks, the weights, the
reductions and the config are the JAX class's, so there is one implementation and
both give the same numbers. What this module adds is what Keras needs: a
``keras.losses.Loss`` for ``compile``/``fit``/``evaluate`` and for saving, registered
as ``"jaxrank>ClassName"``.

The weights and the reduction are applied by the JAX class (``__call__`` is
overridden), not by Keras on top of :meth:`RankingLoss.call`: Keras would multiply
an already reduced value by the weights. Inside ``fit``/``evaluate`` and called by
hand, the classes give keras_rs 0.4.0's numbers for every reduction, ``y_true`` as
``{"labels": ..., "mask": ...}``, -1 labels and every ``sample_weight`` keras_rs
accepts. Where keras_rs fails or weighs the wrong thing, they differ on purpose:

- A ``sample_weight`` of shape ``(batch,)`` (what ``fit(sample_weight=w)`` with one
  weight per list passes) weighs each list, in every batch. keras_rs broadcasts it
  along the list axis instead: it fails, or, in a batch whose size equals the list
  size, weighs item ``j`` of every list by ``w[j]``.
- ListMLE refuses weights that vary within a list, and gives the loss ``L`` (not
  ``w L``) for one list with a scalar weight and ``"mean_with_sample_weight"``
  (see :class:`jaxrank.losses.ListMLELoss`).
"""

from __future__ import annotations

from typing import Any, ClassVar

import jax
import jax.numpy as jnp

from jaxrank._src import checks, loss_classes
from jaxrank._src.keras_backend import bind_arguments, keras, keras_class
from jaxrank._src.keras_config import (
    deserialize_lambda_weights,
    serialize_lambda_weights,
)

# Options that may hold a callable, saved through Keras's serialisation.
_FUNCTION_OPTIONS = ("label_fn", "gain_fn")


def _is_batch_vector(sample_weight, y_pred) -> bool:
    """A rank-1 ``(batch,)`` weight of a ``(batch, list_size)`` batch whose sizes are
    equal: the one shape the JAX classes refuse as ambiguous, and Keras means per
    list."""
    if sample_weight is None or jnp.ndim(sample_weight) != 1 or jnp.ndim(y_pred) != 2:
        return False
    batch, list_size = jnp.shape(y_pred)
    return jnp.shape(sample_weight) == (batch,) and batch == list_size


class RankingLoss(keras.losses.Loss):
    """Base of the Keras loss classes: a ``keras.losses.Loss`` holding the jaxrank
    loss class (``jax_class``) built from the same constructor arguments.

    Attributes:
      ranking_loss: the :class:`jaxrank.losses.RankingLoss` doing the work.
    """

    jax_class: ClassVar[type[loss_classes.RankingLoss]]
    per_list: ClassVar[bool] = False  # one loss per list (ListMLE), not per item

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        arguments = bind_arguments(self.jax_class, args, kwargs)
        super().__init__(
            name=arguments.pop("name"),
            reduction=checks.check_reduction(arguments["reduction"]),
            dtype=arguments.pop("dtype"),
        )
        common = {"name": self.name, "dtype": self.dtype}
        self.ranking_loss = self.jax_class(**arguments, **common)
        self._unreduced = self.jax_class(**{**arguments, "reduction": "none"}, **common)

    def __call__(self, y_true, y_pred, sample_weight=None) -> jax.Array:
        """The weighted, reduced loss of a batch, as keras_rs's ``__call__``.

        Args:
          y_true: labels ``(list_size,)`` or ``(batch, list_size)`` (-1 = ignore the
            item), or a dict with ``"labels"`` and an optional ``"mask"``.
          y_pred: scores of the labels' shape.
          sample_weight: optional scalar, per list ``(batch,)``/``(batch, 1)``, or
            any shape broadcasting to the scores (per item ``(batch, list_size)``,
            per position ``(1, list_size)``, ...).

        Returns:
          The reduced loss, or keras_rs's unreduced shape with ``reduction="none"``.
        """
        per_list_vector = _is_batch_vector(sample_weight, y_pred)
        if per_list_vector:
            sample_weight = jnp.asarray(sample_weight)[:, None]
        losses = self.ranking_loss(y_true, y_pred, sample_weight)
        if per_list_vector and self.per_list and losses.ndim == 2:
            losses = losses[:, 0]  # the shape keras_rs gives (batch,) weights
        return losses

    def call(self, y_true, y_pred) -> jax.Array:
        """keras_rs's ``call``: the unweighted, unreduced losses, ``(batch,
        list_size)`` per item for the pairwise losses, ``(batch,)`` per list for
        ListMLE (rank-1 input is a batch of one)."""
        return self._unreduced(y_true, y_pred)

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, as JSON-friendly values."""
        config = self.ranking_loss.get_config()
        config.update(name=self.name, dtype=self.dtype)
        if config.get("lambda_weights") is not None:
            config["lambda_weights"] = serialize_lambda_weights(
                config["lambda_weights"]
            )
        for field in _FUNCTION_OPTIONS:  # a callable label_fn/gain_fn, not a name
            if callable(config.get(field)):
                config[field] = keras.saving.serialize_keras_object(config[field])
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> RankingLoss:
        """Rebuilds a loss from :meth:`get_config`'s output."""
        config = dict(config)
        if config.get("lambda_weights") is not None:
            config["lambda_weights"] = deserialize_lambda_weights(
                config["lambda_weights"]
            )
        for field in _FUNCTION_OPTIONS:
            if isinstance(config.get(field), dict):
                config[field] = keras.saving.deserialize_keras_object(config[field])
        return cls(**config)


_DOC = """{name} as a ``keras.losses.Loss``, a drop-in for ``keras_rs.losses.{name}``.

    It takes the constructor arguments of :class:`{public}.{name}` (keras_rs's,
    and jaxrank's options such as ``method`` or ``lambda_weights`` where that class
    has them) and computes with it: see that class for the definition, the
    arguments and the conventions, and :mod:`jaxrank.keras.losses` for how Keras
    weights and reduces (the same numbers as keras_rs, and where they differ).

    Examples:
      >>> import keras
      >>> from jaxrank.keras import losses
      >>> loss = losses.{name}(reduction="sum")
      >>> isinstance(loss, keras.losses.Loss), loss.get_config()["reduction"]
      (True, 'sum')

      With Keras: ``model.compile(optimizer="adam", loss=losses.{name}())``.
    """


@keras_class(loss_classes.PairwiseHingeLoss, "jaxrank.losses", _DOC)
class PairwiseHingeLoss(RankingLoss):
    pass


@keras_class(loss_classes.PairwiseLogisticLoss, "jaxrank.losses", _DOC)
class PairwiseLogisticLoss(RankingLoss):
    pass


@keras_class(loss_classes.PairwiseSoftZeroOneLoss, "jaxrank.losses", _DOC)
class PairwiseSoftZeroOneLoss(RankingLoss):
    pass


@keras_class(loss_classes.PairwiseMeanSquaredError, "jaxrank.losses", _DOC)
class PairwiseMeanSquaredError(RankingLoss):
    pass


_QR_DOC = _DOC.replace(
    "a drop-in for ``keras_rs.losses.{name}``", "computed with rax's pair terms"
)


@keras_class(loss_classes.PairwiseQRLoss, "jaxrank.losses", _QR_DOC)
class PairwiseQRLoss(RankingLoss):
    pass


@keras_class(loss_classes.ListMLELoss, "jaxrank.losses", _DOC)
class ListMLELoss(RankingLoss):
    per_list = True


_RAX_DOC = """{name} as a ``keras.losses.Loss``, with the numbers of rax 0.4.0's loss.

    It takes the constructor arguments of :class:`{public}.{name}` and computes with
    it: see that class for the definition, the arguments and the conventions, and
    :mod:`jaxrank.keras.losses` for how Keras weights and reduces. A callable
    ``label_fn``/``gain_fn`` is saved through Keras's serialisation (register it
    with ``keras.saving.register_keras_serializable``).

    Examples:
      >>> import keras
      >>> from jaxrank.keras import losses
      >>> loss = losses.{name}(reduction="sum")
      >>> isinstance(loss, keras.losses.Loss), loss.get_config()["reduction"]
      (True, 'sum')
    """


@keras_class(loss_classes.SoftmaxLoss, "jaxrank.losses", _RAX_DOC)
class SoftmaxLoss(RankingLoss):
    per_list = True


@keras_class(loss_classes.Poly1SoftmaxLoss, "jaxrank.losses", _RAX_DOC)
class Poly1SoftmaxLoss(RankingLoss):
    per_list = True


@keras_class(loss_classes.UniqueSoftmaxLoss, "jaxrank.losses", _RAX_DOC)
class UniqueSoftmaxLoss(RankingLoss):
    per_list = True


@keras_class(loss_classes.PointwiseSigmoidLoss, "jaxrank.losses", _RAX_DOC)
class PointwiseSigmoidLoss(RankingLoss):
    pass


@keras_class(loss_classes.PointwiseMSELoss, "jaxrank.losses", _RAX_DOC)
class PointwiseMSELoss(RankingLoss):
    pass
