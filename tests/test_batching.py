"""Tests of padding, bucketing, batching and scattering scores back (jaxrank.data)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jaxrank import data


def dataset_with_sizes(sizes, num_features=2, seed=0):
    rng = np.random.default_rng(seed)
    num_docs = int(np.sum(sizes))
    return data.RankingDataset(
        rng.normal(size=(num_docs, num_features)).astype(np.float32),
        rng.integers(0, 5, num_docs).astype(np.float32),
        np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
        np.arange(len(sizes), dtype=np.int64),
    )


@settings(max_examples=30, deadline=None)
@given(sizes=st.lists(st.integers(1, 70), min_size=1, max_size=25))
def test_bucketize_covers_every_document_once_in_order(sizes):
    ds = dataset_with_sizes(sizes)
    buckets = data.bucketize(ds)
    all_sizes = data.default_list_sizes(max(sizes))
    assert [b.list_size for b in buckets] == sorted({b.list_size for b in buckets})
    covered = np.concatenate([b.doc_index[b.mask] for b in buckets])
    np.testing.assert_array_equal(np.sort(covered), np.arange(ds.num_docs))
    for b in buckets:
        real = b.mask.sum(axis=1)
        assert np.all(real >= 1) and np.all(real <= b.list_size)
        # Each list is in the smallest bucket that holds it (padding stays small).
        position = all_sizes.index(b.list_size)
        assert np.all(real > (all_sizes[position - 1] if position else 0))
        # Documents sit first, in file order, with their own features and labels.
        assert np.all(b.mask == (np.arange(b.list_size) < real[:, None]))
        rows = b.doc_index[b.mask]
        np.testing.assert_array_equal(b.features[b.mask], ds.features[rows])
        np.testing.assert_array_equal(b.labels[b.mask], ds.labels[rows])
        assert np.all(b.labels[~b.mask] == -1) and np.all(b.features[~b.mask] == 0)
        assert np.all(np.diff(b.doc_index, axis=1)[b.mask[:, 1:]] == 1)
    scores = [np.where(b.mask, b.doc_index * 0.5, np.nan) for b in buckets]
    np.testing.assert_array_equal(
        data.scatter_scores(buckets, scores, ds.num_docs), np.arange(ds.num_docs) * 0.5
    )


def test_bucketize_explicit_sizes_and_errors():
    ds = dataset_with_sizes([3, 9, 4, 16])
    buckets = data.bucketize(ds, [4, 16])
    assert [(b.num_queries, b.list_size) for b in buckets] == [(2, 4), (2, 16)]
    with pytest.raises(ValueError, match="more than the largest bucket"):
        data.bucketize(ds, [4, 8])
    with pytest.raises(ValueError, match="increasing"):
        data.bucketize(ds, [16, 4])
    with pytest.raises(ValueError, match="shorter than the longest list"):
        data.pad_lists(ds, 8)
    with pytest.raises(ValueError, match="exactly once"):
        data.scatter_scores(buckets[:1], [np.zeros((2, 4))], ds.num_docs)


@pytest.mark.parametrize("shuffle", [False, True])
def test_batches_have_fixed_shape_and_cover_each_query_once(shuffle):
    ds = dataset_with_sizes([2, 3, 9, 1, 5, 12, 7, 2, 2, 3])
    buckets = data.bucketize(ds)
    out = list(data.batches(buckets, 3, shuffle=shuffle, seed=4))
    assert all(b.mask.shape[0] == 3 == b.features.shape[0] for b in out)
    seen = np.concatenate([b.doc_index[b.mask] for b in out])
    np.testing.assert_array_equal(np.sort(seen), np.arange(ds.num_docs))
    empty = ~np.concatenate([b.mask.any(axis=1) for b in out])
    assert empty.sum() == 3 * len(out) - ds.num_queries
    again = list(data.batches(buckets, 3, shuffle=shuffle, seed=4))
    for a, b in zip(out, again, strict=True):
        np.testing.assert_array_equal(a.doc_index, b.doc_index)
    with pytest.raises(ValueError, match="batch_size"):
        next(data.batches(buckets, 0))
