"""Tests of the dataset containers, jaxrank.data.RankingDataset and PaddedLists."""

from __future__ import annotations

import numpy as np

from jaxrank import data


def three_queries():
    """Queries of 2, 3 and 1 documents; feature ``i`` and label ``i % 5`` on row i."""
    return data.RankingDataset(
        np.arange(6, dtype=np.float32)[:, None],
        np.arange(6, dtype=np.float32) % 5,
        np.array([0, 2, 5, 6], np.int64),
        np.array([10, 11, 12], np.int64),
    )


def test_sizes():
    ds = three_queries()
    assert (ds.num_docs, ds.num_queries, ds.num_features) == (6, 3, 1)
    np.testing.assert_array_equal(ds.list_sizes, [2, 3, 1])


def test_subset_keeps_file_order():
    ds = three_queries()
    sub = ds.subset(np.array([2, 0]))
    np.testing.assert_array_equal(sub.query_ids, [10, 12])
    np.testing.assert_array_equal(sub.features, ds.features[[0, 1, 5]])
    np.testing.assert_array_equal(sub.labels, ds.labels[[0, 1, 5]])
    np.testing.assert_array_equal(sub.query_offsets, [0, 2, 3])


def test_subset_of_no_queries():
    sub = three_queries().subset([])
    assert (sub.num_docs, sub.num_queries, sub.num_features) == (0, 0, 1)
    np.testing.assert_array_equal(sub.query_offsets, [0])


def test_padded_lists_sizes():
    lists = data.PaddedLists(
        np.zeros((2, 4, 3), np.float32),
        np.full((2, 4), -1.0, np.float32),
        np.zeros((2, 4), bool),
        np.full((2, 4), -1, np.int64),
    )
    assert (lists.num_queries, lists.list_size) == (2, 4)
