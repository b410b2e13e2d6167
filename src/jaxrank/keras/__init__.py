"""Keras 3 losses and metrics computed by jaxrank: ``jaxrank.keras.losses`` and
``jaxrank.keras.metrics`` mirror ``keras_rs.losses`` and ``keras_rs.metrics`` (the
same class names and constructor arguments), so moving a Keras model from keras_rs
is one import.

Needs the ``keras`` extra (``pip install "jaxrank[keras]"``) and Keras's JAX backend:
importing this package sets ``KERAS_BACKEND=jax`` if Keras is not imported yet and
the variable is unset, and raises ``ImportError`` if Keras runs on another backend.
``import jaxrank`` alone never imports Keras.
"""

from jaxrank.keras import losses as losses
from jaxrank.keras import metrics as metrics

__all__ = ["losses", "metrics"]
