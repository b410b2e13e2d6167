"""Tests of jaxrank.metrics: float64 references, keras_rs parity, ties, accumulation."""

import functools
import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import keras_rs
import numpy as np
import pytest
from flax import nnx
from hypothesis import given, settings
from hypothesis import strategies as st

import reference_metrics as ref
from jaxrank import metrics

FUNCTIONS = {
    "ndcg": (metrics.ndcg, ref.ndcg, True),
    "dcg": (metrics.dcg, ref.dcg, True),
    "reciprocal_rank": (
        metrics.reciprocal_rank,
        ref.mean_reciprocal_rank,
        False,
    ),
    "average_precision": (
        metrics.average_precision,
        ref.mean_average_precision,
        True,
    ),
    "precision_at_k": (metrics.precision_at_k, ref.precision_at_k, False),
    "recall_at_k": (metrics.recall_at_k, ref.recall_at_k, False),
}
CLASSES = [
    "NDCG",
    "DCG",
    "MeanReciprocalRank",
    "MeanAveragePrecision",
    "PrecisionAtK",
    "RecallAtK",
]
PARITY_CASES = 20  # random tie-free batches per metric class


@pytest.fixture(autouse=True)
def strict_dtypes():
    with jax.numpy_dtype_promotion("strict"):
        yield


def keras_value(metric, *batches):
    """keras_rs's result after one update_state per batch (it needs lax numpy rules)."""
    with jax.numpy_rank_promotion("allow"), jax.numpy_dtype_promotion("standard"):
        for y_true, y_pred, sample_weight in batches:
            metric.update_state(y_true, y_pred, sample_weight=sample_weight)
        return float(metric.result())


@st.composite
def ranking_batches(draw):
    """Small batches with score ties, -1 labels, masks, weights and a cut-off."""
    # Few distinct shapes, so eager ops compile few times; -1 labels and masks
    # vary the effective list lengths.
    shape = draw(st.sampled_from([(5,), (2, 1), (3, 5), (2, 2, 4)]))
    size = int(np.prod(shape))
    scores = np.array(draw(st.lists(st.integers(-3, 3), min_size=size, max_size=size)))
    labels = np.array(draw(st.lists(st.integers(-1, 3), min_size=size, max_size=size)))
    halves = draw(st.booleans())  # fractional labels exercise the >= 1 threshold
    where = np.array(draw(st.lists(st.booleans(), min_size=size, max_size=size)))
    weights = np.array(draw(st.lists(st.integers(0, 4), min_size=size, max_size=size)))
    return {
        "scores": (scores.reshape(shape) / 2).astype(np.float32),
        "labels": (labels.reshape(shape) / (2 if halves else 1)).astype(np.float32),
        "where": where.reshape(shape) if draw(st.booleans()) else None,
        "weights": weights.reshape(shape) / 2 if draw(st.booleans()) else None,
        "k": draw(st.sampled_from([None, 1, 2, 4, 9])),
    }


@pytest.mark.parametrize("name", FUNCTIONS)
@settings(max_examples=25, deadline=None)
@given(batch=ranking_batches())
def test_functions_match_float64_reference(name, batch):
    fn, reference, takes_weights = FUNCTIONS[name]
    options = {"where": batch["where"], "k": batch["k"]}
    if takes_weights:
        options["weights"] = batch["weights"]
    got = fn(batch["scores"], batch["labels"], **options)
    want = reference(batch["scores"], batch["labels"], **options)
    assert got.shape == batch["scores"].shape[:-1]
    assert got.dtype == jnp.float32
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_gain_discount_and_no_relevant_value_match_reference(rng):
    scores = rng.normal(size=(4, 5)).astype(np.float32)
    labels = rng.integers(-1, 3, size=(4, 5)).astype(np.float32)
    labels[0] = [0, 0, -1, 0, 0]
    options = {"k": 3, "gain_fn": lambda y: y - 0.5, "discount_fn": lambda r: 1.0 / r}
    for fn, reference in [(metrics.ndcg, ref.ndcg), (metrics.dcg, ref.dcg)]:
        got = fn(scores, labels, **options)
        want = reference(
            scores, labels, k=3, gain=lambda y: y - 0.5, discount=lambda r: 1.0 / r
        )
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    got = metrics.ndcg(scores, labels, no_relevant_value=1.0)
    np.testing.assert_allclose(
        got, ref.ndcg(scores, labels, no_relevant_value=1.0), rtol=1e-6
    )
    assert got[0] == 1.0


