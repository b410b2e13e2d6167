"""The rank stand-ins and the transformations: float64 references, rax 0.4.0, memory.

rax's transformations call ``jax.util.wraps``, gone from current JAX; the ``rax``
fixture puts a stand-in back for the duration of a test, so rax runs as a second
reference (its ``approx_ranks`` builds the ``(n, n)`` pair tensor; ours must not).
"""

from __future__ import annotations

import functools
import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jaxrank
from jaxrank._src.platforms import VARIANTS, forced_variant
from tests import reference_t12n as ref

rax_module = pytest.importorskip("rax")


def _wraps(wrapped, namestr=None, docstr=None, **kwargs):
    del namestr, docstr, kwargs  # only the name and docstring of rax's wrapper
    return functools.wraps(wrapped)


@pytest.fixture
def rax(monkeypatch):
    """rax, with the ``jax.util.wraps`` its transformations need."""
    monkeypatch.setattr(jax, "util", types.SimpleNamespace(wraps=_wraps), raising=False)
    return rax_module


def _case(rng, shape, ties=False, masked=False, segmented=False):
    scores = rng.normal(size=shape).astype(np.float32)
    if ties:
        scores = np.round(scores * 2) / 2  # many equal scores
    labels = rng.integers(0, 4, size=shape).astype(np.float32)
    where = rng.random(shape) > 0.3 if masked else None
    segments = rng.integers(0, 3, size=shape) if segmented else None
    return scores, labels, where, segments


# (shape, ties, masked, segmented, block_size): every feature with blocks that do
# and do not divide the list.
CASES = [
    dict(shape=(8,)),
    dict(shape=(3, 8), ties=True),
    dict(shape=(2, 2, 8), masked=True),
    dict(shape=(3, 8), segmented=True),
    dict(shape=(3, 8), ties=True, masked=True, segmented=True),
]
BLOCKS = [None, 3, 2, 5, 3]
RANKS = {
    "sigmoid": functools.partial(jaxrank.approx_ranks, temperature=0.7),
    "upper_hinge": jaxrank.bound_ranks,
}


@pytest.mark.parametrize(("case", "block_size"), list(zip(CASES, BLOCKS, strict=True)))
def test_ranks_match_reference(case, block_size, rng):
    scores, _, where, segments = _case(rng, **case)
    cotangent = rng.normal(size=scores.shape)
    for kind, rank_fn in RANKS.items():
        rank_fn = functools.partial(
            rank_fn, where=where, segments=segments, block_size=block_size
        )
        expected = ref.step_ranks(kind, scores, where, segments, temperature=0.7)
        np.testing.assert_allclose(rank_fn(scores), expected, rtol=1e-5)
        grad = jax.grad(lambda s, f=rank_fn: jnp.sum(f(s) * cotangent))(scores)
        expected_grad = ref.step_ranks_vjp(
            kind, scores, cotangent, where, segments, temperature=0.7
        )
        np.testing.assert_allclose(grad, expected_grad, rtol=1e-4, atol=1e-5)


def test_ranks_forward_mode_and_ignored_nan(rng):
    scores, labels, where, segments = _case(rng, **CASES[4])
    scores[~where] = np.nan  # an ignored item's score reaches nothing
    tangent = rng.normal(size=scores.shape).astype(np.float32)
    cotangent = rng.normal(size=scores.shape).astype(np.float32)

    def ranks(s):
        return jaxrank.approx_ranks(s, where=where, segments=segments, block_size=3)

    _, forward = jax.jvp(ranks, (scores,), (tangent,))
    _, vjp = jax.vjp(ranks, scores)
    (reverse,) = vjp(cotangent)
    assert np.all(np.isfinite(ranks(scores))) and np.all(reverse[~where] == 0)
    np.testing.assert_allclose(
        np.sum(forward * cotangent), np.sum(reverse * tangent), rtol=1e-4
    )
    loss = functools.partial(jaxrank.approx_ndcg_loss, labels=labels, where=where)
    assert np.isfinite(loss(scores)) and np.all(np.isfinite(jax.grad(loss)(scores)))


