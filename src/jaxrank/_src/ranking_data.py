"""Containers for learning-to-rank data: flat documents and padded lists.

A dataset is held *flat*, one row per document in the file's order
(``jaxrank.data.RankingDataset``), and padded into ``(queries, list_size, features)``
arrays (``jaxrank.data.PaddedLists``) only for training and scoring. Every padded slot
remembers the row it came from (``doc_index``, -1 for padding), so scores computed on
padded lists can be written back in the file's document order with
``jaxrank.data.scatter_scores``.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import numpy.typing as npt


@dataclasses.dataclass(frozen=True)
class RankingDataset:
    """Documents in file order, grouped into consecutive queries.

    Attributes:
      features: ``(num_docs, num_features)`` float32 features.
      labels: ``(num_docs,)`` float32 graded relevance labels.
      query_offsets: ``(num_queries + 1,)`` int64; query ``q`` owns rows
        ``query_offsets[q]:query_offsets[q + 1]``.
      query_ids: ``(num_queries,)`` int64 ids (the ``qid:`` values, or ``0..Q-1`` when
        the groups came from a ``.query`` file or a generator).

    Examples:
      >>> data = RankingDataset(np.eye(3, dtype=np.float32),
      ...                       np.array([1.0, 0.0, 2.0], np.float32),
      ...                       np.array([0, 2, 3]), np.array([5, 6]))
      >>> data.num_docs, data.num_queries, data.num_features, data.list_sizes
      (3, 2, 3, array([2, 1]))
    """

    features: np.ndarray
    labels: np.ndarray
    query_offsets: np.ndarray
    query_ids: np.ndarray

    @property
    def num_docs(self) -> int:
        return int(self.labels.shape[0])

    @property
    def num_queries(self) -> int:
        return int(self.query_ids.shape[0])

    @property
    def num_features(self) -> int:
        return int(self.features.shape[1])

    @property
    def list_sizes(self) -> np.ndarray:
        """``(num_queries,)`` number of documents in each query."""
        return np.diff(self.query_offsets)

    def subset(self, queries: npt.ArrayLike) -> RankingDataset:
        """The dataset restricted to the queries at positions ``queries``.

        Args:
          queries: integer positions (not ids) of the queries to keep.

        Returns:
          A new ``jaxrank.data.RankingDataset`` with those queries, rows in file
          order.

        Examples:
          >>> data = RankingDataset(np.arange(3, dtype=np.float32)[:, None],
          ...                       np.zeros(3, np.float32),
          ...                       np.array([0, 2, 3]), np.array([5, 6]))
          >>> sub = data.subset([1])
          >>> sub.features.ravel(), sub.query_offsets, sub.query_ids
          (array([2.], dtype=float32), array([0, 1]), array([6]))
        """
        queries = np.sort(np.asarray(queries, np.int64))
        sizes = self.list_sizes[queries]
        rows = _ranges(self.query_offsets[queries], sizes)
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        return RankingDataset(
            self.features[rows], self.labels[rows], offsets, self.query_ids[queries]
        )


@dataclasses.dataclass(frozen=True)
class PaddedLists:
    """Queries padded to one list size.

    Attributes:
      features: ``(queries, list_size, num_features)`` float32; 0 in padded slots.
      labels: ``(queries, list_size)`` float32; -1 in padded slots.
      mask: ``(queries, list_size)`` bool; True for real documents.
      doc_index: ``(queries, list_size)`` int64 row of each slot in the
        ``jaxrank.data.RankingDataset`` (the file's document order); -1 in padded
        slots.
    """

    features: np.ndarray
    labels: np.ndarray
    mask: np.ndarray
    doc_index: np.ndarray

    @property
    def num_queries(self) -> int:
        return int(self.mask.shape[0])

    @property
    def list_size(self) -> int:
        return int(self.mask.shape[1])


def _ranges(starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, s + n)`` for each start ``s`` and size ``n``."""
    total = int(sizes.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    ends = np.cumsum(sizes)
    shift = np.repeat(starts - (ends - sizes), sizes)
    return np.arange(total, dtype=np.int64) + shift
