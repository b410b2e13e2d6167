"""The loss family (logistic, soft zero-one, squared error, ListMLE) against float64
references and keras_rs, and the shared properties of every loss (hinge included)."""

import functools

import hypothesis.extra.numpy as hnp
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.test_util import check_grads

import jaxrank
import reference_family as reff

keras_rs = pytest.importorskip("keras_rs")

REDUCTIONS = ["sum_over_batch_size", "mean", "sum", "mean_with_sample_weight", "none"]
FAMILY = ["logistic", "soft_zero_one", "mse", "list_mle"]
ALL = ["hinge"] + FAMILY
FUNCTIONS = {
    "hinge": jaxrank.pairwise_hinge_loss,
    "logistic": jaxrank.pairwise_logistic_loss,
    "soft_zero_one": jaxrank.pairwise_soft_zero_one_loss,
    "mse": jaxrank.pairwise_mean_squared_error,
    "list_mle": jaxrank.list_mle_loss,
}
CLASSES = {
    "logistic": (jaxrank.PairwiseLogisticLoss, keras_rs.losses.PairwiseLogisticLoss),
    "soft_zero_one": (
        jaxrank.PairwiseSoftZeroOneLoss,
        keras_rs.losses.PairwiseSoftZeroOneLoss,
    ),
    "mse": (jaxrank.PairwiseMeanSquaredError, keras_rs.losses.PairwiseMeanSquaredError),
    "list_mle": (jaxrank.ListMLELoss, keras_rs.losses.ListMLELoss),
}
# Float32 results against float64 references / keras_rs float32 numbers. The atol
# covers pair terms keras_rs rounds differently (log(1 + e) for log1p(e), 1 - sigmoid).
RTOL, ATOL = 1e-5, 2e-6


def loss(name, scores, labels, *, temperature=1.0, **kwargs):
    """Calls jaxrank loss ``name``; the squared error takes no temperature."""
    if name != "mse":
        kwargs["temperature"] = temperature
    return FUNCTIONS[name](scores, labels, **kwargs)


def make_inputs(rng, shape):
    """Scores, labels (with ties and -1) and a mask."""
    scores = (rng.normal(size=shape) * 2).astype(np.float32)
    labels = rng.integers(-1, 4, size=shape).astype(np.float32)
    where = rng.random(size=shape) < 0.8
    return scores, labels, where


def make_weights(name, kind, shape, rng):
    if kind is None:
        return None
    if name == "list_mle" and kind == "item":
        kind = "list"
    sizes = {
        "scalar": (),
        "item": shape,
        "list": shape[:-1],
        "list1": shape[:-1] + (1,),
    }
    return rng.uniform(0.5, 2.0, size=sizes[kind]).astype(np.float32)


# --- values against the float64 references -------------------------------------------


@pytest.mark.parametrize("weight_kind", [None, "scalar", "item", "list", "list1"])
@pytest.mark.parametrize("name", FAMILY)
def test_matches_reference(name, weight_kind, rng):
    shape = (3, 6)
    scores, labels, where = make_inputs(rng, shape)
    weights = make_weights(name, weight_kind, shape, rng)
    for reduction, t in zip(REDUCTIONS, [1.0, 0.5, 2.0, 1.0, 0.7], strict=True):
        got = loss(
            name,
            scores,
            labels,
            where=where,
            weights=weights,
            temperature=t,
            reduction=reduction,
        )
        want = reff.loss(
            name,
            scores,
            labels,
            where=where,
            weights=weights,
            temperature=1.0 if name == "mse" else t,
            reduction=reduction,
        )
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL, err_msg=reduction)


@pytest.mark.parametrize("name", ALL)
def test_jit_equals_eager(name, rng):
    scores, labels, where = make_inputs(rng, (3, 6))
    weights = _weights_for(name, scores.shape)
    kwargs = dict(where=where, weights=weights, reduction="none")
    eager = loss(name, scores, labels, **kwargs)
    jitted = jax.jit(functools.partial(loss, name, **kwargs))(scores, labels)
    np.testing.assert_allclose(jitted, eager, rtol=1e-6, atol=1e-7)


