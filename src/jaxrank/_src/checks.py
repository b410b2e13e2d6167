"""Trace-time validation and normalisation of ranking-loss inputs.

Every public loss funnels its arguments through :func:`prepare_inputs`, so shape and
dtype mistakes surface as a ``ValueError``/``TypeError`` naming the offending argument
before any array arithmetic runs, and every loss sees the same conventions:

* the list is the last axis; any leading axes are batch axes;
* an item is *valid* when its label is ``>= 0`` and its ``where`` entry is True;
* invalid items' scores are replaced by 0 with a select, so an ``inf``/``NaN`` padding
  score can reach neither the value nor the gradient;
* a NaN or infinite score on a *valid* item marks its whole list as non-finite: the
  kernels see that score as 0 and the reduction reports the list's losses as NaN
  (keras_rs, which multiplies by pair masks, also returns NaN there);
* 16-bit scores are computed in float32; labels and weights are cast to the compute
  dtype explicitly, so the code runs under ``jax_numpy_dtype_promotion="strict"``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

REDUCTIONS = ("sum_over_batch_size", "mean", "sum", "mean_with_sample_weight", "none")


class RankingInputs(NamedTuple):
    """Validated inputs of a ranking loss, all of the scores' shape ``(..., n)``.

    Attributes:
      scores: scores in the compute dtype; invalid items' scores are 0.
      labels: labels in the compute dtype.
      valid: bool, True where the item takes part in the loss.
      weights: per-item weights broadcast to the scores' shape (ones if none given).
      nonfinite_lists: bool of the leading shape, True for lists with a NaN or infinite
        score on a valid item (their losses are reported as NaN).
      given_weights: the weights as the caller gave them (``None`` if none), whose sum
        is the divisor of the ``"mean_with_sample_weight"`` reduction.
    """

    scores: jax.Array
    labels: jax.Array
    valid: jax.Array
    weights: jax.Array
    nonfinite_lists: jax.Array
    given_weights: jax.Array | None


def compute_dtype(dtype) -> jnp.dtype:
    """The dtype losses are computed in: float32 for 16-bit floats, else ``dtype``."""
    dtype = jnp.dtype(dtype)
    return jnp.dtype(jnp.float32) if dtype.itemsize < 4 else dtype


def _describe(x) -> str:
    return f"shape {tuple(jnp.shape(x))} and dtype {jnp.result_type(x)}"


def check_scores(scores) -> jax.Array:
    """Returns ``scores`` as an array after checking it is floating with ndim >= 1."""
    if not hasattr(scores, "dtype"):
        scores = jnp.asarray(scores)
    if not jnp.issubdtype(scores.dtype, jnp.floating):
        raise TypeError(
            f"`scores` must be a floating-point array; received {_describe(scores)}. "
            "Cast integer scores with `.astype(jnp.float32)`."
        )
    if scores.ndim < 1:
        raise ValueError(
            "`scores` must have at least one axis (the list); received a scalar."
        )
    return jnp.asarray(scores)


def check_same_shape(name: str, x, scores: jax.Array) -> jax.Array:
    """Returns ``x`` as an array after checking it has the scores' shape."""
    x = jnp.asarray(x)
    if x.shape != scores.shape:
        raise ValueError(
            f"`{name}` must have the shape of `scores` {tuple(scores.shape)}; "
            f"received {_describe(x)}."
        )
    return x


def check_labels(labels, scores: jax.Array) -> jax.Array:
    """Checks ``labels`` are numeric with the scores' shape."""
    labels = check_same_shape("labels", labels, scores)
    real = jnp.issubdtype(labels.dtype, jnp.integer) or jnp.issubdtype(
        labels.dtype, jnp.floating
    )
    if not (real or labels.dtype == jnp.bool_):
        raise TypeError(f"`labels` must be real numbers; received {_describe(labels)}.")
    return labels


