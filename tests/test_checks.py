"""Bad inputs fail at trace time with an error that names the argument."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrank
from jaxrank._src.platforms import VARIANTS, forced_variant

SCORES = jnp.array([[0.5, 1.0, -0.2], [0.1, 0.0, 2.0]], jnp.float32)
LABELS = jnp.array([[1.0, 0.0, 2.0], [0.0, 1.0, -1.0]], jnp.float32)


def call(fn, *args, jit, **kwargs):
    """Calls ``fn`` eagerly or traced under ``jax.jit`` (arrays positional)."""
    if jit:
        return jax.jit(lambda *a: fn(*a, **kwargs))(*args)
    return fn(*args, **kwargs)


FUNCTION_ERRORS = [
    # (scores, labels, kwargs, error, the argument the message must name)
    (SCORES.astype(jnp.int32), LABELS, {}, TypeError, "scores"),
    (SCORES > 0, LABELS, {}, TypeError, "scores"),
    (SCORES, LABELS[:, :2], {}, ValueError, "labels"),
    (SCORES, LABELS[0], {}, ValueError, "labels"),
    (SCORES, LABELS[None], {}, ValueError, "labels"),
    (SCORES, LABELS, {"where": jnp.ones((2, 2), bool)}, ValueError, "where"),
    (SCORES, LABELS, {"where": jnp.ones((3,), bool)}, ValueError, "where"),
    (SCORES, LABELS, {"where": jnp.ones((2, 3), jnp.int32)}, TypeError, "where"),
    (SCORES, LABELS, {"where": jnp.ones((2, 3), jnp.float32)}, TypeError, "where"),
    (SCORES, LABELS, {"weights": jnp.ones((2, 2))}, ValueError, "weights"),
    (SCORES, LABELS, {"weights": jnp.ones((2, 3, 1))}, ValueError, "weights"),
    (SCORES, LABELS, {"weights": jnp.ones((2, 1, 1))}, ValueError, "weights"),
    (SCORES, LABELS, {"temperature": 0.0}, ValueError, "temperature"),
    (SCORES, LABELS, {"temperature": -1.0}, ValueError, "temperature"),
    (SCORES, LABELS, {"reduction": "average"}, ValueError, "reduction"),
    (SCORES, LABELS, {"reduction": "auto"}, ValueError, "reduction"),
    (SCORES, LABELS, {"method": "fast"}, ValueError, "method"),
]


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
@pytest.mark.parametrize(
    "scores, labels, kwargs, error, name",
    FUNCTION_ERRORS,
    ids=[f"{case[-1]}-{i}" for i, case in enumerate(FUNCTION_ERRORS)],
)
def test_function_rejects_bad_input(scores, labels, kwargs, error, name, jit):
    kwargs = dict(kwargs)
    arrays = [scores, labels]
    keys = [k for k in ("where", "weights") if k in kwargs]
    arrays += [kwargs.pop(k) for k in keys]

    def fn(s, y, *rest):
        return jaxrank.pairwise_hinge_loss(
            s, y, **dict(zip(keys, rest, strict=True)), **kwargs
        )

    with pytest.raises(error, match=f"`?{name}`?") as info:
        call(fn, *arrays, jit=jit)
    # The message says what was received, not only what was expected.
    assert "receiv" in str(info.value).lower(), str(info.value)


def test_mismatch_message_reports_the_shapes():
    with pytest.raises(
        ValueError, match=r"labels.*\(2, 3\).*\(2, 2\)|labels.*\(2, 2\)"
    ):
        jaxrank.pairwise_hinge_loss(SCORES, LABELS[:, :2])


def test_traced_temperature_is_rejected():
    with pytest.raises(TypeError, match="temperature"):
        jax.jit(lambda t: jaxrank.pairwise_hinge_loss(SCORES, LABELS, temperature=t))(
            1.0
        )


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"temperature": 0.0}, "temperature"),
        ({"temperature": -2.0}, "temperature"),
        ({"reduction": "average"}, "reduction"),
    ],
)
def test_class_rejects_bad_options(kwargs, name):
    with pytest.raises(ValueError, match=name):
        jaxrank.PairwiseHingeLoss(**kwargs)(np.array(LABELS), np.array(SCORES))


CLASS_ERRORS = [
    # (y_true, y_pred, sample_weight, error, a pattern naming the argument)
    ({"mask": np.ones((2, 3), bool)}, SCORES, None, ValueError, "labels"),
    (np.zeros((2, 3, 1)), np.zeros((2, 3, 1)), None, ValueError, "y_true|y_pred|rank"),
    (np.zeros((2, 3)), np.zeros((2, 3, 1)), None, ValueError, "y_pred|rank|shape"),
    (np.zeros(()), np.zeros(()), None, ValueError, "y_true|y_pred|rank"),
    (LABELS, SCORES[:, :2], None, ValueError, "y_true|y_pred|labels|scores|shape"),
    (
        {"labels": LABELS, "mask": np.ones((2, 2), bool)},
        SCORES,
        None,
        ValueError,
        "mask|where",
    ),
    (LABELS, SCORES, np.ones((2, 2)), ValueError, "sample_weight|weights"),
    (LABELS, SCORES, np.ones((3, 3)), ValueError, "sample_weight|weights"),
]


@pytest.mark.parametrize(
    "y_true, y_pred, sample_weight, error, pattern",
    CLASS_ERRORS,
    ids=[f"case{i}" for i in range(len(CLASS_ERRORS))],
)
def test_class_rejects_bad_input(y_true, y_pred, sample_weight, error, pattern):
    loss = jaxrank.PairwiseHingeLoss()
    with pytest.raises(error, match=pattern):
        loss(y_true, y_pred, sample_weight=sample_weight)


def test_class_rank_3_names_the_rank():
    loss = jaxrank.PairwiseHingeLoss()
    with pytest.raises(ValueError, match=r"rank|ndim|axes") as info:
        loss(np.zeros((2, 3, 4)), np.zeros((2, 3, 4)))
    assert "3" in str(info.value)


NOT_ARRAYS = [None, "abc", object()]


@pytest.mark.parametrize(
    "name, value",
    [(name, value) for name in ("scores", "labels") for value in NOT_ARRAYS]
    + [(name, value) for name in ("where", "weights") for value in NOT_ARRAYS[1:]],
)
def test_non_arrays_are_refused_by_name(name, value):
    args = {"scores": SCORES, "labels": LABELS, name: value}
    kwargs = {k: args.pop(k) for k in ("where", "weights") if k in args}
    with pytest.raises(TypeError, match=f"`{name}` must be an array of numbers"):
        jaxrank.pairwise_hinge_loss(args["scores"], args["labels"], **kwargs)


@pytest.mark.parametrize("value", NOT_ARRAYS, ids=["none", "string", "object"])
def test_keras_style_classes_name_y_true_and_y_pred(value):
    with pytest.raises(TypeError, match="`y_true`"):
        jaxrank.PairwiseHingeLoss()(value, SCORES)
    with pytest.raises(TypeError, match="`y_pred`"):
        jaxrank.PairwiseHingeLoss()(LABELS, value)
    with pytest.raises(TypeError, match="`y_pred`"):
        jaxrank.metrics.NDCG()(LABELS, value)


def test_complex_y_pred_is_refused_not_truncated():
    with pytest.raises(TypeError, match="`y_pred` must be real"):
        jaxrank.PairwiseHingeLoss()(LABELS, SCORES + 1j)
    with pytest.raises(TypeError, match="`scores`"):
        jaxrank.pairwise_hinge_loss(SCORES + 1j, LABELS)


@pytest.mark.parametrize(
    "temperature, error",
    [
        ("2", TypeError),
        (b"2", TypeError),
        (True, TypeError),
        (1e-50, ValueError),
        (1e39, ValueError),
        (float("inf"), ValueError),
        (float("nan"), ValueError),
    ],
)
def test_temperature_must_be_a_normal_float32_number(temperature, error):
    with pytest.raises(error, match="temperature"):
        jaxrank.pairwise_hinge_loss(SCORES, LABELS, temperature=temperature)
    with pytest.raises(error, match="temperature"):
        jaxrank.PairwiseLogisticLoss(temperature=temperature)


def test_extreme_but_representable_temperatures_give_finite_losses():
    for temperature in (2e-38, 1e38):
        for method in ("all_pairs", "sorted"):
            value = jaxrank.pairwise_hinge_loss(
                SCORES, LABELS, temperature=temperature, method=method
            )
            assert np.isfinite(value)


@pytest.mark.parametrize("variant", VARIANTS)
def test_second_derivatives_are_as_documented(variant):
    """The losses' docstring: jacrev(grad) and hessian, for every loss, with the
    kernels of either platform."""
    scores, labels = SCORES[:1], LABELS[:1]
    for fn in (
        jaxrank.pairwise_hinge_loss,
        jaxrank.pairwise_logistic_loss,
        jaxrank.pairwise_soft_zero_one_loss,
        jaxrank.pairwise_mean_squared_error,
        jaxrank.pairwise_qr_loss,
        jaxrank.list_mle_loss,
    ):
        loss = functools.partial(fn, labels=labels)
        with forced_variant(variant):
            hessian = jax.jacrev(jax.grad(loss))(scores)
            forward = jax.hessian(loss)(scores)
        assert hessian.shape == scores.shape * 2 and np.all(np.isfinite(hessian))
        np.testing.assert_allclose(forward, hessian, atol=1e-5)


@pytest.mark.parametrize("shape", [(1,), (1, 1), (3,), (1, 3), (2, 1)])
def test_weights_broadcasting_to_the_scores_are_accepted(shape):
    """NumPy broadcasting, as keras_rs accepts: `mean_with_sample_weight` divides by
    the sum of the weights as given."""
    weights = jnp.arange(1.0, 1.0 + np.prod(shape)).reshape(shape)
    per_item = jnp.broadcast_to(weights, SCORES.shape)
    for reduction in ("sum", "none"):
        np.testing.assert_allclose(
            jaxrank.pairwise_hinge_loss(
                SCORES, LABELS, weights=weights, reduction=reduction
            ),
            jaxrank.pairwise_hinge_loss(
                SCORES, LABELS, weights=per_item, reduction=reduction
            ),
        )
    total = jaxrank.pairwise_hinge_loss(
        SCORES, LABELS, weights=weights, reduction="sum"
    )
    mean = jaxrank.pairwise_hinge_loss(
        SCORES, LABELS, weights=weights, reduction="mean_with_sample_weight"
    )
    np.testing.assert_allclose(mean, total / jnp.sum(weights), rtol=1e-6)


OPTION_ERRORS = [
    # (call, error, the argument the message must name)
    (
        lambda: jaxrank.pairwise_hinge_loss(
            SCORES, LABELS, reduction=np.array(["sum", "mean"])
        ),
        TypeError,
        "reduction",
    ),
    (
        lambda: jaxrank.PairwiseHingeLoss(method=np.array(["sorted", "auto"])),
        TypeError,
        "method",
    ),
    (lambda: jaxrank.metrics.ndcg(SCORES, LABELS, key="a"), TypeError, "key"),
    (
        lambda: jaxrank.metrics.ndcg(
            SCORES, LABELS, key=jax.random.split(jax.random.key(0))
        ),
        ValueError,
        "key",
    ),
    (
        lambda: jaxrank.metrics.ndcg(SCORES, LABELS, no_relevant_value=[0.5, 0.5]),
        ValueError,
        "no_relevant_value",
    ),
    (lambda: jaxrank.metrics.dcg(SCORES, LABELS, gain_fn="exp2"), TypeError, "gain_fn"),
    (lambda: jaxrank.DCG2LambdaWeight(discount_fn=None), TypeError, "discount_fn"),
    (lambda: jaxrank.ListMLELoss(dtype="int32"), TypeError, "dtype"),
    (lambda: jaxrank.metrics.MeanReciprocalRank(dtype="float7"), TypeError, "dtype"),
    (
        lambda: jaxrank.as_optax_loss(jaxrank.pairwise_hinge_loss, temprature=1.0),
        TypeError,
        "loss_fn",
    ),
    (
        lambda: jaxrank.as_optax_loss(jaxrank.list_mle_loss)(SCORES, LABELS[:, :2]),
        ValueError,
        "labels",
    ),
    (
        lambda: jaxrank.metrics.WeightedMean.empty().update(["a", "b"]),
        TypeError,
        "values",
    ),
    (
        lambda: jaxrank.ListMLELoss()(np.array(LABELS), np.array(SCORES), LABELS),
        ValueError,
        "sample_weight",
    ),
    (
        lambda: jaxrank.metrics.DCG(rank_discount_fn=lambda r: r[..., :1])(
            np.array(LABELS), np.array(SCORES)
        ),
        ValueError,
        "rank_discount_fn",
    ),
]


@pytest.mark.parametrize(
    "call, error, name",
    OPTION_ERRORS,
    ids=[f"{case[-1]}-{i}" for i, case in enumerate(OPTION_ERRORS)],
)
def test_options_are_refused_by_the_name_the_caller_gave(call, error, name):
    with pytest.raises(error, match=f"`{name}`") as info:
        call()
    assert "receiv" in str(info.value).lower(), str(info.value)


def test_optax_adapter_speaks_of_logits():
    loss = jaxrank.as_optax_loss(jaxrank.pairwise_hinge_loss)
    with pytest.raises(ValueError, match="shape of `logits`"):
        loss(SCORES, LABELS[:, :2])


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
def test_keys_raw_or_typed_and_traced_scalars_are_accepted(jit):
    typed = jax.random.key(3)
    raw = jax.random.key_data(typed)
    fill = jnp.float32(0.5)

    def ndcg(key, no_relevant_value):
        return jaxrank.metrics.ndcg(
            SCORES, LABELS, key=key, no_relevant_value=no_relevant_value
        )

    ndcg = jax.jit(ndcg) if jit else ndcg
    np.testing.assert_array_equal(ndcg(raw, fill), ndcg(typed, 0.5))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_16_bit_metric_classes_accumulate_in_float32(dtype):
    """The class casts its inputs to `dtype`, then computes, accumulates and returns
    in float32, as the functions do for 16-bit scores."""
    labels, scores = np.array(LABELS), np.array(SCORES)
    got = jaxrank.metrics.NDCG(dtype=dtype)(labels, scores)
    want = jaxrank.metrics.NDCG()(labels, jnp.asarray(scores, dtype))
    assert got.dtype == jnp.float32
    np.testing.assert_array_equal(got, want)
