"""Metrics against rax 0.4.0 (exact ranks, rank_fn/cutoff_fn hooks, segments, OPA),
ERR and OPA against float64 references, several cut-offs from one call, packed lists
(segments) against padded ones, and the no-(n, n) rule."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import rax
from hypothesis import given, settings
from hypothesis import strategies as st

import reference_metrics as ref
from jaxrank import metrics
from jaxrank._src.segments import dense_ids, first_valid_item

# jaxrank function, rax function, whether it takes weights.
RAX = {
    "dcg": (metrics.dcg, rax.dcg_metric, True),
    "ndcg": (metrics.ndcg, rax.ndcg_metric, True),
    "reciprocal_rank": (metrics.reciprocal_rank, rax.mrr_metric, False),
    "average_precision": (metrics.average_precision, rax.ap_metric, False),
    "precision_at_k": (metrics.precision_at_k, rax.precision_metric, False),
    "recall_at_k": (metrics.recall_at_k, rax.recall_metric, False),
}
WITH_K = [fn for fn, _, _ in RAX.values()] + [metrics.expected_reciprocal_rank]
EVERY = WITH_K + [metrics.ordered_pair_accuracy]


SHAPE = (4, 8)  # one shape throughout: JAX compiles each operation once


def _batch(rng, shape, *, ties=False, max_label=3):
    if ties:  # few distinct scores: many ties
        scores = rng.integers(0, 3, size=shape).astype(np.float32)
    else:
        scores = rng.permutation(np.prod(shape)).reshape(shape).astype(np.float32)
    labels = rng.integers(0, max_label + 1, size=shape).astype(np.float32)
    where = rng.random(shape) > 0.25
    return jnp.asarray(scores), jnp.asarray(labels), jnp.asarray(where)


def _close(a, b, atol=1e-5):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=atol)


@pytest.mark.parametrize("name", RAX)
@pytest.mark.parametrize("k", [None, 1, 3])
def test_exact_matches_rax(rng, name, k):
    ours, theirs, takes_weights = RAX[name]
    # rax breaks ties by position too (a stable sort): ties give the same numbers.
    scores, labels, where = _batch(rng, SHAPE, ties=True)
    extra = {"weights": jnp.asarray(rng.random(SHAPE), jnp.float32)}
    extra = extra if takes_weights else {}
    expected = theirs(scores, labels, where=where, topn=k, reduce_fn=None, **extra)
    _close(ours(scores, labels, where=where, k=k, **extra), expected)


@pytest.mark.parametrize("name", RAX)
@pytest.mark.parametrize("approx_cutoff", [True, False])
def test_hooks_match_rax_values_and_gradients(rng, name, approx_cutoff):
    ours, theirs, _ = RAX[name]
    scores, labels, _ = _batch(rng, SHAPE)
    scores = scores / 4.0  # soft ranks far from their exact values
    cutoff = rax.utils.approx_cutoff if approx_cutoff else None
    hooks = {"rank_fn": rax.utils.approx_ranks, "cutoff_fn": cutoff}
    rax_hooks = {**hooks, "cutoff_fn": cutoff or rax.utils.cutoff}

    def mine(s):
        return ours(s, labels, k=3, **hooks)

    def reference(s):
        return theirs(s, labels, topn=3, reduce_fn=None, **rax_hooks)

    _close(mine(scores), reference(scores))
    grad = jax.grad(lambda s: jnp.sum(mine(s)))(scores)
    _close(grad, jax.grad(lambda s: jnp.sum(reference(s)))(scores))


def test_hooks_give_a_differentiable_ndcg(rng):
    scores, labels, where = _batch(rng, SHAPE)
    approx = functools.partial(metrics.ndcg, rank_fn=rax.utils.approx_ranks)
    grad = jax.grad(lambda s: jnp.sum(approx(s, labels, where=where)))(scores)
    assert np.all(np.isfinite(grad)) and np.any(grad != 0)
    exact = jax.grad(lambda s: jnp.sum(metrics.ndcg(s, labels, where=where)))(scores)
    np.testing.assert_array_equal(exact, 0.0)  # the sort has no gradient


def test_cutoff_fn_is_called_on_negated_ranks(rng):
    scores, labels, _ = _batch(rng, (SHAPE[-1],))
    seen = {}

    def cutoff_fn(a, *, n, segments):
        seen.update(a=a, n=n, segments=segments)
        return jnp.ones_like(a)

    with jax.disable_jit():  # the metric runs in a jit: keep the values concrete
        metrics.dcg(scores, labels, k=2, cutoff_fn=cutoff_fn)
    ranks = SHAPE[-1] - jnp.argsort(jnp.argsort(scores))  # tie-free scores
    np.testing.assert_array_equal(seen["a"], -ranks)
    assert seen["n"] == 2 and seen["segments"] is None


@pytest.mark.parametrize("name", RAX)
@pytest.mark.parametrize("layout", ["contiguous", "interleaved"])
def test_segments_match_rax(rng, name, layout):
    ours, theirs, _ = RAX[name]
    scores, labels, where = _batch(rng, SHAPE, ties=True)
    segments = np.repeat(np.arange(3), [3, 2, 3])[None].repeat(SHAPE[0], 0)
    if layout == "interleaved":
        segments = rng.integers(0, 3, size=SHAPE)
    segments = jnp.asarray(segments, jnp.int32)
    for k in (None, 2):
        got = ours(scores, labels, where=where, segments=segments, k=k)
        kwargs = dict(where=where, segments=segments, topn=k)
        _close(got, theirs(scores, labels, reduce_fn=None, **kwargs))
        first = first_valid_item(dense_ids(segments), where)
        _close(jnp.sum(got) / jnp.sum(first), theirs(scores, labels, **kwargs))


@pytest.mark.parametrize("ties", [False, True])
def test_opa_matches_rax(rng, ties):
    scores, labels, where = _batch(rng, SHAPE, ties=ties)
    got = metrics.ordered_pair_accuracy(scores, labels, where=where)
    _close(got, rax.opa_metric(scores, labels, where=where, reduce_fn=None))


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("k", [None, 2])
@pytest.mark.parametrize("max_label", [None, 4])
def test_err_matches_reference(rng, ties, k, max_label):
    scores, labels, where = _batch(rng, SHAPE, ties=ties)
    got = metrics.expected_reciprocal_rank(
        scores, labels, where=where, k=k, max_label=max_label
    )
    want = ref.expected_reciprocal_rank(scores, labels, where, k, max_label)
    _close(got, want)


def _packed(rng, fn, scores, labels, where, interleave):
    """``fn`` on a padded batch and on the same lists packed into one row."""
    batch, n = scores.shape
    ids = np.repeat(np.arange(batch) * 7 + 3, n)  # arbitrary ids
    order = rng.permutation(batch * n) if interleave else np.arange(batch * n)
    row = [jnp.asarray(np.asarray(x).reshape(-1)[order]) for x in (scores, labels)]
    mask = jnp.asarray(np.asarray(where).reshape(-1)[order])
    segments = jnp.asarray(ids[order], jnp.int32)
    packed = fn(*row, where=mask, segments=segments)
    first = np.asarray(first_valid_item(dense_ids(segments), mask))
    # Each list's value sits at the first valid item of its segment.
    per_segment = {
        int(s): float(v) for s, v, f in zip(ids[order], packed, first, strict=True) if f
    }
    has_valid = np.asarray(where).any(-1)
    got = [per_segment.get(int(i), 0.0) for i in ids[::n]]
    padded = np.where(has_valid, np.asarray(fn(scores, labels, where=where)), 0.0)
    return np.asarray(got), padded


@pytest.mark.parametrize("fn", EVERY, ids=lambda f: f.__name__)
@pytest.mark.parametrize("interleave", [False, True])
def test_packed_equals_padded(rng, fn, interleave):
    # Tie-free scores: interleaving changes positions, hence the tie order.
    scores, labels, where = _batch(rng, SHAPE)
    where = where.at[2].set(False)  # a list with no valid item
    for k in [None, 3] if fn in WITH_K else [None]:
        one = functools.partial(fn, k=k) if fn in WITH_K else fn
        got, want = _packed(rng, one, scores, labels, where, interleave)
        _close(got, want)


@pytest.mark.parametrize("fn", WITH_K, ids=lambda f: f.__name__)
def test_several_cutoffs_equal_separate_calls(rng, fn):
    scores, labels, where = _batch(rng, SHAPE, ties=True)
    segments = jnp.asarray(rng.integers(0, 2, size=SHAPE), jnp.int32)
    ks = (1, 3, 5, 10)
    for seg in (None, segments):
        several = fn(scores, labels, where=where, segments=seg, k=ks)
        separate = [fn(scores, labels, where=where, segments=seg, k=k) for k in ks]
        assert several.shape == separate[0].shape + (len(ks),)
        _close(several, jnp.stack(separate, axis=-1))
    listed = fn(scores, labels, k=[2, None])
    _close(listed[..., 1], fn(scores, labels))


@pytest.mark.parametrize("fn", EVERY, ids=lambda f: f.__name__)
def test_no_pair_array(fn):
    """With segments, no intermediate has two list-sized axes."""
    n = 64
    args = (jnp.zeros((2, n)), jnp.zeros((2, n)))
    kwargs = {"segments": jnp.zeros((2, n), jnp.int32)}
    if fn in WITH_K:
        kwargs["k"] = (1, 5)
    jaxpr = jax.make_jaxpr(lambda s, y: fn(s, y, **kwargs))(*args)

    def shapes(jaxpr):
        for eqn in jaxpr.eqns:
            for var in eqn.outvars:
                yield getattr(var.aval, "shape", ())
            for param in eqn.params.values():
                inner = getattr(param, "jaxpr", None)
                if inner is not None:
                    yield from shapes(getattr(inner, "jaxpr", inner))

    assert all(sum(d >= n for d in shape) <= 1 for shape in shapes(jaxpr.jaxpr))


def test_ap_with_rank_fn_has_no_pair_array():
    n = 64
    jaxpr = jax.make_jaxpr(
        lambda s, y: metrics.average_precision(
            s, y, rank_fn=lambda s, **_: jnp.arange(1.0, n + 1) + 0 * s
        )
    )(jnp.zeros((n,)), jnp.zeros((n,)))
    assert all(
        sum(d >= n for d in getattr(v.aval, "shape", ())) <= 1
        for eqn in jaxpr.jaxpr.eqns
        for v in eqn.outvars
    )


def test_bad_cutoffs_and_hooks_are_refused():
    scores, labels = jnp.zeros(3), jnp.zeros(3)
    with pytest.raises(ValueError, match="`k`"):
        metrics.dcg(scores, labels, k=())
    with pytest.raises(ValueError, match="`k`"):
        metrics.recall_at_k(scores, labels, k=(1, 0))
    with pytest.raises(ValueError, match="`rank_fn`"):
        metrics.ndcg(scores, labels, rank_fn=lambda s, **_: s[:2])
    with pytest.raises(ValueError, match="`cutoff_fn`"):
        metrics.dcg(scores, labels, k=1, cutoff_fn=lambda a, **_: a[:1])
    with pytest.raises(TypeError, match="`segments`"):
        metrics.ordered_pair_accuracy(scores, labels, segments=jnp.zeros(3))


@settings(max_examples=15, deadline=None)
@given(
    n=st.integers(0, SHAPE[-1]),
    seed=st.integers(0, 2**16),
    k=st.sampled_from([None, 1, 4]),
)
def test_err_and_opa_properties(n, seed, k):
    rng = np.random.default_rng(seed)
    scores, labels, where = _batch(rng, SHAPE, ties=bool(seed % 2))
    where = where & (jnp.arange(SHAPE[-1]) < n)[None]  # lists of n items, padded
    err = metrics.expected_reciprocal_rank(scores, labels, where=where, k=k)
    _close(err, ref.expected_reciprocal_rank(scores, labels, where, k))
    assert np.all((np.asarray(err) >= 0) & (np.asarray(err) <= 1))
    opa = metrics.ordered_pair_accuracy(scores, labels, where=where)
    _close(opa, ref.ordered_pair_accuracy(scores, labels, where))


NEW_CLASSES = {
    "ExpectedReciprocalRank": (
        functools.partial(metrics.ExpectedReciprocalRank, k=3, max_label=3),
        functools.partial(metrics.expected_reciprocal_rank, k=3, max_label=3),
    ),
    "OrderedPairAccuracy": (metrics.OrderedPairAccuracy, metrics.ordered_pair_accuracy),
}


@pytest.mark.parametrize("name", NEW_CLASSES)
def test_new_classes_weigh_the_function_values(rng, name):
    from jaxrank.keras import metrics as keras_metrics

    make, fn = NEW_CLASSES[name]
    scores, labels, _ = _batch(rng, SHAPE)
    labels = labels.at[:, 0].set(3.0)  # every list has relevance: weight as given
    list_weights = jnp.asarray([1.0, 2.0, 0.5, 3.0])
    values = fn(scores, labels)
    want = jnp.sum(values * list_weights) / jnp.sum(list_weights)
    _close(make()(labels, scores, list_weights), want)
    keras_metric = getattr(keras_metrics, name)(**make().get_config())
    for rows in (slice(0, 1), slice(1, 4)):  # batches of any size
        keras_metric.update_state(labels[rows], scores[rows], list_weights[rows])
    _close(keras_metric.result(), want)
    clone = type(keras_metric).from_config(keras_metric.get_config())
    assert clone.get_config() == keras_metric.get_config()


def test_tied_ranks_from_a_rank_fn(rng):
    """ERR's product over items ranked strictly above and AP's count of relevant
    items at or above, when a rank_fn gives tied ranks, per segment."""
    ranks = jnp.asarray(rng.integers(1, 4, size=SHAPE), jnp.float32)
    labels = jnp.asarray(rng.integers(0, 3, size=SHAPE), jnp.float32)
    segments = jnp.asarray(rng.integers(0, 2, size=SHAPE), jnp.int32)
    hooks = dict(rank_fn=lambda s, **_: ranks, segments=segments)
    scores = jnp.zeros(SHAPE)
    err = metrics.expected_reciprocal_rank(scores, labels, max_label=2, **hooks)
    ap = metrics.average_precision(scores, labels, **hooks)
    r, y, seg = (np.asarray(a, np.float64) for a in (ranks, labels, segments))
    stop = (2.0**y - 1.0) / 4.0
    for b in range(SHAPE[0]):
        for g in set(seg[b]):
            items = [i for i in range(SHAPE[1]) if seg[b, i] == g]
            rel = [i for i in items if y[b, i] >= 1]
            want_err = sum(
                stop[b, i]
                / r[b, i]
                * np.prod([1 - stop[b, j] for j in items if r[b, j] < r[b, i]])
                for i in items
            )
            want_ap = sum(sum(r[b, j] <= r[b, i] for j in rel) / r[b, i] for i in rel)
            want_ap /= max(len(rel), 1)
            _close(err[b, items[0]], want_err)
            _close(ap[b, items[0]], want_ap)
