"""jaxrank: learning-to-rank losses and metrics for JAX.

The list is the last axis of every array; leading axes are batch axes. Losses come as
pure functions (``scores`` first, ``labels`` second, options keyword-only, as in optax
and rax) and as classes with keras_rs's calling convention and numbers
(:mod:`jaxrank.losses`); metrics likewise (:mod:`jaxrank.metrics`); data loading in
:mod:`jaxrank.data`.
"""

from importlib.metadata import PackageNotFoundError, version

from jaxrank import data as data
from jaxrank import losses as losses
from jaxrank import metrics as metrics
from jaxrank._src.approx_ranks import approx_cutoff as approx_cutoff
from jaxrank._src.approx_ranks import approx_ranks as approx_ranks
from jaxrank._src.approx_ranks import bound_cutoff as bound_cutoff
from jaxrank._src.approx_ranks import bound_ranks as bound_ranks
from jaxrank._src.lambda_weights import DCG2LambdaWeight as DCG2LambdaWeight
from jaxrank._src.lambda_weights import DCGLambdaWeight as DCGLambdaWeight
from jaxrank._src.lambda_weights import LabelDiffLambdaWeight as LabelDiffLambdaWeight
from jaxrank._src.lambda_weights import LambdaWeight as LambdaWeight
from jaxrank._src.optax_adapter import as_optax_loss as as_optax_loss
from jaxrank._src.t12n import approx_t12n as approx_t12n
from jaxrank._src.t12n import approximate_metric_loss as approximate_metric_loss
from jaxrank._src.t12n import bound_metric_loss as bound_metric_loss
from jaxrank._src.t12n import bound_t12n as bound_t12n
from jaxrank._src.t12n import gumbel_perturbed as gumbel_perturbed
from jaxrank._src.t12n import gumbel_t12n as gumbel_t12n
from jaxrank._src.t12n import segment_t12n as segment_t12n
from jaxrank.losses import ApproxMRRLoss as ApproxMRRLoss
from jaxrank.losses import ApproxNDCGLoss as ApproxNDCGLoss
from jaxrank.losses import ListMLELoss as ListMLELoss
from jaxrank.losses import PairwiseHingeLoss as PairwiseHingeLoss
from jaxrank.losses import PairwiseLogisticLoss as PairwiseLogisticLoss
from jaxrank.losses import PairwiseMeanSquaredError as PairwiseMeanSquaredError
from jaxrank.losses import PairwiseQRLoss as PairwiseQRLoss
from jaxrank.losses import PairwiseSoftZeroOneLoss as PairwiseSoftZeroOneLoss
from jaxrank.losses import PointwiseMSELoss as PointwiseMSELoss
from jaxrank.losses import PointwiseSigmoidLoss as PointwiseSigmoidLoss
from jaxrank.losses import Poly1SoftmaxLoss as Poly1SoftmaxLoss
from jaxrank.losses import SoftmaxLoss as SoftmaxLoss
from jaxrank.losses import UniqueSoftmaxLoss as UniqueSoftmaxLoss
from jaxrank.losses import approx_mrr_loss as approx_mrr_loss
from jaxrank.losses import approx_ndcg_loss as approx_ndcg_loss
from jaxrank.losses import list_mle_loss as list_mle_loss
from jaxrank.losses import pairwise_hinge_loss as pairwise_hinge_loss
from jaxrank.losses import pairwise_logistic_loss as pairwise_logistic_loss
from jaxrank.losses import pairwise_mean_squared_error as pairwise_mean_squared_error
from jaxrank.losses import pairwise_qr_loss as pairwise_qr_loss
from jaxrank.losses import pairwise_soft_zero_one_loss as pairwise_soft_zero_one_loss
from jaxrank.losses import pointwise_mse_loss as pointwise_mse_loss
from jaxrank.losses import pointwise_sigmoid_loss as pointwise_sigmoid_loss
from jaxrank.losses import poly1_softmax_loss as poly1_softmax_loss
from jaxrank.losses import softmax_loss as softmax_loss
from jaxrank.losses import unique_softmax_loss as unique_softmax_loss

try:
    __version__ = version("jaxrank")
except PackageNotFoundError:  # imported from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = [
    "ApproxMRRLoss",
    "ApproxNDCGLoss",
    "DCG2LambdaWeight",
    "DCGLambdaWeight",
    "LabelDiffLambdaWeight",
    "LambdaWeight",
    "ListMLELoss",
    "PairwiseHingeLoss",
    "PairwiseLogisticLoss",
    "PairwiseMeanSquaredError",
    "PairwiseQRLoss",
    "PairwiseSoftZeroOneLoss",
    "PointwiseMSELoss",
    "PointwiseSigmoidLoss",
    "Poly1SoftmaxLoss",
    "SoftmaxLoss",
    "UniqueSoftmaxLoss",
    "approx_cutoff",
    "approx_mrr_loss",
    "approx_ndcg_loss",
    "approx_ranks",
    "approx_t12n",
    "approximate_metric_loss",
    "as_optax_loss",
    "bound_cutoff",
    "bound_metric_loss",
    "bound_ranks",
    "bound_t12n",
    "data",
    "gumbel_perturbed",
    "gumbel_t12n",
    "list_mle_loss",
    "losses",
    "metrics",
    "pairwise_hinge_loss",
    "pairwise_logistic_loss",
    "pairwise_mean_squared_error",
    "pairwise_qr_loss",
    "pairwise_soft_zero_one_loss",
    "pointwise_mse_loss",
    "pointwise_sigmoid_loss",
    "poly1_softmax_loss",
    "segment_t12n",
    "softmax_loss",
    "unique_softmax_loss",
]
