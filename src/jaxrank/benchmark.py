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
instead of being run. It also checks that repeated calls do not recompile: every
contender counts how often JAX traced it, and a row is marked ``RECOMPILED`` if any
was traced more than once.

Every row also gives the compile time of jaxrank's loss: the seconds
``jax.jit(jax.value_and_grad(f)).lower(scores, labels).compile()`` takes for a fresh
``f`` (tracing and lowering included, nothing cached), beside the same for optax's
``optax.losses.ranking_softmax_loss`` at the same shape and their ratio (the peer
issue 12 measures against; ``-`` if optax is not installed); each is the fastest of
``--compile-repeats`` interleaved compilations. ``--compile-only`` prints
only these columns, without timing runs. ``--json PATH`` also writes the rows to
``PATH``, one JSON object per line (:func:`json_record`), and ``--plot PATH`` draws
them as a PNG (:func:`plot_records`; needs matplotlib, in the ``bench`` extra).

``--packed`` instead compares, for every pairwise loss, one row packing
``--queries`` queries of random lengths in ``[--min-items, --max-items]``
(``segments=``) with the same queries padded to ``(queries, max_items)``: the two
values and gradients agree (their largest relative difference is printed), the
table gives both times, their ratio, and the scratch memory XLA reserves for each
compiled program
(:func:`run_packed`).

``--precision`` instead measures the rounding error of the float32 sorted hinge at
``n = --precision-n`` (default ``2^20``) against the same loss evaluated in float64
(:func:`run_precision`).

Losses are looked up in a registry (:data:`LOSSES`): a name maps to the jaxrank
function (``getattr(jaxrank, ...)``, skipped if absent), the keras_rs class and the
rax function, so other losses slot in with ``--losses``.

Importing this module has no side effects. Keras reads ``KERAS_BACKEND`` once, when it
is first imported, so the benchmark sets it to ``"jax"`` (if unset) only when it loads
keras_rs, and stops with an error if Keras is on another backend.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import statistics
import subprocess
import sys
import time
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

import jaxrank
from jaxrank._src.eager_cache import uncached


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
    "pairwise_qr": LossEntry("pairwise_qr_loss", None, "pairwise_qr_loss"),
    "list_mle": LossEntry("list_mle_loss", "ListMLELoss", "listmle_loss"),
    "softmax": LossEntry("softmax_loss", None, "softmax_loss"),
    "poly1_softmax": LossEntry("poly1_softmax_loss", None, "poly1_softmax_loss"),
    "unique_softmax": LossEntry("unique_softmax_loss", None, "unique_softmax_loss"),
    "pointwise_sigmoid": LossEntry(
        "pointwise_sigmoid_loss", None, "pointwise_sigmoid_loss"
    ),
    "pointwise_mse": LossEntry("pointwise_mse_loss", None, "pointwise_mse_loss"),
    "approx_ndcg": LossEntry("approx_ndcg_loss", None, None),
}
DEFAULT_SHAPES = ((256, 32), (64, 256), (16, 1024), (1, 16384), (1, 2**20))
PEERS = ("jaxrank", "keras_rs", "rax")
# Bytes per pair a dense peer keeps alive in jit(value_and_grad): keras_rs measured
# 13.7 GiB at n = 20,000 (about 37 bytes per pair); rax is assumed alike.
DENSE_BYTES_PER_PAIR = 40
# Lists at least this long (and alone in their batch) get the argsort floor.
ARGSORT_FLOOR_FROM = 16384


def _labels(kind, shape, rng):
    if kind == "graded":
        return rng.integers(0, 5, shape).astype(np.float32)
    return rng.random(shape).astype(np.float32)


def _inputs(shape, kind, seed=0):
    rng = np.random.default_rng(seed)
    scores = jnp.asarray(rng.normal(size=shape).astype(np.float32))
    return scores, jnp.asarray(_labels(kind, shape, rng))


