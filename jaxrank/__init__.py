"""jaxrank: learning-to-rank losses and metrics for JAX.

The list is the last axis of every array; leading axes are batch axes. Losses come as
pure functions (``scores`` first, ``labels`` second, options keyword-only, as in optax
and rax) and as Keras-style classes with the numbers of keras_rs.
"""

from jaxrank._src.keras_losses import PairwiseHingeLoss as PairwiseHingeLoss
from jaxrank._src.losses import pairwise_hinge_loss as pairwise_hinge_loss
from jaxrank._src.optax_adapter import as_optax_loss as as_optax_loss

__version__ = "0.1.0"

__all__ = [
    "PairwiseHingeLoss",
    "as_optax_loss",
    "pairwise_hinge_loss",
]
