"""Sequential depth of a loss's gradient program, read from its StableHLO.

A test helper (not collected as tests). :func:`sequential_depth` lowers
``jax.jit(jax.value_and_grad(fn))`` for one platform (``"cuda"``, ``"tpu"`` or
``"cpu"``; lowering needs no such device) and measures how many iterations of
``stablehlo.while`` loops run one after another inside the deepest loop nest:

* a loop's trip count is read from its condition when that compares the loop's
  counter with a constant, and the counter starts at a constant and moves by a
  constant step in the body (how ``lax.scan`` and ``lax.fori_loop`` with static
  bounds lower); any other condition (a run-time bound) counts as
  :data:`RUNTIME_BOUND` iterations;
* a loop nested in another's condition or body (directly, through ``func.call``, or
  in a branch of ``case``/``if``) multiplies its trip count into the outer one's;
* the depth of a program is the largest such product over its loop nests, and 1 when
  it has no loop. Loops one after another are not added: the forward and backward
  loops of a scan of length ``n`` give ``n``, not ``2 n``
  (:func:`loop_nest_depths` lists every top-level nest, for a total).

This is structural: it counts loops as written in StableHLO, before XLA's own
passes (which may unroll a loop, or expand a sort into a sorting network).
Only public JAX APIs: ``Lowered.compiler_ir`` and ``jax.extend.mlir.ir``.
"""

from __future__ import annotations

import math
import re

import jax
from jax.extend.mlir import ir

# Iterations charged to a loop whose trip count is only known at run time.
RUNTIME_BOUND = 64

_FLIP = {"LT": "GT", "LE": "GE", "GT": "LT", "GE": "LE", "EQ": "EQ", "NE": "NE"}


def lower(fn, *args, platform="cuda"):
    """The StableHLO module of ``jit(value_and_grad(fn))(*args)`` for ``platform``."""
    lowered = (
        jax.jit(jax.value_and_grad(fn))
        .trace(*args)
        .lower(lowering_platforms=(platform,))
    )
    return lowered.compiler_ir("stablehlo")


def sequential_depth(fn, *args, platform="cuda"):
    """The largest product of nested ``while`` trip counts in ``fn``'s gradient
    program (1 without loops); see the module docstring."""
    return max(loop_nest_depths(fn, *args, platform=platform), default=1)


def loop_nest_depths(fn, *args, platform="cuda"):
    """The depth of every top-level loop nest of ``fn``'s gradient program, in
    program order (loops reached through calls included)."""
    return module_loop_nest_depths(lower(fn, *args, platform=platform))


def module_loop_nest_depths(module):
    """:func:`loop_nest_depths` of a lowered StableHLO module."""
    return _Walker(module).nests()


def _name(op):
    return getattr(op, "operation", op).name


def _defining_op(value):
    """The operation that produced ``value``, or None for a block argument."""
    value = value.maybe_downcast()
    return value.owner if isinstance(value, ir.OpResult) else None


def _int_constant(value):
    """The integer a scalar ``stablehlo.constant`` holds, else None."""
    op = _defining_op(value)
    if op is None or _name(op) != "stablehlo.constant":
        return None
    match = re.fullmatch(r"dense<(-?\d+)>", str(op.attributes["value"]).split(" : ")[0])
    return int(match.group(1)) if match else None


def _block_arg_number(value, block):
    """The position of ``value`` among ``block``'s arguments, else None."""
    value = value.maybe_downcast()
    if not isinstance(value, ir.BlockArgument) or value.owner != block:
        return None
    return value.arg_number


def _terminator(region):
    return list(region.blocks[0].operations)[-1]


def _counter_bound(cond):
    """``(argument index, direction, bound)`` when ``cond`` returns
    ``compare(counter, constant)`` of one of its arguments, else None."""
    block = cond.blocks[0]
    (flag,) = _terminator(cond).operands
    compare = _defining_op(flag)
    if compare is None or _name(compare) != "stablehlo.compare":
        return None
    direction = re.search(
        r"comparison_direction (\w+)", str(compare.attributes["comparison_direction"])
    ).group(1)
    lhs, rhs = compare.operands
    index, bound = _block_arg_number(lhs, block), _int_constant(rhs)
    if index is None or bound is None:
        index, bound = _block_arg_number(rhs, block), _int_constant(lhs)
        direction = _FLIP[direction]
    if index is None or bound is None:
        return None
    return index, direction, bound


def _step(body, index):
    """The constant the body adds to argument ``index``, else None."""
    block = body.blocks[0]
    value = _terminator(body).operands[index]
    op = _defining_op(value)
    if op is None or _name(op) not in ("stablehlo.add", "stablehlo.subtract"):
        return None
    lhs, rhs = op.operands
    sign = 1 if _name(op) == "stablehlo.add" else -1
    if _block_arg_number(lhs, block) == index and _int_constant(rhs) is not None:
        return sign * _int_constant(rhs)
    if sign == 1 and _block_arg_number(rhs, block) == index:
        return _int_constant(lhs)
    return None


def trip_count(while_op):
    """The iterations of one ``stablehlo.while``, or :data:`RUNTIME_BOUND` when they
    are not a compile-time constant."""
    cond, body = while_op.regions
    found = _counter_bound(cond)
    if found is None:
        return RUNTIME_BOUND
    index, direction, bound = found
    start, step = _int_constant(while_op.operands[index]), _step(body, index)
    if start is None or not step:
        return RUNTIME_BOUND
    if direction in ("LT", "LE") and step > 0:
        span = bound - start + (direction == "LE")
    elif direction in ("GT", "GE") and step < 0:
        span, step = start - bound + (direction == "GE"), -step
    elif direction == "NE" and (bound - start) % step == 0:
        if (bound - start) * step < 0:
            return RUNTIME_BOUND  # never reaches the bound
        span, step = abs(bound - start), abs(step)
    else:
        return RUNTIME_BOUND
    return max(math.ceil(span / step), 0)


class _Walker:
    """Loop-nest depths of one module, following ``func.call`` into callees."""

    def __init__(self, module):
        self.functions = {}
        for op in module.body.operations:
            if _name(op) == "func.func":
                name = str(op.attributes["sym_name"]).strip('"')
                self.functions[name] = op
        self.memo = {}

    def nests(self):
        return self.block_nests(self.functions["main"].regions[0])

    def block_nests(self, region):
        """The depth of every top-level loop nest in ``region``."""
        nests = []
        for block in region.blocks:
            for op in block.operations:
                nests += self.op_nests(op)
        return nests

    def op_nests(self, op):
        name = _name(op)
        if name == "stablehlo.while":
            inner = [d for region in op.regions for d in self.block_nests(region)]
            return [trip_count(op) * max(inner, default=1)]
        if name == "func.call":
            callee = str(op.attributes["callee"]).lstrip("@")
            if callee not in self.memo:
                self.memo[callee] = self.block_nests(self.functions[callee].regions[0])
            return self.memo[callee]
        return [d for region in op.regions for d in self.block_nests(region)]