def _import_keras_rs():
    """keras_rs on Keras's JAX backend, or None if keras_rs is not installed.

    Raises:
      RuntimeError: if Keras was already imported with another backend, or
        ``KERAS_BACKEND`` names another one.
    """
    if importlib.util.find_spec("keras_rs") is None:
        return None
    if "keras" not in sys.modules:
        os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras

    backend = keras.backend.backend()
    if backend != "jax":
        raise RuntimeError(
            "The keras_rs contender needs Keras's JAX backend, but Keras is running "
            f"on {backend!r} (KERAS_BACKEND={os.environ.get('KERAS_BACKEND')!r}). "
            "Set KERAS_BACKEND=jax before Keras is first imported."
        )
    import keras_rs

    return keras_rs


def _loss_fn(peer, loss):
    """``f(scores, labels) -> scalar`` for ``peer``, or None if it lacks ``loss``."""
    name = getattr(LOSSES[loss], peer)
    if name is None:
        return None
    if peer == "keras_rs":
        keras_rs = _import_keras_rs()
        cls = None if keras_rs is None else getattr(keras_rs.losses, name, None)
        if cls is None:
            return None
        instance = cls()
        return lambda s, y: instance(y, s)
    if peer == "jaxrank":
        module = jaxrank
    elif importlib.util.find_spec("rax") is None:
        return None
    else:
        import rax as module
    fn = getattr(module, name, None)
    return None if fn is None else (lambda s, y: fn(s, y))


def _trivial(scores, labels):
    return jnp.sum(scores * labels)


class TraceCountingJit:
    """``jax.jit(fn)`` that counts how many times JAX traced ``fn``.

    The count is a Python side effect of the traced function, so it runs once per
    trace (once per compiled program) and never when a compiled program is reused:
    a count above 1 after repeated calls on the same inputs means a recompilation.
    """

    def __init__(self, fn):
        self.traces = 0

        def counted(*args):
            self.traces += 1
            return fn(*args)

        self._jitted = jax.jit(counted)

    def __call__(self, *args):
        return self._jitted(*args)


def _time_side_by_side(works, repeats, min_seconds):
    """Median seconds per call of each ``(fn, args)`` in ``works`` (a dict of
    :class:`TraceCountingJit` and their inputs), and whether it was traced only once.

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
        name: (statistics.median(times[name]), fn.traces == 1)
        for name, (fn, _) in works.items()
    }


def _fits(peer, shape, budget_gib):
    if peer == "jaxrank":
        return True
    lists, n = math.prod(shape[:-1]), shape[-1]
    return lists * n * n * DENSE_BYTES_PER_PAIR <= budget_gib * 2**30


def _floor_peer(shape):
    return "argsort" if shape[0] == 1 and shape[-1] >= ARGSORT_FLOOR_FROM else "trivial"


def _workload(peer, loss, shape, kind):
    """The jitted callable (a :class:`TraceCountingJit`) and its inputs for one
    workload, or None if ``peer`` lacks ``loss``."""
    args = _inputs(shape, kind)
    if peer == "argsort":
        return TraceCountingJit(jnp.argsort), args[:1]
    if peer == "trivial":
        return TraceCountingJit(jax.value_and_grad(_trivial)), args
    fn = _loss_fn(peer, loss)
    if fn is None:
        return None
    return TraceCountingJit(jax.value_and_grad(fn)), args


_PEAK_MIB_CODE = """\
import resource, jax
from jaxrank import benchmark as b
fn, args = b._workload({peer!r}, {loss!r}, {shape!r}, {kind!r})
jax.block_until_ready(fn(*args)); jax.block_until_ready(fn(*args))
stats = jax.devices()[0].memory_stats() or {{}}
if 'peak_bytes_in_use' in stats:
    print(stats['peak_bytes_in_use'] / 2**20)
