"""jaxrank.keras inside Keras's own fit/evaluate, against keras_rs 0.4.0.

Keras's layers rely on implicit rank promotion (a Dense bias is added to a
``(batch, list, units)`` array), so every Keras model call here runs under
``jax.numpy_rank_promotion("allow")``; the losses and metrics themselves are also
called under the suite's "raise" in test_keras_calls.py.
"""

import jax
import keras
import keras_rs
import numpy as np
import pytest

import jaxrank
from jaxrank.keras import losses, metrics

N, LIST, FEATURES, BATCH = 96, 12, 6, 40  # batches of 40, 40 and 16 lists
LOSSES = [
    "PairwiseHingeLoss",
    "PairwiseLogisticLoss",
    "PairwiseSoftZeroOneLoss",
    "PairwiseMeanSquaredError",
    "ListMLELoss",
]
METRICS = [
    "NDCG",
    "DCG",
    "MeanReciprocalRank",
    "MeanAveragePrecision",
    "PrecisionAtK",
    "RecallAtK",
]
REDUCTIONS = ["sum_over_batch_size", "mean", "sum", "mean_with_sample_weight", "none"]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, LIST, FEATURES)).astype(np.float32)
    y = rng.integers(0, 4, size=(N, LIST)).astype(np.float32)
    y[:, 9:] = -1.0  # padded items
    y[::7, 5:] = -1.0
    weights = {
        None: None,
        "per list (N, 1)": rng.uniform(0.5, 2.0, (N, 1)).astype(np.float32),
        "per item (N, n)": rng.uniform(0.0, 2.0, (N, LIST)).astype(np.float32),
    }
    return x, y, weights


