"""`jaxrank.PairwiseHingeLoss` against the spec, the function, and keras_rs 0.4.0."""

import functools

import jax
import numpy as np
import pytest

import jaxrank

REDUCTIONS = ["sum_over_batch_size", "mean", "sum", "mean_with_sample_weight", "none"]

Y_TRUE = np.array([[1.0, 0.0, 1.0, 3.0], [0.0, 1.0, 2.0, 3.0]])
Y_PRED = np.array([[1.0, 3.0, 2.0, 4.0], [1.0, 1.8, 2.0, 3.0]])
MASK = np.array([[True, True, True, True], [True, True, False, False]])
SAMPLE_WEIGHT = np.array([[2.0, 3.0, 1.0, 1.0], [2.0, 1.0, 0.0, 0.0]])

# (constructor options, y_true, y_pred, sample_weight, expected) from the spec.
WORKED_EXAMPLES = [
    (
        {},
        np.array([1.0, 0.0, 1.0, 3.0, 2.0]),
        np.array([1.0, 3.0, 2.0, 4.0, 0.8]),
        None,
        2.32,
    ),
    ({}, Y_TRUE, Y_PRED, None, 0.75),
    ({}, {"labels": Y_TRUE, "mask": MASK}, Y_PRED, None, 0.65),
    ({}, Y_TRUE, Y_PRED, SAMPLE_WEIGHT, 1.025),
    ({"temperature": 0.5}, Y_TRUE, Y_PRED, None, 1.075),
    ({"reduction": "mean_with_sample_weight"}, Y_TRUE, Y_PRED, SAMPLE_WEIGHT, 0.82),
    ({"reduction": "sum"}, Y_TRUE, Y_PRED, None, 6.0),
    ({}, Y_TRUE, Y_PRED, np.array([[2.0], [0.5]]), 1.3125),
    (
        {"reduction": "none"},
        Y_TRUE,
        Y_PRED,
        None,
        [[3.0, 0.0, 2.0, 0.0], [0.0, 0.2, 0.8, 0.0]],
    ),
    (
        {"reduction": None},
        np.array([1.0, 0.0, 1.0, 3.0]),
        np.array([1.0, 3.0, 2.0, 4.0]),
        None,
        [[3.0, 0.0, 2.0, 0.0]],  # unbatched input is a batch of one
    ),
]


@pytest.mark.parametrize(
    "options, y_true, y_pred, sample_weight, expected",
    WORKED_EXAMPLES,
    ids=[f"example{i}" for i in range(len(WORKED_EXAMPLES))],
)
def test_worked_examples(options, y_true, y_pred, sample_weight, expected):
    loss = jaxrank.PairwiseHingeLoss(**options)
    got = loss(y_true, y_pred, sample_weight=sample_weight)
    assert got.dtype == np.float32
    assert got.shape == np.shape(expected)
    np.testing.assert_allclose(got, np.float32(expected), rtol=3e-7, atol=3e-7)


def random_case(rng, rank, weight_kind, *, masked):
    """Labels (ties and -1), scores, optional mask and a sample weight of a kind."""
    shape = (6,) if rank == 1 else (3, 5)
    labels = rng.integers(-1, 4, size=shape).astype(np.float32)
    scores = rng.normal(size=shape).astype(np.float32)
    y_true = labels
    if masked:
        y_true = {"labels": labels, "mask": rng.random(size=shape) < 0.7}
    weight_shape = {
        None: None,
        "scalar": (),
        "per list": shape[:-1] + (1,),  # (batch, 1); (1,) for unbatched input
        "per item": shape,
    }[weight_kind]
    weights = None
    if weight_shape is not None:
        weights = rng.uniform(0.0, 2.0, size=weight_shape).astype(np.float32)
    return y_true, scores, weights


WEIGHT_KINDS = [None, "scalar", "per list", "per item"]


@pytest.fixture(scope="module")
def keras_rs():
    return pytest.importorskip("keras_rs")


