"""Keras metric classes: stateful ``keras.metrics.Metric`` subclasses computed by
jaxrank.

As for the losses (:mod:`jaxrank.keras.losses`), the classes of
:mod:`jaxrank.metrics` stay keras_rs's calling convention for plain JAX code
(stateless: a call is one batch, :class:`jaxrank.metrics.WeightedMean` carries
totals through a jitted loop), and each class here is a ``keras.metrics.Metric``
taking the same constructor arguments and computing with that class. Its state is
the two totals of a :class:`~jaxrank.metrics.WeightedMean`, held in Keras variables:
:meth:`RankingMetric.update_state` adds a batch's per-list values with keras_rs's
list weights, :meth:`~RankingMetric.result` is their weighted mean, and
``reset_state`` zeroes them. Over batches of any sizes (an uneven last batch
included) the result is keras_rs's: the metric of all the lists together, not a
mean of batch values.

Ties in ``y_pred`` are broken by position (keras_rs shuffles them at random), or at
random with ``jax.random.key(seed)`` when the metric has an int ``seed`` and
``shuffle_ties=True``. ``gain_fn``/``rank_discount_fn`` of (N)DCG are best given by
name (``"exp2"``, ``"identity"``; ``"log2"``, ``"reciprocal"``): a name is saved as
a string; another callable is saved with Keras's serialisation and must be
registered (``keras.saving.register_keras_serializable``) to reload.
"""

from __future__ import annotations

from typing import Any, ClassVar

import jax

from jaxrank._src import metric_classes
from jaxrank._src.keras_backend import bind_arguments, keras, keras_class
from jaxrank._src.keras_config import deserialize_function, serialize_function
from jaxrank._src.metric_state import WeightedMean

_FUNCTION_ARGUMENTS = {
    "gain_fn": metric_classes.GAIN_FUNCTIONS,
    "rank_discount_fn": metric_classes.DISCOUNT_FUNCTIONS,
}


class RankingMetric(keras.metrics.Metric):
    """Base of the Keras metric classes: a ``keras.metrics.Metric`` holding the
    jaxrank metric class (``jax_class``) built from the same constructor arguments.

    Attributes:
      ranking_metric: the :class:`jaxrank.metrics.RankingMetric` doing the work.
      total: Keras variable, the sum of list weight times value so far.
      count: Keras variable, the sum of list weights so far.
    """

    jax_class: ClassVar[type[metric_classes.RankingMetric]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        arguments = bind_arguments(self.jax_class, args, kwargs)
        super().__init__(name=arguments.pop("name"), dtype=arguments.pop("dtype"))
        self.ranking_metric = self.jax_class(
            **arguments, name=self.name, dtype=self.dtype
        )
        self.total = self.add_variable((), "zeros", dtype=self.dtype, name="total")
        self.count = self.add_variable((), "zeros", dtype=self.dtype, name="count")

    def _state(self) -> WeightedMean:
        return WeightedMean(self.total.value, self.count.value)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        """Adds a batch, as keras_rs's ``update_state``.

        Args:
          y_true: labels ``(list_size,)`` or ``(batch, list_size)`` (-1 = ignore the
            item), or a dict with ``"labels"`` and an optional ``"mask"``.
          y_pred: scores of the labels' shape.
          sample_weight: optional scalar, per list ``(batch,)``/``(batch, 1)``, or
            per item; items of weight 0 are ignored.
        """
        values, weights = self.ranking_metric.per_list(y_true, y_pred, sample_weight)
        state = self._state().update(values, weights)
        self.total.assign(state.total)
        self.count.assign(state.count)

    def result(self) -> jax.Array:
        """The weighted mean of the per-list values so far (0 before any list)."""
        return self._state().compute()

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, as JSON-friendly values."""
        config = self.ranking_metric.get_config()
        config.update(name=self.name, dtype=self.dtype)
        for argument, named in _FUNCTION_ARGUMENTS.items():
            if argument in config:
                config[argument] = serialize_function(config[argument], named)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> RankingMetric:
        """Rebuilds a metric from :meth:`get_config`'s output."""
        config = dict(config)
        for argument, named in _FUNCTION_ARGUMENTS.items():
            if argument in config:
                config[argument] = deserialize_function(config[argument], named)
        return cls(**config)


_DOC = """{name} as a stateful ``keras.metrics.Metric``, a drop-in for
    ``keras_rs.metrics.{name}``.

    It takes the constructor arguments of :class:`{public}.{name}` and computes
    each batch with it: see that class for the definition, the arguments and
    keras_rs's list weights, and :mod:`jaxrank.keras.metrics` for the state.

    Examples:
      >>> import numpy as np
      >>> import jaxrank
      >>> from jaxrank.keras import metrics
      >>> metric = metrics.{name}(k=2)
      >>> y_true = np.array([[1.0, 0.0, 2.0], [0.0, 1.0, 0.0]])
      >>> y_pred = np.array([[0.1, 0.9, 0.5], [0.3, 0.2, 0.1]])
      >>> metric.update_state(y_true[:1], y_pred[:1])
      >>> metric.update_state(y_true[1:], y_pred[1:])  # batches of any size
      >>> bool(np.isclose(metric.result(), {public}.{name}(k=2)(y_true, y_pred)))
      True
      >>> metric.reset_state()
      >>> float(metric.result())
      0.0

      With Keras: ``model.compile(..., metrics=[metrics.{name}(k=10)])``.
    """


@keras_class(metric_classes.NDCG, "jaxrank.metrics", _DOC)
class NDCG(RankingMetric):
    pass


@keras_class(metric_classes.DCG, "jaxrank.metrics", _DOC)
class DCG(RankingMetric):
    pass


@keras_class(metric_classes.MeanReciprocalRank, "jaxrank.metrics", _DOC)
class MeanReciprocalRank(RankingMetric):
    pass


@keras_class(metric_classes.MeanAveragePrecision, "jaxrank.metrics", _DOC)
class MeanAveragePrecision(RankingMetric):
    pass


@keras_class(metric_classes.PrecisionAtK, "jaxrank.metrics", _DOC)
class PrecisionAtK(RankingMetric):
    pass


@keras_class(metric_classes.RecallAtK, "jaxrank.metrics", _DOC)
class RecallAtK(RankingMetric):
    pass


_NEW_DOC = _DOC.replace(
    "a drop-in for\n    ``keras_rs.metrics.{name}``", "with keras_rs's conventions"
)


@keras_class(metric_classes.ExpectedReciprocalRank, "jaxrank.metrics", _NEW_DOC)
class ExpectedReciprocalRank(RankingMetric):
    pass


@keras_class(
    metric_classes.OrderedPairAccuracy,
    "jaxrank.metrics",
    _NEW_DOC.replace("(k=2)", "()").replace("(k=10)", "()"),
)
class OrderedPairAccuracy(RankingMetric):
    pass
