"""Packing queries into rows of one fixed length, with segment ids.

The alternative to padded length buckets (:mod:`jaxrank._src.batching`): whole queries
are placed one after another in rows of ``row_length`` slots, and each slot carries
the id of its query's segment within the row, so that the losses and metrics that
take ``segments=`` treat every query as its own list. One shape for every row means
one compilation under ``jit``, and little padding whatever the spread of list sizes.

Placement is *first-fit decreasing*: queries are taken longest first (ties in file
order) and each goes into the first row with room for all of it, a new row if none
has. Queries are never split (a split query would change its loss); a query longer
than ``row_length`` is refused with a ``ValueError``. Within a row, queries sit in
the order they were placed, each query's documents contiguous and in file order;
the unused slots at the end of a row are padding.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import numpy.typing as npt

from jaxrank._src.ranking_data import RankingDataset

PADDING_SEGMENT = -1
"""The segment id of padding slots (which are also masked out)."""


@dataclasses.dataclass(frozen=True)
class PackedLists:
    """Queries packed into rows of one length.

    Attributes:
      features: ``(rows, row_length, num_features)`` float32; 0 in padding.
      labels: ``(rows, row_length)`` float32; -1 in padding.
      mask: ``(rows, row_length)`` bool; True for real documents.
      segments: ``(rows, row_length)`` int32: within each row, ``0, 1, ...`` for its
        queries in placement order, ``PADDING_SEGMENT`` (-1) in padding.
      doc_index: ``(rows, row_length)`` int64 row of each slot in the
        ``jaxrank.data.RankingDataset``; -1 in padding. With ``mask`` it lets
        ``jaxrank.data.scatter_scores`` write scores back in document order.
      query_index: ``(rows, row_length)`` int64 position of each slot's query in
        the dataset; -1 in padding.
    """

    features: np.ndarray
    labels: np.ndarray
    mask: np.ndarray
    segments: np.ndarray
    doc_index: np.ndarray
    query_index: np.ndarray

    @property
    def num_rows(self) -> int:
        return int(self.mask.shape[0])

    @property
    def row_length(self) -> int:
        return int(self.mask.shape[1])


def _first_fit_decreasing(sizes: np.ndarray, row_length: int):
    """Row and starting slot of every query (first-fit, longest first)."""
    row = np.zeros(sizes.size, np.int64)
    start = np.zeros(sizes.size, np.int64)
    used = np.zeros(0, np.int64)  # slots used in each open row
    for q in np.argsort(-sizes, kind="stable"):
        fits = np.flatnonzero(used + sizes[q] <= row_length)
        if fits.size:
            r = int(fits[0])
        else:
            r = used.size
            used = np.append(used, 0)
        row[q], start[q] = r, used[r]
        used[r] += sizes[q]
    return row, start, used.size


def pack_lists(
    data: RankingDataset, row_length: int, queries: npt.ArrayLike | None = None
) -> PackedLists:
    """Packs whole queries of ``data`` into rows of ``row_length`` slots.

    Args:
      data: a ``jaxrank.data.RankingDataset``.
      row_length: slots per row; at least the longest selected query.
      queries: positions of the queries to pack; default all.

    Returns:
      ``jaxrank.data.PackedLists``; pass ``segments=packed.segments`` and
      ``where=packed.mask`` to a loss.

    Raises:
      ValueError: for a ``row_length`` below 1, or a query longer than
        ``row_length`` (named by position and id).

    Examples:
      >>> data = RankingDataset(np.zeros((6, 1), np.float32),
      ...                       np.array([2, 0, 1, 1, 0, 3], np.float32),
      ...                       np.array([0, 2, 3, 6]), np.array([10, 11, 12]))
      >>> packed = pack_lists(data, row_length=4)
      >>> packed.segments
      array([[ 0,  0,  0,  1],
             [ 0,  0, -1, -1]], dtype=int32)
      >>> packed.doc_index
      array([[ 3,  4,  5,  2],
             [ 0,  1, -1, -1]])
    """
    if isinstance(row_length, bool) or not isinstance(row_length, int | np.integer):
        raise TypeError(f"`row_length` must be an int; received {row_length!r}.")
    if row_length < 1:
        raise ValueError(f"`row_length` must be at least 1; received {row_length}.")
    queries = (
        np.arange(data.num_queries)
        if queries is None
        else np.asarray(queries, np.int64)
    )
    sizes = data.list_sizes[queries]
    too_long = np.flatnonzero(sizes > row_length)
    if too_long.size:
        q = queries[too_long[0]]
        raise ValueError(
            f"query at position {q} (id {data.query_ids[q]}) has "
            f"{data.list_sizes[q]} documents, more than `row_length`={row_length}; "
            "queries are packed whole, never split: raise `row_length` or drop it."
        )
    row, start, num_rows = _first_fit_decreasing(sizes, row_length)
    # Within a row, segment ids number the queries in slot order.
    by_slot = np.lexsort((start, row))
    first_of_row = np.concatenate([[True], row[by_slot][1:] != row[by_slot][:-1]])
    counter = np.arange(queries.size) - np.maximum.accumulate(
        np.where(first_of_row, np.arange(queries.size), 0)
    )
    segment = np.empty(queries.size, np.int64)
    segment[by_slot] = counter

    shape = (num_rows, row_length)
    doc_index = np.full(shape, -1, np.int64)
    query_index = np.full(shape, -1, np.int64)
    segments = np.full(shape, PADDING_SEGMENT, np.int32)
    doc_rows = np.repeat(row, sizes)
    within = np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    doc_slots = np.repeat(start, sizes) + within
    doc_index[doc_rows, doc_slots] = (
        np.repeat(data.query_offsets[queries], sizes) + within
    )
    query_index[doc_rows, doc_slots] = np.repeat(queries, sizes)
    segments[doc_rows, doc_slots] = np.repeat(segment, sizes)
    mask = doc_index >= 0
    features = np.zeros(shape + (data.num_features,), np.float32)
    features[mask] = data.features[doc_index[mask]]
    labels = np.full(shape, -1.0, np.float32)
    labels[mask] = data.labels[doc_index[mask]]
    return PackedLists(features, labels, mask, segments, doc_index, query_index)
