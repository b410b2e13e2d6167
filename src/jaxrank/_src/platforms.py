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
against the float64 references, on any machine.

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

import functools
from collections.abc import Callable
from typing import Literal

from jax import lax

Variant = Literal["cpu", "accelerator"]
VARIANTS: tuple[Variant, ...] = ("cpu", "accelerator")


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
      The value of the variant for the platform the computation runs on.
    """
    return lax.platform_dependent(
        *args,
        cpu=functools.partial(kernel, variant="cpu"),
        default=functools.partial(kernel, variant="accelerator"),
    )
