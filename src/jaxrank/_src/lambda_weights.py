r"""Lambda weights: per-pair weights that make a pairwise loss metric-aware.

A pairwise loss sums a pair term :math:`f_{ij}` over the pairs of each list; with a
lambda weight :math:`\lambda_{ij}` it sums :math:`\lambda_{ij} f_{ij}` instead
(Burges, 2010; Wang et al., 2018). The weights depend on the scores only through the
ranks they induce, are held constant under differentiation
(``jax.lax.stop_gradient``), and have the values of rax 0.4.0's
``labeldiff_lambdaweight``, ``dcg_lambdaweight`` and ``dcg2_lambdaweight``.

Every lambda weight here is a frozen (hashable) dataclass, passed to a pairwise loss
as ``lambda_weights=``. It splits into an :math:`O(n \log n)` per-item part
(:meth:`LambdaWeight.item_features`: ranks, gains, discounts) and an elementwise pair
part (:meth:`LambdaWeight.pair_weights`), so a loss can evaluate the pair weights one
block of rows at a time and never hold an ``(n, n)`` array. Calling an instance,
``lw(scores, labels, where=None)``, returns the dense ``(..., n, n)`` matrix.

Conventions (the loss conventions of :mod:`jaxrank.losses`):

* **Ranks** are 1-based positions in the order of decreasing score among the valid
  items (an infinite score first or last); equal scores keep their order in the list
  (rax's tie rule, and the rule of :mod:`jaxrank.metrics`); ignored items rank after
  all valid items.
* **Ignored items** (label < 0 or ``where`` False) have weight 0 in every pair.
* **Item weights** of a loss multiply its per-item losses and do not enter the lambda
  weights (rax also scales the gains by them; call rax-style code with
  ``weights=None`` to compare).
* The factor :math:`n` in the DCG weights is the static list size (padding
  included), as in rax, which uses it to keep the weights away from tiny values.
"""

from __future__ import annotations

import abc
import dataclasses
import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax import lax

from jaxrank._src import ranking
from jaxrank._src.checks import check_positive_int
from jaxrank._src.inputs import prepare_inputs
from jaxrank._src.metrics import default_discount_fn, default_gain_fn

Features = tuple[jax.Array, ...]


class LambdaWeight(abc.ABC):
    """Base class: a per-item part and an elementwise pair part (module docstring)."""

    @abc.abstractmethod
    def item_features(
        self, scores: jax.Array, labels: jax.Array, valid: jax.Array
    ) -> Features:
        """Per-item arrays, each ``(..., n)``, from which the pair weights follow.

        Args:
          scores: ``(..., n)`` finite scores in the compute dtype.
          labels: ``(..., n)`` labels in the compute dtype.
          valid: ``(..., n)`` bool.
        """

    @abc.abstractmethod
    def pair_weights(self, rows: Features, cols: Features, list_size: int) -> jax.Array:
        """The ``(..., b, n)`` pair weights of some rows against all columns.

        Args:
          rows: the item features of the pairs' first items, expanded on the last axis.
          cols: the item features of the pairs' second items, expanded on axis -2.
          list_size: the static list size ``n``.

        Returns:
          The ``(..., b, n)`` weights; the caller masks pairs with an invalid item.
        """

    def __repr__(self) -> str:
        # Functions show by name, so the repr is stable across processes.
        fields = (
            f"{f.name}={getattr(v, '__name__', None) or repr(v)}"
            for f in dataclasses.fields(self)
            for v in (getattr(self, f.name),)
        )
        return f"{type(self).__name__}({', '.join(fields)})"

    def __call__(
        self, scores: jax.Array, labels: jax.Array, *, where: jax.Array | None = None
    ) -> jax.Array:
        """The dense ``(..., n, n)`` lambda weights, 0 for pairs with an ignored item.

        Args:
          scores: ``(..., n)`` floating scores.
          labels: ``(..., n)`` labels; negative = ignore the item.
          where: optional ``(..., n)`` boolean mask; False = ignore the item.
        """
        inputs = prepare_inputs(scores, labels, where=where)
        # An infinite score ranks first or last; no order ranks NaN (it reads as 0).
        nan = jnp.isnan(inputs.scores)
        scores = jnp.where(nan, jnp.zeros((), inputs.scores.dtype), inputs.scores)
        return _dense_weights(self, scores, inputs.labels, inputs.valid)


