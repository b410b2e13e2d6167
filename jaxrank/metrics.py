"""Ranking metrics: per-list functions and keras_rs-compatible classes.

The functions take ``scores`` and ``labels`` of shape ``(..., n)`` (the last axis
is the list) and return one value per list, shape ``(...)``.
"""

from jaxrank._src.metrics import dcg as dcg
from jaxrank._src.metrics import default_discount_fn as default_discount_fn
from jaxrank._src.metrics import default_gain_fn as default_gain_fn
from jaxrank._src.metrics import mean_average_precision as mean_average_precision
from jaxrank._src.metrics import mean_reciprocal_rank as mean_reciprocal_rank
from jaxrank._src.metrics import ndcg as ndcg
from jaxrank._src.metrics import precision_at_k as precision_at_k
from jaxrank._src.metrics import recall_at_k as recall_at_k

__all__ = [
    "dcg",
    "default_discount_fn",
    "default_gain_fn",
    "mean_average_precision",
    "mean_reciprocal_rank",
    "ndcg",
    "precision_at_k",
    "recall_at_k",
]
