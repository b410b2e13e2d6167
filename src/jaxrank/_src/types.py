"""Type aliases of the public API."""

from __future__ import annotations

from typing import Literal

Reduction = Literal[
    "sum_over_batch_size", "mean", "sum", "mean_with_sample_weight", "none"
]
"""Keras's reduction names; ``None`` is also accepted and means ``"none"``."""

HingeMethod = Literal["auto", "all_pairs", "sorted"]
"""The algorithms of :func:`jaxrank.pairwise_hinge_loss`."""
