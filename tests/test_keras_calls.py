"""jaxrank.keras classes called directly (and under jit), with the suite's
rank-promotion "raise": the JAX classes' numbers, keras_rs's call(), the per-list
reading of (batch,) weights, and the stateful metric loop."""

import jax
import keras
import keras_rs
import numpy as np
import pytest

import jaxrank
from jaxrank.keras import losses, metrics

LOSSES = [
    "PairwiseHingeLoss",
    "PairwiseLogisticLoss",
    "PairwiseSoftZeroOneLoss",
    "PairwiseMeanSquaredError",
    "ListMLELoss",
]
REDUCTIONS = ["sum_over_batch_size", "mean", "sum", "mean_with_sample_weight", "none"]
B, n = 3, 5


def batch(rng):
    labels = rng.integers(-1, 4, (B, n)).astype(np.float32)
    scores = rng.normal(size=(B, n)).astype(np.float32)
    mask = rng.random((B, n)) < 0.8
    return {"labels": labels, "mask": mask}, scores


def weight_shapes(name):
    shapes = [(), (B,), (B, 1), (1, 1)]
    return shapes if name == "ListMLELoss" else shapes + [(B, n), (1, n)]


@pytest.mark.parametrize("name", LOSSES)
def test_losses_are_the_jax_classes_under_jit(name, rng):
    y_true, y_pred = batch(rng)
    cases = [(reduction, (B, 1)) for reduction in REDUCTIONS]
    cases += [("sum_over_batch_size", shape) for shape in weight_shapes(name)]
    for reduction, shape in cases:
        ours = getattr(losses, name)(temperature=0.7, reduction=reduction)
        jax_class = getattr(jaxrank, name)(temperature=0.7, reduction=reduction)
        assert isinstance(ours, keras.losses.Loss)
        weight = rng.uniform(0.0, 2.0, shape).astype(np.float32)
        got = jax.jit(ours)(y_true, y_pred, weight)
        want = jax_class(y_true, y_pred, weight)
        assert got.shape == want.shape, (reduction, shape)
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", LOSSES)
def test_call_is_keras_rs_call(name, rng):
    y_true, y_pred = batch(rng)
    with jax.numpy_rank_promotion("allow"):
        want = getattr(keras_rs.losses, name)().call(y_true, y_pred)
    got = getattr(losses, name)().call(y_true, y_pred)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["PairwiseHingeLoss", "ListMLELoss"])
def test_batch_weights_are_per_list_when_batch_equals_list_size(name, rng):
    """keras_rs weighs positions with them; the JAX class refuses them."""
    labels = rng.integers(0, 3, (n, n)).astype(np.float32)
    scores = rng.normal(size=(n, n)).astype(np.float32)
    weight = rng.uniform(0.5, 2.0, (n,)).astype(np.float32)
    for reduction in REDUCTIONS:
        loss = getattr(losses, name)(reduction=reduction)
        got = loss(labels, scores, weight)
        want = getattr(jaxrank, name)(reduction=reduction)(
            labels, scores, weight[:, None]
        )
        if name == "ListMLELoss" and reduction == "none":
            want = want[:, 0]  # keras_rs's shape for (batch,) weights
        np.testing.assert_allclose(got, want, rtol=1e-6)
    with pytest.raises(ValueError, match="ambiguous"):
        getattr(jaxrank, name)()(labels, scores, weight)


def test_bad_arguments_are_the_jax_classes_errors():
    with pytest.raises(ValueError, match="temperature"):
        losses.PairwiseHingeLoss(temperature=0.0)
    with pytest.raises(ValueError, match="reduction"):
        losses.ListMLELoss(reduction="max")
    with pytest.raises(ValueError, match="gain_fn"):
        metrics.NDCG(gain_fn="exp")
    with pytest.raises(TypeError):
        losses.PairwiseHingeLoss(temprature=1.0)


def test_metric_state_loop_matches_keras_rs(rng):
    """keras_rs's documented manual loop: update_state per batch, result, reset."""
    ours, theirs = metrics.NDCG(k=3), keras_rs.metrics.NDCG(k=3)
    assert isinstance(ours, keras.metrics.Metric)
    for sizes in ([4, 2], [3]):
        for size in sizes:
            labels = rng.integers(-1, 4, (size, n)).astype(np.float32)
            scores = rng.permutation(size * n).reshape(size, n).astype(np.float32)
            weight = rng.uniform(0.0, 2.0, (size, n)).astype(np.float32)
            ours.update_state(labels, scores, sample_weight=weight)
            with jax.numpy_rank_promotion("allow"):
                theirs.update_state(labels, scores, sample_weight=weight)
        np.testing.assert_allclose(ours.result(), theirs.result(), rtol=1e-5)
        ours.reset_state()
        theirs.reset_state()
        assert float(ours.result()) == 0.0
