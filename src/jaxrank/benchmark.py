"""Side-by-side timings of jaxrank's losses against keras_rs and rax.

Run ``python -m jaxrank.benchmark`` (install the ``bench`` extra for the peers). For
every workload it times ``jit(value_and_grad)`` of the mean loss of jaxrank, keras_rs
(JAX backend) and rax on the same inputs in this process, beside a floor on the same
device: a trivial jitted ``value_and_grad`` of ``sum(scores * labels)`` of the same
shape (short lists) or one ``jnp.argsort`` of ``n`` floats (long lists). All of a
workload's contenders run after a warm-up call in interleaved rounds, at least
``--repeats`` and for at least ``--min-seconds``; the table gives medians. Each
workload's peak memory is measured in a fresh subprocess (device memory on a GPU,
resident memory on the CPU), beside one that only runs the floor. A peer whose
``(n, n)`` pair tensors would not fit in ``--mem-budget-gib`` is reported as such
instead of being run. It also checks that repeated calls do not recompile.

``--precision`` instead measures jaxrank's float32 sorted hinge at ``n = 2^20``
against a float64 evaluation (``tests/reference_sorted.py`` of a source checkout).

Losses are looked up in a registry (:data:`LOSSES`): a name maps to the jaxrank
function (``getattr(jaxrank, ...)``, skipped if absent), the keras_rs class and the
rax function, so other losses slot in with ``--losses``.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import time
from typing import NamedTuple

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402


class LossEntry(NamedTuple):
    """Where one loss lives in each library (``None``: that library has none)."""

    jaxrank: str | None
    keras_rs: str | None
    rax: str | None


LOSSES = {
    "pairwise_hinge": LossEntry(
        "pairwise_hinge_loss", "PairwiseHingeLoss", "pairwise_hinge_loss"
    ),
    "pairwise_logistic": LossEntry(
        "pairwise_logistic_loss", "PairwiseLogisticLoss", "pairwise_logistic_loss"
    ),
    "pairwise_soft_zero_one": LossEntry(
        "pairwise_soft_zero_one_loss",
        "PairwiseSoftZeroOneLoss",
        "pairwise_soft_zero_one_loss",
    ),
    "pairwise_mean_squared_error": LossEntry(
        "pairwise_mean_squared_error", "PairwiseMeanSquaredError", "pairwise_mse_loss"
    ),
    "list_mle": LossEntry("list_mle_loss", "ListMLELoss", "listmle_loss"),
}
DEFAULT_SHAPES = ((256, 32), (64, 256), (16, 1024), (1, 16384), (1, 2**20))
PEERS = ("jaxrank", "keras_rs", "rax")
# Bytes per pair a dense peer keeps alive in jit(value_and_grad): keras_rs measured
# 13.7 GiB at n = 20,000 (about 37 bytes per pair); rax is assumed alike.
DENSE_BYTES_PER_PAIR = 40


def _labels(kind, shape, rng):
    if kind == "graded":
        return rng.integers(0, 5, shape).astype(np.float32)
    return rng.random(shape).astype(np.float32)


def _inputs(shape, kind, seed=0):
    rng = np.random.default_rng(seed)
    scores = jnp.asarray(rng.normal(size=shape).astype(np.float32))
    return scores, jnp.asarray(_labels(kind, shape, rng))


def _loss_fn(peer, loss):
    """``f(scores, labels) -> scalar`` for ``peer``, or None if it lacks ``loss``."""
    entry = LOSSES[loss]
    name = getattr(entry, peer)
    if name is None:
        return None
    if peer == "jaxrank":
        import jaxrank

        fn = getattr(jaxrank, name, None)
        return None if fn is None else (lambda s, y: fn(s, y))
    if peer == "keras_rs":
        try:
            import keras_rs
        except ImportError:
            return None
        cls = getattr(keras_rs.losses, name, None)
        if cls is None:
            return None
        instance = cls()
        return lambda s, y: instance(y, s)
    try:
        import rax
    except ImportError:
        return None
    fn = getattr(rax, name, None)
    return None if fn is None else (lambda s, y: fn(s, y))


def _trivial(scores, labels):
    return jnp.sum(scores * labels)


def _time_side_by_side(works, repeats, min_seconds):
    """Median seconds per call of each jitted ``(fn, args)`` in ``works`` (a dict),
    and whether its calls reused one compiled program.

    After a warm-up call each, the workloads run in interleaved rounds (one call of
    each per round) so that they share the machine's state and any drift in it; at
    least ``repeats`` rounds, and more until ``min_seconds`` have passed, so that
    sub-millisecond workloads get hundreds of samples.
    """
    for fn, args in works.values():
        jax.block_until_ready(fn(*args))
    times = {name: [] for name in works}
    start = time.perf_counter()
    rounds = 0
    while rounds < repeats or time.perf_counter() - start < min_seconds:
        for name, (fn, args) in works.items():
            begin = time.perf_counter()
            jax.block_until_ready(fn(*args))
            times[name].append(time.perf_counter() - begin)
        rounds += 1
    return {
        name: (
            statistics.median(times[name]),
            getattr(fn, "_cache_size", lambda: 1)() == 1,
        )
        for name, (fn, _) in works.items()
    }


def _fits(peer, shape, budget_gib):
    if peer == "jaxrank":
        return True
    lists, n = math.prod(shape[:-1]), shape[-1]
    return lists * n * n * DENSE_BYTES_PER_PAIR <= budget_gib * 2**30


def _workload(peer, loss, shape, kind):
    """The jitted callable and its inputs for one workload (None if unavailable)."""
    args = _inputs(shape, kind)
    if peer == "argsort":
        # A fresh function: jit caches are per function, and the recompilation check
        # would otherwise count jnp.argsort's programs for earlier shapes.
        return jax.jit(lambda x: jnp.argsort(x)), args[:1]
    if peer == "trivial":
        return jax.jit(jax.value_and_grad(_trivial)), args
    fn = _loss_fn(peer, loss)
    if fn is None:
        return None
    return jax.jit(jax.value_and_grad(fn)), args


def _peak_mib(peer, loss, shape, kind):
    """Peak memory (MiB) of a fresh process that runs one workload twice: the device's
    peak bytes in use where the backend reports it (GPU), else the process's peak
    resident set (``VmHWM``; unlike ``ru_maxrss`` it is not inherited across exec)."""
    code = (
        "import resource, jax\n"
        "from jaxrank import benchmark as b\n"
        f"fn, args = b._workload({peer!r}, {loss!r}, {tuple(shape)!r}, {kind!r})\n"
        "jax.block_until_ready(fn(*args)); jax.block_until_ready(fn(*args))\n"
        "stats = jax.devices()[0].memory_stats() or {}\n"
        "if 'peak_bytes_in_use' in stats:\n"
        "    print(stats['peak_bytes_in_use'] / 2**20)\n"
        "else:\n"
        "    try:\n"
        "        status = open('/proc/self/status').read().split('VmHWM:')[1]\n"
        "        print(int(status.split()[0]) / 1024)\n"
        "    except OSError:\n"
        "        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True
    )
    if result.returncode != 0:
        return None
    return float(result.stdout.split()[-1])


def _fmt(seconds):
    return "-" if seconds is None else f"{seconds * 1e3:.3g}"


def run_benchmark(losses, shapes, repeats, min_seconds, budget_gib, memory, real_from):
    """Prints one table per loss; returns the rows as dicts."""
    print(
        f"device: {jax.devices()[0].device_kind} ({jax.default_backend()}), "
        f"jax {jax.__version__}; ms = median of at least {repeats} interleaved "
        f"rounds (and {min_seconds:g} s), jit(value_and_grad)"
    )
    rows = []
    for loss in losses:
        print(f"\n## {loss}")
        header = (
            "shape",
            "labels",
            *PEERS,
            "floor",
            "x faster peer",
            "x floor",
            "peak MiB (jaxrank / floor)",
        )
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for shape in shapes:
            kinds = ["graded"] + (["real"] if shape[-1] >= real_from else [])
            for kind in kinds:
                row = {"loss": loss, "shape": shape, "labels": kind}
                works = {}
                for peer in PEERS:
                    if not _fits(peer, shape, budget_gib):
                        row[peer] = "too big"
                        continue
                    work = _workload(peer, loss, shape, kind)
                    if work is None:
                        row[peer] = "n/a"
                        continue
                    works[peer] = work
                floor_peer = (
                    "argsort" if shape[0] == 1 and shape[-1] >= 16384 else "trivial"
                )
                works["floor"] = _workload(floor_peer, loss, shape, kind)
                timed = _time_side_by_side(works, repeats, min_seconds)
                recompiled = not all(once for _, once in timed.values())
                row.update({name: seconds for name, (seconds, _) in timed.items()})
                peers = [
                    row[p] for p in ("keras_rs", "rax") if isinstance(row[p], float)
                ]
                mine = row["jaxrank"] if isinstance(row["jaxrank"], float) else None
                ratio = f"{min(peers) / mine:.1f}" if peers and mine else "-"
                floor_ratio = f"{mine / row['floor']:.2f}" if mine else "-"
                peak = "-"
                if memory and mine:
                    mem = _peak_mib("jaxrank", loss, shape, kind)
                    base = _peak_mib(floor_peer, loss, shape, kind)
                    if mem is not None and base is not None:
                        peak = f"{mem:.0f} / {base:.0f}"
                cells = [str(shape), kind]
                cells += [
                    v if isinstance(v, str) else _fmt(v)
                    for v in (row[p] for p in PEERS)
                ]
                cells += [
                    f"{_fmt(row['floor'])} ({floor_peer})",
                    ratio,
                    floor_ratio,
                    peak,
                ]
                if recompiled:
                    cells[-1] += " RECOMPILED"
                print("| " + " | ".join(cells) + " |", flush=True)
                rows.append(row)
    return rows


def run_precision(n=2**20, seed=0):
    """Float32 sorted hinge at ``n`` against a float64 evaluation; prints the errors."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    tests = os.path.join(root, "tests")
    if not os.path.exists(os.path.join(tests, "reference_sorted.py")):
        raise SystemExit(
            "--precision needs tests/reference_sorted.py (a source checkout)"
        )
    sys.path.insert(0, tests)
    import reference_sorted
    from jaxrank._src.pairs_sorted import hinge_item_losses_sorted

    rng = np.random.default_rng(seed)
    scores = rng.normal(size=n).astype(np.float32)
    # A cotangent per item (the general backward pass) and one shared by the list
    # (what every reduction without per-item weights hands in: the shortcut).
    cotangents = {
        "random": rng.normal(size=n).astype(np.float32),
        "uniform": np.ones(n, np.float32),
    }

    @jax.jit
    def value_and_vjp(s, y, g):
        losses, vjp = jax.vjp(lambda s: hinge_item_losses_sorted(s, y, y >= 0, 1.0), s)
        return losses, vjp(g)[0]

    print(f"precision at n = {n} (float32 vs float64), random normal scores, T = 1")
    for kind in ("graded", "real"):
        labels = _labels(kind, (n,), rng)
        for name, cotangent in cotangents.items():
            losses, grad = value_and_vjp(
                jnp.asarray(scores)[None],
                jnp.asarray(labels)[None],
                jnp.asarray(cotangent)[None],
            )
            ref, ref_grad = reference_sorted.hinge_list(
                scores, labels, labels >= 0, 1.0, cotangent
            )
            losses, grad = (
                np.asarray(losses[0], np.float64),
                np.asarray(grad[0], np.float64),
            )
            positive = ref > 0
            rel = np.abs(losses - ref)[positive] / ref[positive]
            print(
                f"  {kind:6s} labels, {name:7s} cotangent: per-item loss max rel err "
                f"{rel.max():.2e} (median {np.median(rel):.1e}, {positive.sum()} "
                f"items with loss > 0; zero losses exact: "
                f"{bool(np.all(losses[~positive] == 0))}); grad max abs err / "
                f"max|grad| "
                f"{np.max(np.abs(grad - ref_grad)) / np.max(np.abs(ref_grad)):.2e}"
            )


