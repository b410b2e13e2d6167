r"""Numerical building blocks shared by the kernels: safe division, division by the
temperature, compensated sums.

**Safe division.** :func:`safe_divide` returns a fill value where the divisor is 0,
with no ``0/0`` evaluated, so neither the value nor its gradient can become NaN.

**Division by the temperature.** A score difference over a static temperature
:math:`T` has two float hazards: XLA turns ``x / T`` into ``x * (1/T)``, and for
:math:`T > 2^{126}` the reciprocal is subnormal and flushed to 0 on CPU; and
:math:`s_i - s_j` can overflow although :math:`(s_i - s_j)/T` does not. Both go with a
power of two :math:`c` chosen at trace time from :math:`T`
(:func:`temperature_scaling`): :math:`(s_i - s_j)/T = (c s_i - c s_j)/(cT)`, where
:math:`c s` and :math:`cT` are exact, :math:`|c s| \le` half the range for
:math:`T > 1`, and :math:`1/(cT)` is a normal number. The rounding is that of
``(s_i - s_j) / T``, bit for bit, whenever that does not overflow or underflow (for
:math:`T \le 1`, :math:`c = 1` and nothing changes).
:func:`divide_by_temperature` divides any other quantity (a gradient) by :math:`T`
the same way.

**Compensated (double-float) arithmetic.** A float32 sum of many terms loses digits;
carrying each sum as an unevaluated pair ``(hi, lo)`` whose exact sum is the value
keeps about twice the precision. :func:`two_sum` is Knuth's error-free addition,
:func:`df_add` adds two such pairs, and :func:`count_times` forms ``count * x``
exactly as a pair for integer counts below :math:`2^{24}`.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax import lax

# The smallest power of two that is a normal float32: 1/T is normal for T <= 2**126.
_NORMAL_EXPONENT = 126


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


def temperature_scaling(temperature: float) -> tuple[float, float]:
    """``(c, c * T)`` for a static temperature ``T`` (module docstring).

    ``c`` is 1 for ``T <= 1`` and else :math:`2^{-k}` with :math:`T = m 2^k`,
    :math:`\\tfrac12 \\le m < 1` (``k`` capped at 126): then ``c * s`` is at most half
    the float range, so a difference of two such never overflows, and
    ``1 / (c * T)`` is normal.

    Examples:
      >>> temperature_scaling(0.5), temperature_scaling(3.0)
      ((1.0, 0.5), (0.25, 0.75))
    """
    if temperature <= 1.0:
        return 1.0, temperature
    scale = 2.0 ** -min(math.frexp(temperature)[1], _NORMAL_EXPONENT)
    return scale, temperature * scale


def scale_for_temperature(scores: jax.Array, temperature: float):
    """``(c * scores, c * T)`` of :func:`temperature_scaling`, for differences
    ``(c s_i - c s_j) / (c T)`` that equal :math:`(s_i - s_j)/T` without overflow."""
    scale, scaled_temperature = temperature_scaling(temperature)
    if scale != 1.0:
        scores = scores * jnp.asarray(scale, scores.dtype)
    return scores, scaled_temperature


def divide_by_temperature(x: jax.Array, temperature: float) -> jax.Array:
    """``x / T`` for a static ``T``, also where ``1/T`` is subnormal (``T > 2**126``).

    Examples:
      >>> import jax
      >>> import jax.numpy as jnp
      >>> jax.jit(lambda x: divide_by_temperature(x, 3e38))(jnp.array([3e35]))
      Array([0.001], dtype=float32)
    """
    if temperature <= 2.0**_NORMAL_EXPONENT:
        return x / jnp.asarray(temperature, x.dtype)
    scale = 2.0**-_NORMAL_EXPONENT
    # XLA would fold (x * c) / (c T) back into x * (1/T): the barrier keeps the steps.
    scaled = lax.optimization_barrier(x * jnp.asarray(scale, x.dtype))
    return scaled / jnp.asarray(temperature * scale, x.dtype)


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