else:
    try:
        status = open('/proc/self/status').read().split('VmHWM:')[1]
        print(int(status.split()[0]) / 1024)
    except OSError:
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def _peak_mib(peer, loss, shape, kind):
    """Peak memory (MiB) of a fresh process that runs one workload twice: the device's
    peak bytes in use where the backend reports it (GPU), else the process's peak
    resident set (``VmHWM``; unlike ``ru_maxrss`` it is not inherited across exec)."""
    code = _PEAK_MIB_CODE.format(peer=peer, loss=loss, shape=tuple(shape), kind=kind)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True
    )
    if result.returncode != 0:
        return None
    return float(result.stdout.split()[-1])


def _optax_softmax():
    """optax's ``ranking_softmax_loss`` as ``f(scores, labels)``, or None."""
    if importlib.util.find_spec("optax") is None:
        return None
    import optax

    return lambda s, y: optax.losses.ranking_softmax_loss(s, y)


def compile_seconds(fn, args):
    """Seconds to trace, lower and compile ``jit(value_and_grad(fn))`` for ``args``.

    ``fn`` is wrapped in a new function first and traced with jaxrank's cached
    ``jax.jit`` wrappers bypassed (:func:`jaxrank._src.eager_cache.uncached`), so
    no earlier trace or compilation in this process is reused.
    """

    def fresh(*a):
        return fn(*a)

    start = time.perf_counter()
    with uncached():
        jax.jit(jax.value_and_grad(fresh)).lower(*args).compile()
    return time.perf_counter() - start


def _compile_pair(loss, shape, kind, repeats):
    """Compile seconds of jaxrank's ``loss`` and of optax's softmax at ``shape``
    (each None where unavailable; the fastest of ``repeats`` interleaved
    compilations) into a dict of row fields."""
    args = _inputs(shape, kind)
    fns = [_loss_fn("jaxrank", loss), _optax_softmax()]
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, spent in zip(fns, times, strict=True):
            if fn is not None:
                spent.append(compile_seconds(fn, args))
    mine, theirs = (min(spent) if spent else None for spent in times)
    return {
        "compile_s": mine,
        "optax_compile_s": theirs,
        "compile_ratio": None if mine is None or theirs is None else mine / theirs,
    }


def _compile_cells(row):
    def seconds(value):
        return "-" if value is None else f"{value:.3g}"

    ratio = row["compile_ratio"]
    return [
        seconds(row["compile_s"]),
        seconds(row["optax_compile_s"]),
        "-" if ratio is None else f"{ratio:.1f}",
    ]


COMPILE_HEADER = ("compile s", "optax softmax compile s", "compile x optax")


def _warm_up_compiler():
    """Compiles one trivial program, so that the first row's compile time does not
    include starting the backend."""
    compile_seconds(_trivial, _inputs((2, 8), "graded"))


def _fmt(seconds):
    return "-" if seconds is None else f"{seconds * 1e3:.3g}"


def _contenders(row, loss, shape, kind, budget_gib):
    """The workloads to time for one row; marks unavailable peers in ``row``."""
    works = {}
    for peer in PEERS:
        if not _fits(peer, shape, budget_gib):
            row[peer] = "too big"
            continue
        work = _workload(peer, loss, shape, kind)
        if work is None:
            row[peer] = "n/a"
        else:
            works[peer] = work
    works["floor"] = _workload(_floor_peer(shape), loss, shape, kind)
    return works


def _peak_cell(loss, shape, kind):
    mem = _peak_mib("jaxrank", loss, shape, kind)
    base = _peak_mib(_floor_peer(shape), loss, shape, kind)
    return "-" if mem is None or base is None else f"{mem:.0f} / {base:.0f}"