def check_where(where, scores: jax.Array) -> jax.Array:
    """Checks ``where`` is a boolean mask with the scores' shape."""
    where = check_same_shape("where", where, scores)
    if where.dtype != jnp.bool_:
        raise TypeError(
            f"`where` must be a boolean mask; received {_describe(where)}. "
            "Use `where=mask.astype(bool)` for a 0/1 mask."
        )
    return where


def weights_kind(weights, scores_shape: tuple[int, ...]) -> str:
    """Classifies a weight array's shape against scores of ``scores_shape``.

    Returns ``"scalar"``, ``"item"`` (the scores' shape), or ``"list"`` (the leading
    shape, or the leading shape plus a trailing 1); raises ``ValueError`` otherwise.
    """
    shape = tuple(jnp.shape(weights))
    leading = tuple(scores_shape[:-1])
    if shape == ():
        return "scalar"
    if shape == tuple(scores_shape):
        return "item"
    if shape in (leading, leading + (1,)):
        return "list"
    raise ValueError(
        f"`weights` must be a scalar, per item {tuple(scores_shape)}, or per list "
        f"{leading} or {leading + (1,)}; received shape {shape}."
    )


def check_temperature(temperature) -> float:
    """Returns ``temperature`` as a Python float after checking it is static and > 0."""
    try:
        value = float(temperature)
    except jax.errors.ConcretizationTypeError as err:
        raise TypeError(
            "`temperature` must be a static Python number (it fixes the pair kernel at "
            "trace time); received a traced value. Close over it instead of passing it "
            "through `jit`."
        ) from err
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"`temperature` must be a positive number; received {temperature!r}."
        ) from err
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(
            f"`temperature` must be a finite number > 0; received {temperature!r}."
        )
    return value


def check_reduction(reduction) -> str:
    """Returns the canonical reduction name; ``None`` means ``"none"``."""
    if reduction is None:
        return "none"
    if reduction not in REDUCTIONS:
        allowed = REDUCTIONS + (None,)
        raise ValueError(
            f"`reduction` must be one of {allowed}; received {reduction!r}."
        )
    return reduction


def prepare_inputs(scores, labels, *, where=None, weights=None) -> RankingInputs:
    """Validates a loss's arrays and returns them normalised (see module docstring).

    Args:
      scores: ``(..., n)`` floating scores.
      labels: ``(..., n)`` numeric labels; a label ``< 0`` marks an item to ignore.
      where: optional ``(..., n)`` boolean mask; False marks an item to ignore.
      weights: optional scalar, per-item ``(..., n)`` or per-list ``(...)``/``(..., 1)``
        weights.

    Returns:
      A :class:`RankingInputs`.

    Raises:
      TypeError, ValueError: naming the argument and what was received.
    """
    scores = check_scores(scores)
    labels = check_labels(labels, scores)
    dtype = compute_dtype(scores.dtype)
    scores = scores.astype(dtype)
    labels = labels.astype(dtype)
    valid = labels >= jnp.zeros((), dtype)
    if where is not None:
        valid = valid & check_where(where, scores)
    finite = jnp.isfinite(scores)
    nonfinite_lists = jnp.any(valid & ~finite, axis=-1)
    scores = jnp.where(valid & finite, scores, jnp.zeros((), dtype))

    given_weights = None
    full_weights = jnp.ones(scores.shape, dtype)
    if weights is not None:
        given_weights = jnp.asarray(weights)
        kind = weights_kind(given_weights, scores.shape)
        if not (
            jnp.issubdtype(given_weights.dtype, jnp.integer)
            or jnp.issubdtype(given_weights.dtype, jnp.floating)
            or given_weights.dtype == jnp.bool_
        ):
            raise TypeError(
                f"`weights` must be numeric; received {_describe(given_weights)}."
            )
        given_weights = given_weights.astype(dtype)
        per_item = given_weights
        if kind == "list" and per_item.shape == scores.shape[:-1]:
            per_item = per_item[..., None]
        full_weights = jnp.broadcast_to(per_item, scores.shape)
    return RankingInputs(
        scores, labels, valid, full_weights, nonfinite_lists, given_weights
    )