def _tie_free_batch(rng, case):
    """A random (3, 6) batch without score ties, cycling through keras_rs's input forms.

    Shapes stay fixed so that keras_rs's eager ops compile once.
    """
    shape = (3, 6)
    y_pred = (rng.permutation(18).reshape(shape) / 5.0 - 1.0).astype(np.float32)
    y_true = rng.integers(-1, 4, size=shape).astype(np.float32)
    if case % 4 == 3:  # fractional labels
        y_true = np.where(y_true >= 0, y_true + 0.9 * rng.random(shape), y_true)
    form = case % 7
    if form == 6:  # one unbatched list, with per-item weights
        return y_true[0], y_pred[0], rng.random(6)
    if form == 5:
        return {"labels": y_true, "mask": rng.random(shape) > 0.3}, y_pred, None
    sample_weight = [
        None,
        rng.random(shape) * (rng.random(shape) > 0.2),  # per item, some 0
        rng.random(3) * 2.0,  # per list
        np.float32(1.5),
        rng.random((3, 1)),
    ][form]
    return y_true, y_pred, sample_weight


@pytest.mark.parametrize("name", CLASSES)
def test_classes_match_keras_rs(name, rng):
    compared = 0
    for case in range(PARITY_CASES):
        k = [None, 1, 2, 3, 10][case % 5]
        y_true, y_pred, sample_weight = _tie_free_batch(rng, case)
        want = keras_value(
            getattr(keras_rs.metrics, name)(k=k), (y_true, y_pred, sample_weight)
        )
        got = getattr(metrics, name)(k=k)(y_true, y_pred, sample_weight)
        np.testing.assert_allclose(
            got, want, rtol=1e-5, atol=1e-6, err_msg=f"case {case}"
        )
        compared += 1
    assert compared == PARITY_CASES


@pytest.mark.parametrize("name", ["NDCG", "DCG"])
def test_gain_classes_match_keras_rs_with_custom_functions(name, rng):
    # gain(0) != 0 and negative item weights exercise keras_rs's list weights.
    options = {"gain_fn": lambda y: y + 1.0, "rank_discount_fn": lambda r: 1.0 / r}
    for case in range(8):
        y_true, y_pred, _ = _tie_free_batch(rng, 0)
        weights = rng.random(y_pred.shape) * 2.0 - 0.3
        k = [None, 2][case % 2]
        want = keras_value(
            getattr(keras_rs.metrics, name)(k=k, **options), (y_true, y_pred, weights)
        )
        got = getattr(metrics, name)(k=k, **options)(y_true, y_pred, weights)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["NDCG", "MeanAveragePrecision", "PrecisionAtK"])
def test_accumulating_batches_matches_keras_rs_update_state(name, rng):
    metric = getattr(metrics, name)(k=3)
    step = jax.jit(metric.update)
    for _ in range(4):
        batches = [
            (
                rng.integers(-1, 4, size=(3, 5)).astype(np.float32),
                rng.permutation(15).reshape(3, 5).astype(np.float32),
                rng.random((3, 5)) * (rng.random((3, 5)) > 0.2),
            )
            for _ in range(3)
        ]
        state = metrics.WeightedMean.empty()
        for batch in batches:
            state = step(state, *batch)
        want = keras_value(getattr(keras_rs.metrics, name)(k=3), *batches)
        np.testing.assert_allclose(state.compute(), want, rtol=1e-5, atol=1e-6)


def test_ties_break_by_position_and_key_shuffles_them():
    scores = jnp.zeros((3,))
    labels = jnp.array([0.0, 0.0, 1.0])
    # Equal scores: item 0 ranks first, item 2 last.
    assert metrics.reciprocal_rank(scores, labels) == pytest.approx(1 / 3)
    assert metrics.reciprocal_rank(scores, labels[::-1]) == 1.0
    keys = jax.random.split(jax.random.key(0), 60)
    rr = jax.vmap(lambda key: metrics.reciprocal_rank(scores, labels, key=key))(keys)
    np.testing.assert_allclose(
        sorted(set(np.round(np.asarray(rr), 5))), [1 / 3, 1 / 2, 1.0], rtol=1e-4
    )
    # A key changes nothing without ties.
    distinct = jnp.array([0.3, 0.1, 0.2])
    with_key = metrics.reciprocal_rank(distinct, labels, key=keys[0])
    assert with_key == metrics.reciprocal_rank(distinct, labels) == 0.5


