"""Lambda weights against rax 0.4.0 and the float64 references, alone and in losses."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jaxrank
import reference as ref
import reference_family as reff

rax = pytest.importorskip("rax")

# (ours, rax's function, the reference spec)
WEIGHTS = [
    (jaxrank.LabelDiffLambdaWeight(), rax.labeldiff_lambdaweight, ("labeldiff",)),
    (jaxrank.DCGLambdaWeight(), rax.dcg_lambdaweight, ("dcg", None, False)),
    (
        jaxrank.DCGLambdaWeight(topn=3, normalize=True),
        functools.partial(rax.dcg_lambdaweight, topn=3, normalize=True),
        ("dcg", 3, True),
    ),
    (
        jaxrank.DCGLambdaWeight(normalize=True),
        functools.partial(rax.dcg_lambdaweight, normalize=True),
        ("dcg", None, True),
    ),
    (jaxrank.DCG2LambdaWeight(), rax.dcg2_lambdaweight, ("dcg2", None, False, False)),
    (
        jaxrank.DCG2LambdaWeight(topn=2, normalize=True),
        functools.partial(rax.dcg2_lambdaweight, topn=2, normalize=True),
        ("dcg2", 2, True, False),
    ),
    (
        jaxrank.DCG2LambdaWeight(topn=4, light_discount=True),
        functools.partial(rax.dcg2_lambdaweight, topn=4, light_discount=True),
        ("dcg2", 4, False, True),
    ),
]
IDS = [f"{type(w[0]).__name__}-{w[2]}" for w in WEIGHTS]
RTOL, ATOL = 1e-5, 1e-5


def make_inputs(rng, shape):
    scores = rng.normal(size=shape).astype(np.float32)
    labels = rng.integers(0, 4, size=shape).astype(np.float32)
    where = rng.random(size=shape) < 0.8
    return scores, labels, where


def _valid_pairs(where):
    return where[..., :, None] & where[..., None, :]


@pytest.mark.parametrize("ours, theirs, spec", WEIGHTS, ids=IDS)
def test_matches_rax_and_reference(ours, theirs, spec, rng):
    """On every pair of valid items (rax keeps label-difference weights on pairs of
    two ignored items; jaxrank gives 0 to any pair with an ignored item)."""
    for seed in range(3):
        rng = np.random.default_rng(seed)
        scores, labels, where = make_inputs(rng, (3, 7))
        if seed == 2:  # score ties: both break them by list order
            scores = np.round(scores)
        got = np.asarray(ours(scores, labels, where=where))
        want = np.asarray(theirs(scores, labels, where=where)).reshape(got.shape)
        pairs = _valid_pairs(where)
        np.testing.assert_allclose(got[pairs], want[pairs], rtol=RTOL, atol=ATOL)
        np.testing.assert_array_equal(got[~pairs], 0.0)
        expected = reff.lambda_weights(spec, scores, labels, where)
        np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL)


@settings(max_examples=25, deadline=None)
@given(
    index=st.integers(0, len(WEIGHTS) - 1),
    seed=st.integers(0, 2**31 - 1),
    n=st.integers(1, 6),
)
def test_property_symmetric_and_permutation_equivariant(index, seed, n):
    ours = WEIGHTS[index][0]
    rng = np.random.default_rng(seed)
    scores = rng.permutation(n).astype(np.float32)  # distinct: ranks are unique
    labels = rng.integers(0, 4, size=n).astype(np.float32)
    w = np.asarray(ours(scores, labels))
    np.testing.assert_allclose(w, w.T, rtol=1e-6)
    np.testing.assert_array_equal(np.diag(w), 0.0)
    assert np.all(w >= 0)
    perm = rng.permutation(n)
    permuted = np.asarray(ours(scores[perm], labels[perm]))
    np.testing.assert_allclose(permuted, w[np.ix_(perm, perm)], rtol=1e-5, atol=1e-6)


RAX_LOSSES = {
    "hinge": (jaxrank.pairwise_hinge_loss, rax.pairwise_hinge_loss),
    "logistic": (jaxrank.pairwise_logistic_loss, rax.pairwise_logistic_loss),
    "soft_zero_one": (
        jaxrank.pairwise_soft_zero_one_loss,
        rax.pairwise_soft_zero_one_loss,
    ),
    "mse": (jaxrank.pairwise_mean_squared_error, rax.pairwise_mse_loss),
}


@pytest.mark.parametrize("name", list(RAX_LOSSES))
@pytest.mark.parametrize("index", [0, 2, 5])
def test_losses_with_lambda_weights_match_rax(name, index):
    """``reduction="sum"`` equals rax's loss with ``reduce_fn=jnp.sum``."""
    ours_lw, rax_lw, spec = WEIGHTS[index]
    ours, theirs = RAX_LOSSES[name]
    rng = np.random.default_rng(index)
    scores, labels, where = make_inputs(rng, (3, 7))
    got = ours(scores, labels, where=where, reduction="sum", lambda_weights=ours_lw)
    want = theirs(
        scores, labels, where=where, lambdaweight_fn=rax_lw, reduce_fn=jnp.sum
    )
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)
    valid = ref.valid_items(labels, where)
    lam = reff.lambda_weights(spec, scores, labels, valid)
    if name == "mse":
        item = reff.squared_error_item_losses(scores, labels, valid, lam)
    else:
        item = reff.pairwise_item_losses(name, scores, labels, valid, 1.0, lam)
    np.testing.assert_allclose(got, item.sum(), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("method", ["auto", "all_pairs"])
def test_hinge_with_lambda_weights_keras_class(method, rng):
    lw = jaxrank.DCGLambdaWeight(topn=2, normalize=True)
    scores, labels, where = make_inputs(rng, (2, 6))
    cls = jaxrank.PairwiseHingeLoss(method=method, lambda_weights=lw, reduction="none")
    got = cls({"labels": labels, "mask": where}, scores)
    valid = ref.valid_items(labels, where)
    lam = reff.lambda_weights(("dcg", 2, True), scores, labels, valid)
    want = reff.pairwise_item_losses("hinge", scores, labels, valid, 1.0, lam)
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)