@pytest.mark.parametrize("case", CASES[3:], ids=str)
def test_ranks_match_rax(case, rng, rax):
    scores, _, where, segments = _case(rng, **case)
    cotangent = rng.normal(size=scores.shape).astype(np.float32)
    for ours, theirs in [
        (
            functools.partial(jaxrank.approx_ranks, block_size=3),
            functools.partial(rax.utils.approx_ranks, step_fn=jax.nn.sigmoid),
        ),
        (
            functools.partial(jaxrank.bound_ranks, block_size=3),
            functools.partial(
                rax.utils.approx_ranks, step_fn=lambda x: jax.nn.relu(x + 1.0)
            ),
        ),
    ]:

        def weighted(fn, s):
            return jnp.sum(fn(s, where=where, segments=segments) * cotangent)

        np.testing.assert_allclose(
            weighted(ours, scores), weighted(theirs, scores), rtol=1e-5
        )
        np.testing.assert_allclose(
            jax.grad(functools.partial(weighted, ours))(scores),
            jax.grad(functools.partial(weighted, theirs))(scores),
            rtol=1e-4,
            atol=1e-6,
        )


@pytest.mark.parametrize("segmented", [False, True])
def test_cutoffs_match_reference_and_rax(segmented, rng, rax):
    a = -np.round(rng.uniform(1, 6, size=(3, 8)), 1).astype(np.float32)  # ties
    segments = rng.integers(0, 3, size=a.shape) if segmented else None
    step = functools.partial(lambda x: jax.nn.sigmoid(x / 0.5))
    for n in [None, 0, 1, 2, 5, 12]:
        smooth = jaxrank.approx_cutoff(a, n=n, segments=segments, temperature=0.5)
        np.testing.assert_allclose(
            smooth, ref.cutoff("sigmoid", a, n, segments, temperature=0.5), rtol=1e-5
        )
        np.testing.assert_allclose(
            smooth,
            rax.utils.approx_cutoff(a, n, segments=segments, step_fn=step),
            rtol=1e-5,
        )
        np.testing.assert_allclose(
            jaxrank.bound_cutoff(a, n=n, segments=segments),
            ref.cutoff("lower_hinge", a, n, segments),
            rtol=1e-5,
        )
    # Only `a` itself carries a gradient (the threshold is a constant).
    grad = jax.grad(lambda x: jnp.sum(jaxrank.approx_cutoff(x, n=3, temperature=0.5)))
    expected = jax.grad(lambda x: jnp.sum(rax.utils.approx_cutoff(x, 3, step_fn=step)))
    np.testing.assert_allclose(grad(a), expected(a), rtol=1e-5, atol=1e-7)


TRANSFORMS = {
    "approx": (
        lambda m: jaxrank.approx_t12n(m, 0.5),
        lambda r, m: r.approx_t12n(m, 0.5),
    ),
    "bound": (jaxrank.bound_t12n, lambda r, m: r.bound_t12n(m)),
}


def _assert_same_loss(ours, theirs, scores, ours_kwargs, theirs_kwargs):
    """Equal values, and equal gradients of their sums."""

    def ours_sum(s):
        return jnp.sum(ours(s, **ours_kwargs))

    def theirs_sum(s):
        return jnp.sum(theirs(s, **theirs_kwargs))

    np.testing.assert_allclose(
        ours(scores, **ours_kwargs),
        theirs(scores, **theirs_kwargs),
        rtol=1e-5,
        atol=1e-6,
    )
    np.testing.assert_allclose(
        jax.grad(ours_sum)(scores), jax.grad(theirs_sum)(scores), rtol=1e-4, atol=1e-6
    )


# (our metric, rax's metric, transformation, k, case)
METRIC_CASES = [
    ("ndcg", "ndcg_metric", "approx", 3, CASES[4]),
    ("ndcg", "ndcg_metric", "bound", None, CASES[2]),
    ("reciprocal_rank", "mrr_metric", "bound", None, CASES[3]),
    ("reciprocal_rank", "mrr_metric", "approx", 2, CASES[4]),
    ("dcg", "dcg_metric", "bound", 3, CASES[4]),
    ("precision_at_k", "precision_metric", "approx", 3, CASES[2]),
    ("average_precision", "ap_metric", "bound", 3, CASES[3]),  # no mask: see metrics
]


