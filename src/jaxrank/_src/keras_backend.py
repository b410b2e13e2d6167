"""Keras on its JAX backend, and what the Keras loss and metric classes share.

Importing this module imports Keras. Keras reads ``KERAS_BACKEND`` once, when it is
first imported: if Keras is not imported yet and ``KERAS_BACKEND`` is unset, this
module sets it to ``"jax"`` first (as :mod:`jaxrank.benchmark` does for keras_rs);
if Keras runs on another backend, the import fails with an ``ImportError`` that says
to set ``KERAS_BACKEND=jax``. The classes compute with JAX functions, so no other
backend can run them.
"""

from __future__ import annotations

import inspect
import os
import sys
from typing import Any

_HINT = (
    "jaxrank.keras needs Keras 3 on its JAX backend: set the environment variable "
    "KERAS_BACKEND=jax before Keras is first imported (`pip install 'jaxrank[keras]'` "
    "installs Keras)."
)

if "keras" not in sys.modules:
    os.environ.setdefault("KERAS_BACKEND", "jax")
try:
    import keras
except ImportError as err:  # no Keras, or the backend it names is not installed
    raise ImportError(f"{_HINT} Importing Keras failed: {err}") from err

BACKEND = keras.backend.backend()
if BACKEND != "jax":
    raise ImportError(
        f"{_HINT} Keras is running on the {BACKEND!r} backend "
        f"(KERAS_BACKEND={os.environ.get('KERAS_BACKEND')!r})."
    )

PACKAGE = "jaxrank"  # the package name under which the classes are registered


def bind_arguments(cls, args: tuple, kwargs: dict[str, Any]) -> dict[str, Any]:
    """``cls``'s constructor arguments, defaults included, from a call's
    ``*args, **kwargs`` (a ``TypeError`` for arguments it does not take)."""
    bound = inspect.signature(cls).bind(*args, **kwargs)
    bound.apply_defaults()
    arguments = {}
    for name, value in bound.arguments.items():
        kind = bound.signature.parameters[name].kind
        arguments.update(
            value if kind == inspect.Parameter.VAR_KEYWORD else {name: value}
        )
    return arguments


def keras_class(jax_cls, public: str, doc: str):
    """Class decorator: the Keras class of the jaxrank class ``jax_cls``.

    Sets ``jax_class``, gives the class ``jax_cls``'s constructor signature (its
    constructor takes the same arguments), a docstring from ``doc`` (``{name}`` and
    ``{public}``, the public module of ``jax_cls``, filled in), and registers it as
    Keras-serialisable under ``"jaxrank>{name}"``.
    """

    def decorate(cls):
        cls.jax_class = jax_cls
        cls.__signature__ = inspect.signature(jax_cls)
        cls.__doc__ = doc.format(name=cls.__name__, public=public)
        return keras.saving.register_keras_serializable(package=PACKAGE)(cls)

    return decorate