@settings(max_examples=20, deadline=None)
@given(
    name=st.sampled_from(FAMILY),
    data=st.data(),
    n=st.integers(1, 6),
)
def test_property_matches_reference(name, data, n):
    floats = st.floats(-6, 6, width=32)
    scores = data.draw(hnp.arrays(np.float32, (2, n), elements=floats))
    labels = data.draw(
        hnp.arrays(np.float32, (2, n), elements=st.sampled_from([-1, 0, 1, 2]))
    )
    got = per_item_losses(scores, labels, name=name)
    want = reff.loss(name, scores, labels, reduction="none")
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-5)


@functools.partial(jax.jit, static_argnames="name")
def per_item_losses(scores, labels, *, name):
    return loss(name, scores, labels, reduction="none")


def test_squared_error_closed_form_is_stable_for_large_offsets(rng):
    # Residuals y - s near 1e3 cancel in raw moments; centring keeps the digits.
    scores, labels, _ = make_inputs(rng, (2, 7))
    scores = scores + np.float32(1000.0)
    got = jaxrank.pairwise_mean_squared_error(scores, labels, reduction="none")
    want = reff.loss("mse", scores, labels, reduction="none")
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3)


def test_squared_error_far_from_zero_is_as_accurate_as_the_pairs(rng):
    # Scores near 1e12 (a float32 ulp is 65536): y - s would round the labels away;
    # the pair differences (y_i - y_j) - (s_i - s_j) keep them (issue 13).
    scores = np.float32(1e12) + np.float32(65536.0) * rng.integers(-3, 4, (2, 6))
    labels = rng.integers(0, 4, size=(2, 6)).astype(np.float32)
    got = jaxrank.pairwise_mean_squared_error(scores, labels, reduction="none")
    want = reff.loss("mse", scores, labels, reduction="none")
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_squared_error_nan_list_with_huge_scores_has_zero_gradient(rng):
    # Its closed form's intermediates would overflow; the NaN list reads as 0 inside.
    scores, labels, _ = make_inputs(rng, (2, 3))
    labels[:] = np.abs(labels)
    clean = value_and_grad(scores[1:], labels[1:], name="mse")[1]
    scores[0] = [np.inf, 3e38, 0.0]
    value, grad = value_and_grad(scores, labels, name="mse")
    assert np.isnan(value)
    np.testing.assert_array_equal(grad[0], 0.0)
    np.testing.assert_allclose(grad[1:], clean, rtol=1e-6)


# Scores ``2**-100`` times smaller over a temperature ``2**-100`` times smaller give the
# same losses: T = 3e38 (1/T is subnormal, flushed to 0 on CPU) against T ~ 2.4e8.
_TINY = np.float32(2.0**-100)


@pytest.mark.parametrize("name", ["hinge", "logistic", "soft_zero_one", "list_mle"])
def test_temperature_beyond_2_to_126(name, rng):
    scores, labels, where = make_inputs(rng, (2, 6))
    scores = scores * np.float32(1e37)
    # A weight of 2**100 makes the gradient (about w / T) a normal number.
    weights = np.full(scores.shape[:-1], 2.0**100, np.float32)
    if name != "list_mle":
        weights = np.broadcast_to(weights[:, None], scores.shape)

    def value_and_grad(s, t, w):
        def total(s):
            kw = dict(where=where, weights=w, temperature=t, reduction="sum")
            return loss(name, s, labels, **kw)

        return jax.jit(jax.value_and_grad(total))(s)

    value, grad = value_and_grad(scores, 3e38, weights)
    small, small_grad = value_and_grad(scores * _TINY, 3e38 * 2.0**-100, weights)
    np.testing.assert_allclose(value, small, rtol=1e-6)
    np.testing.assert_allclose(grad, small_grad * _TINY, rtol=1e-5)
    kw = dict(where=where, weights=weights, temperature=3e38, reduction="sum")
    np.testing.assert_allclose(value, reff.loss(name, scores, labels, **kw), rtol=1e-5)


