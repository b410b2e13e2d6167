# The conventions of every loss are the docstring of the module that defines them.
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
from jaxrank._src.loss_classes import RankingLoss as RankingLoss
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
from jaxrank._src.types import HingeMethod as HingeMethod
from jaxrank._src.types import Reduction as Reduction

__all__ = [
    "HingeMethod",
    "ListMLELoss",
    "PairwiseHingeLoss",
    "PairwiseLogisticLoss",
    "PairwiseMeanSquaredError",
    "PairwiseQRLoss",
    "PairwiseSoftZeroOneLoss",
    "RankingLoss",
    "Reduction",
    "list_mle_loss",
    "pairwise_hinge_loss",
    "pairwise_logistic_loss",
    "pairwise_mean_squared_error",
    "pairwise_qr_loss",
    "pairwise_soft_zero_one_loss",
]