@pytest.mark.parametrize(("ours", "theirs", "transform", "k", "case"), METRIC_CASES)
def test_transformed_metrics_match_rax(ours, theirs, transform, k, case, rng, rax):
    scores, labels, where, segments = _case(rng, **case)
    ours_t, theirs_t = TRANSFORMS[transform]
    common = dict(where=where, segments=segments)
    _assert_same_loss(
        functools.partial(ours_t(getattr(jaxrank.metrics, ours)), labels=labels),
        functools.partial(theirs_t(rax, getattr(rax, theirs)), labels=labels),
        scores,
        dict(k=k, **common),
        dict(topn=k, reduce_fn=None, **common),
    )


@pytest.mark.parametrize("transform", list(TRANSFORMS))
def test_transformation_of_rax_metric_matches_rax(transform, rng, rax):
    # The transformation alone, on rax's own metric (independent of ours).
    scores, labels, where, segments = _case(rng, **CASES[4])
    ours_t, theirs_t = TRANSFORMS[transform]
    kwargs = dict(where=where, segments=segments, topn=3, reduce_fn=None)
    _assert_same_loss(
        functools.partial(ours_t(rax.ndcg_metric), labels=labels),
        functools.partial(theirs_t(rax, rax.ndcg_metric), labels=labels),
        scores,
        kwargs,
        kwargs,
    )


def test_transformations_keep_names_and_overrides(rax):
    loss = jaxrank.approx_t12n(rax.mrr_metric)
    assert loss.__name__ == "approx_mrr_metric"
    assert jaxrank.approximate_metric_loss is jaxrank.approx_t12n
    assert jaxrank.bound_metric_loss is jaxrank.bound_t12n
    assert jaxrank.gumbel_perturbed is jaxrank.gumbel_t12n
    scores = jnp.array([0.0, 1.0, 3.0, 2.0])
    labels = jnp.array([0.0, 0.0, 1.0, 2.0])
    # An explicit hook wins over the transformation's.
    exact = loss(scores, labels, rank_fn=rax.utils.ranks)
    np.testing.assert_allclose(exact, -rax.mrr_metric(scores, labels))


@pytest.mark.parametrize(
    ("with_key", "smoothing_factor"), [(False, None), (True, 1e-20)]
)
def test_gumbel_draws_rax_samples(with_key, smoothing_factor, rng, rax):
    scores, labels, where, _ = _case(rng, (3, 8), masked=True)
    where = jnp.asarray(where)  # rax repeats jax arrays only
    key = jax.random.PRNGKey(7)
    options = dict(samples=3, beta=0.7, smoothing_factor=smoothing_factor)
    if with_key:  # the metric takes a key: rax splits it first
        fn = rax.approx_t12n(rax.mrr_metric)
        kwargs = dict(where=where, reduce_fn=None)
    else:
        fn = jaxrank.list_mle_loss
        kwargs = dict(where=where, reduction="none")
    ours = jaxrank.gumbel_t12n(fn, **options)
    theirs = rax.gumbel_t12n(fn, **options)
    value = ours(scores, labels, key=key, **kwargs)
    stacked = theirs(scores, labels, key=key, **kwargs)
    np.testing.assert_allclose(value, jnp.mean(stacked, axis=0), rtol=1e-5)
    if not with_key:
        return

    def total(fn, s):
        return jnp.sum(fn(s, labels, key=key, **kwargs))

    np.testing.assert_allclose(
        jax.grad(functools.partial(total, ours))(scores),
        jax.grad(functools.partial(total, theirs))(scores) / options["samples"],
        rtol=1e-4,
        atol=1e-6,
    )