@pytest.mark.parametrize("block_size", [None, 2])
@pytest.mark.parametrize("name", ["hinge", "logistic", "soft_zero_one", "list_mle"])
def test_score_differences_beyond_the_float_range(name, block_size, rng):
    # s_i - s_j overflows float32 for +-3e38; (s_i - s_j) / T does not (issue 13).
    scores, labels, where = make_inputs(rng, (2, 6))
    scores[:, :2] = [-3e38, 3e38]  # the higher label on the far lower score
    labels[:, :2] = [3.0, 0.0]
    where[:, :2] = True
    kw = dict(where=where, temperature=1e10, reduction="none")
    if name in ("logistic", "soft_zero_one"):
        kw["block_size"] = block_size
    elif block_size is not None:
        pytest.skip("no row blocks")
    got = loss(name, scores, labels, **kw)
    kw.pop("block_size", None)
    want = reff.loss(name, scores, labels, **kw)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_list_mle_scores_over_temperature_beyond_the_float_range(rng):
    # s / T overflows for T < 1 at scores near 3e38; s - max(s) does not.
    _, labels, where = make_inputs(rng, (2, 6))
    ulps = rng.integers(0, 4, size=(2, 6)).astype(np.float32)
    scores = np.float32(3e38) - ulps * np.spacing(np.float32(3e38))
    got = jaxrank.list_mle_loss(
        scores, labels, where=where, temperature=0.5, reduction="none"
    )
    want = reff.loss(
        "list_mle", scores, labels, where=where, temperature=0.5, reduction="none"
    )
    np.testing.assert_allclose(got, want, rtol=1e-5)


@pytest.mark.parametrize("name", ALL)
def test_nan_list_stays_nan_over_a_zero_weight_sum(name, rng):
    scores, labels, _ = make_inputs(rng, (2, 5))
    labels[:, :2] = [2.0, 0.0]
    weights = np.array([1.0, -1.0], np.float32)  # per list, summing to 0
    kw = dict(weights=weights, reduction="mean_with_sample_weight")
    value, grad = value_and_grad(scores, labels, **kw, name=name)
    assert float(value) == 0.0  # a zero divisor gives 0 ...
    np.testing.assert_array_equal(grad, 0.0)
    scores[0, 0] = np.nan
    value, grad = value_and_grad(scores, labels, **kw, name=name)
    assert np.isnan(value)  # ... but a NaN list stays reported
    np.testing.assert_array_equal(grad, 0.0)


# --- keras_rs parity ------------------------------------------------------------------

PARITY_WEIGHTS = [None, "scalar", "item", "list1"]


def _parity_cases(name):
    """(seed, temperature, rank, reduction, weight kind, masked) for one loss."""
    weights = (
        [None, "scalar", "list", "list1"] if name == "list_mle" else PARITY_WEIGHTS
    )
    single_list_quirk = ("list_mle", 1, "mean_with_sample_weight", "scalar")
    for seed, t, rank in [(0, 1.0, 2), (1, 0.5, 2), (2, 1.7, 1)]:
        for reduction in REDUCTIONS:
            for kind in weights:
                if (name, rank, reduction, kind) == single_list_quirk:
                    continue  # see test_list_mle_one_list_scalar_weight_quirk
                yield seed, t, rank, reduction, kind, (seed + len(reduction)) % 2 == 0


