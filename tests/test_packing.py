"""Tests of packing whole queries into fixed-length rows with segment ids."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jaxrank
from jaxrank import data
from jaxrank._src.packing import PADDING_SEGMENT


def dataset_with_sizes(sizes, num_features=2, seed=0):
    rng = np.random.default_rng(seed)
    num_docs = int(np.sum(sizes))
    return data.RankingDataset(
        rng.normal(size=(num_docs, num_features)).astype(np.float32),
        rng.integers(0, 5, num_docs).astype(np.float32),
        np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
        np.arange(100, 100 + len(sizes), dtype=np.int64),
    )


@settings(max_examples=50, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 20), min_size=1, max_size=30),
    extra=st.integers(0, 15),
)
def test_every_document_once_segments_per_query_and_round_trip(sizes, extra):
    ds = dataset_with_sizes(sizes)
    row_length = max(max(sizes), 1) + extra
    packed = data.pack_lists(ds, row_length)
    assert packed.row_length == row_length
    # Every document exactly once; padding is masked, labelled -1, segment -1.
    real = packed.doc_index[packed.mask]
    np.testing.assert_array_equal(np.sort(real), np.arange(ds.num_docs))
    padding = ~packed.mask
    assert np.all(packed.doc_index[padding] == -1)
    assert np.all(packed.query_index[padding] == -1)
    assert np.all(packed.labels[padding] == -1)
    assert np.all(packed.segments[padding] == PADDING_SEGMENT)
    assert np.all(packed.features[padding] == 0)
    # Within a row, one segment id per query and one query per segment id.
    for r in range(packed.num_rows):
        row_mask = packed.mask[r]
        pairs = set(
            zip(
                packed.segments[r][row_mask],
                packed.query_index[r][row_mask],
                strict=True,
            )
        )
        assert len({s for s, _ in pairs}) == len(pairs) == len({q for _, q in pairs})
    # Round trip: each query's documents, contiguous in one row, in file order.
    for q in range(ds.num_queries):
        rows, slots = np.nonzero(packed.query_index == q)
        start, stop = ds.query_offsets[q], ds.query_offsets[q + 1]
        assert rows.size == stop - start
        if rows.size:
            assert np.all(rows == rows[0])
            np.testing.assert_array_equal(
                slots, np.arange(slots[0], slots[0] + rows.size)
            )
            np.testing.assert_array_equal(
                packed.doc_index[rows, slots], np.arange(start, stop)
            )
            np.testing.assert_array_equal(
                packed.features[rows, slots], ds.features[start:stop]
            )
            np.testing.assert_array_equal(
                packed.labels[rows, slots], ds.labels[start:stop]
            )
    # First-fit decreasing stays within its bound of 11/9 of the fewest rows + 1.
    fewest = math.ceil(ds.num_docs / row_length)
    assert packed.num_rows <= math.ceil(11 * fewest / 9) + 1
    scores = np.where(packed.mask, packed.doc_index * 0.5, 7.0)
    np.testing.assert_array_equal(
        data.scatter_scores([packed], [scores], ds.num_docs),
        np.arange(ds.num_docs) * 0.5,
    )


def test_longest_queries_are_placed_first_into_the_first_row_with_room():
    ds = dataset_with_sizes([2, 1, 3, 4])
    packed = data.pack_lists(ds, 5)
    # 4 -> row 0; 3 -> row 1; 2 -> row 1 (3 + 2 = 5); 1 -> row 0.
    np.testing.assert_array_equal(
        packed.query_index, [[3, 3, 3, 3, 1], [2, 2, 2, 0, 0]]
    )
    np.testing.assert_array_equal(packed.segments, [[0, 0, 0, 0, 1], [0, 0, 0, 1, 1]])


def test_a_query_longer_than_a_row_is_refused():
    ds = dataset_with_sizes([2, 6, 1])
    with pytest.raises(ValueError, match=r"position 1 \(id 101\) has 6 documents"):
        data.pack_lists(ds, 5)
    with pytest.raises(ValueError, match="row_length"):
        data.pack_lists(ds, 0)
    with pytest.raises(TypeError, match="row_length"):
        data.pack_lists(ds, 5.0)
    packed = data.pack_lists(ds, 5, queries=[0, 2])
    assert sorted(packed.doc_index[packed.mask].tolist()) == [0, 1, 8]


@pytest.mark.parametrize("name", ["softmax_loss", "list_mle_loss"])
def test_loss_on_packed_rows_equals_loss_on_padded_lists(name):
    ds = dataset_with_sizes([3, 5, 2, 4, 1], seed=3)
    padded = data.pad_lists(ds)
    packed = data.pack_lists(ds, 8)
    w = np.array([0.5, -1.0])
    loss = getattr(jaxrank, name)
    padded_loss = loss(
        padded.features @ w, padded.labels, where=padded.mask, reduction="sum"
    )
    packed_loss = loss(
        packed.features @ w,
        packed.labels,
        where=packed.mask,
        segments=packed.segments,
        reduction="sum",
    )
    np.testing.assert_allclose(packed_loss, padded_loss, rtol=1e-5)