def test_ties_agree_with_keras_rs_where_the_value_is_tie_invariant(rng):
    # Ties only among items of equal label: every tie order gives the same value.
    y_true = np.array([[2.0, 2.0, 0.0, 1.0, 0.0], [1.0, 1.0, 1.0, 0.0, 0.0]])
    y_pred = np.array([[0.5, 0.5, 0.9, 0.1, 0.9], [0.2, 0.2, 0.2, 0.7, 0.7]])
    for name in CLASSES:
        want = keras_value(getattr(keras_rs.metrics, name)(k=3), (y_true, y_pred, None))
        got = getattr(metrics, name)(k=3)(y_true, y_pred)
        np.testing.assert_allclose(got, want, rtol=1e-6, err_msg=name)


def test_class_seed_gives_a_fixed_random_tie_break():
    y_true, y_pred = np.array([[0.0, 0.0, 0.0, 1.0]]), np.zeros((1, 4))
    assert metrics.MeanReciprocalRank()(y_true, y_pred) == 0.25  # by position
    seeded = [
        float(metrics.MeanReciprocalRank(seed=s)(y_true, y_pred)) for s in range(12)
    ]
    reciprocal_ranks = {round(1 / value) for value in seeded}
    assert reciprocal_ranks > {4} and reciprocal_ranks <= {1, 2, 3, 4}
    again = metrics.MeanReciprocalRank(seed=3)
    assert again(y_true, y_pred) == again(y_true, y_pred) == seeded[3]
    unshuffled = metrics.MeanReciprocalRank(shuffle_ties=False, seed=3)
    assert unshuffled(y_true, y_pred) == 0.25


@pytest.mark.parametrize("name", FUNCTIONS)
def test_ignored_items_all_masked_lists_and_nan(name):
    fn = FUNCTIONS[name][0]
    scores = jnp.array(
        [[0.5, jnp.nan, jnp.inf, 0.1], [1.0, 2.0, 3.0, 4.0], [jnp.nan, 0.0, 1.0, 2.0]]
    )
    labels = jnp.array(
        [[1.0, 2.0, 0.0, 0.0], [1.0, 0.0, 2.0, 1.0], [1.0, 0.0, 0.0, 0.0]]
    )
    where = jnp.array(
        [[True, False, False, True], [False, False, False, False], [True] * 4]
    )
    got = fn(scores, labels, where=where)
    # A padded NaN/inf on an ignored item changes nothing.
    np.testing.assert_allclose(got[0], fn(jnp.array([0.5, 0.1]), jnp.array([1.0, 0.0])))
    assert got[1] == 0.0  # an all-masked list
    assert jnp.isnan(got[2])  # a NaN score on a valid item
    # -1 labels ignore items exactly as the mask does.
    minus_one = jnp.where(where, labels, -1.0)
    np.testing.assert_array_equal(fn(scores, minus_one), got)
    if name == "ndcg":
        assert fn(scores, labels, where=where, no_relevant_value=1.0)[1] == 1.0


@pytest.mark.parametrize("name", FUNCTIONS)
def test_k_larger_than_list_equals_whole_list(name, rng):
    fn = FUNCTIONS[name][0]
    scores = rng.normal(size=(3, 4)).astype(np.float32)
    labels = rng.integers(-1, 3, size=(3, 4))
    np.testing.assert_array_equal(fn(scores, labels, k=4), fn(scores, labels))
    np.testing.assert_array_equal(fn(scores, labels, k=50), fn(scores, labels))


@pytest.mark.parametrize("name", FUNCTIONS)
def test_jit_vmap_and_leading_axes(name, rng):
    fn = FUNCTIONS[name][0]
    scores = rng.normal(size=(2, 3, 5)).astype(np.float32)
    labels = rng.integers(-1, 3, size=(2, 3, 5))
    eager = fn(scores, labels, k=2)
    jitted = jax.jit(functools.partial(fn, k=2))(scores, labels)
    mapped = jax.vmap(jax.vmap(functools.partial(fn, k=2)))(scores, labels)
    rows = fn(scores.reshape(6, 5), labels.reshape(6, 5), k=2).reshape(2, 3)
    assert eager.shape == (2, 3)
    np.testing.assert_allclose(jitted, eager, rtol=1e-6)
    np.testing.assert_allclose(mapped, eager, rtol=1e-6)
    np.testing.assert_array_equal(rows, eager)


