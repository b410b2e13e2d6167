r"""Numerical building blocks shared by the kernels: safe division, compensated sums.

**Safe division.** :func:`safe_divide` returns a fill value where the divisor is 0,
with no ``0/0`` evaluated, so neither the value nor its gradient can become NaN.

**Compensated (double-float) arithmetic.** A float32 sum of many terms loses digits;
carrying each sum as an unevaluated pair ``(hi, lo)`` whose exact sum is the value
keeps about twice the precision. :func:`two_sum` is Knuth's error-free addition,
:func:`df_add` adds two such pairs, and :func:`count_times` forms ``count * x``
exactly as a pair for integer counts below :math:`2^{24}`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax


def safe_divide(numerator: jax.Array, denominator: jax.Array, if_zero=0) -> jax.Array:
    """``numerator / denominator``, or ``if_zero`` where ``denominator == 0``.

    The division is evaluated against 1 where the divisor is 0, so no NaN or inf
    is ever formed (and none can reach a gradient).

    Examples:
      >>> import jax.numpy as jnp
      >>> safe_divide(jnp.array([1.0, 2.0]), jnp.array([2.0, 0.0]))
      Array([0.5, 0. ], dtype=float32)
    """
    zero = denominator == 0
    safe = jnp.where(zero, jnp.ones((), denominator.dtype), denominator)
    fill = jnp.asarray(if_zero, jnp.result_type(numerator))
    return jnp.where(zero, fill, numerator / safe)


def two_sum(a: jax.Array, b: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``a + b`` as ``(hi, lo)`` with ``hi + lo`` exactly ``a + b`` (Knuth's TwoSum)."""
    hi = a + b
    b_virtual = hi - a
    a_virtual = hi - b_virtual
    return hi, (a - a_virtual) + (b - b_virtual)


def df_add(x: tuple[jax.Array, jax.Array], y: tuple[jax.Array, jax.Array]):
    """The sum of two double-float numbers ``(hi, lo)``, as a double-float."""
    hi, err = two_sum(x[0], y[0])
    return hi, err + (x[1] + y[1])


def _exact_count_products(count: jax.Array, x: jax.Array):
    """``count * x`` as four floats summing to it exactly (``count < 2**24``, float32).

    ``x`` is split by clearing its 12 low mantissa bits and ``count`` into two 12-bit
    halves, so every partial product fits in float32's 24-bit significand without a
    fused multiply-add or a splitting constant.
    """
    dtype = x.dtype
    bits = lax.bitcast_convert_type(x, jnp.uint32)
    x_hi = lax.bitcast_convert_type(bits & jnp.uint32(0xFFFFF000), dtype)
    x_lo = x - x_hi
    c_hi = (count >> 12).astype(dtype) * jnp.asarray(4096.0, dtype)
    c_lo = (count & 4095).astype(dtype)
    return c_hi * x_hi, c_hi * x_lo, c_lo * x_hi, c_lo * x_lo


def count_times(count: jax.Array, x: jax.Array, compensated: bool):
    """``count * x`` (int32 ``count``) as a double-float; plain if not ``compensated``.

    Compensated, the pair is exact for ``count < 2**24`` and float32 ``x``.
    """
    if not compensated:
        return count.astype(x.dtype) * x, jnp.zeros_like(x)
    parts = _exact_count_products(count, x)
    acc = two_sum(parts[0], parts[1])
    for part in parts[2:]:
        acc = df_add(acc, two_sum(part, jnp.zeros_like(part)))
    return acc
