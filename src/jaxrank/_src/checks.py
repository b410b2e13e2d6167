"""Trace-time checks of every user argument, with errors that name the argument.

Each ``check_*`` function validates one argument of the public API and returns it
normalised (an array, a Python float, a canonical name); a mistake raises a
``TypeError`` (wrong kind of value) or ``ValueError`` (wrong shape or range) whose
message names the argument and says what was expected and what was received, before
any array arithmetic runs. Everything here is static: shapes, dtypes and Python
values, never the contents of a traced array.
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
import warnings
from collections.abc import Callable
from typing import Any, get_args

import jax
import jax.numpy as jnp
import numpy as np

from jaxrank._src.types import HingeMethod, Reduction

REDUCTIONS: tuple[str, ...] = get_args(Reduction)
HINGE_METHODS: tuple[str, ...] = get_args(HingeMethod)


def compute_dtype(dtype) -> jnp.dtype:
    """The dtype losses and metrics compute in: float32 for 16-bit floats, else
    ``dtype``."""
    dtype = jnp.dtype(dtype)
    return jnp.dtype(jnp.float32) if dtype.itemsize < 4 else dtype


def describe(x) -> str:
    """``"shape (...) and dtype ..."`` of an array-like, for error messages."""
    return f"shape {tuple(jnp.shape(x))} and dtype {jnp.result_type(x)}"


def _is_real(dtype) -> bool:
    return bool(
        jnp.issubdtype(dtype, jnp.integer)
        or jnp.issubdtype(dtype, jnp.floating)
        or dtype == jnp.bool_
    )


def as_array(name: str, x) -> jax.Array:
    """``x`` as an array, or a ``TypeError`` naming ``name`` when it is not
    array-like (None, a string, an object JAX cannot convert)."""
    dtype = getattr(x, "dtype", None) if hasattr(x, "shape") else None
    if dtype is None:
        try:
            dtype = np.asarray(x).dtype
        except (TypeError, ValueError):
            dtype = np.dtype(object)
    numeric = jnp.issubdtype(dtype, jnp.number) or dtype == jnp.bool_
    if x is None or not numeric:
        raise TypeError(
            f"`{name}` must be an array of numbers; received {type(x).__name__} "
            f"{x!r:.80}."
        )
    return jnp.asarray(x)


def check_real(name: str, x) -> jax.Array:
    """Returns ``x`` as an array after checking it holds real numbers (not complex)."""
    x = as_array(name, x)
    if not _is_real(x.dtype):
        raise TypeError(f"`{name}` must be real numbers; received {describe(x)}.")
    return x


def check_scores(scores, name: str = "scores") -> jax.Array:
    """Returns ``scores`` as an array after checking it is floating with ndim >= 1;
    errors name the argument ``name`` (``logits`` in the optax convention)."""
    scores = as_array(name, scores)
    if not jnp.issubdtype(scores.dtype, jnp.floating):
        raise TypeError(
            f"`{name}` must be a floating-point array; received {describe(scores)}. "
            "Cast integer scores with `.astype(jnp.float32)`."
        )
    if scores.ndim < 1:
        raise ValueError(
            f"`{name}` must have at least one axis (the list); received a scalar."
        )
    return scores


def check_real_scalar(name: str, x) -> jax.Array:
    """Returns ``x`` as a 0-d array after checking it is one real number (a Python
    number or a scalar array, traced or not)."""
    x = check_real(name, x)
    if x.ndim != 0:
        raise ValueError(
            f"`{name}` must be a single number (a scalar); received {describe(x)}."
        )
    return x


def check_same_shape(
    name: str, x, scores: jax.Array, scores_name: str = "scores"
) -> jax.Array:
    """Returns ``x`` as an array after checking it has the shape of the scores,
    called ``scores_name`` in the message."""
    x = as_array(name, x)
    if x.shape != scores.shape:
        raise ValueError(
            f"`{name}` must have the shape of `{scores_name}` {tuple(scores.shape)}; "
            f"received {describe(x)}."
        )
    return x


def check_labels(labels, scores: jax.Array, scores_name: str = "scores") -> jax.Array:
    """Returns ``labels`` as an array after checking they are real numbers with the
    scores' shape."""
    labels = check_same_shape("labels", labels, scores, scores_name)
    if not _is_real(labels.dtype):
        raise TypeError(f"`labels` must be real numbers; received {describe(labels)}.")
    return labels