def test_low_precision_scores_compute_in_float32(rng):
    scores = rng.normal(size=(3, 6)).astype(np.float32)
    labels = rng.integers(0, 3, size=(3, 6))
    low = jnp.asarray(scores, jnp.bfloat16)
    got = metrics.ndcg(low, labels)
    assert got.dtype == jnp.float32
    np.testing.assert_allclose(
        got, ref.ndcg(np.asarray(low, np.float32), labels), rtol=1e-5
    )


def test_weighted_mean_over_batches_equals_one_batch_and_merges_across_devices(rng):
    scores = rng.normal(size=(4, 3, 6)).astype(np.float32)
    labels = rng.integers(-1, 3, size=(4, 3, 6))
    weights = rng.random((4, 3)).astype(np.float32)

    @jax.jit
    def step(state, scores, labels, weights):
        return state.update(metrics.ndcg(scores, labels, k=3), weights)

    state = metrics.WeightedMean.empty()
    for i in range(4):
        state = step(state, scores[i], labels[i], weights[i])
    whole = metrics.ndcg(scores.reshape(12, 6), labels.reshape(12, 6), k=3)
    want = np.sum(np.asarray(whole) * weights.reshape(12)) / weights.sum()
    np.testing.assert_allclose(state.compute(), want, rtol=1e-5)

    # Four "devices", one batch each, reduced with psum (as in shard_map/pmap).
    def per_device(scores, labels, weights):
        local = metrics.WeightedMean.empty().update(
            metrics.ndcg(scores, labels, k=3), weights
        )
        return jax.lax.psum(local, "devices")

    summed = jax.vmap(per_device, axis_name="devices")(scores, labels, weights)
    np.testing.assert_allclose(summed.compute()[0], want, rtol=1e-5)
    halves = [
        metrics.WeightedMean.empty().update(
            metrics.ndcg(scores[h], labels[h], k=3), weights[h]
        )
        for h in (slice(0, 2), slice(2, 4))
    ]
    np.testing.assert_allclose(halves[0].merge(halves[1]).compute(), want, rtol=1e-5)
    assert metrics.WeightedMean.empty().compute() == 0.0


def test_per_list_values_feed_flax_nnx_average(rng):
    scores = rng.normal(size=(2, 4, 5)).astype(np.float32)
    labels = rng.integers(0, 3, size=(2, 4, 5))
    average = nnx.metrics.Average()
    with jax.numpy_dtype_promotion("standard"):  # nnx's Average mixes int and float
        for i in range(2):
            average.update(values=metrics.reciprocal_rank(scores[i], labels[i]))
        got = average.compute()
    want = ref.mean_reciprocal_rank(scores, labels).mean()
    np.testing.assert_allclose(got, want, rtol=1e-6)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: metrics.ndcg(jnp.arange(3), jnp.ones(3)), TypeError, "scores"),
        (lambda: metrics.ndcg(jnp.ones(3), jnp.ones(4)), ValueError, "labels"),
        (
            lambda: metrics.ndcg(jnp.ones(3), jnp.ones(3), where=jnp.ones(3)),
            TypeError,
            "where",
        ),
        (lambda: metrics.ndcg(jnp.ones(3), jnp.ones(3), k=0), ValueError, "k"),
        (lambda: metrics.recall_at_k(jnp.ones(3), jnp.ones(3), k=1.5), ValueError, "k"),
        (
            lambda: metrics.dcg(
                jnp.ones((2, 3)), jnp.ones((2, 3)), weights=jnp.ones(4)
            ),
            ValueError,
            "weights",
        ),
        (
            lambda: metrics.ndcg(jnp.ones(3), jnp.ones(3), gain_fn=jnp.sum),
            ValueError,
            "gain_fn",
        ),
        (
            lambda: metrics.NDCG()(np.ones((1, 2, 3)), np.ones((1, 2, 3))),
            ValueError,
            "y_true",
        ),
        (
            lambda: metrics.NDCG()(np.ones((2, 3)), np.ones((3, 2))),
            ValueError,
            "same shape",
        ),
        (
            lambda: metrics.NDCG()({"mask": np.ones((2, 3))}, np.ones((2, 3))),
            ValueError,
            "labels",
        ),
        (
            lambda: metrics.NDCG()(np.ones((2, 3)), np.ones((2, 3)), np.ones(4)),
            ValueError,
            "sample_weight",
        ),
        (lambda: metrics.PrecisionAtK(k=-1), ValueError, "k"),
    ],
)
def test_bad_input_raises_naming_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_class_config_round_trip():
    metric = metrics.NDCG(k=5, rank_discount_fn=lambda r: 1.0 / r, name="ndcg5")
    clone = metrics.NDCG.from_config(metric.get_config())
    y_true, y_pred = np.array([[0.0, 1.0, 2.0]]), np.array([[0.3, 0.1, 0.2]])
    assert clone(y_true, y_pred) == metric(y_true, y_pred)
    assert clone.get_config()["k"] == 5 and clone.name == "ndcg5"


