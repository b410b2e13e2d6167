"""Sequential depth of every loss but the hinge's own kernels, lowered for GPU and
TPU (issue 12): at most 64 loop iterations one after another for lists up to 4096
items, at most 2048 at 2^20, with and without segments. Lowering needs no device
and compiles nothing, so 2^20 items cost only a trace."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import pytest
from depth import sequential_depth

import jaxrank

LOSSES = {
    "pairwise_logistic": jaxrank.pairwise_logistic_loss,
    "pairwise_soft_zero_one": jaxrank.pairwise_soft_zero_one_loss,
    "pairwise_qr": jaxrank.pairwise_qr_loss,
    "pairwise_mean_squared_error": jaxrank.pairwise_mean_squared_error,
    "pairwise_logistic_lambda": functools.partial(
        jaxrank.pairwise_logistic_loss, lambda_weights=jaxrank.DCGLambdaWeight()
    ),
    "pairwise_mse_lambda": functools.partial(
        jaxrank.pairwise_mean_squared_error,
        lambda_weights=jaxrank.LabelDiffLambdaWeight(),
    ),
    "pairwise_hinge_lambda": functools.partial(
        jaxrank.pairwise_hinge_loss, lambda_weights=jaxrank.DCGLambdaWeight()
    ),
    "list_mle": jaxrank.list_mle_loss,
    "softmax": jaxrank.softmax_loss,
    "poly1_softmax": jaxrank.poly1_softmax_loss,
    "unique_softmax": jaxrank.unique_softmax_loss,
    "pointwise_sigmoid": jaxrank.pointwise_sigmoid_loss,
    "pointwise_mse": jaxrank.pointwise_mse_loss,
    "approx_ndcg": jaxrank.approx_ndcg_loss,
    "approx_mrr": jaxrank.approx_mrr_loss,
}
# The losses that take segments= (the lambda-weighted ones do not).
SEGMENTED = sorted(
    name for name in LOSSES if "lambda" not in name and "pointwise" not in name
)
SHAPES = [(16, 1024), (4, 4096), (1, 2**20)]


def _bound(shape):
    return 64 if shape[-1] <= 4096 else 2048


def _spec(shape, dtype=jnp.float32):
    return jax.ShapeDtypeStruct(shape, dtype)


@pytest.mark.parametrize("platform", ["cuda", "tpu"])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_losses_are_shallow_on_accelerators(name, shape, platform):
    depth = sequential_depth(
        LOSSES[name], _spec(shape), _spec(shape), platform=platform
    )
    assert depth <= _bound(shape)


@pytest.mark.parametrize("platform", ["cuda", "tpu"])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", SEGMENTED)
def test_losses_with_segments_are_shallow_on_accelerators(name, shape, platform):
    def loss(scores, labels, segments):
        return LOSSES[name](scores, labels, segments=segments)

    args = (_spec(shape), _spec(shape), _spec(shape, jnp.int32))
    assert sequential_depth(loss, *args, platform=platform) <= _bound(shape)