@pytest.mark.parametrize("name", FAMILY)
def test_matches_keras_rs(name):
    """Class and function against keras_rs 0.4.0 (JAX backend) on random inputs."""
    ours_cls, keras_cls = CLASSES[name]
    cases = 0
    for seed, t, rank, reduction, kind, masked in _parity_cases(name):
        rng = np.random.default_rng(seed)
        shape = (4, 7) if rank == 2 else (9,)
        scores, labels, where = make_inputs(rng, shape)
        if kind == "item" and rank == 1:
            kind = "list1"
        batch_shape = shape if rank == 2 else (1,) + shape
        weights = make_weights(name, kind, batch_shape, rng)
        y_true = {"labels": labels, "mask": where} if masked else labels
        want = keras_cls(temperature=t, reduction=reduction)(
            y_true, scores, sample_weight=weights
        )
        want = np.asarray(want)
        got_cls = ours_cls(temperature=t, reduction=reduction)(
            y_true, scores, sample_weight=weights
        )
        got_fn = loss(
            name,
            scores.reshape(batch_shape),
            labels.reshape(batch_shape),
            where=where.reshape(batch_shape) if masked else None,
            weights=weights,
            temperature=t,
            reduction=reduction,
        )
        # The class has keras_rs's shapes too (a (batch, 1) weight keeps its axis
        # for ListMLE); the function returns the leading shape.
        assert np.shape(got_cls) == want.shape, (seed, reduction, kind)
        for got in (got_cls, got_fn):
            np.testing.assert_allclose(
                got,
                want.reshape(np.shape(got)),
                rtol=RTOL,
                atol=ATOL,
                err_msg=str((seed, reduction, kind)),
            )
        cases += 1
    assert cases == (59 if name == "list_mle" else 60)


def test_list_mle_one_list_scalar_weight_quirk():
    # keras squeezes a batch of one list's loss to a scalar and then skips the
    # reduction: its "mean_with_sample_weight" is w * L. jaxrank divides by w.
    labels = np.array([1.0, 0.0, 2.0, 3.0, 1.0], np.float32)
    scores = np.array([0.1, 0.5, 0.2, 0.9, -1.0], np.float32)
    w = np.float32(1.6)
    reduction = "mean_with_sample_weight"
    keras_value = keras_rs.losses.ListMLELoss(reduction=reduction)(labels, scores, w)
    plain = jaxrank.ListMLELoss()(labels, scores)
    ours = jaxrank.ListMLELoss(reduction=reduction)(labels, scores, sample_weight=w)
    np.testing.assert_allclose(keras_value, w * plain, rtol=RTOL)
    np.testing.assert_allclose(ours, plain, rtol=RTOL)


def test_list_mle_label_ties_keep_list_order():
    # keras_rs on JAX sorts labels with a stable top_k: tied labels keep list order.
    scores = np.array([[0.3, -1.2, 2.0, 0.5, 0.1]], np.float32)
    labels = np.array([[1.0, 2.0, 1.0, 1.0, 0.0]], np.float32)
    want = keras_rs.losses.ListMLELoss(reduction="none")(labels, scores)
    got = jaxrank.list_mle_loss(scores, labels, reduction="none")
    np.testing.assert_allclose(got, want, rtol=RTOL)
    # ... and the order matters: swapping two tied items changes the loss.
    swapped = jaxrank.list_mle_loss(
        scores[:, [2, 1, 0, 3, 4]], labels, reduction="none"
    )
    assert abs(float(swapped[0]) - float(got[0])) > 1e-3


def test_mse_ignores_temperature_like_keras_rs(rng):
    scores, labels, _ = make_inputs(rng, (2, 5))
    plain = jaxrank.PairwiseMeanSquaredError()(labels, scores)
    hot = jaxrank.PairwiseMeanSquaredError(temperature=3.0)
    np.testing.assert_allclose(hot(labels, scores), plain, rtol=1e-6)
    assert hot.get_config()["temperature"] == 3.0
    rebuilt = jaxrank.PairwiseMeanSquaredError.from_config(hot.get_config())
    assert rebuilt.get_config()["temperature"] == 3.0


@pytest.mark.parametrize("cls", [jaxrank.PairwiseLogisticLoss, jaxrank.ListMLELoss])
def test_config_round_trip(cls):
    kwargs = dict(temperature=0.5, reduction="sum", name="x")
    if cls is jaxrank.PairwiseLogisticLoss:
        kwargs["lambda_weights"] = jaxrank.DCGLambdaWeight(topn=3)
    config = cls(**kwargs).get_config()
    assert cls.from_config(config).get_config() == config
    assert config["temperature"] == 0.5


# --- blocks of rows -------------------------------------------------------------------


