"""Data parallelism over every device, on one host or many (``jax.sharding``).

The batch axis is split over a 1-D ``data`` mesh of ``jax.devices()``; parameters and
optimizer state are replicated. ``jit`` then runs the step SPMD: each device scores its
share of the lists and XLA all-reduces the gradients.
"""

from __future__ import annotations

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from jaxrank import data as ltr_data


class DataParallel:
    """Places batches split over a 1-D ``data`` mesh of every device, params replicated.

    With several processes (after ``jax.distributed.initialize()``), every process
    builds the same global batch and contributes only its own slice of it.
    """

    def __init__(self):
        self.mesh = Mesh(np.asarray(jax.devices()), ("data",))
        self.batch = NamedSharding(self.mesh, P("data"))
        self.replicated = NamedSharding(self.mesh, P())

    @property
    def size(self) -> int:
        return self.mesh.size

    def round_up(self, batch_size: int) -> int:
        """The smallest multiple of the device count that is at least ``batch_size``
        (every batch must split evenly over the devices)."""
        return -(-batch_size // self.size) * self.size

    def put_batch(self, batch: ltr_data.PaddedLists) -> tuple[jax.Array, ...]:
        """``(features, labels, mask)`` of ``batch`` (the same global batch on every
        process), each split over the devices along its first (list) axis."""
        return tuple(self._put(x) for x in (batch.features, batch.labels, batch.mask))

    def _put(self, array: np.ndarray) -> jax.Array:
        processes, index = jax.process_count(), jax.process_index()
        per_process = array.shape[0] // processes
        local = array[index * per_process : (index + 1) * per_process]
        return jax.make_array_from_process_local_data(self.batch, local, array.shape)

    def replicate(self, tree):
        """``tree`` replicated on every device."""
        return jax.device_put(tree, self.replicated)
