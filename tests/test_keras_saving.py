"""jaxrank.keras: configs, registration and .keras files that reload with plain
keras.models.load_model."""

import jax
import keras
import numpy as np
import pytest

import jaxrank
from jaxrank.keras import losses, metrics

LIST, FEATURES = 8, 4


@pytest.mark.parametrize(
    "loss",
    [
        losses.PairwiseHingeLoss(temperature=0.5, reduction="sum", method="all_pairs"),
        losses.PairwiseLogisticLoss(
            lambda_weights=jaxrank.DCGLambdaWeight(topn=3, normalize=True)
        ),
        losses.PairwiseSoftZeroOneLoss(
            lambda_weights=jaxrank.DCG2LambdaWeight(light_discount=True)
        ),
        losses.PairwiseMeanSquaredError(lambda_weights=jaxrank.LabelDiffLambdaWeight()),
        losses.ListMLELoss(reduction=None, name="mle"),
    ],
    ids=lambda loss: type(loss).__name__,
)
def test_loss_config_round_trip(loss):
    config = keras.saving.serialize_keras_object(loss)
    assert config["registered_name"] == f"jaxrank>{type(loss).__name__}"
    clone = keras.saving.deserialize_keras_object(config)
    assert type(clone) is type(loss) and clone.get_config() == loss.get_config()
    rng = np.random.default_rng(0)
    y_true = rng.integers(-1, 3, (3, LIST)).astype(np.float32)
    y_pred = rng.normal(size=(3, LIST)).astype(np.float32)
    np.testing.assert_array_equal(clone(y_true, y_pred), loss(y_true, y_pred))


@keras.saving.register_keras_serializable(package="test_keras_saving")
def linear_gain(labels):
    return labels


@pytest.mark.parametrize(
    "metric",
    [
        metrics.NDCG(k=3, gain_fn="identity", rank_discount_fn="reciprocal"),
        metrics.DCG(gain_fn=linear_gain),
        metrics.MeanReciprocalRank(k=2, seed=3),
        metrics.MeanAveragePrecision(),
        metrics.PrecisionAtK(k=4, name="p4"),
        metrics.RecallAtK(k=1),
    ],
    ids=lambda metric: type(metric).__name__,
)
def test_metric_config_round_trip(metric):
    config = keras.saving.serialize_keras_object(metric)
    clone = keras.saving.deserialize_keras_object(config)
    assert type(clone) is type(metric) and clone.get_config() == metric.get_config()
    if isinstance(metric, metrics.NDCG):  # named choices are saved as names
        assert metric.get_config()["gain_fn"] == "identity"
    rng = np.random.default_rng(1)
    y_true = rng.integers(-1, 3, (3, LIST)).astype(np.float32)
    y_pred = rng.normal(size=(3, LIST)).astype(np.float32)
    for m in (metric, clone):
        m.update_state(y_true, y_pred)
    np.testing.assert_array_equal(clone.result(), metric.result())


def test_saved_model_loads_with_plain_load_model(tmp_path):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(50, LIST, FEATURES)).astype(np.float32)
    y = rng.integers(-1, 4, (50, LIST)).astype(np.float32)
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((LIST, FEATURES)),
            keras.layers.Dense(1),
            keras.layers.Reshape((LIST,)),
        ]
    )
    with jax.numpy_rank_promotion("allow"):
        model.compile(
            optimizer="adam",
            loss=losses.PairwiseHingeLoss(),
            metrics=[metrics.NDCG(k=5), metrics.MeanReciprocalRank()],
        )
        model.fit(x, y, batch_size=16, epochs=1, verbose=0)
        before = model.evaluate(x, y, batch_size=16, verbose=0)
        model.save(tmp_path / "m.keras")
        loaded = keras.models.load_model(tmp_path / "m.keras")
        after = loaded.evaluate(x, y, batch_size=16, verbose=0)
    assert isinstance(loaded.loss, losses.PairwiseHingeLoss)
    np.testing.assert_allclose(after, before, rtol=1e-6)