def scorer():
    """A small Keras scorer with fixed initial weights: (N, n, d) -> (N, n)."""
    keras.utils.set_random_seed(7)
    return keras.Sequential(
        [
            keras.Input((LIST, FEATURES)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(1),
            keras.layers.Reshape((LIST,)),
        ]
    )


def evaluate_losses(data, losses_and_weights):
    """One ``evaluate`` of a model whose single scorer feeds one named output per
    entry of ``losses_and_weights`` (name -> (loss, sample weight or None)); the
    loss of each output, by name."""
    x, y, _ = data
    model = scorer()
    scores = model.outputs[0]
    outputs = {
        name: keras.layers.Identity(name=name)(scores) for name in losses_and_weights
    }
    model = keras.Model(model.inputs, outputs)
    ones = np.ones((N, 1), np.float32)
    with jax.numpy_rank_promotion("allow"):
        model.compile(
            loss={name: loss for name, (loss, _) in losses_and_weights.items()}
        )
        result = model.evaluate(
            x,
            {name: y for name in losses_and_weights},
            # One array per output (Keras's rule for item weights); ones = unweighted.
            sample_weight={
                name: ones if weight is None else weight
                for name, (_, weight) in losses_and_weights.items()
            },
            batch_size=BATCH,
            verbose=0,
            return_dict=True,
        )
    return {name: result[f"{name}_loss"] for name in losses_and_weights}


def assert_pairs_equal(result):
    for name in result:
        if name.startswith("theirs_"):
            ours = result[name.replace("theirs_", "ours_")]
            np.testing.assert_allclose(ours, result[name], rtol=1e-5, err_msg=name)


@pytest.mark.parametrize("weight", [None, "per list (N, 1)", "per item (N, n)"])
def test_evaluate_matches_keras_rs(weight, data):
    """Every loss; ListMLE refuses item weights (keras_rs fails to broadcast them)."""
    sample_weight = data[2][weight]
    cases = {}
    for name in LOSSES:
        if name == "ListMLELoss" and weight == "per item (N, n)":
            continue
        cases[f"theirs_{name}"] = (getattr(keras_rs.losses, name)(), sample_weight)
        cases[f"ours_{name}"] = (getattr(losses, name)(), sample_weight)
    assert_pairs_equal(evaluate_losses(data, cases))


def test_list_mle_refuses_item_weights(data):
    model = scorer()
    with jax.numpy_rank_promotion("allow"), pytest.raises(ValueError, match="per"):
        model.compile(loss=losses.ListMLELoss())
        weights = data[2]["per item (N, n)"]
        model.evaluate(data[0], data[1], sample_weight=weights, verbose=0)


@pytest.mark.parametrize("name", ["PairwiseHingeLoss", "ListMLELoss"])
def test_evaluate_every_reduction_with_list_weights(name, data):
    weight = data[2]["per list (N, 1)"]
    cases = {}
    for reduction in REDUCTIONS:
        cases[f"theirs_{reduction}"] = (
            getattr(keras_rs.losses, name)(reduction=reduction),
            weight,
        )
        cases[f"ours_{reduction}"] = (
            getattr(losses, name)(reduction=reduction),
            weight,
        )
    assert_pairs_equal(evaluate_losses(data, cases))


def test_per_list_weights_of_shape_n(data):
    """``fit(sample_weight=w)`` with ``w`` of shape (N,): one weight per list (keras_rs
    fails for the pairwise losses); keras_rs's numbers for the same weights as
    (N, 1)."""
    weight = data[2]["per list (N, 1)"]
    cases = {}
    for name in ("PairwiseLogisticLoss", "ListMLELoss"):
        cases[f"theirs_{name}"] = (getattr(keras_rs.losses, name)(), weight)
        cases[f"ours_{name}"] = (getattr(losses, name)(), weight[:, 0])
    assert_pairs_equal(evaluate_losses(data, cases))


def test_per_list_weights_when_batch_equals_list_size(data):
    """A batch of as many lists as items: (batch,) weights still weigh lists."""
    x, y, weights = data
    per_list = weights["per list (N, 1)"]
    results = []
    for weight in (per_list[:, 0], per_list):
        model = scorer()
        with jax.numpy_rank_promotion("allow"):
            model.compile(loss=losses.PairwiseHingeLoss())
            results.append(
                model.evaluate(x, y, sample_weight=weight, batch_size=LIST, verbose=0)
            )
    np.testing.assert_allclose(results[0], results[1], rtol=1e-6)


def test_fit_history_matches_keras_rs(data):
    """The seed's usage, one import changed: same initial weights, same losses."""
    x, y, weights = data
    histories, final = [], []
    for loss in (keras_rs.losses.PairwiseHingeLoss(), losses.PairwiseHingeLoss()):
        model = scorer()
        with jax.numpy_rank_promotion("allow"):
            model.compile(optimizer=keras.optimizers.SGD(0.05), loss=loss)
            history = model.fit(
                x,
                y,
                sample_weight=weights["per list (N, 1)"],
                batch_size=BATCH,
                epochs=3,
                shuffle=False,
                verbose=0,
            )
        histories.append(history.history["loss"])
        final.append(model.get_weights())
    np.testing.assert_allclose(histories[1], histories[0], rtol=1e-5)
    assert histories[0][-1] < histories[0][0]
    for ours, theirs in zip(final[1], final[0], strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-6)


def test_old_classes_in_compile_get_weights_wrong(data):
    """Why the Keras classes exist: Keras wraps a plain callable and multiplies its
    already reduced value by the weights (the reported 2.5473 against 2.4885)."""
    weight = data[2]["per list (N, 1)"]
    result = evaluate_losses(
        data,
        {
            "theirs": (keras_rs.losses.PairwiseHingeLoss(), weight),
            "jax_class": (jaxrank.PairwiseHingeLoss(), weight),
        },
    )
    assert abs(result["jax_class"] - result["theirs"]) > 1e-3 * result["theirs"]


def evaluate_metrics(data, metric_objects, weight):
    x, y, weights = data
    model = scorer()
    with jax.numpy_rank_promotion("allow"):
        model.compile(loss=losses.PairwiseHingeLoss(), weighted_metrics=metric_objects)
        result = model.evaluate(
            x,
            y,
            sample_weight=weights[weight],
            batch_size=BATCH,
            verbose=0,
            return_dict=True,
        )
        scores = model.predict(x, batch_size=N, verbose=0)
    assert len(np.unique(scores)) == scores.size  # no ties: the tie rules agree
    return result, scores


def test_metrics_evaluate_over_uneven_batches_matches_keras_rs(data):
    """Every metric, stateful over batches of 40, 40 and 16 lists with item weights:
    keras_rs's value, the metric of all 96 lists at once."""
    theirs = [getattr(keras_rs.metrics, m)(k=5, name=f"theirs_{m}") for m in METRICS]
    ours = [getattr(metrics, m)(k=5, name=f"ours_{m}") for m in METRICS]
    result, scores = evaluate_metrics(data, theirs + ours, "per item (N, n)")
    weights = data[2]["per item (N, n)"]
    for name in METRICS:
        np.testing.assert_allclose(
            result[f"ours_{name}"], result[f"theirs_{name}"], rtol=1e-5, err_msg=name
        )
        whole_set = getattr(jaxrank.metrics, name)(k=5)(data[1], scores, weights)
        np.testing.assert_allclose(result[f"ours_{name}"], whole_set, rtol=1e-5)


@pytest.mark.parametrize("weight", [None, "per list (N, 1)"])
def test_metrics_evaluate_equals_the_whole_set(weight, data):
    """Unweighted and per-list weighted: the metric of the whole set (which is
    keras_rs's, tests/test_metrics.py), not a mean of batch values."""
    ours = [getattr(metrics, m)(k=5) for m in METRICS]
    result, scores = evaluate_metrics(data, ours, weight)
    for name, metric in zip(METRICS, ours, strict=True):
        whole_set = getattr(jaxrank.metrics, name)(k=5)(
            data[1], scores, data[2][weight]
        )
        np.testing.assert_allclose(result[metric.name], whole_set, rtol=1e-5)