SHARDED_EVAL_SCRIPT = """
import json
import jax, jax.numpy as jnp, numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
from jaxrank import metrics

jax.config.update("jax_numpy_rank_promotion", "raise")
rng = np.random.default_rng(0)
batches = [
    (rng.normal(size=(16, 10)).astype(np.float32),
     rng.integers(-1, 4, size=(16, 10)).astype(np.float32))
    for _ in range(3)
]

@jax.jit
def step(state, scores, labels):
    return state.update(metrics.ndcg(scores, labels, k=5))

mesh = Mesh(np.array(jax.devices()), ("batch",))
rows = NamedSharding(mesh, P("batch"))
state = metrics.WeightedMean.empty()
for scores, labels in batches:
    state = step(state, jax.device_put(scores, rows), jax.device_put(labels, rows))

def local(scores, labels):
    part = metrics.WeightedMean.empty().update(metrics.ndcg(scores, labels, k=5))
    return jax.tree.map(lambda x: jax.lax.psum(x, "batch"), part)

psummed = jax.jit(jax.shard_map(
    local, mesh=mesh, in_specs=(P("batch"), P("batch")), out_specs=P()))
merged = metrics.WeightedMean.empty()
for scores, labels in batches:
    merged = merged.merge(psummed(scores, labels))

all_scores = np.concatenate([b[0] for b in batches])
all_labels = np.concatenate([b[1] for b in batches])
single = float(jnp.mean(metrics.ndcg(all_scores, all_labels, k=5)))
print(json.dumps({"devices": jax.device_count(), "jit": float(state.compute()),
                  "shard_map": float(merged.compute()), "single": single}))
"""


def test_weighted_mean_over_sharded_batches_on_eight_devices():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8")
    proc = subprocess.run(
        [sys.executable, "-c", SHARDED_EVAL_SCRIPT],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["devices"] == 8
    assert 0.0 < out["single"] < 1.0
    np.testing.assert_allclose(out["jit"], out["single"], rtol=1e-6)
    np.testing.assert_allclose(out["shard_map"], out["single"], rtol=1e-6)


@pytest.mark.parametrize(
    "old, new",
    [
        ("mean_reciprocal_rank", "reciprocal_rank"),
        ("mean_average_precision", "average_precision"),
    ],
)
def test_deprecated_metric_names_warn_and_agree(old, new):
    scores = jnp.array([[0.1, 0.9, 0.5, 0.3], [0.3, 0.2, 0.1, 0.0]])
    labels = jnp.array([[1, 1, 0, 0], [0, 0, 1, 2]])
    with pytest.warns(DeprecationWarning, match=new):
        value = getattr(metrics, old)(scores, labels, k=3)
    np.testing.assert_array_equal(value, getattr(metrics, new)(scores, labels, k=3))


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_empty_lists_give_zero_for_every_metric(name):
    fn = FUNCTIONS[name][0]
    values = fn(jnp.zeros((3, 0)), jnp.zeros((3, 0)))
    np.testing.assert_array_equal(values, np.zeros(3))


def test_mean_reciprocal_rank_class_on_empty_lists():
    assert float(metrics.MeanReciprocalRank()(np.zeros((2, 0)), np.zeros((2, 0)))) == 0