def test_gumbel_mean_reduction_equals_rax(rax):
    scores = jnp.array([[0.0, 1.0, 3.0, 2.0], [1.0, 0.5, -1.0, 0.0]])
    labels = jnp.array([[0.0, 0.0, 1.0, 2.0], [1.0, 0.0, 0.0, 2.0]])
    key = jax.random.PRNGKey(42)
    ours = jaxrank.gumbel_t12n(rax.softmax_loss)(scores, labels, key=key)
    theirs = rax.gumbel_t12n(rax.softmax_loss)(scores, labels, key=key)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_gumbel_signature_and_zero_noise():
    loss = jaxrank.gumbel_t12n(jaxrank.list_mle_loss, samples=2, beta=0.0)
    import inspect

    parameters = inspect.signature(loss).parameters
    assert parameters["key"].kind is inspect.Parameter.KEYWORD_ONLY
    scores = jnp.array([0.3, -1.0, 2.0])
    labels = jnp.array([1.0, 0.0, 2.0])
    np.testing.assert_allclose(
        loss(scores, labels, key=jax.random.key(0)),
        jaxrank.list_mle_loss(scores, labels),
        rtol=1e-6,
    )


RANK_MEMORY = [
    jaxrank.approx_ranks,
    jaxrank.bound_ranks,
    lambda s, **kw: jaxrank.approx_ndcg_loss(s, jnp.zeros_like(s), **kw),
]


@pytest.mark.parametrize("fn", RANK_MEMORY, ids=["approx", "bound", "approx_ndcg"])
def test_reverse_mode_memory_is_blocked(fn):
    n, block = 4096, 256
    grad = jax.jit(
        jax.grad(lambda s, ids: jnp.sum(fn(s, segments=ids, block_size=block)))
    )
    compiled = grad.lower(
        jnp.zeros((n,), jnp.float32), jnp.zeros((n,), jnp.int32)
    ).compile()
    temp = compiled.memory_analysis().temp_size_in_bytes
    slab = n * block * 4  # one float32 block of pairs
    assert temp <= 3 * slab, (temp, slab)
    assert 3 * slab <= n * n * 4 // 4  # far below one (n, n) float32 array


READY = {
    "ndcg": (jaxrank.approx_ndcg_loss, ref.approx_ndcg, jaxrank.ApproxNDCGLoss),
    "mrr": (jaxrank.approx_mrr_loss, ref.approx_mrr, jaxrank.ApproxMRRLoss),
}