@pytest.mark.parametrize("lambda_weights", [None, jaxrank.DCG2LambdaWeight(topn=3)])
@pytest.mark.parametrize("name", ["logistic", "soft_zero_one"])
def test_blocks_equal_dense(name, lambda_weights, rng):
    scores, labels, where = make_inputs(rng, (2, 3, 11))
    weights = make_weights(name, "item", scores.shape, rng)

    @jax.jit
    def dense_and_blocked(s):
        def total(block_size):
            return lambda x: loss(
                name,
                x,
                labels,
                where=where,
                weights=weights,
                reduction="sum",
                lambda_weights=lambda_weights,
                block_size=block_size,
            )

        # 11 rows: dense, and 4 blocks of 3 (the last one padded).
        return jax.value_and_grad(total(None))(s), jax.value_and_grad(total(3))(s)

    (dense_value, dense_grad), (value, grad) = dense_and_blocked(scores)
    np.testing.assert_allclose(value, dense_value, rtol=1e-5)
    np.testing.assert_allclose(grad, dense_grad, rtol=1e-5, atol=1e-6)


def test_auto_block_size_blocks_long_lists():
    from jaxrank._src import pair_blocks

    assert pair_blocks.block_size_for((64, 256), None) == 256  # dense
    block = pair_blocks.block_size_for((1, 16384), None)
    assert 1 <= block < 16384 and block * 16384 <= pair_blocks.PAIR_BUDGET
    assert pair_blocks.block_size_for((2, 5), 100) == 5


# --- gradients ------------------------------------------------------------------------

GRAD_CASES = [
    ("logistic", {}),
    ("logistic", {"block_size": 2}),
    ("soft_zero_one", {"block_size": 3, "lambda_weights": jaxrank.DCGLambdaWeight()}),
    ("mse", {}),
    ("mse", {"lambda_weights": jaxrank.LabelDiffLambdaWeight()}),
    ("list_mle", {}),
    ("hinge", {"lambda_weights": jaxrank.DCG2LambdaWeight(normalize=True)}),
]


def _separated_inputs(rng, shape):
    """Scores 0.27 or more apart: a 1e-3 step swaps no ranks and crosses no kink."""
    n = shape[-1]
    scores = np.stack([rng.permutation(n) for _ in range(shape[0])]) * 0.37 - 1.0
    scores = scores + rng.uniform(0, 0.1, size=shape)
    labels = rng.integers(-1, 3, size=shape).astype(np.float64)
    return scores, labels


@pytest.mark.parametrize("name, options", GRAD_CASES, ids=str)
def test_gradients_float64(name, options, rng):
    scores, labels = _separated_inputs(rng, (2, 5))
    weights = rng.uniform(0.5, 2.0, size=(2, 1))
    with jax.enable_x64(True):
        labels64 = jnp.asarray(labels, jnp.float64)
        weights64 = jnp.asarray(weights, jnp.float64)

        def f(s):
            return loss(
                name, s, labels64, weights=weights64, temperature=0.8, **options
            )

        check_grads(
            jax.jit(f), (jnp.asarray(scores),), order=1, modes=["rev"], eps=1e-3
        )


def _plain_pairwise(term, scores, labels, valid, t, lam):
    """A dense autodiff version of the pairwise losses, for the custom VJP to match."""
    x = (scores[..., :, None] - scores[..., None, :]) / t
    dy = labels[..., :, None] - labels[..., None, :]
    pairs = valid[..., :, None] & valid[..., None, :]
    if term != "mse":
        pairs = pairs & (dy > 0)
    values = {
        "hinge": jax.nn.relu(1 - x),
        "logistic": jax.nn.softplus(-x),
        "soft_zero_one": jax.nn.sigmoid(-x),
        "mse": jnp.square(dy - x),
    }[term]
    return jnp.sum(jnp.where(pairs, values * lam, 0.0), axis=-1)


