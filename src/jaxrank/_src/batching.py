"""Padding, length buckets and fixed-shape batches of ranking lists.

``jaxrank.data.pad_lists`` pads the queries of a ``jaxrank.data.RankingDataset`` into
``(queries, list_size, features)`` arrays; ``jaxrank.data.bucketize`` groups queries of
similar length first, so that little of each padded array is padding;
``jaxrank.data.batches`` cuts the buckets into batches of one fixed shape per bucket for
a ``jit``-compiled training loop; ``jaxrank.data.scatter_scores`` writes scores of
padded lists back in the dataset's document order.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import numpy.typing as npt

from jaxrank._src.ranking_data import PaddedLists, RankingDataset


def pad_lists(
    data: RankingDataset,
    list_size: int | None = None,
    queries: npt.ArrayLike | None = None,
) -> PaddedLists:
    """Pads queries of ``data`` to a common list size.

    Args:
      data: a ``jaxrank.data.RankingDataset``.
      list_size: the padded size; by default the longest selected list. Must be at
        least that long (lists are never truncated).
      queries: positions of the queries to take, in the order wanted; default all.

    Returns:
      ``jaxrank.data.PaddedLists`` with documents in file order within each list.

    Examples:
      >>> labels = np.array([1.0, 0.0, 2.0], np.float32)
      >>> data = RankingDataset(np.eye(3, dtype=np.float32), labels,
      ...                       np.array([0, 2, 3]), np.array([5, 6]))
      >>> padded = pad_lists(data)
      >>> padded.labels
      array([[ 1.,  0.],
             [ 2., -1.]], dtype=float32)
      >>> padded.doc_index
      array([[ 0,  1],
             [ 2, -1]])
    """
    queries = (
        np.arange(data.num_queries)
        if queries is None
        else np.asarray(queries, np.int64)
    )
    sizes = data.list_sizes[queries]
    longest = int(sizes.max(initial=0))
    list_size = longest if list_size is None else list_size
    if list_size < longest:
        raise ValueError(
            f"`list_size`={list_size} is shorter than the longest list ({longest})."
        )
    slot = np.arange(list_size)
    mask = slot < sizes[:, None]
    doc_index = np.where(mask, data.query_offsets[queries][:, None] + slot, -1)
    rows = doc_index[mask]
    features = np.zeros((queries.size, list_size, data.num_features), np.float32)
    features[mask] = data.features[rows]
    labels = np.full((queries.size, list_size), -1.0, np.float32)
    labels[mask] = data.labels[rows]
    return PaddedLists(features, labels, mask, doc_index.astype(np.int64))


def default_list_sizes(
    longest: int, *, smallest: int = 8, growth: float = 1.5
) -> list[int]:
    """Bucket sizes ``smallest, ~smallest*growth, ...`` (multiples of 8) to ``longest``.

    With ``growth=1.5`` a list is padded by less than half its length, and the number of
    distinct shapes (one compilation each under ``jit``) grows only logarithmically.

    Examples:
      >>> default_list_sizes(100)
      [8, 16, 24, 40, 64, 96, 144]
    """
    sizes = [smallest]
    while sizes[-1] < longest:
        sizes.append(max(sizes[-1] + 8, int(np.ceil(sizes[-1] * growth / 8)) * 8))
    return sizes


def bucketize(
    data: RankingDataset, list_sizes: Sequence[int] | None = None
) -> list[PaddedLists]:
    """Groups queries by length and pads each group to its bucket's list size.

    A query goes to the smallest bucket it fits in; empty buckets are dropped. Queries
    keep their file order within a bucket, and ``doc_index`` maps every slot back to
    its document.

    Args:
      data: a ``jaxrank.data.RankingDataset``.
      list_sizes: increasing bucket sizes; the last must fit the longest query.
        Default ``jaxrank.data.default_list_sizes`` of the longest query.

    Returns:
      A list of ``jaxrank.data.PaddedLists``, shortest list size first.

    Examples:
      >>> data = RankingDataset(np.zeros((13, 1), np.float32), np.zeros(13, np.float32),
      ...                       np.array([0, 2, 12, 13]), np.arange(3))
      >>> [(b.num_queries, b.list_size) for b in bucketize(data, [4, 16])]
      [(2, 4), (1, 16)]
    """
    sizes = data.list_sizes
    if list_sizes is None:
        list_sizes = default_list_sizes(int(sizes.max(initial=1)))
    list_sizes = [int(s) for s in list_sizes]
    if list_sizes != sorted(set(list_sizes)) or list_sizes[0] < 1:
        raise ValueError(
            f"`list_sizes` must be increasing positive ints, got {list_sizes}."
        )
    if sizes.size and sizes.max() > list_sizes[-1]:
        raise ValueError(
            f"the longest query has {int(sizes.max())} documents, more than the "
            "largest "
            f"bucket in `list_sizes` ({list_sizes[-1]})."
        )
    which = np.searchsorted(list_sizes, sizes)
    return [
        pad_lists(data, size, np.flatnonzero(which == b))
        for b, size in enumerate(list_sizes)
        if np.any(which == b)
    ]


def _take(lists: PaddedLists, index: np.ndarray, batch_size: int) -> PaddedLists:
    """Rows ``index`` of ``lists``, padded with empty lists up to ``batch_size``."""
    extra = batch_size - index.size
    out = []
    for array, fill in (
        (lists.features, 0.0),
        (lists.labels, -1.0),
        (lists.mask, False),
        (lists.doc_index, -1),
    ):
        taken = array[index]
        if extra:
            padding = np.full((extra,) + array.shape[1:], fill, array.dtype)
            taken = np.concatenate([taken, padding])
        out.append(taken)
    return PaddedLists(*out)


def batches(
    buckets: Sequence[PaddedLists],
    batch_size: int,
    *,
    shuffle: bool = False,
    seed: int | np.random.Generator | None = None,
) -> Iterator[PaddedLists]:
    """Yields batches of exactly ``batch_size`` lists, each from a single bucket.

    Every query appears once. A bucket's last, short batch is filled up with empty
    lists (mask all False, labels -1), so batch shapes stay fixed: one shape per bucket
    under ``jit``, and a batch axis that divides evenly over devices.

    Args:
      buckets: the output of ``jaxrank.data.bucketize``.
      batch_size: number of lists per batch.
      shuffle: shuffle the queries within each bucket and the order of the batches.
      seed: seed or generator for the shuffle.

    Yields:
      ``jaxrank.data.PaddedLists`` of ``batch_size`` lists.

    Examples:
      >>> data = RankingDataset(np.zeros((5, 1), np.float32), np.zeros(5, np.float32),
      ...                       np.array([0, 1, 2, 3, 5]), np.arange(4))
      >>> [b.mask.sum(axis=1).tolist() for b in batches(bucketize(data, [1, 2]), 2)]
      [[1, 1], [1, 0], [2, 0]]
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"`batch_size` must be a positive int, got {batch_size!r}.")
    rng = np.random.default_rng(seed)
    plan = []
    for b, lists in enumerate(buckets):
        order = (
            rng.permutation(lists.num_queries)
            if shuffle
            else np.arange(lists.num_queries)
        )
        plan.extend(
            (b, order[i : i + batch_size]) for i in range(0, order.size, batch_size)
        )
    if shuffle:
        plan = [plan[i] for i in rng.permutation(len(plan))]
    for b, index in plan:
        yield _take(buckets[b], index, batch_size)


