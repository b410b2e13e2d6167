# How the Keras losses relate to jaxrank.losses, and where they differ from keras_rs,
# is the docstring of the module that defines them.
from jaxrank._src.keras_losses import ListMLELoss as ListMLELoss
from jaxrank._src.keras_losses import PairwiseHingeLoss as PairwiseHingeLoss
from jaxrank._src.keras_losses import PairwiseLogisticLoss as PairwiseLogisticLoss
from jaxrank._src.keras_losses import (
    PairwiseMeanSquaredError as PairwiseMeanSquaredError,
)
from jaxrank._src.keras_losses import PairwiseQRLoss as PairwiseQRLoss
from jaxrank._src.keras_losses import (
    PairwiseSoftZeroOneLoss as PairwiseSoftZeroOneLoss,
)
from jaxrank._src.keras_losses import PointwiseMSELoss as PointwiseMSELoss
from jaxrank._src.keras_losses import PointwiseSigmoidLoss as PointwiseSigmoidLoss
from jaxrank._src.keras_losses import Poly1SoftmaxLoss as Poly1SoftmaxLoss
from jaxrank._src.keras_losses import RankingLoss as RankingLoss
from jaxrank._src.keras_losses import SoftmaxLoss as SoftmaxLoss
from jaxrank._src.keras_losses import UniqueSoftmaxLoss as UniqueSoftmaxLoss
from jaxrank._src.keras_losses import __doc__ as __doc__

__all__ = [
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
]