@pytest.mark.parametrize("lambda_weights", [None, jaxrank.DCGLambdaWeight(topn=2)])
@pytest.mark.parametrize("name", ["hinge", "logistic", "soft_zero_one", "mse"])
def test_custom_vjp_matches_autodiff(name, lambda_weights, rng):
    scores, labels, where = make_inputs(rng, (3, 6))
    cot = rng.normal(size=(3, 6)).astype(np.float32)
    valid = (labels >= 0) & where
    lam = np.ones((3, 6, 6), np.float32)
    if lambda_weights is not None:
        lam = np.asarray(lambda_weights(scores, labels, where=where))
    t = 1.0 if name == "mse" else 0.6

    def ours(s):
        kwargs = dict(where=where, reduction="none", lambda_weights=lambda_weights)
        return jnp.sum(loss(name, s, labels, temperature=t, **kwargs) * cot)

    def plain(s):
        return jnp.sum(_plain_pairwise(name, s, labels, valid, t, lam) * cot)

    ours_grad, plain_grad = jax.jit(lambda s: (jax.grad(ours)(s), jax.grad(plain)(s)))(
        scores
    )
    np.testing.assert_allclose(ours_grad, plain_grad, rtol=1e-5, atol=1e-5)


# --- properties of every loss ---------------------------------------------------------


def _weights_for(name, shape):
    if name == "list_mle":
        return np.full(shape[:-1], 2.0, np.float32)
    return np.full(shape, 2.0, np.float32)


@functools.partial(jax.jit, static_argnames=("name", "reduction"))
def value_and_grad(scores, labels, where=None, weights=None, *, name, reduction="sum"):
    """Jitted value and scores-gradient of ``sum(loss)``, shared by the tests below."""

    def total(s):
        return jnp.sum(
            loss(name, s, labels, where=where, weights=weights, reduction=reduction)
        )

    return jax.value_and_grad(total)(scores)


@pytest.mark.parametrize("name", ALL)
def test_all_masked_gives_zero_value_and_gradient(name, rng):
    scores, labels, _ = make_inputs(rng, (2, 5))
    where = np.zeros((2, 5), bool)
    weights = _weights_for(name, scores.shape)
    for reduction in ["none", "mean_with_sample_weight"]:  # per item; a weighted mean
        value, grad = value_and_grad(
            scores, labels, where, weights, name=name, reduction=reduction
        )
        assert float(value) == 0.0, reduction
        np.testing.assert_array_equal(grad, np.zeros_like(scores))


@pytest.mark.parametrize("name", ALL)
def test_empty_lists(name):
    for shape in [(2, 0), (0, 4)]:
        scores, labels = np.zeros(shape, np.float32), np.zeros(shape, np.float32)
        assert float(loss(name, scores, labels)) == 0.0
        none = loss(name, scores, labels, reduction="none")
        assert none.shape == (shape[:-1] if name == "list_mle" else shape)
        value, grad = value_and_grad(scores, labels, name=name)
        assert float(value) == 0.0 and grad.shape == shape


@pytest.mark.parametrize("name", ALL)
def test_padding_with_bad_scores_changes_nothing(name, rng):
    scores, labels, _ = make_inputs(rng, (2, 5))
    value, grad = value_and_grad(scores, labels, np.ones((2, 5), bool), name=name)
    pad_labels = np.array([[-1, 2], [-1, 0]], np.float32)  # ignored by label, by mask
    padded_labels = np.concatenate([labels, pad_labels], -1)
    where = np.concatenate([np.ones((2, 5), bool), np.array([[True, False]] * 2)], -1)
    for bad in [np.inf, -np.inf, np.nan]:
        padded_scores = np.concatenate([scores, np.full((2, 2), bad, np.float32)], -1)
        p_value, p_grad = value_and_grad(padded_scores, padded_labels, where, name=name)
        np.testing.assert_allclose(p_value, value, rtol=1e-6)
        np.testing.assert_allclose(p_grad[:, :5], grad, rtol=1e-6, atol=1e-7)
        np.testing.assert_array_equal(p_grad[:, 5:], 0.0)


@pytest.mark.parametrize("name", ALL)
def test_nonfinite_valid_score_poisons_only_its_list(name, rng):
    scores, labels, _ = make_inputs(rng, (2, 5))
    labels[:, :2] = [2.0, 0.0]
    scores[0, 0] = np.nan
    none = np.asarray(loss(name, scores, labels, reduction="none"))
    assert np.all(np.isnan(none[0]))
    assert np.all(np.isfinite(none[1]))
    assert np.isnan(float(loss(name, scores, labels)))