def check_where(where, scores: jax.Array, scores_name: str = "scores") -> jax.Array:
    """Returns ``where`` as an array after checking it is a boolean mask with the
    scores' shape."""
    where = check_same_shape("where", where, scores, scores_name)
    if where.dtype != jnp.bool_:
        raise TypeError(
            f"`where` must be a boolean mask; received {describe(where)}. "
            "Use `where=mask.astype(bool)` for a 0/1 mask."
        )
    return where


def weights_kind(weights, scores_shape: tuple[int, ...], name: str = "weights") -> str:
    """Classifies the shape of a weight array, the argument ``name``, against scores
    of ``scores_shape``.

    Returns ``"scalar"``, ``"list"`` (the leading shape, or the leading shape plus a
    trailing 1), ``"item"`` (the scores' shape) or ``"broadcast"`` (any other shape
    of at most the scores' rank that broadcasts to it, NumPy's rule: ``(1,)``,
    ``(n,)`` or ``(1, n)`` per position, ...); raises ``ValueError`` otherwise. The
    leading shape is read as per list even when it also broadcasts along the list
    axis (a ``(B,)`` weight with ``B == n``).
    """
    shape = tuple(jnp.shape(weights))
    scores_shape = tuple(scores_shape)
    leading = scores_shape[:-1]
    if shape == ():
        return "scalar"
    if shape in (leading, leading + (1,)):
        return "list"
    if shape == scores_shape:
        return "item"
    try:
        fits = np.broadcast_shapes(shape, scores_shape) == scores_shape
    except ValueError:
        fits = False
    if fits and len(shape) <= len(scores_shape):
        return "broadcast"
    raise ValueError(
        f"`{name}` must be a scalar, per list {leading} or {leading + (1,)}, or of "
        f"a shape that broadcasts to the scores' {scores_shape} (per item, per "
        f"position (n,), ...); received shape {shape}."
    )


def check_weights(
    weights, scores_shape: tuple[int, ...], name: str = "weights"
) -> tuple[jax.Array, str]:
    """Returns ``weights`` (the argument ``name``: ``sample_weight`` in the classes)
    as an array and its :func:`weights_kind`, after checking they are real numbers of
    an accepted shape."""
    weights = as_array(name, weights)
    kind = weights_kind(weights, scores_shape, name)
    if not _is_real(weights.dtype):
        raise TypeError(f"`{name}` must be numeric; received {describe(weights)}.")
    return weights, kind


# Temperatures must be normal float32 numbers, so no compute dtype rounds them to 0
# or to infinity.
_TEMPERATURE_RANGE = (float(np.finfo(np.float32).tiny), float(np.finfo(np.float32).max))


def check_temperature(temperature) -> float:
    """Returns ``temperature`` as a Python float after checking it is a static number
    in the normal float32 range (about 1.2e-38 to 3.4e38)."""
    if isinstance(temperature, str | bytes | bool):
        raise TypeError(
            f"`temperature` must be a positive number; received {temperature!r}."
        )
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
    low, high = _TEMPERATURE_RANGE
    if not (low <= value <= high):
        raise ValueError(
            f"`temperature` must be a number in [{low:.3g}, {high:.3g}] (a normal "
            f"float32, so it is neither 0 nor inf in any dtype); received "
            f"{temperature!r}."
        )
    return value


def check_choice(name: str, value, choices: tuple[str | None, ...]) -> str | None:
    """Returns ``value`` (a Python ``str`` or None) after checking it is one of
    ``choices``: a ``TypeError`` for another kind of value (an array, a list), which
    is not compared at all, a ``ValueError`` for an unknown name."""
    if value is not None and not isinstance(value, str):
        raise TypeError(
            f"`{name}` must be one of {choices}; received {type(value).__name__} "
            f"{value!r:.80}."
        )
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {choices}; received {value!r}.")
    return value if value is None else str(value)


def check_reduction(reduction) -> str:
    """Returns the canonical reduction name; ``None`` means ``"none"``."""
    reduction = check_choice("reduction", reduction, REDUCTIONS + (None,))
    return "none" if reduction is None else reduction


def check_lambda_weights(lambda_weights):
    """Returns ``lambda_weights`` after checking it is None or a
    :class:`jaxrank.LambdaWeight`."""
    from jaxrank._src.lambda_weights import LambdaWeight  # it imports this module

    if lambda_weights is not None and not isinstance(lambda_weights, LambdaWeight):
        raise TypeError(
            "`lambda_weights` must be None or a jaxrank lambda weight such as "
            "`jaxrank.DCGLambdaWeight()`; received "
            f"{type(lambda_weights).__name__} {lambda_weights!r}."
        )
    return lambda_weights