@pytest.mark.parametrize("name", list(READY))
def test_ready_losses_match_reference(name, rng):
    loss, reference, loss_class = READY[name]
    scores, labels, where, _ = _case(rng, (3, 8), ties=True, masked=True)
    where[0] = False  # an all-masked list: loss 0, gradient 0
    options = dict(where=where, temperature=0.5)
    per_list = loss(scores, labels, reduction="none", **options)
    expected = -reference(scores, labels, where, temperature=0.5)
    np.testing.assert_allclose(per_list, expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(
        loss(scores, labels, **options), np.mean(expected), rtol=1e-5
    )
    weights = np.array([1.0, 2.0, 0.5], np.float32)
    np.testing.assert_allclose(
        loss(scores, labels, weights=weights, reduction="sum", **options),
        np.sum(weights * expected),
        rtol=1e-5,
    )
    grad = jax.grad(lambda s: loss(s, labels, **options))(scores)
    assert np.all(grad[0] == 0) and np.all(np.isfinite(grad))
    as_class = loss_class(temperature=0.5, reduction="none")
    np.testing.assert_allclose(
        as_class({"labels": labels, "mask": where}, scores), per_list, rtol=1e-6
    )
    clone = loss_class.from_config(as_class.get_config())
    assert clone.get_config() == as_class.get_config()
    with pytest.raises(ValueError, match="`weights`"):
        loss(scores, labels, weights=np.ones(scores.shape, np.float32))


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", list(READY))
def test_ready_losses_gradient_is_approx_t12n_autodiff(name, variant, rng):
    """The ready losses' hand-written gradient against autodiff of approx_t12n's
    plain kernels, with masks, segments and blocks overlapping at the end, in
    either platform's kernels; second derivatives work, forward mode does not."""
    loss = READY[name][0]
    metric = {"ndcg": jaxrank.metrics.ndcg, "mrr": jaxrank.metrics.reciprocal_rank}
    scores, labels, where, segments = _case(
        rng, (2, 11), ties=True, masked=True, segmented=True
    )
    options = dict(where=where, segments=segments, temperature=0.7, block_size=4)
    t12n = jaxrank.approx_t12n(metric[name], 0.7, block_size=4)
    with forced_variant(variant):
        for ids in (None, segments):
            options["segments"] = ids

            def ours(s, options=options):
                return loss(s, labels, reduction="sum", **options)

            def plain(s, ids=ids):
                return jnp.sum(t12n(s, labels, where=where, segments=ids))

            np.testing.assert_allclose(ours(scores), plain(scores), rtol=1e-6)
            np.testing.assert_allclose(
                jax.grad(ours)(scores), jax.grad(plain)(scores), rtol=1e-5, atol=1e-6
            )
        np.testing.assert_allclose(
            jax.hessian(ours)(scores),
            jax.jacrev(jax.grad(plain))(scores),
            rtol=1e-4,
            atol=1e-5,
        )
        with pytest.raises(TypeError):
            jax.jvp(ours, (scores,), (scores,))


@pytest.mark.parametrize("name", list(READY))
def test_ready_losses_with_segments_are_separate_lists(name, rng):
    loss = READY[name][0]
    # Two interleaved segments of four items (one compiled size for the lists).
    segments = np.array([[5, 2, 5, 5, 2, 2, 5, 2], [0, 0, 0, 0, 1, 1, 1, 1]])
    scores, labels, _, _ = _case(rng, segments.shape, ties=True)
    packed = functools.partial(loss, labels=labels, segments=segments)
    per_segment = packed(scores, reduction="none")
    grad = jax.grad(lambda s: packed(s, reduction="sum"))(scores)
    alone = jax.jit(jax.value_and_grad(lambda s, y: loss(s, y, reduction="sum")))
    values = []
    for row in range(scores.shape[0]):
        for seg in np.unique(segments[row]):
            members = np.flatnonzero(segments[row] == seg)
            value, alone_grad = alone(scores[row, members], labels[row, members])
            values.append(value)
            # Each segment's loss sits at its first item.
            np.testing.assert_allclose(per_segment[row, members[0]], value, rtol=1e-5)
            np.testing.assert_allclose(
                grad[row, members], alone_grad, rtol=1e-4, atol=1e-6
            )
    assert np.count_nonzero(per_segment) <= len(values)
    np.testing.assert_allclose(packed(scores), np.mean(values), rtol=1e-5)


def test_ready_losses_match_rax_mean(rax):
    scores = jnp.array([[0.0, 1.0, 3.0, 2.0], [1.0, 0.5, -1.0, 0.0]])
    labels = jnp.array([[0.0, 0.0, 1.0, 2.0], [1.0, 0.0, 0.0, 2.0]])
    np.testing.assert_allclose(
        jaxrank.approx_ndcg_loss(scores, labels, temperature=0.3),
        rax.approx_t12n(rax.ndcg_metric, temperature=0.3)(scores, labels),
        rtol=1e-6,
    )


@settings(max_examples=6, deadline=None)
@given(
    scores=st.lists(
        st.floats(-4, 4, allow_nan=False, width=32), min_size=8, max_size=8
    ),
    temperature=st.sampled_from([0.05, 0.5, 2.0]),
    seed=st.integers(0, 2**16),
)
def test_rank_properties(scores, temperature, seed):
    scores = np.asarray(scores, np.float32)
    rng = np.random.default_rng(seed)
    segments = rng.integers(0, 2, size=scores.shape)
    approx = np.asarray(
        jaxrank.approx_ranks(scores, segments=segments, temperature=temperature),
        np.float64,
    )
    bound = np.asarray(jaxrank.bound_ranks(scores, segments=segments), np.float64)
    for seg in np.unique(segments):
        m = int(np.sum(segments == seg))
        # sigma(x) + sigma(-x) = 1: a segment's ranks sum to 1 + 2 + ... + m.
        np.testing.assert_allclose(
            approx[segments == seg].sum(), m * (m + 1) / 2, rtol=1e-5
        )
        # Each pair adds at least 1 to one of its two bound ranks.
        exact_ties_up = (
            1
            + np.sum(
                (scores[None, :] >= scores[:, None]) & (segments[None, :] == seg),
                axis=1,
            )
            - 1
        )
        members = segments == seg
        assert np.all(bound[members] >= exact_ties_up[members] - 1e-5)
    cut = np.asarray(jaxrank.bound_cutoff(-bound, n=2, segments=segments))
    assert np.all(cut <= 1.0)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: jaxrank.approx_ranks(jnp.ones(3), temperature=0.0), "temperature"),
        (lambda: jaxrank.bound_ranks(jnp.ones(3), block_size=0), "block_size"),
        (lambda: jaxrank.approx_cutoff(jnp.ones(3), n=-1), "n"),
        (lambda: jaxrank.approx_ranks(jnp.ones(3), segments=jnp.ones(3)), "segments"),
        (lambda: jaxrank.gumbel_t12n(jaxrank.list_mle_loss, samples=0), "samples"),
        (lambda: jaxrank.approx_t12n(None), "metric_fn"),
    ],
)
def test_bad_arguments_are_named(call, name):
    with pytest.raises((TypeError, ValueError), match=f"`{name}`"):
        call()


