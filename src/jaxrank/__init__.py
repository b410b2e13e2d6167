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
from jaxrank._src.lambda_weights import DCG2LambdaWeight as DCG2LambdaWeight
from jaxrank._src.lambda_weights import DCGLambdaWeight as DCGLambdaWeight
from jaxrank._src.lambda_weights import LabelDiffLambdaWeight as LabelDiffLambdaWeight
from jaxrank._src.lambda_weights import LambdaWeight as LambdaWeight
from jaxrank._src.optax_adapter import as_optax_loss as as_optax_loss
from jaxrank.losses import ListMLELoss as ListMLELoss
from jaxrank.losses import PairwiseHingeLoss as PairwiseHingeLoss
from jaxrank.losses import PairwiseLogisticLoss as PairwiseLogisticLoss
from jaxrank.losses import PairwiseMeanSquaredError as PairwiseMeanSquaredError
from jaxrank.losses import PairwiseQRLoss as PairwiseQRLoss
from jaxrank.losses import PairwiseSoftZeroOneLoss as PairwiseSoftZeroOneLoss
from jaxrank.losses import list_mle_loss as list_mle_loss
from jaxrank.losses import pairwise_hinge_loss as pairwise_hinge_loss
from jaxrank.losses import pairwise_logistic_loss as pairwise_logistic_loss
from jaxrank.losses import pairwise_mean_squared_error as pairwise_mean_squared_error
from jaxrank.losses import pairwise_qr_loss as pairwise_qr_loss
from jaxrank.losses import pairwise_soft_zero_one_loss as pairwise_soft_zero_one_loss

try:
    __version__ = version("jaxrank")
except PackageNotFoundError:  # imported from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = [
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
    "as_optax_loss",
    "data",
    "list_mle_loss",
    "losses",
    "metrics",
    "pairwise_hinge_loss",
    "pairwise_logistic_loss",
    "pairwise_mean_squared_error",
    "pairwise_qr_loss",
    "pairwise_soft_zero_one_loss",
]
