# The conventions of every metric are the docstring of the module that defines them.
from jaxrank._src.metric_classes import DCG as DCG
from jaxrank._src.metric_classes import NDCG as NDCG
from jaxrank._src.metric_classes import ExpectedReciprocalRank as ExpectedReciprocalRank
from jaxrank._src.metric_classes import MeanAveragePrecision as MeanAveragePrecision
from jaxrank._src.metric_classes import MeanReciprocalRank as MeanReciprocalRank
from jaxrank._src.metric_classes import OrderedPairAccuracy as OrderedPairAccuracy
from jaxrank._src.metric_classes import PrecisionAtK as PrecisionAtK
from jaxrank._src.metric_classes import RankingMetric as RankingMetric
from jaxrank._src.metric_classes import RecallAtK as RecallAtK
from jaxrank._src.metric_state import WeightedMean as WeightedMean
from jaxrank._src.metrics import __doc__ as __doc__
from jaxrank._src.metrics import average_precision as average_precision
from jaxrank._src.metrics import dcg as dcg
from jaxrank._src.metrics import default_discount_fn as default_discount_fn
from jaxrank._src.metrics import default_gain_fn as default_gain_fn
from jaxrank._src.metrics import (
    expected_reciprocal_rank as expected_reciprocal_rank,
)
from jaxrank._src.metrics import mean_average_precision as mean_average_precision
from jaxrank._src.metrics import mean_reciprocal_rank as mean_reciprocal_rank
from jaxrank._src.metrics import ndcg as ndcg
from jaxrank._src.metrics import ordered_pair_accuracy as ordered_pair_accuracy
from jaxrank._src.metrics import precision_at_k as precision_at_k
from jaxrank._src.metrics import recall_at_k as recall_at_k
from jaxrank._src.metrics import reciprocal_rank as reciprocal_rank

__all__ = [
    "DCG",
    "ExpectedReciprocalRank",
    "NDCG",
    "OrderedPairAccuracy",
    "MeanAveragePrecision",
    "MeanReciprocalRank",
    "PrecisionAtK",
    "RankingMetric",
    "RecallAtK",
    "WeightedMean",
    "average_precision",
    "dcg",
    "default_discount_fn",
    "default_gain_fn",
    "expected_reciprocal_rank",
    "mean_average_precision",
    "mean_reciprocal_rank",
    "ndcg",
    "ordered_pair_accuracy",
    "precision_at_k",
    "recall_at_k",
    "reciprocal_rank",
]