def _measure(
    loss, shape, kind, *, repeats, min_seconds, budget_gib, memory, compile_repeats
):
    """Times one workload's contenders; returns the row and its table cells."""
    row = {"loss": loss, "shape": shape, "labels": kind}
    row.update(_compile_pair(loss, shape, kind, compile_repeats))
    works = _contenders(row, loss, shape, kind, budget_gib)
    timed = _time_side_by_side(works, repeats, min_seconds)
    row.update({name: seconds for name, (seconds, _) in timed.items()})
    peers = [row[p] for p in ("keras_rs", "rax") if isinstance(row[p], float)]
    mine = row["jaxrank"] if isinstance(row["jaxrank"], float) else None
    cells = [str(shape), kind]
    cells += _compile_cells(row)
    cells += [v if isinstance(v, str) else _fmt(v) for v in (row[p] for p in PEERS)]
    cells += [
        f"{_fmt(row['floor'])} ({_floor_peer(shape)})",
        f"{min(peers) / mine:.1f}" if peers and mine else "-",
        f"{mine / row['floor']:.2f}" if mine else "-",
        _peak_cell(loss, shape, kind) if memory and mine else "-",
    ]
    row["floor_kind"] = _floor_peer(shape)
    row["peak_mib"] = cells[-1]
    row["recompiled"] = not all(once for _, once in timed.values())
    if row["recompiled"]:
        cells[-1] += " RECOMPILED"
    return row, cells


def _print_table_header(loss):
    header = (
        "shape",
        "labels",
        *COMPILE_HEADER,
        *PEERS,
        "floor",
        "x faster peer",
        "x floor",
        "peak MiB (jaxrank / floor)",
    )
    print(f"\n## {loss}")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))


def _kinds(shape, real_from):
    return ["graded"] + (["real"] if shape[-1] >= real_from else [])


def run_benchmark(
    losses,
    shapes,
    repeats,
    min_seconds,
    budget_gib,
    memory,
    real_from,
    compile_repeats=1,
):
    """Prints one table per loss; returns the rows as dicts."""
    print(
        f"device: {jax.devices()[0].device_kind} ({jax.default_backend()}), "
        f"jax {jax.__version__}; ms = median of at least {repeats} interleaved "
        f"rounds (and {min_seconds:g} s), jit(value_and_grad); compile s = trace, "
        f"lower and compile of a fresh function, fastest of {compile_repeats}"
    )
    _warm_up_compiler()
    rows = []
    for loss in losses:
        _print_table_header(loss)
        for shape in shapes:
            for kind in _kinds(shape, real_from):
                row, cells = _measure(
                    loss,
                    shape,
                    kind,
                    repeats=repeats,
                    min_seconds=min_seconds,
                    budget_gib=budget_gib,
                    memory=memory,
                    compile_repeats=compile_repeats,
                )
                print("| " + " | ".join(cells) + " |", flush=True)
                rows.append(row)
    return rows


def run_compile(losses, shapes, real_from, compile_repeats=1):
    """Prints only the compile times, one table row per loss and shape (no runs);
    returns the rows as dicts."""
    print(
        f"device: {jax.devices()[0].device_kind} ({jax.default_backend()}), "
        f"jax {jax.__version__}; compile s = trace, lower and compile of "
        f"jit(value_and_grad) of a fresh function, fastest of {compile_repeats}"
    )
    _warm_up_compiler()
    header = ("loss", "shape", "labels", *COMPILE_HEADER)
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    rows = []
    for loss in losses:
        for shape in shapes:
            for kind in _kinds(shape, real_from):
                row = {"loss": loss, "shape": shape, "labels": kind}
                row.update(_compile_pair(loss, shape, kind, compile_repeats))
                cells = [loss, str(shape), kind, *_compile_cells(row)]
                print("| " + " | ".join(cells) + " |", flush=True)
                rows.append(row)
    return rows


def _ms(value):
    """A row's seconds as milliseconds; a peer's reason (``"n/a"``, ``"too big"``)
    or a missing figure unchanged."""
    return value * 1e3 if isinstance(value, float) else value