@functools.partial(jax.jit, static_argnums=0)
def _dense_weights(lambda_weight, scores, labels, valid):
    features = lambda_weight.item_features(lax.stop_gradient(scores), labels, valid)
    rows = tuple(f[..., :, None] for f in features)
    cols = tuple(f[..., None, :] for f in features)
    weights = lambda_weight.pair_weights(rows, cols, scores.shape[-1])
    pairs = valid[..., :, None] & valid[..., None, :]
    return lax.stop_gradient(jnp.where(pairs, weights, jnp.zeros((), weights.dtype)))


@dataclasses.dataclass(frozen=True, repr=False)
class LabelDiffLambdaWeight(LambdaWeight):
    r"""Absolute label difference: :math:`\lambda_{ij} = |y_i - y_j|`.

    Pairs whose labels differ more weigh more. Matches rax's
    ``labeldiff_lambdaweight`` on pairs of valid items.

    Examples:
      >>> import jax.numpy as jnp
      >>> import jaxrank
      >>> lw = jaxrank.LabelDiffLambdaWeight()
      >>> lw(jnp.array([0.5, 0.2, 0.9]), jnp.array([2.0, 0.0, 1.0]))
      Array([[0., 2., 1.],
             [2., 0., 1.],
             [1., 1., 0.]], dtype=float32)
    """

    def item_features(self, scores, labels, valid):
        del scores, valid
        return (labels,)

    def pair_weights(self, rows, cols, list_size):
        del list_size
        return jnp.abs(rows[0] - cols[0])


def _gains(lw, labels, valid) -> jax.Array:
    """Gains of valid items (0 for the others), over the ideal DCG if normalising."""
    zero = jnp.zeros((), labels.dtype)
    gains = jnp.where(valid, lw.gain_fn(jnp.where(valid, labels, zero)), zero)
    gains = gains.astype(labels.dtype)
    if not lw.normalize:
        return gains
    # The ideal order ranks items by gain; cut at topn; a zero ideal DCG counts as 1.
    ideal_ranks = ranking.ranks(gains, valid).astype(gains.dtype)
    counted = valid if lw.topn is None else valid & (ideal_ranks <= lw.topn)
    discounts = lw.discount_fn(ideal_ranks).astype(gains.dtype)
    ideal = jnp.sum(jnp.where(counted, gains * discounts, zero), axis=-1)
    ideal = jnp.where(ideal == 0, jnp.ones((), gains.dtype), ideal)
    return gains / ideal[..., None]


@dataclasses.dataclass(frozen=True, repr=False)
class _GainLambdaWeight(LambdaWeight):
    """The fields of the DCG-based lambda weights: cut-off, normalisation, gain and
    discount."""

    topn: int | None = None
    normalize: bool = False
    gain_fn: Callable[[jax.Array], jax.Array] = default_gain_fn
    discount_fn: Callable[[jax.Array], jax.Array] = default_discount_fn

    def __post_init__(self):
        check_positive_int("topn", self.topn)


@dataclasses.dataclass(frozen=True, repr=False)
class DCGLambdaWeight(_GainLambdaWeight):
    r"""LambdaRank weights: the change in (N)DCG from swapping two items.

    .. math::

        \lambda_{ij} = n\,\bigl|D_i - D_j\bigr|\,\bigl|G_i - G_j\bigr|,\qquad
        G_i = \frac{\mathrm{gain}(y_i)}{Z},\qquad
        D_i = \mathrm{discount}(r_i)\,[r_i \le k],

    where :math:`r_i` is item :math:`i`'s rank under the current scores, :math:`k`
    is ``topn`` (no cut-off when None), :math:`Z` is the ideal DCG@k when
    ``normalize`` (else 1; also 1 for a list whose ideal DCG is 0), and :math:`n` is
    the static list size. :math:`|D_i - D_j||G_i - G_j|` is the change in (N)DCG@k
    when items :math:`i` and :math:`j` swap places (Burges, 2010). Matches rax's
    ``dcg_lambdaweight``.

    Args:
      topn: optional rank cut-off ``k`` (int >= 1).
      normalize: divide the gains by the ideal DCG@k (the NDCG form).
      gain_fn: maps labels to gains, default :math:`2^y - 1`.
      discount_fn: maps 1-based ranks to discounts, default :math:`1/\log_2(1 + r)`.

    Examples:
      >>> import jax.numpy as jnp
      >>> import jaxrank
      >>> import numpy as np
      >>> lw = jaxrank.DCGLambdaWeight(topn=2, normalize=True)
      >>> w = lw(jnp.array([0.5, 0.2, 0.9]), jnp.array([2.0, 0.0, 1.0]))
      >>> print(np.array2string(np.asarray(w), precision=3))
      [[0.    1.564 0.61 ]
       [1.564 0.    0.826]
       [0.61  0.826 0.   ]]
    """

    def item_features(self, scores, labels, valid):
        ranks = ranking.ranks(scores, valid).astype(scores.dtype)
        discounts = self.discount_fn(ranks).astype(scores.dtype)
        if self.topn is not None:
            discounts = jnp.where(
                ranks <= self.topn, discounts, jnp.zeros_like(discounts)
            )
        return _gains(self, labels, valid), discounts

    def pair_weights(self, rows, cols, list_size):
        (gains_i, discounts_i), (gains_j, discounts_j) = rows, cols
        scale = jnp.asarray(list_size, gains_i.dtype)
        return jnp.abs(discounts_i - discounts_j) * scale * jnp.abs(gains_i - gains_j)


