"""Bad inputs fail at trace time with an error that names the argument."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrank

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


def test_second_derivatives_are_as_documented():
    """The losses' docstring: jacrev(grad) everywhere; hessian all but two."""
    scores, labels = SCORES[:1], LABELS[:1]
    for fn in (
        jaxrank.pairwise_hinge_loss,
        jaxrank.pairwise_logistic_loss,
        jaxrank.pairwise_soft_zero_one_loss,
        jaxrank.pairwise_mean_squared_error,
        jaxrank.list_mle_loss,
    ):
        loss = functools.partial(fn, labels=labels)
        hessian = jax.jacrev(jax.grad(loss))(scores)
        assert hessian.shape == scores.shape * 2 and np.all(np.isfinite(hessian))
        forward = fn not in (
            jaxrank.pairwise_logistic_loss,
            jaxrank.pairwise_soft_zero_one_loss,
        )
        if forward:
            np.testing.assert_allclose(jax.hessian(loss)(scores), hessian, atol=1e-5)
        else:
            with pytest.raises(TypeError, match="custom_vjp"):
                jax.hessian(loss)(scores)


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
