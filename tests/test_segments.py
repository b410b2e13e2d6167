"""Segment ids and ranking within segments, against plain-Python references."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from jaxrank._src import checks, ranking, segments


@st.composite
def _rows(draw):
    """(segments, keys, valid) arrays of one random shape, with many repeats."""
    shape = draw(st.tuples(st.integers(1, 3), st.integers(0, 9)))
    ids = draw(hnp.arrays(np.int32, shape, elements=st.integers(-2, 2)))
    keys = draw(hnp.arrays(np.float32, shape, elements=st.sampled_from([0, 1, 2])))
    valid = draw(hnp.arrays(np.bool_, shape))
    return ids, keys, valid


def _first_appearance_numbers(row):
    seen = []
    for value in row:
        if value not in seen:
            seen.append(value)
    return [seen.index(value) for value in row]


@settings(max_examples=40, deadline=None)
@given(_rows())
def test_dense_ids_number_segments_by_first_item(arrays):
    ids, _, _ = arrays
    got = np.asarray(segments.dense_ids(jnp.asarray(ids)))
    for row, got_row in zip(ids, got, strict=True):
        assert list(got_row) == _first_appearance_numbers(list(row))


@settings(max_examples=40, deadline=None)
@given(_rows())
def test_per_segment_reductions_and_first_item(arrays):
    ids, keys, valid = arrays
    dense = segments.dense_ids(jnp.asarray(ids))
    total = np.asarray(segments.segment_sum(jnp.asarray(keys), dense))
    top = np.asarray(segments.segment_max(jnp.asarray(keys), dense))
    first = np.asarray(segments.first_valid_item(dense, jnp.asarray(valid)))
    for b, i in np.ndindex(ids.shape):
        same = ids[b] == ids[b, i]
        assert total[b, i] == keys[b][same].sum()
        assert top[b, i] == keys[b][same].max()
        earlier_valid = valid[b, :i] & same[:i]
        assert first[b, i] == (valid[b, i] and not earlier_valid.any())


@settings(max_examples=40, deadline=None)
@given(_rows())
def test_ranks_count_within_each_segment(arrays):
    ids, keys, valid = arrays
    got = np.asarray(ranking.ranks(jnp.asarray(keys), jnp.asarray(valid), ids))
    order = np.asarray(
        ranking.rank_order(jnp.asarray(keys), jnp.asarray(valid), None, ids)
    )
    for b in range(ids.shape[0]):
        n = ids.shape[1]
        by_rule = sorted(
            range(n), key=lambda j: (ids[b, j], not valid[b, j], -keys[b, j], j)
        )
        assert list(order[b]) == by_rule
        for i in range(n):
            members = [j for j in by_rule if ids[b, j] == ids[b, i]]
            assert got[b, i] == members.index(i) + 1


def test_ranks_without_segments_are_unchanged():
    keys = jnp.array([[0.5, 0.9, 0.5, 2.0]])
    valid = jnp.array([[True, True, True, False]])
    same = jnp.zeros((1, 4), jnp.int32)
    np.testing.assert_array_equal(
        ranking.ranks(keys, valid), ranking.ranks(keys, valid, segments=same)
    )


def test_segment_helpers_under_jit_and_vmap():
    ids = jnp.array([[5, 1, 5, 1, 9], [0, 0, 0, 0, 0]])
    x = jnp.arange(10.0).reshape(2, 5)
    dense = jax.jit(segments.dense_ids)(ids)
    np.testing.assert_array_equal(dense, [[0, 1, 0, 1, 2], [0, 0, 0, 0, 0]])
    np.testing.assert_array_equal(
        jax.vmap(segments.segment_sum)(x, dense), segments.segment_sum(x, dense)
    )


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        (np.zeros((2, 3), np.float32), TypeError, "integer segment ids"),
        (np.zeros((2, 3), bool), TypeError, "integer segment ids"),
        (np.zeros((2, 4), np.int32), ValueError, "shape of `scores`"),
        ("abc", TypeError, "`segments`"),
    ],
)
def test_check_segments_names_the_argument(value, error, match):
    with pytest.raises(error, match=match):
        checks.check_segments(value, jnp.zeros((2, 3)))
    assert checks.check_segments(None, jnp.zeros((2, 3))) is None
