# The conventions of every loss are the docstring of the module that defines them.
from jaxrank._src.approx_metric_losses import approx_mrr_loss as approx_mrr_loss
from jaxrank._src.approx_metric_losses import approx_ndcg_loss as approx_ndcg_loss
from jaxrank._src.loss_classes import ApproxMRRLoss as ApproxMRRLoss
from jaxrank._src.loss_classes import ApproxNDCGLoss as ApproxNDCGLoss
from jaxrank._src.loss_classes import ListMLELoss as ListMLELoss
from jaxrank._src.loss_classes import PairwiseHingeLoss as PairwiseHingeLoss
from jaxrank._src.loss_classes import PairwiseLogisticLoss as PairwiseLogisticLoss
from jaxrank._src.loss_classes import (
    PairwiseMeanSquaredError as PairwiseMeanSquaredError,
)
from jaxrank._src.loss_classes import PairwiseQRLoss as PairwiseQRLoss
from jaxrank._src.loss_classes import (
    PairwiseSoftZeroOneLoss as PairwiseSoftZeroOneLoss,
)
from jaxrank._src.loss_classes import PointwiseMSELoss as PointwiseMSELoss
from jaxrank._src.loss_classes import PointwiseSigmoidLoss as PointwiseSigmoidLoss
from jaxrank._src.loss_classes import Poly1SoftmaxLoss as Poly1SoftmaxLoss
from jaxrank._src.loss_classes import RankingLoss as RankingLoss
from jaxrank._src.loss_classes import SoftmaxLoss as SoftmaxLoss
from jaxrank._src.loss_classes import UniqueSoftmaxLoss as UniqueSoftmaxLoss
from jaxrank._src.losses import __doc__ as __doc__
from jaxrank._src.losses import list_mle_loss as list_mle_loss
from jaxrank._src.losses import pairwise_hinge_loss as pairwise_hinge_loss
from jaxrank._src.losses import pairwise_logistic_loss as pairwise_logistic_loss
from jaxrank._src.losses import (
    pairwise_mean_squared_error as pairwise_mean_squared_error,
)
from jaxrank._src.losses import pairwise_qr_loss as pairwise_qr_loss
from jaxrank._src.losses import (
    pairwise_soft_zero_one_loss as pairwise_soft_zero_one_loss,
)
from jaxrank._src.pointwise_losses import pointwise_mse_loss as pointwise_mse_loss
from jaxrank._src.pointwise_losses import (
    pointwise_sigmoid_loss as pointwise_sigmoid_loss,
)
from jaxrank._src.softmax_losses import poly1_softmax_loss as poly1_softmax_loss
from jaxrank._src.softmax_losses import softmax_loss as softmax_loss
from jaxrank._src.softmax_losses import unique_softmax_loss as unique_softmax_loss
from jaxrank._src.types import HingeMethod as HingeMethod
from jaxrank._src.types import Reduction as Reduction

__all__ = [
    "ApproxMRRLoss",
    "ApproxNDCGLoss",
    "HingeMethod",
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
    "RankingLoss",
    "Reduction",
    "approx_mrr_loss",
    "approx_ndcg_loss",
    "list_mle_loss",
    "pairwise_hinge_loss",
    "pairwise_logistic_loss",
    "pairwise_mean_squared_error",
    "pairwise_qr_loss",
    "pairwise_soft_zero_one_loss",
    "pointwise_mse_loss",
    "pointwise_sigmoid_loss",
    "poly1_softmax_loss",
    "softmax_loss",
    "unique_softmax_loss",
]