def keras_rs_loss(
    keras_rs, y_true, y_pred, sample_weight=None, cls="PairwiseHingeLoss", **options
):
    """keras_rs's numbers; keras itself relies on implicit rank promotion (it
    multiplies (1, n) losses by (n,) weights), so allow it for this call only."""
    with jax.numpy_rank_promotion("allow"):
        loss = getattr(keras_rs.losses, cls)(**options)
        return np.asarray(loss(y_true, y_pred, sample_weight=sample_weight))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight_kind", WEIGHT_KINDS, ids=str)
@pytest.mark.parametrize("rank", [1, 2])
def test_matches_keras_rs(rank, weight_kind, reduction, keras_rs, rng):
    for masked in (False, True):
        for temperature in (1.0, 0.4):
            y_true, y_pred, weights = random_case(rng, rank, weight_kind, masked=masked)
            ours = jaxrank.PairwiseHingeLoss(
                temperature=temperature, reduction=reduction
            )
            got = ours(y_true, y_pred, sample_weight=weights)
            want = keras_rs_loss(
                keras_rs,
                y_true,
                y_pred,
                weights,
                temperature=temperature,
                reduction=reduction,
            )
            assert got.shape == want.shape, (masked, temperature)
            assert got.dtype == want.dtype
            np.testing.assert_allclose(
                got, want, rtol=1e-5, atol=1e-6, err_msg=f"{masked=} {temperature=}"
            )


def test_matches_keras_rs_on_integer_inputs(keras_rs, rng):
    # Keras casts integer labels and scores to its float dtype; so does the class.
    labels = rng.integers(-1, 4, size=(3, 5))
    scores = rng.integers(-3, 4, size=(3, 5))
    got = jaxrank.PairwiseHingeLoss()(labels, scores)
    want = keras_rs_loss(keras_rs, labels, scores)
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_matches_keras_rs_with_float_mask(keras_rs, rng):
    # A 0/1 float mask works as a boolean one, as in keras_rs.
    y_true, y_pred, _ = random_case(rng, 2, None, masked=True)
    float_mask = {"labels": y_true["labels"], "mask": y_true["mask"].astype(np.float32)}
    got = jaxrank.PairwiseHingeLoss()(float_mask, y_pred)
    np.testing.assert_allclose(got, jaxrank.PairwiseHingeLoss()(y_true, y_pred))
    want = keras_rs_loss(keras_rs, float_mask, y_pred)
    np.testing.assert_allclose(got, want, rtol=1e-6)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight_kind", WEIGHT_KINDS, ids=str)
def test_class_equals_function(weight_kind, reduction, rng):
    y_true, y_pred, weights = random_case(rng, 2, weight_kind, masked=True)
    got = jaxrank.PairwiseHingeLoss(temperature=0.7, reduction=reduction)(
        y_true, y_pred, sample_weight=weights
    )
    want = jaxrank.pairwise_hinge_loss(
        y_pred,
        y_true["labels"],
        where=y_true["mask"],
        weights=weights,
        temperature=0.7,
        reduction=reduction,
    )
    np.testing.assert_array_equal(got, want)


def test_class_unbatched_equals_function(rng):
    y_true, y_pred, weights = random_case(rng, 1, "per item", masked=False)
    loss = jaxrank.PairwiseHingeLoss(reduction="none")
    got = loss(y_true, y_pred, sample_weight=weights)
    want = jaxrank.pairwise_hinge_loss(
        y_pred, y_true, weights=weights, reduction="none"
    )
    assert got.shape == (1, 6) and want.shape == (6,)
    np.testing.assert_array_equal(got[0], want)


def test_per_list_weight_of_shape_batch(rng):
    # Documented improvement on keras_rs: (batch,) is one weight per list.
    y_true, y_pred, weights = random_case(rng, 2, "per list", masked=False)
    loss = jaxrank.PairwiseHingeLoss(reduction="mean_with_sample_weight")
    np.testing.assert_array_equal(
        loss(y_true, y_pred, sample_weight=weights[:, 0]),
        loss(y_true, y_pred, sample_weight=weights),
    )


