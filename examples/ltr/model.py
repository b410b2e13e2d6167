"""The example's scorer: a Flax NNX MLP over each document, with DeepSets list context.

:class:`Scorer` maps features ``(..., L, F)`` to scores ``(..., L)``;
:func:`init_ensemble` builds several independently initialised scorers with their
parameters stacked on a leading member axis, to train together under ``jax.vmap``.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
from flax import nnx


def list_mean(x: jax.Array, mask: jax.Array | None) -> jax.Array:
    """Mean of ``x`` ``(..., L, H)`` over the valid documents of each list, broadcast
    back to every document (``mask`` ``(..., L)``; None: all valid)."""
    if mask is None:
        return jnp.broadcast_to(jnp.mean(x, axis=-2, keepdims=True), x.shape)
    valid = mask[..., None]
    total = jnp.sum(jnp.where(valid, x, 0.0), axis=-2, keepdims=True)
    count = jnp.sum(valid, axis=-2, keepdims=True).astype(x.dtype)
    return jnp.broadcast_to(total / jnp.maximum(count, 1.0), x.shape)


class Scorer(nnx.Module):
    """An MLP that scores every document of every list: ``(B, L, F) -> (B, L)``.

    With ``list_context``, the second hidden layer sees each document's first-layer
    hidden vector concatenated with the mean of those vectors over its list
    (DeepSets-style pooling), so a score can depend on the other candidates. It needs
    at least two hidden layers: fed straight to the linear output, a term shared by
    the whole list would only shift all its scores alike, which no ranking loss sees.
    """

    def __init__(
        self,
        num_features: int,
        hidden: Sequence[int],
        dropout: float,
        input_dropout: float = 0.0,
        *,
        list_context: bool = False,
        rngs: nnx.Rngs,
    ):
        if list_context and len(hidden) < 2:
            raise ValueError(
                f"list_context needs at least two hidden layers, got hidden={hidden}"
            )
        inputs = [num_features, *hidden]
        if list_context:
            inputs[1] *= 2
        self.layers = nnx.List(
            [
                nnx.Linear(a, b, rngs=rngs)
                for a, b in zip(inputs[:-1], hidden, strict=True)
            ]
        )
        self.dropout = nnx.Dropout(dropout)
        self.input_dropout = nnx.Dropout(input_dropout)
        self.list_context = list_context
        self.out = nnx.Linear(inputs[-1], 1, rngs=rngs)

    def __call__(
        self,
        x: jax.Array,
        mask: jax.Array | None = None,
        dropout_key: jax.Array | None = None,
    ) -> jax.Array:
        """Scores ``(..., L)``; ``mask`` ``(..., L)`` marks the real documents (for the
        list context); ``dropout_key`` (training only) turns on the dropout."""
        if dropout_key is not None and self.input_dropout.rate > 0:
            key = jax.random.fold_in(dropout_key, len(self.layers))
            x = self.input_dropout(x, deterministic=False, rngs=key)
        for i, layer in enumerate(self.layers):
            x = jax.nn.gelu(layer(x))
            if dropout_key is not None:
                x = self.dropout(
                    x, deterministic=False, rngs=jax.random.fold_in(dropout_key, i)
                )
            if i == 0 and self.list_context:
                x = jnp.concatenate([x, list_mean(x, mask)], axis=-1)
        return self.out(x)[..., 0]


def init_ensemble(
    members: int,
    num_features: int,
    hidden: Sequence[int],
    dropout: float,
    input_dropout: float = 0.0,
    *,
    list_context: bool = False,
    seed: int = 0,
) -> tuple[nnx.GraphDef, nnx.State]:
    """``members`` independently initialised scorers (:class:`Scorer`), stacked.

    Returns the shared graph definition and the parameters with a leading member axis;
    member ``m`` is initialised from seed ``seed + 1000 * m``.
    """
    states = []
    for member in range(members):
        model = Scorer(
            num_features,
            hidden,
            dropout,
            input_dropout,
            list_context=list_context,
            rngs=nnx.Rngs(seed + 1000 * member),
        )
        graphdef, state = nnx.split(model)
        states.append(state)
    return graphdef, jax.tree.map(lambda *xs: jnp.stack(xs), *states)
