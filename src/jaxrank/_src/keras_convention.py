"""keras_rs's calling convention, shared by the loss and metric classes.

``obj(y_true, y_pred, sample_weight=None)``: ``y_true`` is a label array or a dict
``{"labels": ..., "mask": ...}``; arrays have rank 1 (one list, read as a batch of
one) or rank 2 ``(batch, list_size)``; the mask is boolean or 0/1.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxrank._src import checks


class Batch(NamedTuple):
    """A keras_rs-convention batch as rank-2 arrays (rank-1 input gains an axis).

    Attributes:
      labels: ``(batch, list_size)`` labels in the class's dtype.
      scores: ``(batch, list_size)`` scores in the class's dtype.
      mask: ``(batch, list_size)`` bool, or None.
      sample_weight: the weights as given, in the class's dtype (with an axis added
        for rank-1 input of rank-1 weights), or None.
    """

    labels: jax.Array
    scores: jax.Array
    mask: jax.Array | None
    sample_weight: jax.Array | None


def standardize(y_true, y_pred, sample_weight, dtype) -> Batch:
    """Checks a keras_rs-convention call's arguments and returns them as a
    :class:`Batch`."""
    labels, mask = checks.check_y_true(y_true)
    labels = checks.check_real("y_true", labels).astype(dtype)
    scores = checks.check_real("y_pred", y_pred).astype(dtype)
    mask = checks.check_keras_mask(mask)
    checks.check_keras_shapes(labels, scores, mask)
    if sample_weight is not None:
        sample_weight = checks.check_real("sample_weight", sample_weight).astype(dtype)
    if labels.ndim == 1:
        labels, scores = labels[None], scores[None]
        mask = None if mask is None else mask[None]
        if sample_weight is not None and sample_weight.ndim == 1:
            sample_weight = sample_weight[None]
    return Batch(labels, scores, mask, sample_weight)


class Configurable:
    """``get_config``/``from_config``/``repr`` from the constructor arguments.

    Subclasses set ``name`` and ``dtype`` and implement :meth:`_arguments`, the
    constructor arguments other than those two.
    """

    name: str
    dtype: jnp.dtype

    def _arguments(self) -> dict[str, Any]:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, as Keras's ``get_config``."""
        return {"name": self.name, "dtype": self.dtype.name, **self._arguments()}

    @classmethod
    def from_config(cls, config: dict[str, Any]):
        """Rebuilds an object from :meth:`get_config`'s output."""
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"