def test_empty_lists():
    empty = jnp.zeros((2, 0))
    ids = jnp.zeros((2, 0), jnp.int32)
    assert jaxrank.approx_ranks(empty, segments=ids).shape == (2, 0)
    assert jaxrank.bound_cutoff(empty, n=2, segments=ids).shape == (2, 0)
    assert float(jaxrank.approx_ndcg_loss(empty, empty)) == 0.0
    assert jaxrank.approx_mrr_loss(empty, empty, reduction="none").shape == (2,)


def _whole_list_softmax(scores, labels, *, where=None, reduction="sum"):
    """A loss that knows nothing of segments (only ``where``)."""
    return jaxrank.softmax_loss(scores, labels, where=where, reduction=reduction)


@pytest.mark.parametrize("masked", [False, True])
def test_segment_t12n_gives_a_whole_list_function_segments(masked, rng, rax):
    scores, labels, where, segments = _case(rng, (2, 7), masked=masked, segmented=True)
    ours = jaxrank.segment_t12n(_whole_list_softmax)
    got = ours(scores, labels, where=where, segments=segments)
    want = jaxrank.softmax_loss(
        scores, labels, where=where, segments=segments, reduction="sum"
    )
    np.testing.assert_allclose(got, want, rtol=1e-5)
    theirs = rax.segment_t12n(
        lambda s, y, *, where=None: rax.softmax_loss(
            s, y, where=where, reduce_fn=jnp.sum
        )
    )
    where_jax = None if where is None else jnp.asarray(where)
    np.testing.assert_allclose(
        got,
        theirs(
            jnp.asarray(scores),
            jnp.asarray(labels),
            where=where_jax,
            segments=jnp.asarray(segments),
        ),
        rtol=1e-5,
    )
    # Without segments: the function itself.
    np.testing.assert_allclose(
        ours(scores, labels, where=where),
        _whole_list_softmax(scores, labels, where=where),
    )


def test_segment_t12n_returns_segment_aware_functions_and_checks():
    for fn in (jaxrank.softmax_loss, jaxrank.pairwise_hinge_loss, jaxrank.metrics.ndcg):
        assert jaxrank.segment_t12n(fn) is fn
    with pytest.raises(TypeError, match="loss_or_metric_fn"):
        jaxrank.segment_t12n("softmax")
    with pytest.raises(TypeError, match="segments"):
        jaxrank.segment_t12n(_whole_list_softmax)(
            np.zeros((2, 3), np.float32), np.zeros((2, 3)), segments=np.zeros((2, 3))
        )
