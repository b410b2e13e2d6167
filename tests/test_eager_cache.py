"""Repeated eager calls compile nothing after the first: every public loss, metric
and transformation runs in one ``jax.jit`` keyed by its options
(``jaxrank._src.eager_cache``), and stays what it was under ``jit``, with errors,
warnings and signatures unchanged."""

import contextlib
import inspect
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrank
import jaxrank.keras
from jaxrank import metrics
from jaxrank._src.eager_cache import cached_jit

COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"

# Lists longer than 128 items: the kernels' loops (a fresh closure per eager call
# when unjitted) are met at this length.
SHAPE = (2, 130)
RNG = np.random.default_rng(0)
SCORES = jnp.asarray(RNG.normal(size=SHAPE), jnp.float32)
LABELS = jnp.asarray(RNG.integers(-1, 3, size=SHAPE), jnp.float32)
WHERE = jnp.asarray(RNG.random(SHAPE) < 0.8)
WEIGHTS = jnp.asarray(RNG.random(SHAPE), jnp.float32)
SEGMENTS = jnp.asarray(np.sort(RNG.integers(0, 4, size=SHAPE), axis=-1))
KEY = jax.random.key(0)


@contextlib.contextmanager
def compilations():
    """The names of the XLA compilations run inside the ``with`` block."""
    seen = []

    def listen(event, duration, **kwargs):
        del duration, kwargs
        if event == COMPILE_EVENT:
            seen.append(event)

    jax.monitoring.register_event_duration_secs_listener(listen)
    try:
        yield seen
    finally:
        jax.monitoring.unregister_event_duration_listener(listen)


def _hinge(**options):
    return lambda: jaxrank.pairwise_hinge_loss(SCORES, LABELS, **options)


CALLS = {
    "hinge": _hinge(),
    "hinge-all_pairs-none": _hinge(method="all_pairs", reduction="none"),
    # The sorted path compiles slowly: a short list.
    "hinge-sorted": lambda: jaxrank.pairwise_hinge_loss(
        SCORES[:, :8], LABELS[:, :8], method="sorted", weights=WEIGHTS[:, :8]
    ),
    "hinge-segments": _hinge(segments=SEGMENTS),
    # A fresh lambda weight per call: equal options are one key.
    "hinge-lambda_weights": lambda: jaxrank.pairwise_hinge_loss(
        SCORES, LABELS, lambda_weights=jaxrank.DCGLambdaWeight(topn=2)
    ),
    "logistic": lambda: jaxrank.pairwise_logistic_loss(
        SCORES, LABELS, temperature=0.5, segments=SEGMENTS
    ),
    "soft_zero_one": lambda: jaxrank.pairwise_soft_zero_one_loss(SCORES, LABELS),
    "mse": lambda: jaxrank.pairwise_mean_squared_error(
        SCORES, LABELS, lambda_weights=jaxrank.LabelDiffLambdaWeight()
    ),
    "qr": lambda: jaxrank.pairwise_qr_loss(SCORES, LABELS, tau=0.8, squared=True),
    "list_mle": lambda: jaxrank.list_mle_loss(SCORES, LABELS, segments=SEGMENTS),
    "softmax": lambda: jaxrank.softmax_loss(SCORES, LABELS, weights=WEIGHTS),
    "poly1_softmax": lambda: jaxrank.poly1_softmax_loss(SCORES, LABELS, epsilon=0.5),
    "unique_softmax": lambda: jaxrank.unique_softmax_loss(SCORES, LABELS),
    "pointwise_sigmoid": lambda: jaxrank.pointwise_sigmoid_loss(
        SCORES, jnp.clip(LABELS, 0, 1)
    ),
    "pointwise_mse": lambda: jaxrank.pointwise_mse_loss(SCORES, LABELS),
    "approx_ndcg": lambda: jaxrank.approx_ndcg_loss(SCORES, LABELS),
    "approx_mrr": lambda: jaxrank.approx_mrr_loss(SCORES, LABELS, where=WHERE),
    # Lists and NumPy arrays are traced as arrays; a list of cut-offs is a key.
    "ndcg-lists": lambda: metrics.ndcg(SCORES.tolist(), np.asarray(LABELS), k=[1, 3]),
    "dcg": lambda: metrics.dcg(SCORES, LABELS, segments=SEGMENTS, k=2),
    "reciprocal_rank": lambda: metrics.reciprocal_rank(SCORES, LABELS, key=KEY),
    "precision_at_k": lambda: metrics.precision_at_k(SCORES, LABELS, k=2),
    "expected_reciprocal_rank": lambda: metrics.expected_reciprocal_rank(
        SCORES, LABELS, max_label=3.0
    ),
    "ordered_pair_accuracy": lambda: metrics.ordered_pair_accuracy(SCORES, LABELS),
    "approx_ranks": lambda: jaxrank.approx_ranks(SCORES, where=WHERE),
    "bound_cutoff": lambda: jaxrank.bound_cutoff(-SCORES, n=2),
    # A fresh transformation per call: its hooks are equal partials, one key.
    "approx_t12n": lambda: jaxrank.approx_t12n(metrics.ndcg, temperature=0.5)(
        SCORES, LABELS, k=3
    ),
    "gumbel_t12n": lambda: GUMBEL_LIST_MLE(SCORES, LABELS, key=KEY),
    "as_optax_loss": lambda: OPTAX_HINGE(SCORES, LABELS, where=WHERE),
    "loss_class": lambda: jaxrank.PairwiseHingeLoss(temperature=2.0)(
        np.asarray(LABELS), np.asarray(SCORES)
    ),
    "metric_class": lambda: metrics.NDCG(k=3)(LABELS, SCORES),
}
GUMBEL_LIST_MLE = jaxrank.gumbel_t12n(jaxrank.list_mle_loss, samples=2)
OPTAX_HINGE = jaxrank.as_optax_loss(jaxrank.pairwise_hinge_loss)


