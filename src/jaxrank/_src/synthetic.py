"""A synthetic learning-to-rank dataset, generated with NumPy from a seed.

Documents have three kinds of features, like real web-search data: dense Gaussian
scores, heavy-tailed counts (raw term frequencies, link counts) and sparse 0/1 flags.
A hidden relevance function, a random one-hidden-layer ``tanh`` network on a
normalised view of the features that reads only some of them, gives each document a
relevance; graded labels 0..4 come from thresholding relevance plus a per-query offset
and per-document noise. Some queries therefore have no relevant document at all, as in
real data. The splits share the hidden function and differ in their queries.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from jaxrank._src.ranking_data import RankingDataset

# Share of labels 0, 1, 2, 3, 4 over all documents (skewed toward 0, as in LETOR data).
_LABEL_SHARES = (0.5, 0.25, 0.14, 0.08, 0.03)


def make_synthetic(
    num_queries: Sequence[int] = (400, 100),
    *,
    num_features: int = 24,
    list_size: tuple[int, int] = (5, 60),
    noise: float = 0.5,
    seed: int = 0,
) -> tuple[RankingDataset, ...]:
    r"""Generates train/test (or more) splits of a synthetic ranking dataset.

    For document features :math:`x` (``num_features // 2`` Gaussian, ``// 4`` counts,
    the rest 0/1 flags) the hidden relevance is

    .. math::

        r(x) = v^\top \tanh(W z(x) + b), \qquad
        z(x) = \bigl(x_\text{gauss},\ \log(1 + x_\text{count}) - 1,\
                     2 x_\text{flag} - 1\bigr),

    with random :math:`W` whose weights on a third of the features are zero (those
    features carry no signal). Document :math:`d` of query :math:`q` gets label
    :math:`\sum_k [r(x_d) + u_q + \epsilon_d > t_k]` with
    :math:`u_q \sim N(0, 0.5^2)`, :math:`\epsilon_d \sim N(0, \text{noise}^2)` and
    thresholds :math:`t_k` set so that labels 0..4 make up about 50/25/14/8/3 % of all
    documents. Everything is drawn from ``numpy.random.default_rng(seed)``.

    Args:
      num_queries: number of queries in each split.
      num_features: features per document (at least 4).
      list_size: inclusive range of documents per query.
      noise: standard deviation of the per-document label noise (relevance has unit
        scale); 0 makes labels a function of the features and the query.
      seed: the seed; the same arguments always give the same data.

    Returns:
      One :class:`~jaxrank.data.RankingDataset` per split, query ids numbered across
      splits.

    Examples:
      >>> train, test = make_synthetic((20, 5), num_features=8, list_size=(3, 10))
      >>> train.num_queries, test.num_queries, train.num_features
      (20, 5, 8)
      >>> bool(np.all((train.list_sizes >= 3) & (train.list_sizes <= 10)))
      True
      >>> sorted(set(train.labels.tolist()) | set(test.labels.tolist()))
      [0.0, 1.0, 2.0, 3.0, 4.0]
    """
    num_queries = [int(n) for n in num_queries]
    if not num_queries or min(num_queries) < 1:
        raise ValueError(f"`num_queries` must be positive counts, got {num_queries}.")
    if num_features < 4:
        raise ValueError(f"`num_features` must be at least 4, got {num_features}.")
    low, high = list_size
    if not 1 <= low <= high:
        raise ValueError(
            f"`list_size` must be (low, high) with 1 <= low <= high, got {list_size}."
        )
    if noise < 0:
        raise ValueError(f"`noise` must be non-negative, got {noise}.")
    rng = np.random.default_rng(seed)
    num_gauss, num_count = num_features // 2, num_features // 4
    num_flag = num_features - num_gauss - num_count

    hidden = 16
    weights = rng.normal(size=(num_features, hidden)) / np.sqrt(num_features / 3)
    weights[rng.permutation(num_features)[: num_features // 3]] = 0.0
    bias = rng.normal(scale=0.5, size=hidden)
    readout = rng.normal(size=hidden) / np.sqrt(hidden)
    count_scale = rng.uniform(0.5, 2.0, size=num_count)
    flag_rate = rng.uniform(0.05, 0.4, size=num_flag)

    total = sum(num_queries)
    sizes = rng.integers(low, high + 1, size=total)
    num_docs = int(sizes.sum())
    query_of_doc = np.repeat(np.arange(total), sizes)
    # Documents of one query share a topic: a per-query shift of the Gaussian features.
    topic = rng.normal(scale=0.5, size=(total, num_gauss))
    gauss = topic[query_of_doc] + rng.normal(size=(num_docs, num_gauss))
    counts = np.floor(
        np.exp(rng.normal(1.0, 1.2, size=(num_docs, num_count)) * count_scale)
    )
    flags = (rng.random((num_docs, num_flag)) < flag_rate).astype(np.float64)

    z = np.concatenate([gauss, np.log1p(counts) - 1.0, 2.0 * flags - 1.0], axis=1)
    relevance = np.tanh(z @ weights + bias) @ readout
    relevance = (relevance - relevance.mean()) / relevance.std()
    relevance += rng.normal(scale=0.5, size=total)[query_of_doc]
    relevance += rng.normal(scale=noise, size=num_docs)
    thresholds = np.quantile(relevance, np.cumsum(_LABEL_SHARES)[:-1])
    labels = np.searchsorted(thresholds, relevance).astype(np.float32)
    features = np.concatenate([gauss, counts, flags], axis=1).astype(np.float32)

    splits = []
    first = 0
    for count in num_queries:
        offsets = np.concatenate([[0], np.cumsum(sizes[first : first + count])])
        rows = slice(
            int(np.sum(sizes[:first])), int(np.sum(sizes[:first])) + int(offsets[-1])
        )
        splits.append(
            RankingDataset(
                features[rows],
                labels[rows],
                offsets.astype(np.int64),
                np.arange(first, first + count, dtype=np.int64),
            )
        )
        first += count
    return tuple(splits)
