"""JSON-friendly configs of the functions and lambda weights the Keras classes take.

A Keras config must be plain data to be saved in a ``.keras`` file. Gain and discount
functions are saved by name when they are one of jaxrank's named choices
(``"exp2"``/``"identity"`` gains, ``"log2"``/``"reciprocal"`` discounts, see
:class:`jaxrank.metrics.NDCG`); any other callable is saved with
``keras.saving.serialize_keras_object``, so it reloads only when it is registered
with ``keras.saving.register_keras_serializable`` (a lambda needs
``safe_mode=False``). jaxrank's lambda weights are saved as their class name and
fields.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from jaxrank._src.keras_backend import keras
from jaxrank._src.lambda_weights import (
    DCG2LambdaWeight,
    DCGLambdaWeight,
    LabelDiffLambdaWeight,
)
from jaxrank._src.metric_classes import DISCOUNT_FUNCTIONS, GAIN_FUNCTIONS

_LAMBDA_WEIGHTS = {
    cls.__name__: cls
    for cls in (DCGLambdaWeight, DCG2LambdaWeight, LabelDiffLambdaWeight)
}
_FUNCTION_FIELDS = {"gain_fn": GAIN_FUNCTIONS, "discount_fn": DISCOUNT_FUNCTIONS}


def serialize_function(choice, named: dict[str, Any]):
    """A gain/discount ``choice`` as config data: its name, or Keras's config of
    the callable."""
    if isinstance(choice, str):
        return choice
    for name, function in named.items():
        if function is choice:
            return name
    return keras.saving.serialize_keras_object(choice)


def deserialize_function(config, named: dict[str, Any]):
    """The inverse of :func:`serialize_function`; a name stays a name."""
    if isinstance(config, str) and config in named:
        return config
    return keras.saving.deserialize_keras_object(config)


def serialize_lambda_weights(lambda_weights) -> dict[str, Any]:
    """``{"class_name": ..., "config": {field: value}}`` of a jaxrank lambda
    weight."""
    name = type(lambda_weights).__name__
    if _LAMBDA_WEIGHTS.get(name) is not type(lambda_weights):
        raise TypeError(
            f"Only jaxrank's lambda weights {sorted(_LAMBDA_WEIGHTS)} can be saved in "
            f"a Keras config; received {name}."
        )
    config = {
        field.name: getattr(lambda_weights, field.name)
        for field in dataclasses.fields(lambda_weights)
    }
    for field, named in _FUNCTION_FIELDS.items():
        if field in config:
            config[field] = serialize_function(config[field], named)
    return {"class_name": name, "config": config}


def deserialize_lambda_weights(config: dict[str, Any]):
    """The lambda weight of a :func:`serialize_lambda_weights` config."""
    fields = dict(config["config"])
    for field, named in _FUNCTION_FIELDS.items():
        if field in fields:
            choice = deserialize_function(fields[field], named)
            fields[field] = (
                named.get(choice, choice) if isinstance(choice, str) else choice
            )
    return _LAMBDA_WEIGHTS[config["class_name"]](**fields)