@dataclasses.dataclass(frozen=True, repr=False)
class DCG2LambdaWeight(_GainLambdaWeight):
    r"""LambdaLoss "NDCG-Loss2" weights: a discount of the rank distance of a pair.

    .. math::

        \lambda_{ij} = n\,\delta_{ij}\,\tau_{ij}\,\bigl|G_i - G_j\bigr|,\qquad
        \delta_{ij} = \bigl|\mathrm{discount}(|r_i - r_j|)
                      - \mathrm{discount}(|r_i - r_j| + 1)\bigr|,

    with :math:`\delta_{ii} = 0`, :math:`G` and :math:`n` as in
    :class:`DCGLambdaWeight`, and with ``topn`` :math:`k` the factor
    :math:`\tau_{ij} = 1 / (1 - \mathrm{discount}(\max(r_i, r_j)))` for pairs
    reaching below rank :math:`k` (:math:`\max(r_i, r_j) > k`), else 1 (Jagerman et
    al., 2022). ``light_discount`` uses :math:`\delta_{ij} =
    |\mathrm{discount}(|r_i - r_j|)|`. Summed over pairs this bounds NDCG's loss
    (Wang et al., 2018). Matches rax's ``dcg2_lambdaweight``.

    Args:
      topn: optional rank cut-off ``k`` (int >= 1).
      normalize: divide the gains by the ideal DCG@k (the NDCG form).
      gain_fn: maps labels to gains, default :math:`2^y - 1`.
      discount_fn: maps 1-based ranks to discounts, default :math:`1/\log_2(1 + r)`.
      light_discount: use the light discount above.

    Examples:
      >>> import jax.numpy as jnp
      >>> import jaxrank
      >>> import numpy as np
      >>> lw = jaxrank.DCG2LambdaWeight(normalize=True)
      >>> w = lw(jnp.array([0.5, 0.2, 0.9]), jnp.array([2.0, 0.0, 1.0]))
      >>> print(np.array2string(np.asarray(w), precision=3))
      [[0.    0.915 0.61 ]
       [0.915 0.    0.108]
       [0.61  0.108 0.   ]]
    """

    light_discount: bool = False

    def item_features(self, scores, labels, valid):
        ranks = ranking.ranks(scores, valid).astype(scores.dtype)
        return _gains(self, labels, valid), ranks

    def pair_weights(self, rows, cols, list_size):
        (gains_i, ranks_i), (gains_j, ranks_j) = rows, cols
        dtype = gains_i.dtype
        one, zero = jnp.ones((), dtype), jnp.zeros((), dtype)
        distance = jnp.abs(ranks_i - ranks_j)
        apart = distance != 0
        # discount(0) is infinite: evaluate at 1 on the diagonal, which is zeroed.
        safe = jnp.where(apart, distance, one)
        if self.light_discount:
            deltas = jnp.abs(self.discount_fn(safe))
        else:
            deltas = jnp.abs(self.discount_fn(safe) - self.discount_fn(safe + one))
        deltas = jnp.where(apart, deltas.astype(dtype), zero)
        if self.topn is not None:
            lowest = jnp.maximum(ranks_i, ranks_j)
            beyond = lowest > self.topn
            safe_lowest = jnp.where(beyond, lowest, jnp.full((), 2, dtype))
            tail = one / (one - self.discount_fn(safe_lowest).astype(dtype))
            deltas = deltas * jnp.where(beyond, tail, one)
        scale = jnp.asarray(list_size, dtype)
        return deltas * scale * jnp.abs(gains_i - gains_j)
