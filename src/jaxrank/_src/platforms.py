r"""Kernels chosen per platform when a computation is lowered.

Some losses have two kernels with the same numbers: one tuned for a CPU (sequential
loops over long axes are cheap there, and a few large fused passes run at memory
speed), and one for GPUs and TPUs, where every iteration of a sequential loop is at
least one kernel launch, so the loops must be few and short (parallel scans,
broadcast reductions over tiles). :func:`per_platform` stages both and lets
:func:`jax.lax.platform_dependent` keep the one that matches the platform the
computation is lowered for: the compiler never sees the other (a ``jax.jit``
function lowered for ``"cuda"`` or ``"tpu"`` from a CPU-only machine gets the
accelerator kernel, which is how the tests measure its structure).

Every such kernel takes the variant as a static keyword argument ``variant``,
``"cpu"`` or ``"accelerator"`` (:data:`VARIANTS`), so that both run, and are tested
against the float64 references, on any machine; :func:`forced_variant` makes every
:func:`per_platform` of the code traced within it take one variant, so that the
public functions can be tested with the accelerator kernels on a CPU.

Examples:
  >>> import jax, jax.numpy as jnp
  >>> def running_total(x, *, variant):
  ...     if variant == "cpu":
  ...         return jnp.cumsum(x)
  ...     return jax.lax.associative_scan(jnp.add, x)
  >>> per_platform(running_total, jnp.arange(4.0))
  Array([0., 1., 3., 6.], dtype=float32)
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
from collections.abc import Callable, Iterator
from typing import Literal

from jax import lax

Variant = Literal["cpu", "accelerator"]
VARIANTS: tuple[Variant, ...] = ("cpu", "accelerator")

_forced: contextvars.ContextVar[Variant | None] = contextvars.ContextVar(
    "jaxrank_forced_variant", default=None
)


def per_platform(kernel: Callable, *args):
    """``kernel(*args, variant="cpu")`` on CPUs, ``variant="accelerator"`` on GPUs
    and TPUs (and any other platform), chosen when the computation is lowered.

    Both variants are traced (so both must accept the same arguments and return
    the same shapes and dtypes), but only the one for the lowering platform is
    compiled. Works under ``jit``, ``vmap`` and ``grad`` like :func:`jax.lax.switch`.

    Args:
      kernel: ``kernel(*args, variant=...)``, ``variant`` one of :data:`VARIANTS`.
      *args: the arrays (pytrees) passed to both variants; static options go into
        ``kernel`` (a :func:`functools.partial`).

    Returns:
      The value of the variant for the platform the computation runs on (or of
      the :func:`forced_variant`).
    """
    forced = _forced.get()
    if forced is not None:
        return kernel(*args, variant=forced)
    return lax.platform_dependent(
        *args,
        cpu=functools.partial(kernel, variant="cpu"),
        default=functools.partial(kernel, variant="accelerator"),
    )


def current_forced_variant() -> Variant | None:
    """The variant :func:`forced_variant` imposes here, or None: part of the cache
    key of every function that is jitted and cached across calls, so that a trace
    made under one variant is never reused under another."""
    return _forced.get()


@contextlib.contextmanager
def forced_variant(variant: Variant) -> Iterator[None]:
    """Within the block, :func:`per_platform` traces only ``variant``, whatever the
    platform: how the tests run the accelerator kernels on a CPU (and the CPU
    kernels anywhere). Tracing happens when a function is first called for its
    shapes: one traced before the block keeps the kernels it traced.

    Examples:
      >>> import jax.numpy as jnp
      >>> def which(x, *, variant):
      ...     return x + (1.0 if variant == "accelerator" else 0.0)
      >>> with forced_variant("accelerator"):
      ...     print(per_platform(which, jnp.zeros(())))
      1.0
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    token = _forced.set(variant)
    try:
        yield
    finally:
        _forced.reset(token)
