"""Ranking metrics: per-list functions, keras_rs-compatible classes, accumulation.

The functions take ``scores`` and ``labels`` of shape ``(..., n)`` (the last axis
is the list, leading axes are batch) and return one value per list, shape
``(...)``; they are pure and jit-able. The classes (``NDCG``, ``DCG``, ...) give
the numbers of ``keras_rs.metrics`` for one batch. :class:`WeightedMean`
accumulates per-list values across batches and devices inside ``jax.jit``.
"""

from jaxrank._src.keras_metrics import DCG as DCG
from jaxrank._src.keras_metrics import NDCG as NDCG
from jaxrank._src.keras_metrics import MeanAveragePrecision as MeanAveragePrecision
from jaxrank._src.keras_metrics import MeanReciprocalRank as MeanReciprocalRank
from jaxrank._src.keras_metrics import PrecisionAtK as PrecisionAtK
from jaxrank._src.keras_metrics import RankingMetric as RankingMetric
from jaxrank._src.keras_metrics import RecallAtK as RecallAtK
from jaxrank._src.metric_state import WeightedMean as WeightedMean
from jaxrank._src.metrics import dcg as dcg
from jaxrank._src.metrics import default_discount_fn as default_discount_fn
from jaxrank._src.metrics import default_gain_fn as default_gain_fn
from jaxrank._src.metrics import mean_average_precision as mean_average_precision
from jaxrank._src.metrics import mean_reciprocal_rank as mean_reciprocal_rank
from jaxrank._src.metrics import ndcg as ndcg
from jaxrank._src.metrics import precision_at_k as precision_at_k
from jaxrank._src.metrics import recall_at_k as recall_at_k

__all__ = [
    "DCG",
    "NDCG",
    "MeanAveragePrecision",
    "MeanReciprocalRank",
    "PrecisionAtK",
    "RankingMetric",
    "RecallAtK",
    "WeightedMean",
    "dcg",
    "default_discount_fn",
    "default_gain_fn",
    "mean_average_precision",
    "mean_reciprocal_rank",
    "ndcg",
    "precision_at_k",
    "recall_at_k",
]
