# How the Keras metrics relate to jaxrank.metrics (state, ties, saving) is the
# docstring of the module that defines them.
from jaxrank._src.keras_metrics import DCG as DCG
from jaxrank._src.keras_metrics import NDCG as NDCG
from jaxrank._src.keras_metrics import ExpectedReciprocalRank as ExpectedReciprocalRank
from jaxrank._src.keras_metrics import MeanAveragePrecision as MeanAveragePrecision
from jaxrank._src.keras_metrics import MeanReciprocalRank as MeanReciprocalRank
from jaxrank._src.keras_metrics import OrderedPairAccuracy as OrderedPairAccuracy
from jaxrank._src.keras_metrics import PrecisionAtK as PrecisionAtK
from jaxrank._src.keras_metrics import RankingMetric as RankingMetric
from jaxrank._src.keras_metrics import RecallAtK as RecallAtK
from jaxrank._src.keras_metrics import __doc__ as __doc__

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
]