def json_record(row):
    """One row of :func:`run_benchmark` or :func:`run_compile` as a JSON-ready dict.

    Keys: ``loss``, ``shape`` (a list), ``labels``, ``compile_s`` and
    ``optax_compile_s`` (seconds, None if unavailable), ``compile_ratio``,
    ``run_ms`` (jaxrank's median milliseconds), ``peers`` (``{"keras_rs": ms,
    "rax": ms}``; a string where the peer has no such loss or would not fit),
    ``floor`` (``{"kind": "trivial" | "argsort", "run_ms": ms}``), ``peak_mib``
    (``"jaxrank / floor"``), ``recompiled`` and ``device`` (``{"kind": ...,
    "platform": ...}``); the run figures are None after ``--compile-only``.
    """
    device = jax.devices()[0]
    return {
        "loss": row["loss"],
        "shape": list(row["shape"]),
        "labels": row["labels"],
        "compile_s": row["compile_s"],
        "optax_compile_s": row["optax_compile_s"],
        "compile_ratio": row["compile_ratio"],
        "run_ms": _ms(row.get("jaxrank")),
        "peers": {peer: _ms(row.get(peer)) for peer in PEERS if peer != "jaxrank"},
        "floor": {"kind": row.get("floor_kind"), "run_ms": _ms(row.get("floor"))},
        "peak_mib": row.get("peak_mib"),
        "recompiled": row.get("recompiled"),
        "device": {"kind": device.device_kind, "platform": device.platform},
        "jax": jax.__version__,
    }


def write_json(rows, path):
    """Writes :func:`json_record` of every row to ``path``, one per line."""
    with open(path, "w") as f:
        for row in rows:
            f.write(json.dumps(json_record(row)) + "\n")


def plot_records(records, path):
    """Draws :func:`json_record` rows as grouped bars and saves them to ``path``.

    One group per workload (loss, shape, labels), one bar per contender (jaxrank,
    keras_rs, rax, the floor) on a log scale of milliseconds; a peer that was not
    run is named under its slot instead ("too big", "n/a"). The title gives the
    device and JAX version of the first row. A saved ``--json`` file replots with
    ``plot_records([json.loads(line) for line in open(p)], "out.png")``.
    """
    from matplotlib.figure import Figure  # no pyplot: no global state, any backend

    contenders = ("jaxrank", "keras_rs", "rax", "floor")
    width = 0.8 / len(contenders)
    fig = Figure(figsize=(max(6.0, 1.6 * len(records)), 4.0), layout="constrained")
    ax = fig.subplots()
    for c, name in enumerate(contenders):
        for r, rec in enumerate(records):
            value = {
                "jaxrank": rec["run_ms"],
                "floor": rec["floor"]["run_ms"],
            }.get(name, rec["peers"].get(name))
            x = r + (c - (len(contenders) - 1) / 2) * width
            if isinstance(value, (int, float)):
                ax.bar(x, value, width, color=f"C{c}", label=name if r == 0 else None)
            else:
                ax.text(
                    x,
                    0.02,  # at the foot of the axes, whatever the scale
                    str(value or "-"),
                    rotation=90,
                    ha="center",
                    va="bottom",
                    fontsize=7,
                    transform=ax.get_xaxis_transform(),
                )
    ax.set_yscale("log")
    ax.set_ylabel("ms, jit(value_and_grad), median")
    ax.set_xticks(
        range(len(records)),
        [
            f"{rec['loss']}\n{tuple(rec['shape'])}"
            + ("" if rec["labels"] == "graded" else f"\n{rec['labels']} labels")
            for rec in records
        ],
        fontsize=8,
    )
    if records:
        device = records[0]["device"]
        ax.set_title(
            f"{device['kind']} ({device['platform']}), jax {records[0]['jax']}"
        )
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=120)


PAIRWISE = tuple(name for name in LOSSES if name.startswith("pairwise"))