def scatter_scores(
    lists: Sequence[PaddedLists], scores: Sequence[npt.ArrayLike], num_docs: int
) -> np.ndarray:
    """Writes scores of padded lists back in document (file) order.

    Args:
      lists: padded lists (buckets or batches) covering every document once.
      scores: one ``(queries, list_size)`` score array (NumPy or JAX) per element of
        ``lists``.
      num_docs: the number of documents in the dataset.

    Returns:
      ``(num_docs,)`` float32 scores, row ``i`` for the ``i``-th document of the file.

    Raises:
      ValueError: if some document received no score or more than one.

    Examples:
      >>> data = RankingDataset(np.zeros((3, 1), np.float32), np.zeros(3, np.float32),
      ...                       np.array([0, 2, 3]), np.arange(2))
      >>> padded = pad_lists(data)
      >>> scatter_scores([padded], [[[0.5, 0.25], [2.0, 9.0]]], data.num_docs)
      array([0.5 , 0.25, 2.  ], dtype=float32)
    """
    out = np.zeros(num_docs, np.float32)
    seen = np.zeros(num_docs, np.int64)
    for padded, score in zip(lists, scores, strict=True):
        score = np.asarray(score)
        if score.shape != padded.mask.shape:
            raise ValueError(
                f"`scores` entry has shape {score.shape}; expected {padded.mask.shape}."
            )
        index = padded.doc_index[padded.mask]
        out[index] = score[padded.mask]
        np.add.at(seen, index, 1)
    if np.any(seen != 1):
        raise ValueError("every document must be scored exactly once by `lists`.")
    return out