def check_hinge_method(method, lambda_weights) -> str:
    """Returns the canonical hinge ``method`` after checking it can run.

    ``"dense"``, the name of ``"all_pairs"`` before 0.2, is accepted with a
    ``DeprecationWarning``.
    """
    if isinstance(method, str) and method == "dense":
        warnings.warn(
            '`method="dense"` is deprecated; it is now called "all_pairs".',
            DeprecationWarning,
            stacklevel=3,
        )
        method = "all_pairs"
    method = check_choice("method", method, HINGE_METHODS)
    if lambda_weights is not None and method == "sorted":
        raise ValueError(
            '`method` must be "auto" or "all_pairs" when `lambda_weights` are given '
            "(the sorted path has no per-pair weights); received 'sorted'."
        )
    return method


def explicit_sharding(x) -> str | None:
    """The sharding of ``x``'s type when it is sharded over mesh axes of type
    ``jax.sharding.AxisType.Explicit`` (under ``jax.set_mesh``), as a string; None
    otherwise (no mesh, ``Auto`` axes, or replicated)."""
    spec = jax.typeof(x).sharding.spec
    return str(spec) if any(axes is not None for axes in spec) else None


def check_kernel_for_sharding(kernel: str, scores) -> None:
    """Refuses a ``kernel`` that cannot run on ``scores`` sharded over explicit mesh
    axes (the band kernel of segments lays every list of the batch end to end; JAX
    cannot batch the sorted hinge's loops over lists so sharded)."""
    spec = explicit_sharding(scores)
    if spec is not None:
        raise ValueError(
            f"{kernel} cannot run on scores sharded over explicit mesh axes yet "
            f"(received scores sharded as {spec}); shard the batch over mesh axes "
            "of type jax.sharding.AxisType.Auto instead."
        )


def _is_int(x) -> bool:
    return isinstance(x, numbers.Integral | np.integer) and not isinstance(x, bool)


def check_positive_int(name: str, value) -> int | None:
    """Returns ``value`` (a rank cut-off ``k``/``topn``, a ``block_size``) after
    checking it is None or a static int >= 1."""
    if value is None:
        return None
    if not _is_int(value) or value < 1:
        raise ValueError(
            f"`{name}` must be None or a positive integer; received {name}={value!r}."
        )
    return int(value)


def check_seed(seed) -> int | None:
    """Returns ``seed`` after checking it is None or an int."""
    if seed is not None and not _is_int(seed):
        raise TypeError(f"`seed` must be None or an int; received {seed!r}.")
    return seed


def check_key(key) -> jax.Array | None:
    """Returns ``key`` as a typed PRNG key (or None) after checking it is a single
    key: a typed key of shape ``()`` (``jax.random.key``) or the raw ``uint32`` data
    of one (``jax.random.PRNGKey``)."""
    if key is None:
        return None
    expected = "None or one PRNG key from `jax.random.key` or `jax.random.PRNGKey`"
    if not jnp.issubdtype(getattr(key, "dtype", None), jax.dtypes.prng_key):
        try:
            key = jax.random.wrap_key_data(key)
        except (TypeError, ValueError) as err:
            raise TypeError(
                f"`key` must be {expected}; received {type(key).__name__} {key!r:.80}."
            ) from err
    if key.shape != ():
        raise ValueError(
            f"`key` must be {expected}; received a batch of keys of shape "
            f"{tuple(key.shape)}. Split one key per call instead, or use `jax.vmap`."
        )
    return key


def check_dtype(dtype) -> jnp.dtype:
    """Returns the computation dtype of a Keras-style class (float32 when None)
    after checking it is a floating dtype."""
    if dtype is None:
        return jnp.dtype(jnp.float32)
    try:
        dtype = jnp.dtype(dtype)
    except TypeError as err:
        raise TypeError(
            f"`dtype` must be a floating-point dtype such as 'float32'; received "
            f"{dtype!r:.80} ({err})."
        ) from err
    if not jnp.issubdtype(dtype, jnp.floating):
        raise TypeError(
            f"`dtype` must be a floating-point dtype such as 'float32'; received "
            f"{dtype.name}."
        )
    return dtype


def check_list_rank(name: str, x: jax.Array) -> None:
    """Checks a keras_rs-convention array has rank 1 ``(list_size,)`` or 2."""
    if x.ndim not in (1, 2):
        raise ValueError(
            f"`{name}` must have rank 1 (list_size,) or 2 (batch, list_size); received "
            f"shape {tuple(x.shape)}. For more batch axes use the functional API."
        )