def _shape(text):
    """``"1,2**20"`` -> ``(1, 1048576)``."""

    def size(part):
        base, _, power = part.partition("**")
        return int(base) ** int(power or 1)

    return tuple(size(part.strip()) for part in text.split(","))


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m jaxrank.benchmark", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--losses", nargs="+", default=["pairwise_hinge"], choices=sorted(LOSSES)
    )
    parser.add_argument(
        "--shapes",
        nargs="+",
        type=_shape,
        default=list(DEFAULT_SHAPES),
        help='shapes as "lists,n", e.g. 256,32 1,2**20',
    )
    parser.add_argument(
        "--repeats", type=int, default=7, help="at least this many rounds"
    )
    parser.add_argument(
        "--min-seconds",
        type=float,
        default=1.0,
        help="and rounds until this long has passed, per workload",
    )
    parser.add_argument(
        "--mem-budget-gib",
        type=float,
        default=16.0,
        help="skip a dense peer whose pair tensors would exceed this",
    )
    parser.add_argument(
        "--no-memory",
        action="store_true",
        help="skip the per-workload peak-memory subprocesses",
    )
    parser.add_argument(
        "--real-from",
        type=int,
        default=2**20,
        help="also time arbitrary real labels for lists this long",
    )
    parser.add_argument(
        "--precision",
        action="store_true",
        help="only run the float32-vs-float64 check at n = 2^20",
    )
    args = parser.parse_args(argv)
    if args.precision:
        run_precision()
        return
    run_benchmark(
        args.losses,
        args.shapes,
        args.repeats,
        args.min_seconds,
        args.mem_budget_gib,
        not args.no_memory,
        args.real_from,
    )


if __name__ == "__main__":
    main()