@pytest.mark.parametrize("name", ALL)
def test_half_precision_computes_in_float32(name, rng):
    scores, labels, where = make_inputs(rng, (2, 5))
    for dtype in [jnp.bfloat16, jnp.float16]:
        half = jnp.asarray(scores, dtype)
        value, grad = value_and_grad(half, labels, where, name=name)
        assert value.dtype == jnp.float32 and grad.dtype == dtype
        want, _ = value_and_grad(np.asarray(half, np.float32), labels, where, name=name)
        np.testing.assert_allclose(value, want, rtol=1e-6)


@pytest.mark.parametrize("name", ALL)
def test_leading_axes_and_vmap(name, rng):
    scores, labels, where = make_inputs(rng, (2, 3, 5))

    @jax.jit
    def three_ways(s, y, w):
        per_item = functools.partial(loss, name, reduction="none")
        flat = per_item(s.reshape(6, 5), y.reshape(6, 5), where=w.reshape(6, 5))
        mapped = jax.vmap(lambda *a: per_item(a[0], a[1], where=a[2]))(s, y, w)
        return per_item(s, y, where=w), flat, mapped

    got, flat, mapped = three_ways(scores, labels, where)
    np.testing.assert_allclose(got, np.reshape(flat, got.shape), rtol=1e-6)
    np.testing.assert_allclose(mapped, got, rtol=1e-6)


@pytest.mark.parametrize("name", ALL)
def test_as_optax_loss(name, rng):
    scores, labels, where = make_inputs(rng, (4, 6))
    labels[:, 0], where[:, 0] = 1.0, True  # every list has a valid item
    optax_loss = jaxrank.as_optax_loss(FUNCTIONS[name])

    @jax.jit
    def run(s):
        per_list = optax_loss(s, labels, where=where, reduce_fn=None)
        mean, grad = jax.value_and_grad(lambda x: optax_loss(x, labels, where=where))(s)
        return (
            per_list,
            mean,
            grad,
            loss(name, s, labels, where=where, reduction="none"),
        )

    per_list, mean, grad, item = run(scores)
    assert per_list.shape == (4,)
    want = item if name == "list_mle" else np.sum(item, -1)
    np.testing.assert_allclose(per_list, want, rtol=1e-6)
    np.testing.assert_allclose(mean, np.mean(want), rtol=1e-6)
    assert np.all(np.isfinite(grad)) and np.any(grad != 0)


# --- bad input ------------------------------------------------------------------------


@pytest.mark.parametrize("name", FAMILY)
def test_bad_arguments_raise(name):
    scores, labels = np.zeros((2, 3), np.float32), np.zeros((2, 3), np.float32)
    with pytest.raises(ValueError, match="labels"):
        loss(name, scores, labels[:, :2])
    with pytest.raises(ValueError, match="reduction"):
        loss(name, scores, labels, reduction="avg")
    if name != "mse":
        with pytest.raises(ValueError, match="temperature"):
            loss(name, scores, labels, temperature=0.0)
    if name == "list_mle":
        with pytest.raises(ValueError, match="per-item"):
            loss(name, scores, labels, weights=np.ones((2, 3), np.float32))
    else:
        with pytest.raises(TypeError, match="lambda_weights"):
            loss(name, scores, labels, lambda_weights="ndcg")
        with pytest.raises(ValueError, match="block_size"):
            loss(name, scores, labels, block_size=0)


def test_hinge_sorted_path_refuses_lambda_weights():
    scores, labels = np.zeros((2, 3), np.float32), np.zeros((2, 3), np.float32)
    with pytest.raises(ValueError, match="lambda_weights"):
        jaxrank.pairwise_hinge_loss(
            scores,
            labels,
            method="sorted",
            lambda_weights=jaxrank.LabelDiffLambdaWeight(),
        )
    with pytest.raises(ValueError, match="lambda_weights"):
        jaxrank.PairwiseHingeLoss(
            method="sorted", lambda_weights=jaxrank.LabelDiffLambdaWeight()
        )
