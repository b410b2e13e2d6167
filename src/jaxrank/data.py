"""Learning-to-rank data: LETOR/SVMlight files, synthetic data, padding, batches.

A :class:`RankingDataset` holds documents flat, in file order: :func:`load_svmlight`
reads one from an SVMlight/LETOR file, :func:`make_synthetic` generates train and test
splits. :func:`bucketize` pads its queries into ``(queries, list_size, features)``
arrays (:class:`PaddedLists`) grouped by list length, and :func:`batches` cuts those
into fixed-shape batches for a training loop. :func:`scatter_scores` writes scores of
padded lists back in document order. :func:`pack_lists` is the alternative to
padding: whole queries packed into rows of one length, each with segment ids
(:class:`PackedLists`) for the losses' ``segments=`` argument.
"""

from jaxrank._src.batching import batches as batches
from jaxrank._src.batching import bucketize as bucketize
from jaxrank._src.batching import default_list_sizes as default_list_sizes
from jaxrank._src.batching import pad_lists as pad_lists
from jaxrank._src.batching import scatter_scores as scatter_scores
from jaxrank._src.packing import PackedLists as PackedLists
from jaxrank._src.packing import pack_lists as pack_lists
from jaxrank._src.ranking_data import PaddedLists as PaddedLists
from jaxrank._src.ranking_data import RankingDataset as RankingDataset
from jaxrank._src.svmlight import load_svmlight as load_svmlight
from jaxrank._src.synthetic import make_synthetic as make_synthetic

__all__ = [
    "PackedLists",
    "PaddedLists",
    "RankingDataset",
    "batches",
    "bucketize",
    "default_list_sizes",
    "load_svmlight",
    "make_synthetic",
    "pack_lists",
    "pad_lists",
    "scatter_scores",
]