def assert_second_call_compiles_nothing(call):
    first = call()
    with compilations() as seen:
        second = jax.block_until_ready(call())
    assert not seen, f"the second call compiled {len(seen)} time(s)"
    np.testing.assert_array_equal(np.asarray(first), np.asarray(second))


@pytest.mark.parametrize("name", list(CALLS))
def test_second_eager_call_compiles_nothing(name):
    assert_second_call_compiles_nothing(CALLS[name])


def test_keras_classes_compile_nothing_on_a_second_call():
    loss = jaxrank.keras.losses.PairwiseHingeLoss()
    assert_second_call_compiles_nothing(lambda: loss(LABELS, SCORES))
    metric = jaxrank.keras.metrics.NDCG()
    metric.update_state(LABELS, SCORES)
    with compilations() as seen:
        metric.update_state(LABELS, SCORES)
        jax.block_until_ready(metric.result())
    assert not seen


def test_options_left_out_and_given_their_defaults_are_one_key():
    """So a loss class, which passes every option, reuses the function's program."""
    jaxrank.pairwise_logistic_loss(SCORES, LABELS)
    with compilations() as seen:
        jaxrank.pairwise_logistic_loss(SCORES, LABELS, temperature=1.0, where=None)
        jaxrank.PairwiseLogisticLoss()(LABELS, SCORES)
    assert not seen


def test_new_shapes_and_options_compile_again_and_agree_with_jit():
    loss = jaxrank.pairwise_hinge_loss
    with compilations() as seen:
        eager = loss(SCORES[:2], LABELS[:2], temperature=3.0)
    assert seen
    traced = jax.jit(lambda s, y: loss(s, y, temperature=3.0))(SCORES[:2], LABELS[:2])
    np.testing.assert_array_equal(eager, traced)


def test_the_x64_setting_is_part_of_the_key():
    @cached_jit
    def positions(scores):
        return jnp.arange(scores.shape[-1])

    assert positions(SCORES).dtype == jnp.int32
    with jax.enable_x64(True):
        assert positions(SCORES).dtype == jnp.int64
    assert positions(SCORES).dtype == jnp.int32


def test_options_are_told_apart_by_type():
    """``True`` and ``1`` hash alike; the check that refuses ``1`` still runs."""
    jaxrank.pairwise_qr_loss(SCORES, LABELS, squared=True)
    with pytest.raises(TypeError, match="squared"):
        jaxrank.pairwise_qr_loss(SCORES, LABELS, squared=1)


def test_errors_are_raised_on_every_call():
    for _ in range(2):
        with pytest.raises(ValueError, match="temperature"):
            jaxrank.pairwise_hinge_loss(SCORES, LABELS, temperature=-1.0)
        with pytest.raises(TypeError, match="labels"):
            jaxrank.pairwise_hinge_loss(SCORES, "labels")
        with pytest.raises(ValueError, match="labels"):
            jaxrank.pairwise_hinge_loss(SCORES, LABELS[:, :2].tolist())


def test_array_options_run_unjitted():
    """An option given as an array (no key) gives the value of a Python number."""
    want = jaxrank.pairwise_hinge_loss(SCORES, LABELS, temperature=2.0)
    got = jaxrank.pairwise_hinge_loss(SCORES, LABELS, temperature=jnp.float32(2.0))
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_warnings_are_raised_on_every_call():
    for _ in range(2):
        with pytest.warns(DeprecationWarning, match="all_pairs") as caught:
            jaxrank.pairwise_hinge_loss(SCORES, LABELS, method="dense")
        assert caught[0].filename == __file__


def test_no_warning_without_cause():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        jaxrank.pairwise_hinge_loss(SCORES, LABELS, method="all_pairs")


def test_signature_and_docstring_are_the_functions():
    fn = jaxrank.pairwise_hinge_loss
    assert inspect.signature(fn) == inspect.signature(fn.__wrapped__)
    assert fn.__name__ == "pairwise_hinge_loss" and "Examples" in fn.__doc__
    gumbel = GUMBEL_LIST_MLE
    assert "key" in inspect.signature(gumbel).parameters


def test_cached_jit_keeps_keyword_only_calls_and_python_errors():
    @cached_jit
    def scaled(scores, *, factor=2.0):
        return scores * factor

    np.testing.assert_array_equal(scaled(np.ones(2), factor=3), [3.0, 3.0])
    with pytest.raises(TypeError, match="unexpected keyword"):
        scaled(np.ones(2), scale=3)