def check_function(name: str, fn, expected: str, *args, **kwargs) -> Callable:
    """Returns ``fn`` after checking it is callable and, when given ``args`` or
    ``kwargs`` and ``fn``'s signature can be read, that it accepts that call;
    ``expected`` says what the argument ``name`` must be."""
    if not callable(fn):
        raise TypeError(
            f"`{name}` must be {expected}; received {type(fn).__name__} {fn!r:.80}."
        )
    if not (args or kwargs):
        return fn
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # a builtin without a readable signature
        return fn
    try:
        signature.bind(*args, **kwargs)
    except TypeError as err:
        raise TypeError(
            f"`{name}` must be {expected}; received {fn!r:.80}, which cannot be "
            f"called so: {err}."
        ) from err
    return fn


def check_elementwise(name: str, fn: Callable[[Any], Any], x: jax.Array) -> jax.Array:
    """Returns ``fn(x)`` in ``x``'s dtype after checking ``fn`` is a function that
    kept ``x``'s shape."""
    check_function(name, fn, "an elementwise function of an array")
    out = jnp.asarray(fn(x)).astype(x.dtype)
    if out.shape != x.shape:
        raise ValueError(
            f"`{name}` must map its input elementwise, keeping its shape; received "
            f"a function that returned shape {out.shape} for an input of shape "
            f"{x.shape}."
        )
    return out


def check_named_function(name: str, choice, named: dict[str, Callable]) -> Callable:
    """The function a gain/discount ``choice`` stands for, a key of ``named`` or an
    elementwise callable, checked (when called) under the argument's own ``name``."""
    expected = f"one of {sorted(named)} or an elementwise function"
    if isinstance(choice, str):
        if choice not in named:
            raise ValueError(f"`{name}` must be {expected}; received {choice!r}.")
        return named[choice]
    return functools.partial(
        check_elementwise, name, check_function(name, choice, expected)
    )


def check_list_weights(
    weights, scores_shape: tuple[int, ...], name: str = "weights"
) -> None:
    """Checks the ``weights`` of a per-list loss (the argument ``name``) do not vary
    along the list axis (a scalar, per list, or a broadcast shape whose last axis is
    1; for lists of one item, per item and per list coincide)."""
    if weights is None or scores_shape[-1] == 1:
        return
    kind = weights_kind(weights, scores_shape, name)
    if kind in ("item", "broadcast") and jnp.shape(weights)[-1] != 1:
        leading = tuple(scores_shape[:-1])
        raise ValueError(
            f"`{name}` of a per-list loss must be a scalar or per list "
            f"{leading} or {leading + (1,)}; received shape "
            f"{tuple(jnp.shape(weights))}: per-item weights, which vary within a list."
        )


def check_y_true(y_true) -> tuple[Any, Any]:
    """``(labels, mask)`` from a keras_rs-convention ``y_true``: an array, or a dict
    with a ``"labels"`` entry and an optional ``"mask"``."""
    if isinstance(y_true, dict):
        if "labels" not in y_true:
            raise ValueError(
                '`y_true` given as a dict must have a "labels" entry (and optionally '
                f'"mask"); received keys {sorted(y_true)}.'
            )
        return y_true["labels"], y_true.get("mask")
    return y_true, None


def check_keras_mask(mask) -> jax.Array | None:
    """Returns a keras_rs-convention ``y_true["mask"]`` (boolean, or 0/1 real
    numbers) as a boolean array, or None."""
    if mask is None:
        return None
    mask = check_real('y_true["mask"]', mask)
    return mask if mask.dtype == jnp.bool_ else mask != 0


def check_keras_shapes(labels: jax.Array, scores: jax.Array, mask) -> None:
    """Checks keras_rs-convention ``y_true``/``y_pred`` (and the mask) agree, each of
    rank 1 or 2."""
    check_list_rank("y_true", labels)
    check_list_rank("y_pred", scores)
    if labels.shape != scores.shape:
        raise ValueError(
            "`y_true` and `y_pred` must have the same shape; received "
            f"{tuple(labels.shape)} and {tuple(scores.shape)}."
        )
    if mask is not None and jnp.shape(mask) != labels.shape:
        raise ValueError(
            '`y_true["mask"]` must have the shape of `y_true["labels"]` '
            f"{tuple(labels.shape)}; received {tuple(jnp.shape(mask))}."
        )


