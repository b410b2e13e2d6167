"""One compiled computation per public function and set of options, reused by every
eager call.

Called outside ``jax.jit``, JAX runs a function op by op, and each ``lax.scan``,
``lax.cond`` or ``custom_vjp`` it meets is a fresh closure, traced and compiled
again on every call. :func:`cached_jit` runs a public function inside one
``jax.jit`` of its own instead, so a repeated call with arrays of the same shapes
and dtypes and the same options compiles nothing:

* the arguments named in :data:`ARRAY_ARGUMENTS` that hold arrays of numbers
  (JAX or NumPy arrays, lists of numbers) are traced;
* every other argument is static, part of the cache key: an option, or a value
  given for an array that is none (a Python number, None, a string), which the
  function then receives as it was given. Values are compared by type and value
  (``k=[1, 3]`` and ``k=(1, 3)`` are different keys, ``True`` and ``1`` too, so a
  check that tells them apart still sees each), a ``functools.partial`` by its
  function and arguments;
* a call with a static value that cannot be a key (an array given for an option,
  a list of strings, an unhashable object) runs the function as it is, unjitted.

The functions validate their arguments at trace time, so their errors are raised
on every call (a trace that raises is not cached), with the same messages, and the
warnings a trace raised are raised again by every call with the same options.
Under an outer ``jit``, ``vmap`` or ``grad`` the inner ``jit`` is traced inline.
JAX's cache key includes its configuration (``jax_enable_x64``, the promotion
rules), and this cache's the variant :func:`jaxrank._src.platforms.forced_variant`
imposes, so a result never depends on a setting other than the one in force.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import jax
import jax.numpy as jnp
import numpy as np

from jaxrank._src.platforms import current_forced_variant, forced_variant

F = TypeVar("F", bound=Callable[..., Any])

# The parameters of the public API that hold arrays; every other one is an option.
ARRAY_ARGUMENTS = frozenset(
    {
        "scores",
        "logits",
        "labels",
        "where",
        "weights",
        "segments",
        "key",
        "a",
        "max_label",
        "no_relevant_value",
    }
)


def _frozen(value):
    """A hashable stand-in for an option that is equal only for options of the
    same types and values (``TypeError`` when there is none)."""
    if isinstance(value, list | tuple):
        return type(value), tuple(_frozen(x) for x in value)
    if isinstance(value, functools.partial):
        keywords = tuple((k, _frozen(v)) for k, v in sorted(value.keywords.items()))
        return functools.partial, value.func, _frozen(value.args), keywords
    hash(value)
    return type(value), value


class _Options:
    """The static options of one call: their values, keyed by :func:`_frozen`."""

    __slots__ = ("_hash", "_key", "values")

    def __init__(self, values: dict[str, Any]):
        self.values = values
        self._key = tuple((name, _frozen(v)) for name, v in sorted(values.items()))
        self._hash = hash(self._key)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other) -> bool:
        return isinstance(other, _Options) and self._key == other._key


def _is_numeric(dtype) -> bool:
    return bool(jnp.issubdtype(dtype, jnp.number) or dtype == np.bool_)


def _traced(value):
    """``value`` as an argument to trace, or None when it is no array of numbers."""
    if isinstance(value, jax.Array):
        return value
    if isinstance(value, np.ndarray):
        return value if _is_numeric(value.dtype) else None
    if isinstance(value, list | tuple):
        try:
            numeric = _is_numeric(np.asarray(value).dtype)
        except Exception:  # ragged, or holding tracers: the function decides
            return None
        return jnp.asarray(value) if numeric else None
    return None


def _split(arguments: dict[str, Any]):
    """``(traced, options)`` of a call's arguments, or None to run it unjitted."""
    traced, static = {}, {}
    for name, value in arguments.items():
        array = _traced(value) if name in ARRAY_ARGUMENTS else None
        if array is None:
            static[name] = value
        else:
            traced[name] = array
    try:
        return traced, _Options(static)
    except TypeError:  # an option that cannot be a key
        return None


def cached_jit(fn: F) -> F:
    """``fn`` run inside one ``jax.jit`` keyed by its options (module docstring).

    ``fn``'s signature, docstring and name are kept; it must take its arguments by
    keyword (no positional-only or ``*args`` parameters), and its signature must be
    that of its code (the defaults are filled in from it): set a ``__signature__``
    on the returned function, not on ``fn``.

    Examples:
      >>> import jax.numpy as jnp
      >>> @cached_jit
      ... def scaled(scores, *, factor=2.0):
      ...     return scores * factor
      >>> scaled([1.0, 2.0], factor=3.0)
      Array([3., 6.], dtype=float32)
    """
    signature = inspect.signature(fn, follow_wrapped=False)
    kinds = {p.kind for p in signature.parameters.values()}
    if kinds & {inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.VAR_POSITIONAL}:
        raise TypeError(f"{fn.__name__} must take its arguments by keyword.")
    if "__signature__" in vars(fn):
        raise TypeError(f"{fn.__name__} declares a signature other than its code's.")
    var_keyword = [
        p.name
        for p in signature.parameters.values()
        if p.kind is inspect.Parameter.VAR_KEYWORD
    ]

    # The warnings of the last trace with each options: raised again on every call,
    # as an unjitted function would raise them (e.g. a deprecated option's).
    warned: dict[_Options, list[warnings.WarningMessage]] = {}

    def run(traced, options, variant):
        forcing = (
            contextlib.nullcontext() if variant is None else forced_variant(variant)
        )
        with warnings.catch_warnings(record=True) as caught, forcing:
            warnings.simplefilter("always")
            try:
                return fn(**traced, **options.values)
            finally:
                if caught:
                    warned[options] = caught
                else:
                    warned.pop(options, None)

    jitted = jax.jit(run, static_argnums=(1, 2))

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if _uncached.get():
            return fn(*args, **kwargs)
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError:  # Python's own message for a wrong call
            return fn(*args, **kwargs)
        # With the defaults filled in, an option left out and one given its
        # default value are one key.
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        for name in var_keyword:
            arguments.update(arguments.pop(name, {}))
        split = _split(arguments)
        if split is None:
            return fn(*args, **kwargs)
        try:
            return jitted(*split, current_forced_variant())
        finally:
            for caught in warned.get(split[1], ()):
                warnings.warn(caught.message, stacklevel=2)

    return wrapper


_uncached = contextvars.ContextVar("jaxrank_uncached", default=False)


@contextlib.contextmanager
def uncached():
    """Within the block, every :func:`cached_jit` function runs as written (traced
    inline into the caller's trace): how the benchmark times a compilation that
    reuses no earlier trace, without clearing JAX's caches (which is not safe in a
    process that goes on running)."""
    token = _uncached.set(True)
    try:
        yield
    finally:
        _uncached.reset(token)