def test_lambda_weights_are_constants_under_differentiation(rng):
    scores, labels, where = make_inputs(rng, (2, 6))
    lw = jaxrank.DCG2LambdaWeight(topn=3)
    grad = jax.grad(lambda s: jnp.sum(lw(s, labels, where=where)))(scores)
    np.testing.assert_array_equal(grad, 0.0)


def test_bad_options_raise():
    with pytest.raises(ValueError, match="topn"):
        jaxrank.DCGLambdaWeight(topn=0)
    with pytest.raises(ValueError, match="topn"):
        jaxrank.DCG2LambdaWeight(topn=2.5)
    with pytest.raises(TypeError, match="where"):
        jaxrank.LabelDiffLambdaWeight()(
            np.zeros(3, np.float32), np.zeros(3, np.float32), where=np.ones(3)
        )


@pytest.mark.parametrize("ours, theirs, spec", WEIGHTS, ids=IDS)
def test_infinite_scores_rank_first_or_last(ours, theirs, spec, rng):
    # A valid +inf ranks first and -inf last, as any larger or smaller score would.
    del theirs
    scores, labels, where = make_inputs(rng, (2, 6))
    scores[:, :2] = [np.inf, -np.inf]
    where[:, :2] = True
    got = ours(scores, labels, where=where)
    finite = np.where(np.isinf(scores), np.sign(scores) * 1e3, scores)
    np.testing.assert_array_equal(got, ours(finite, labels, where=where))
    valid = ref.valid_items(labels, where)
    want = reff.lambda_weights(spec, scores, labels, valid)
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("name", ["hinge", "mse"])
def test_zero_lambda_weight_times_an_overflowing_pair_term(name):
    # Equal labels (LabelDiff) or two items below the cut-off (DCG@1): weight 0 on a
    # pair whose term is beyond float32 (1e48, or inf at T = 1e-10) adds 0, not NaN.
    if name == "mse":
        scores = np.array([0.0, 1e24, 0.5], np.float32)
        labels = np.zeros(3, np.float32)
        lw, spec, kw = jaxrank.LabelDiffLambdaWeight(), ("labeldiff",), {}
    else:
        scores = np.array([-1e30, 1e30, 0.0], np.float32)
        labels = np.array([1.0, 2.0, 0.0], np.float32)
        lw, spec, kw = jaxrank.DCGLambdaWeight(topn=1), ("dcg", 1, False), {}
        kw["temperature"] = 1e-10
    fn = {
        "hinge": jaxrank.pairwise_hinge_loss,
        "mse": jaxrank.pairwise_mean_squared_error,
    }[name]
    got = fn(scores, labels, lambda_weights=lw, reduction="none", **kw)
    want = reff.loss(name, scores, labels, lambda_spec=spec, reduction="none", **kw)
    assert np.all(np.isfinite(want))
    np.testing.assert_allclose(got, want, rtol=1e-6)
