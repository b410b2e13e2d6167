"""`jaxrank.as_optax_loss` follows the convention of optax's `ranking_softmax_loss`."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxrank
import reference as ref


def make_batch(rng, shape=(4, 5)):
    scores = rng.normal(size=shape).astype(np.float32)
    labels = rng.integers(0, 4, size=shape).astype(np.float32)
    where = rng.random(size=shape) < 0.8
    weights = rng.uniform(0.5, 2.0, size=shape).astype(np.float32)
    return scores, labels, where, weights


def reference_per_list(scores, labels, where=None, weights=None, temperature=1.0):
    """One loss per list: the sum of its (weighted) per-item losses."""
    item = ref.pairwise_hinge_loss(
        scores,
        labels,
        where=where,
        weights=weights,
        temperature=temperature,
        reduction="none",
    )
    return item.sum(axis=-1)


@pytest.fixture(scope="module")
def loss():
    return jaxrank.as_optax_loss(jaxrank.pairwise_hinge_loss, temperature=0.5)


def test_per_list_losses(loss, rng):
    scores, labels, where, weights = make_batch(rng)
    got = loss(scores, labels, where=where, weights=weights, reduce_fn=None)
    want = reference_per_list(scores, labels, where, weights, temperature=0.5)
    assert got.shape == (4,)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_reductions(loss, rng):
    scores, labels, _, weights = make_batch(rng)
    per_list = reference_per_list(scores, labels, weights=weights, temperature=0.5)
    # jnp.mean is the default, as in optax.
    np.testing.assert_allclose(
        loss(scores, labels, weights=weights), per_list.mean(), rtol=1e-5
    )
    np.testing.assert_allclose(
        loss(scores, labels, weights=weights, reduce_fn=jnp.sum),
        per_list.sum(),
        rtol=1e-5,
    )


def test_leading_axes_and_single_list(loss, rng):
    scores, labels, _, _ = make_batch(rng, (2, 3, 4))
    got = loss(scores, labels, reduce_fn=None)
    assert got.shape == (2, 3)
    np.testing.assert_allclose(
        got, reference_per_list(scores, labels, temperature=0.5), rtol=1e-5, atol=1e-5
    )
    single = loss(scores[0, 0], labels[0, 0], reduce_fn=None)
    assert single.shape == ()
    np.testing.assert_allclose(single, got[0, 0], rtol=1e-6)


def test_mean_skips_lists_without_valid_items_like_optax(loss, rng):
    # optax's ranking losses average only over lists with a valid item (their `where`
    # is passed on to reduce_fn), so padding lists do not dilute the mean.
    scores, labels, where, _ = make_batch(rng)
    where[1] = False
    per_list = reference_per_list(scores, labels, where, temperature=0.5)
    got = loss(scores, labels, where=where)
    np.testing.assert_allclose(got, per_list[[0, 2, 3]].mean(), rtol=1e-5)
    # The same convention in optax itself, for the record.
    softmax = optax.losses.ranking_softmax_loss
    per_list_sm = np.asarray(softmax(scores, labels, where=where, reduce_fn=None))
    np.testing.assert_allclose(
        softmax(scores, labels, where=where), per_list_sm[[0, 2, 3]].mean(), rtol=1e-5
    )
    # Every list masked: 0, as optax gives.
    assert loss(scores, labels, where=np.zeros_like(where)) == 0.0


def test_reduction_option_is_rejected():
    with pytest.raises(ValueError, match="reduction"):
        jaxrank.as_optax_loss(jaxrank.pairwise_hinge_loss, reduction="sum")


def _train(loss_fn, steps=5):
    """A few SGD steps of a linear scorer; the same code for any optax-style loss."""
    rng = np.random.default_rng(1)
    features = rng.normal(size=(8, 6, 3)).astype(np.float32)
    true_w = np.array([1.0, -2.0, 0.5], np.float32)
    labels = np.clip(np.round(features @ true_w + 1.5), 0, 3).astype(np.float32)
    where = rng.random(size=(8, 6)) < 0.9
    params = {"w": jnp.zeros(3), "b": jnp.zeros(())}
    optimizer = optax.sgd(0.1)
    opt_state = optimizer.init(params)

    def objective(params):
        scores = features @ params["w"] + params["b"]
        return loss_fn(scores, labels, where=where)

    @jax.jit
    def step(params, opt_state):
        value, grads = jax.value_and_grad(objective)(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, value

    values = []
    for _ in range(steps):
        params, opt_state, value = step(params, opt_state)
        values.append(float(value))
    return values, params


@pytest.mark.parametrize(
    "name", ["optax.losses.ranking_softmax_loss", "jaxrank.pairwise_hinge_loss"]
)
def test_drop_in_for_ranking_softmax_loss_in_training(name):
    loss_fn = {
        "optax.losses.ranking_softmax_loss": optax.losses.ranking_softmax_loss,
        "jaxrank.pairwise_hinge_loss": jaxrank.as_optax_loss(
            jaxrank.pairwise_hinge_loss
        ),
    }[name]
    values, params = _train(loss_fn)
    assert all(np.isfinite(values))
    assert values[-1] < values[0], values
    assert np.all(np.isfinite(params["w"]))


def test_padding_lists_do_not_change_a_mean_however_expressed():
    """A list padded with -1 labels and one padded through `where` both drop out."""
    loss = jaxrank.as_optax_loss(jaxrank.pairwise_hinge_loss)
    scores = jnp.array([[1.0, 3.0, 2.0, 4.0], [0.0, 0.0, 0.0, 0.0]])
    labels = jnp.array([[1.0, 0.0, 1.0, 3.0], [-1.0, -1.0, -1.0, -1.0]])
    by_labels = loss(scores, labels)
    by_where = loss(
        scores,
        labels.at[1].set(0.0),
        where=jnp.array([[True] * 4, [False] * 4]),
    )
    alone = loss(scores[:1], labels[:1])
    np.testing.assert_allclose(by_labels, alone)
    np.testing.assert_allclose(by_where, alone)
    assert float(alone) == 5.0