def test_config_round_trip(rng):
    loss = jaxrank.PairwiseHingeLoss(temperature=0.3, reduction="sum", name="hinge")
    config = loss.get_config()
    assert config["temperature"] == 0.3 and config["reduction"] == "sum"
    clone = jaxrank.PairwiseHingeLoss.from_config(config)
    y_true, y_pred, _ = random_case(rng, 2, None, masked=False)
    np.testing.assert_array_equal(clone(y_true, y_pred), loss(y_true, y_pred))


def _outcome(fn, errors=(TypeError, ValueError)):
    """``("ok", array)`` or ``("error", message)`` of calling ``fn``."""
    try:
        return "ok", np.asarray(fn())
    except errors as err:
        return "error", str(err)


def _weight_cases(batch, n):
    shapes = [(), (1,), (1, 1), (n,), (1, n), (batch,), (batch, 1), (batch, n)]
    return [shape for shape in dict.fromkeys(shapes)]  # distinct, in order


@pytest.mark.parametrize("cls", ["PairwiseHingeLoss", "ListMLELoss"])
@pytest.mark.parametrize("batch, n", [(3, 4), (4, 4), (1, 4), (0, 4)])
def test_sample_weight_shapes_as_keras_rs(keras_rs, cls, batch, n):
    """Every weight shape and reduction: keras_rs's value and shape, or one of the
    documented differences (the class docstrings), never a silent other number."""
    if batch == 0:  # rank-1 input: one list
        y_true, y_pred = Y_TRUE[1], Y_PRED[1]
        shapes, lists = [(), (1,), (n,)], 1
    else:
        rng = np.random.default_rng(batch)
        y_true = rng.integers(-1, 3, (batch, n)).astype(np.float32)
        y_pred = rng.normal(size=(batch, n)).astype(np.float32)
        shapes, lists = _weight_cases(batch, n), batch
    for shape in shapes:
        weight = np.linspace(0.5, 2.0, int(np.prod(shape))).reshape(shape)
        for reduction in REDUCTIONS:
            loss = getattr(jaxrank, cls)(reduction=reduction)
            ours = _outcome(functools.partial(loss, y_true, y_pred, weight))
            theirs = _outcome(
                functools.partial(
                    keras_rs_loss,
                    keras_rs,
                    y_true,
                    y_pred,
                    weight,
                    cls=cls,
                    reduction=reduction,
                ),
                errors=Exception,
            )
            case = (cls, batch, n, shape, reduction)
            varies_in_list = len(shape) > 0 and shape[-1] == n and n > 1
            if shape == (n,) and lists == n and batch > 0:
                assert ours[0] == "error" and "ambiguous" in ours[1], case
            elif cls == "ListMLELoss" and varies_in_list:
                assert ours[0] == "error" and "per-list loss" in ours[1], case
            elif shape == (lists,) and lists > 1 and theirs[0] == "error":
                # One weight per list, where keras_rs fails to broadcast: the
                # numbers keras_rs gives for the same weights as (batch, 1).
                want = keras_rs_loss(
                    keras_rs,
                    y_true,
                    y_pred,
                    weight[:, None],
                    cls=cls,
                    reduction=reduction,
                )
                assert ours[0] == "ok", case
                np.testing.assert_allclose(ours[1], want, rtol=2e-6, atol=1e-6)
            elif (
                cls == "ListMLELoss"
                and lists == 1
                and shape == ()
                and reduction == "mean_with_sample_weight"
            ):
                # keras_rs skips the reduction here and returns w * L; we give L.
                assert ours[0] == "ok", case
                np.testing.assert_allclose(ours[1] * weight, theirs[1], rtol=1e-6)
            else:
                assert ours[0] == theirs[0] == "ok", (case, ours, theirs)
                assert ours[1].shape == theirs[1].shape, case
                np.testing.assert_allclose(ours[1], theirs[1], rtol=2e-6, atol=1e-6)