def check_unambiguous_weights(sample_weight: jax.Array, shape) -> None:
    """Refuses a keras_rs-convention ``sample_weight`` of shape ``(batch,)`` when
    ``batch == list_size``: keras_rs reads it per position, jaxrank per list."""
    if len(shape) == 2 and shape[0] == shape[1] and sample_weight.shape == shape[:1]:
        raise ValueError(
            f"`sample_weight` of shape {tuple(sample_weight.shape)} is ambiguous for "
            f"a batch of {shape[0]} lists of {shape[1]} items (keras_rs weights "
            "positions with it): pass (batch, 1) for one weight per list or "
            "(1, list_size) for one per position."
        )


def check_broadcast_weights(
    sample_weight: jax.Array, shape: tuple[int, int]
) -> jax.Array:
    """``sample_weight`` broadcast to a keras_rs metric batch's ``(batch, list_size)``:
    a scalar, per list ``(batch,)``/``(batch, 1)``, or anything broadcasting to the
    batch's shape."""
    batch, _ = shape
    if sample_weight.ndim == 1 and sample_weight.shape == (batch,):
        sample_weight = sample_weight[:, None]
    try:
        fits = jnp.broadcast_shapes(sample_weight.shape, shape) == shape
    except ValueError:
        fits = False
    if not (fits and sample_weight.ndim <= 2):
        raise ValueError(
            "`sample_weight` must be a scalar, per list (batch,) or (batch, 1), or "
            f"per item {shape}; received shape {tuple(sample_weight.shape)}."
        )
    return jnp.broadcast_to(sample_weight, shape)


def check_same_shape_as_values(weights: jax.Array, values: jax.Array) -> None:
    """Checks the ``weights`` of per-list metric ``values`` have their shape."""
    if weights.shape != values.shape:
        raise ValueError(
            f"`weights` must have the shape of `values` {values.shape}; "
            f"received shape {weights.shape}."
        )


def check_fixed_options(options: dict[str, Any]) -> None:
    """Checks the fixed options of ``jaxrank.as_optax_loss`` leave the reduction to
    ``reduce_fn``."""
    if "reduction" in options:
        raise ValueError(
            "`reduction` is set by the optax convention (use `reduce_fn=` on the "
            f"returned function); received reduction={options['reduction']!r}."
        )


def check_segments(segments, scores: jax.Array) -> jax.Array | None:
    """Returns ``segments`` as an array (or None) after checking it holds integer
    segment ids with the scores' shape."""
    if segments is None:
        return None
    segments = check_same_shape("segments", segments, scores)
    if not jnp.issubdtype(segments.dtype, jnp.integer):
        raise TypeError(
            "`segments` must be integer segment ids (items with equal ids form one "
            f"sub-list); received {describe(segments)}."
        )
    return segments


def check_finite_number(name: str, value) -> float:
    """Returns ``value`` as a Python float after checking it is a static, finite
    real number (a loss's mixing coefficient such as poly1's ``epsilon``)."""
    if isinstance(value, str | bytes | bool) or not isinstance(
        value, numbers.Real | np.floating | np.integer
    ):
        raise TypeError(
            f"`{name}` must be a static finite Python number; received "
            f"{type(value).__name__} {value!r}."
        )
    if not math.isfinite(float(value)):
        raise ValueError(f"`{name}` must be finite; received {name}={value!r}.")
    return float(value)


def check_segment_options(segments, lambda_weights) -> None:
    """Refuses lambda weights together with segments (their per-list item features,
    such as ideal DCG, would cross the segments)."""
    if segments is None:
        return
    if lambda_weights is not None:
        raise ValueError(
            "`lambda_weights` cannot be combined with `segments` yet; received "
            f"lambda_weights={lambda_weights!r} with segments."
        )


def check_flag(name: str, value) -> bool:
    """Returns ``value`` after checking it is a Python bool (a static option)."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"`{name}` must be True or False; received {value!r:.80}.")
    return bool(value)


def check_quantile(tau) -> float:
    """Returns ``tau`` as a Python float after checking it is a static number in
    ``(0, 1]``."""
    if isinstance(tau, bool) or not isinstance(tau, numbers.Real):
        raise TypeError(f"`tau` must be a Python number in (0, 1]; received {tau!r}.")
    if not 0.0 < float(tau) <= 1.0:
        raise ValueError(f"`tau` must be in (0, 1]; received tau={tau!r}.")
    return float(tau)