def _packed_queries(queries, min_items, max_items, seed=0):
    """``(packed, padded)`` inputs of the same queries: a row ``(scores, labels,
    segments)`` of all their items, and ``(scores, labels)`` padded with label -1."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(min_items, max_items + 1, queries)
    total = int(lengths.sum())
    scores = rng.normal(size=total).astype(np.float32)
    labels = _labels("graded", total, rng)
    query = np.repeat(np.arange(queries), lengths)
    slot = np.concatenate([np.arange(k) for k in lengths])
    padded_scores = np.zeros((queries, max_items), np.float32)
    padded_labels = np.full((queries, max_items), -1.0, np.float32)
    padded_scores[query, slot], padded_labels[query, slot] = scores, labels
    packed = tuple(jnp.asarray(x) for x in (scores, labels, query))
    return packed, (jnp.asarray(padded_scores), jnp.asarray(padded_labels)), slot


def _temp_mib(fn, args):
    compiled = jax.jit(fn).lower(*args).compile()
    return compiled.memory_analysis().temp_size_in_bytes / 2**20


def _rel_diff(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-30))


def run_packed(queries, min_items, max_items, repeats, min_seconds):
    """Prints packed-row against padded-batch timings of every pairwise loss (the
    ``"sum"`` reduction, where the two are equal); returns the rows as dicts."""
    packed, padded, slot = _packed_queries(queries, min_items, max_items)
    total = packed[0].shape[0]
    print(
        f"device: {jax.devices()[0].device_kind} ({jax.default_backend()}), "
        f"jax {jax.__version__}; {queries} queries of {min_items}-{max_items} "
        f"items: padded ({queries}, {max_items}) vs one packed row of {total} "
        f"items; ms = median of at least {repeats} interleaved rounds (and "
        f"{min_seconds:g} s), jit(value_and_grad), reduction='sum'"
    )
    header = (
        "loss",
        "padded ms",
        "packed ms",
        "packed / padded",
        "temp MiB padded",
        "temp MiB packed",
        "max rel diff (value, grad)",
    )
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    rows = []
    for loss in PAIRWISE:
        fn = getattr(jaxrank, LOSSES[loss].jaxrank)

        def padded_loss(s, y, fn=fn):
            return fn(s, y, reduction="sum")

        def packed_loss(s, y, segments, fn=fn):
            return fn(s, y, segments=segments, reduction="sum")

        works = {
            "padded": (TraceCountingJit(jax.value_and_grad(padded_loss)), padded),
            "packed": (TraceCountingJit(jax.value_and_grad(packed_loss)), packed),
        }
        timed = _time_side_by_side(works, repeats, min_seconds)
        (value, grad), (packed_value, packed_grad) = (
            fn(*args) for fn, args in works.values()
        )
        query = np.asarray(packed[2])
        diff = (
            _rel_diff(packed_value, value),
            _rel_diff(packed_grad, grad[query, slot]),
        )
        row = {
            "loss": loss,
            **{name: seconds for name, (seconds, _) in timed.items()},
            "temp_padded": _temp_mib(jax.value_and_grad(padded_loss), padded),
            "temp_packed": _temp_mib(jax.value_and_grad(packed_loss), packed),
            "diff": diff,
        }
        cells = [
            loss,
            _fmt(row["padded"]),
            _fmt(row["packed"]),
            f"{row['packed'] / row['padded']:.2f}",
            f"{row['temp_padded']:.1f}",
            f"{row['temp_packed']:.1f}",
            f"{diff[0]:.1e}, {diff[1]:.1e}",
        ]
        if not all(once for _, once in timed.values()):
            cells[-1] += " RECOMPILED"
        print("| " + " | ".join(cells) + " |", flush=True)
        rows.append(row)
    return rows


@jax.jit
def _hinge_losses_and_grad(scores, labels, cotangent):
    """Per-item sorted hinge losses and the VJP of ``cotangent`` through them."""

    def item_losses(s):
        return jaxrank.pairwise_hinge_loss(s, labels, method="sorted", reduction="none")

    losses, vjp = jax.vjp(item_losses, scores)
    return losses, vjp(cotangent)[0]


def _float32_and_float64(scores, labels, cotangent):
    """Losses and gradient in float32, and in float64 on the same (exactly cast)
    inputs; all four as float64 NumPy arrays."""
    got = _hinge_losses_and_grad(scores, labels, cotangent)
    got = [np.asarray(x, np.float64) for x in got]
    with jax.enable_x64(True):
        ref = _hinge_losses_and_grad(
            *(jnp.asarray(x, jnp.float64) for x in (scores, labels, cotangent))
        )
        ref = [np.asarray(x, np.float64) for x in ref]
    return (*got, *ref)


def _errors(losses, grad, ref, ref_grad):
    positive = ref > 0
    rel = np.abs(losses - ref)[positive] / ref[positive]
    scale = np.max(np.abs(ref_grad))
    return {
        "loss_max_rel_err": float(rel.max()) if rel.size else 0.0,
        "loss_median_rel_err": float(np.median(rel)) if rel.size else 0.0,
        "positive_items": int(positive.sum()),
        "zero_losses_exact": bool(np.all(losses[~positive] == 0)),
        "grad_err": float(np.max(np.abs(grad - ref_grad)) / scale) if scale else 0.0,
    }


# --precision rounds its scores to multiples of 2^-SCORE_GRID_BITS in (-8, 8): 24
# significant bits, so every score, difference and margin sign is exact in float32.
SCORE_GRID_BITS = 20


def _dyadic_scores(rng, n):
    """Random normal scores rounded to the grid of :data:`SCORE_GRID_BITS`, float32."""
    step = 2.0**-SCORE_GRID_BITS
    scores = np.round(rng.normal(size=n) / step) * step
    return np.clip(scores, -8 + step, 8 - step).astype(np.float32)


def run_precision(n=2**20, seed=0):
    """Rounding error of the float32 sorted hinge on one list of ``n`` items.

    Evaluates ``jaxrank.pairwise_hinge_loss(scores, labels, method="sorted",
    reduction="none")`` and ``jax.vjp`` of it with ``T = 1``, for graded labels 0..4
    and for real labels in ``[0, 1)``, and for two cotangents: a random one per item
    (the general backward pass) and one shared by the list (what every reduction
    without per-item weights hands in, which takes a shortcut). For each it prints
    the maximum (and median) relative error of the per-item losses over the items
    with a positive loss, whether zero losses are exactly zero, and the gradient's
    maximum absolute error divided by its largest magnitude.

    The reference is the same public loss evaluated in float64 (under
    ``jax.enable_x64``) on the same inputs cast exactly to float64. It is therefore
    not an independent implementation: it measures the rounding error of the float32
    arithmetic (its compensated sums included) against float64 arithmetic, not the
    algorithm's correctness, which the test suite checks against independent
    references. So that both evaluations find the same pairs, the scores are random
    normal values rounded to multiples of ``2^-20`` in ``(-8, 8)``: every score
    difference is then exact in float32 and the margin test
    ``1 - (s_i - s_j) / T > 0`` has the same outcome in both dtypes, which leaves
    only the rounding of sums and products to measure (with unrounded scores a few
    pairs within float32 rounding of the kink would count in one evaluation only,
    moving some gradient entries by a whole ``1 / T``).

    Args:
      n: the list length.
      seed: seeds the scores, labels and random cotangent.

    Returns:
      One dict per (labels, cotangent) with the printed figures.
    """
    rng = np.random.default_rng(seed)
    scores = _dyadic_scores(rng, n)
    cotangents = {
        "random": rng.normal(size=n).astype(np.float32),
        "uniform": np.ones(n, np.float32),
    }
    print(
        f"precision at n = {n} (float32 vs float64), random normal scores on a "
        f"2^-{SCORE_GRID_BITS} grid, T = 1"
    )
    results = []
    for kind in ("graded", "real"):
        labels = _labels(kind, (n,), rng)
        for name, cotangent in cotangents.items():
            err = _errors(*_float32_and_float64(scores, labels, cotangent))
            print(
                f"  {kind:6s} labels, {name:7s} cotangent: per-item loss max rel err "
                f"{err['loss_max_rel_err']:.2e} (median "
                f"{err['loss_median_rel_err']:.1e}, {err['positive_items']} items "
                f"with loss > 0; zero losses exact: {err['zero_losses_exact']}); "
                f"grad max abs err / max|grad| {err['grad_err']:.2e}"
            )
            results.append({"labels": kind, "cotangent": name, **err})
    return results


def _size(text):
    """``"2**20"`` -> ``1048576``."""
    base, _, power = text.strip().partition("**")
    return int(base) ** int(power or 1)


def _shape(text):
    """``"1,2**20"`` -> ``(1, 1048576)``."""
    return tuple(_size(part) for part in text.split(","))


_FLAGS = {
    "--losses": dict(nargs="+", default=["pairwise_hinge"], choices=sorted(LOSSES)),
    "--shapes": dict(
        nargs="+",
        type=_shape,
        default=list(DEFAULT_SHAPES),
        help='shapes as "lists,n", e.g. 256,32 1,2**20',
    ),
    "--repeats": dict(type=int, default=7, help="at least this many rounds"),
    "--min-seconds": dict(
        type=float, default=1.0, help="and rounds until this long, per workload"
    ),
    "--mem-budget-gib": dict(
        type=float,
        default=16.0,
        help="skip a dense peer whose pair tensors would exceed this",
    ),
    "--no-memory": dict(
        action="store_true", help="skip the per-workload peak-memory subprocesses"
    ),
    "--real-from": dict(
        type=int,
        default=2**20,
        help="also time arbitrary real labels for lists this long",
    ),
    "--compile-only": dict(
        action="store_true",
        help="only time compilation, against optax's ranking_softmax_loss",
    ),
    "--compile-repeats": dict(
        type=int,
        default=3,
        help="compile each loss this many times and keep the fastest",
    ),
    "--json": dict(
        metavar="PATH",
        help="also write the rows to PATH, one JSON object per line",
    ),
    "--plot": dict(
        metavar="PATH",
        help="also draw the rows as a PNG at PATH (needs matplotlib)",
    ),
    "--packed": dict(
        action="store_true",
        help="only compare one packed row (segments=) with the padded batch",
    ),
    "--queries": dict(type=int, default=512, help="queries for --packed"),
    "--min-items": dict(type=int, default=16, help="shortest query for --packed"),
    "--max-items": dict(type=int, default=128, help="longest query for --packed"),
    "--precision": dict(
        action="store_true",
        help="only run the float32-vs-float64 check of the sorted hinge",
    ),
    "--precision-n": dict(
        type=_size,
        default=2**20,
        help="list length for --precision, e.g. 2**20 (the default)",
    ),
}


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m jaxrank.benchmark", description=__doc__.split("\n\n")[0]
    )
    for flag, options in _FLAGS.items():
        parser.add_argument(flag, **options)
    return parser


def main(argv=None):
    args = _parser().parse_args(argv)
    if args.precision:
        run_precision(args.precision_n)
        return
    if args.packed:
        run_packed(
            args.queries, args.min_items, args.max_items, args.repeats, args.min_seconds
        )
        return
    if args.compile_only:
        rows = run_compile(
            args.losses, args.shapes, args.real_from, args.compile_repeats
        )
    else:
        rows = run_benchmark(
            args.losses,
            args.shapes,
            args.repeats,
            args.min_seconds,
            args.mem_budget_gib,
            not args.no_memory,
            args.real_from,
            args.compile_repeats,
        )
    if args.json:
        write_json(rows, args.json)
    if args.plot:
        plot_records([json_record(row) for row in rows], args.plot)


if __name__ == "__main__":
    main()
