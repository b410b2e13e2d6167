"""Ranking losses in the optax/rax convention.

Every loss takes ``scores`` then ``labels``, with the options keyword-only. The last
axis is the list; any leading axes are batch axes (so a loss can be ``vmap``-ed).
Conventions shared by every loss:

* **Ignored items.** An item whose label is negative (keras_rs uses -1) or whose
  ``where`` entry is False takes part in no pair and has loss 0. Its score can be
  anything, ``inf`` and ``NaN`` included: it changes neither value nor gradient.
* **Empty lists.** A list with no valid pair (``n`` of 0 or 1, all items ignored, all
  labels equal) has loss 0 and gradient 0.
* **Ties.** Two items with equal labels form no pair; equal scores are an ordinary
  difference of 0.
* **Non-finite scores.** A NaN or infinite score on a *valid* item makes every loss
  of its list NaN (so any reduction is NaN); the gradient for that list is 0. Other
  lists are unaffected. keras_rs returns NaN in these cases too.
* **Precision.** bfloat16/float16 inputs are computed and returned in float32; float64
  inputs (with ``jax_enable_x64``) stay float64. Labels are compared exactly in their
  own dtype, integers beyond 2**24 included (their order is kept by ranking them
  when float32 cannot hold them); where a loss uses labels as numbers (the squared
  error, lambda weights) they are converted to the compute dtype.
* **Weights.** A scalar, per list (the leading shape, or the leading shape plus a
  trailing 1), or any shape that broadcasts to the scores' by NumPy's rule: per item
  (the scores' shape), per position in the list (``(n,)`` or ``(1, n)``), ... A
  weight multiplies the losses it broadcasts over. The leading shape is always read
  as per list, also when it equals ``(n,)``.
* **Reductions** use Keras's names. ``"none"`` (or ``None``) returns the weighted
  losses (per item, or per list for ListMLE); ``"sum"`` their sum;
  ``"sum_over_batch_size"`` (the default) and ``"mean"`` divide the sum by the number
  of entries, ignored items included, as Keras counts them;
  ``"mean_with_sample_weight"`` divides it by the sum of the weights as given (a
  scalar counts once, a per-list weight once per list). A zero divisor gives 0.
* **Segments.** The pairwise losses take ``segments=``, ``(..., n)`` integer ids:
  items of one list with equal ids form one sub-list, and no pair and no normaliser
  crosses a segment (the squared error's closed form uses per-segment sums; a
  non-finite valid score makes only its own segment NaN). Each item's loss is then
  the loss it would have in its segment alone, so a row packing several queries has
  the per-item losses of the same queries laid out as a padded batch (padding
  ignored), in any order of items. Normalisers, per reduction: ``"none"`` and
  ``"sum"`` need none, so a packed row's ``"sum"`` *equals* the padded batch's.
  ``"sum_over_batch_size"``/``"mean"`` divide by the number of entries of the array
  given (Keras's rule, unchanged by segments): a packed row of :math:`N` items
  divides by :math:`N`, the padded ``(B, n)`` batch by :math:`Bn`, so the two differ
  by that factor (rescale by :math:`N / (Bn)`, or use ``"sum"``, to match).
  ``"mean_with_sample_weight"`` divides by the sum of the weights as given, so it
  matches when the packed row carries per-item weights whose sum equals that of the
  padded batch's weights (per-item padded weights, zero on the padding). Per-list
  weights of a padded batch become per-item weights of the packed row (a weight of
  the row's shape). The work is that of the segments: :math:`O(\\sum_k n_k^2)` pair
  terms for segments of :math:`n_k` items (plus one stable sort by id, skipped
  when each list's ids are already non-decreasing, as when queries are packed one
  after another), never a ``(n, n)`` mask; the hinge's ``method="sorted"`` takes
  :math:`O(n \\log n)` per row whatever the segments' lengths (one sort by id and
  score). Lambda weights are not available with segments, nor are the pair
  kernels' segments (every pairwise loss but the squared error) on scores sharded
  over explicit mesh axes: they lay the lists of a batch end to end (a
  ``ValueError`` says so).
* **Sharding.** Every loss takes batches sharded over their lists, with ``Auto``
  or ``Explicit`` mesh axes, and gives the numbers of one device (the hinge's
  ``method="sorted"`` and the segments above excepted under explicit axes).
* **Gradients** are hand-written ``jax.custom_vjp`` rules with :math:`O(n)` residuals
  (for the hinge, logistic and soft zero-one losses) or plain autodiff of
  :math:`O(n)` computations (squared error, ListMLE). ``custom_vjp`` rules out
  forward mode (``jax.jvp``, ``jax.jacfwd``) for the first three; use reverse mode.
  Second derivatives work for every loss, reverse over reverse
  (``jax.jacrev(jax.grad(f))``) and ``jax.hessian`` (forward over reverse: the
  backward rules are ordinary JAX code, and the forward rules call no
  ``custom_vjp`` function).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax import lax
from jax.typing import ArrayLike

from jaxrank._src import (
    checks,
    hinge_allpairs,
    hinge_sorted,
    pair_blocks,
    ranking,
    running_totals,
)
from jaxrank._src.eager_cache import cached_jit
from jaxrank._src.inputs import RankingInputs, finite_scores, prepare_inputs
from jaxrank._src.lambda_weights import LambdaWeight
from jaxrank._src.numerics import safe_divide, scale_for_temperature
from jaxrank._src.platforms import per_platform
from jaxrank._src.positions import inverse_permutation
from jaxrank._src.reductions import reduce_losses
from jaxrank._src.segments import (
    dense_ids,
    first_valid_item,
    holds_nonfinite,
    run_scan,
    segment_max,
    segment_sum,
    segment_totals,
)
from jaxrank._src.types import HingeMethod, Reduction

_ARGS = """scores: ``(..., n)`` floating scores; the last axis is the list.
      labels: ``(..., n)`` relevance labels (integer or float); negative = ignore.
      where: optional ``(..., n)`` boolean mask; False = ignore the item.
      weights: optional scalar, per-list ``(...)`` or ``(..., 1)``, or per-item
        ``(..., n)`` weights (or any shape broadcasting to the scores'), multiplying
        the per-item losses."""
_SEGMENTS = """segments: optional ``(..., n)`` integer segment ids: items of one list
        with equal ids form one sub-list (e.g. queries packed into one row); no
        pair crosses a segment (module docstring: *Segments*)."""
_REDUCTION = """reduction: ``"sum_over_batch_size"`` (default) or ``"mean"``, ``"sum"``,
        ``"mean_with_sample_weight"``, ``"none"``/``None`` (per-item losses)."""
_RETURNS = (
    """A scalar, or per-item losses of the labels' shape for ``reduction="none"``."""
)
_BLOCK_SIZE = """block_size: static number of rows per block, or None (default) to
        choose: all rows at once when the pair slab is small, blocks of rows
        otherwise (on GPUs and TPUs, blocks of at least 512 rows)."""


def _documented(fn):
    """Fills the argument descriptions every loss shares into ``fn``'s docstring."""
    fn.__doc__ = fn.__doc__.format(
        args=_ARGS,
        segments=_SEGMENTS,
        reduction=_REDUCTION,
        returns=_RETURNS,
        block_size=_BLOCK_SIZE,
    )
    return fn


def _kernel_inputs(scores, labels, where, weights):
    """Prepared inputs, the scores a kernel may see, and the non-finite lists."""
    inputs = prepare_inputs(
        scores, labels, where=where, weights=weights, exact_label_order=True
    )
    kernel_scores, nonfinite_lists = finite_scores(inputs)
    return inputs, kernel_scores, nonfinite_lists


def _pairwise_inputs(scores, labels, where, weights, segment_ids):
    """:func:`_kernel_inputs`, the checked ``segments`` (or None) and the items to
    report as NaN: those of a list, or with segments of a segment, holding a
    non-finite valid score."""
    inputs, kernel_scores, nonfinite = _kernel_inputs(scores, labels, where, weights)
    segment_ids = checks.check_segments(segment_ids, kernel_scores)
    if segment_ids is None:
        return inputs, kernel_scores, nonfinite[..., None], None
    nonfinite = holds_nonfinite(inputs.scores, dense_ids(segment_ids))
    return inputs, kernel_scores, nonfinite, segment_ids


def _reduce_item_losses(
    item_losses: jax.Array,
    inputs: RankingInputs,
    nonfinite: jax.Array,
    reduction: str,
) -> jax.Array:
    return reduce_losses(
        item_losses,
        reduction,
        weights=inputs.weights,
        valid=inputs.valid,
        nonfinite=nonfinite,
        weight_sum=inputs.weight_sum,
    )


def _hinge_item_losses(
    scores,
    label_keys,
    valid,
    segments,
    *,
    method,
    temperature,
    uniform_cotangent,
    variant,
):
    """Per-item hinge losses by the kernel ``method`` names for the static shape,
    in the ``variant`` for the platform (:mod:`jaxrank._src.platforms`);
    ``uniform_cotangent`` as :func:`~jaxrank._src.hinge_sorted.hinge_losses_sorted`
    takes it."""
    segmented = segments is not None
    sorted_losses = functools.partial(
        hinge_sorted.hinge_losses_sorted, uniform_cotangent=uniform_cotangent
    )
    if method == "auto":
        sorted_path = hinge_sorted.prefers_sorted_path(scores.shape, segmented, variant)
        method = "sorted" if sorted_path else "all_pairs"
        if sorted_path and segmented and variant == "cpu":
            return _hinge_by_longest_segment(
                scores, label_keys, valid, temperature, segments, sorted_losses
            )
    if method == "sorted":
        return sorted_losses(
            scores, label_keys, valid, temperature, segments, variant=variant
        )
    if segmented:
        return _hinge_band(scores, label_keys, valid, temperature, segments, variant)
    if variant == "cpu":
        return hinge_allpairs.hinge_losses_allpairs(
            scores, label_keys, valid, temperature
        )
    return pair_blocks.pair_losses(
        scores,
        label_keys,
        valid,
        pair_blocks.HINGE,
        temperature=temperature,
        lambda_weights=None,
        block_size=None,
        variant=variant,
    )


# The band kernel's cost grows with the longest segment, the sorted path's does not;
# on a CPU the band kernel is the faster while no segment is longer than this (64-item
# segments: about 1.5x faster; 512-item ones: about 2x slower).
_BAND_LONGEST_SEGMENT = 128


def _hinge_by_longest_segment(
    scores, label_keys, valid, temperature, segments, sorted_losses
):
    """The band kernel while every segment is short, else the sorted path (a CPU's
    choice): one ``lax.cond`` on the longest segment, so the choice follows the data
    (both kernels are compiled)."""
    ids = dense_ids(segments)
    longest = jnp.max(segment_sum(jnp.ones(ids.shape, jnp.int32), ids), initial=0)
    return jax.lax.cond(
        longest <= _BAND_LONGEST_SEGMENT,
        lambda: _hinge_band(scores, label_keys, valid, temperature, segments, "cpu"),
        lambda: sorted_losses(
            scores, label_keys, valid, temperature, segments, variant="cpu"
        ),
    )


def _hinge_band(scores, label_keys, valid, temperature, segments, variant):
    return pair_blocks.segment_pair_losses(
        scores,
        label_keys,
        valid,
        segments,
        pair_blocks.HINGE,
        temperature=temperature,
        block_size=None,
        variant=variant,
    )


@cached_jit
@_documented
def pairwise_hinge_loss(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    segments: ArrayLike | None = None,
    temperature: float = 1.0,
    reduction: Reduction | None = "sum_over_batch_size",
    method: HingeMethod = "auto",
    lambda_weights: LambdaWeight | None = None,
) -> jax.Array:
    r"""Pairwise hinge loss, with the numbers of ``keras_rs.losses.PairwiseHingeLoss``.

    For each list, item :math:`i`'s loss sums a hinge over the valid items :math:`j`
    it should outrank:

    .. math::

        \ell_i = w_i \sum_j [y_i - y_j > 0]\,\lambda_{{ij}}\,
                 \max\Bigl(0,\ 1 - \frac{{s_i - s_j}}{{T}}\Bigr),

    where :math:`w_i` is item :math:`i`'s weight, :math:`T` the temperature and
    :math:`\lambda_{{ij}} = 1` unless ``lambda_weights`` are given. The per-item
    losses are then reduced (see :mod:`jaxrank.losses` for the conventions on
    ignored items, ties, empty lists and NaN scores).

    The gradient is a hand-written ``jax.custom_vjp``: a pair exactly at the kink
    (:math:`1 - (s_i - s_j)/T = 0`) contributes 0 to value and gradient, as
    ``jax.nn.relu`` does, and only :math:`O(n)` numbers per list are kept for the
    backward pass.

    Two exact algorithms compute it, both in :math:`O(n)` memory per list and with
    the same numbers. ``"all_pairs"`` visits all :math:`n^2` pairs, one partner at a
    time, without building a pair tensor (fastest for short lists); ``"sorted"``
    works from the score order and prefix sums in :math:`O(n \log n)` time (lists of
    up to millions of items). ``"auto"`` chooses from the static shape at trace
    time: the sorted path from 768 items in batches of up to 4 lists and from 2048
    items in larger batches. Lambda weights need per-pair values, which the sorted
    path cannot take: with them every pair is visited, in blocks of rows whose size
    keeps memory bounded. With ``segments``, ``"sorted"`` sorts each row by
    (segment, score) and confines every search and prefix sum to the item's
    segment, in :math:`O(n \log n)` whatever the segments' lengths (a packed row
    of :math:`2^{{20}}` items in queries of :math:`10^5`); ``"all_pairs"`` visits
    the pairs of each segment after one sort by segment, at a cost proportional to
    the segments' pairs (:mod:`jaxrank.losses`, *Segments*), which is faster only
    while every segment is short. Segment lengths are not known at trace time, so
    for rows of 1024 items or more ``"auto"`` chooses at run time (one ``lax.cond``
    on the longest segment: the pairs up to 128 items, the sorted path beyond), and
    visits the pairs below 1024 items. These are the CPU's choices; on GPUs and TPUs
    every kernel has a variant without long sequential loops, and ``"auto"`` visits
    the pairs (in broadcast reductions over blocks of rows) for lists of up to 4096
    items and up to :math:`2^{{29}}` pairs per batch, the sorted path beyond; the
    platform the program is lowered for picks the variant. Scores sharded over
    explicit mesh axes (``jax.set_mesh`` with ``AxisType.Explicit``) can only take
    the pairs without segments (``"auto"`` does; ``"sorted"`` and ``segments`` raise
    a ``ValueError`` there): the sorted path's loops cannot be batched over lists so
    sharded, and the segments' kernels lay the lists end to end.

    Args:
      {args}
      {segments}
      temperature: static Python float > 0 that divides score differences.
      {reduction}
      method: ``"auto"`` (default), ``"all_pairs"`` or ``"sorted"`` (``"dense"`` is
        a deprecated name of ``"all_pairs"``).
      lambda_weights: optional lambda weights :math:`\lambda_{{ij}}` such as
        :class:`jaxrank.DCGLambdaWeight` (beyond keras_rs); not with ``"sorted"``.

    Returns:
      {returns}

    Raises:
      TypeError, ValueError: at trace time, for inputs of the wrong dtype or shape, a
        non-positive temperature or an unknown reduction or method.

    Examples:
      >>> import jax.numpy as jnp
      >>> import jaxrank
      >>> labels = jnp.array([1.0, 0.0, 1.0, 3.0, 2.0])
      >>> scores = jnp.array([1.0, 3.0, 2.0, 4.0, 0.8])
      >>> print(f"{{jaxrank.pairwise_hinge_loss(scores, labels):.2f}}")
      2.32
      >>> jaxrank.pairwise_hinge_loss(
      ...     jnp.array([[1.0, 3.0, 2.0, 4.0], [1.0, 1.8, 2.0, 3.0]]),
      ...     jnp.array([[1.0, 0.0, 1.0, 3.0], [0.0, 1.0, 2.0, 3.0]]),
      ...     reduction="none")
      Array([[3. , 0. , 2. , 0. ],
             [0. , 0.2, 0.8, 0. ]], dtype=float32)

    References:
      keras_rs ``PairwiseHingeLoss``; Herbrich, Graepel and Obermayer, *Large margin
      rank boundaries for ordinal regression* (2000).
    """
    temperature = checks.check_temperature(temperature)
    reduction = checks.check_reduction(reduction)
    lambda_weights = checks.check_lambda_weights(lambda_weights)
    method = checks.check_hinge_method(method, lambda_weights)
    checks.check_segment_options(segments, lambda_weights)
    inputs, kernel_scores, nonfinite, segments = _pairwise_inputs(
        scores, labels, where, weights, segments
    )
    if segments is not None:
        checks.check_kernel_for_sharding("`segments` in the hinge", kernel_scores)
    elif method == "auto" and checks.explicit_sharding(kernel_scores):
        method = "all_pairs"  # what runs on lists sharded over explicit axes
    if method == "sorted":
        checks.check_kernel_for_sharding('`method="sorted"`', kernel_scores)
    if lambda_weights is None:
        kernel = functools.partial(
            _hinge_item_losses,
            method=method,
            temperature=temperature,
            uniform_cotangent=_uniform_within_lists(
                weights, kernel_scores.shape, reduction
            ),
        )
        item_losses = per_platform(
            kernel, kernel_scores, inputs.label_keys, inputs.valid, segments
        )
    else:
        item_losses = pair_blocks.pair_losses(
            kernel_scores,
            inputs.labels,
            inputs.valid,
            pair_blocks.HINGE,
            temperature=temperature,
            lambda_weights=lambda_weights,
            block_size=None,
        )
    return _reduce_item_losses(item_losses, inputs, nonfinite, reduction)


def _uniform_within_lists(weights, scores_shape, reduction) -> bool:
    """Whether the reduced loss hands every valid item of a list (of a segment) the
    same cotangent, whatever follows it: a scalar result with no weight that varies
    along the list (the items of a list with a non-finite score, or with segments
    of such a segment, all get 0)."""
    if reduction == "none":
        return False
    if weights is None:
        return True
    kind = checks.weights_kind(weights, scores_shape)
    return kind in ("scalar", "list") or jnp.shape(weights)[-1] == 1


def _pair_term_loss(
    term,
    scores,
    labels,
    where,
    weights,
    segment_ids,
    temperature,
    reduction,
    lambda_weights,
    block,
):
    """A pairwise loss summed by the row-block kernel (or, with segments, the band
    kernel), checked and reduced."""
    temperature = checks.check_temperature(temperature)
    reduction = checks.check_reduction(reduction)
    lambda_weights = checks.check_lambda_weights(lambda_weights)
    block = checks.check_positive_int("block_size", block)
    checks.check_segment_options(segment_ids, lambda_weights)
    inputs, kernel_scores, nonfinite, segment_ids = _pairwise_inputs(
        scores, labels, where, weights, segment_ids
    )
    # Sign-only terms only compare labels; lambda weights and the other terms also
    # use them as numbers (integer labels beyond the compute dtype round there).
    compare_only = term.ordered and not term.label_values and lambda_weights is None
    kernel_labels = inputs.label_keys if compare_only else inputs.labels
    if segment_ids is not None:
        checks.check_kernel_for_sharding(
            "`segments` in the pairwise losses", kernel_scores
        )
        item_losses = pair_blocks.segment_pair_losses(
            kernel_scores,
            kernel_labels,
            inputs.valid,
            segment_ids,
            term,
            temperature=temperature,
            block_size=block,
        )
    else:
        item_losses = pair_blocks.pair_losses(
            kernel_scores,
            kernel_labels,
            inputs.valid,
            term,
            temperature=temperature,
            lambda_weights=lambda_weights,
            block_size=block,
        )
    return _reduce_item_losses(item_losses, inputs, nonfinite, reduction)


@cached_jit
@_documented
def pairwise_logistic_loss(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    segments: ArrayLike | None = None,
    temperature: float = 1.0,
    reduction: Reduction | None = "sum_over_batch_size",
    lambda_weights: LambdaWeight | None = None,
    block_size: int | None = None,
) -> jax.Array:
    r"""Pairwise logistic (RankNet) loss, with the numbers of keras_rs.

    Item :math:`i`'s loss sums a logistic penalty over the valid items :math:`j` it
    should outrank:

    .. math::

        \ell_i = w_i \sum_j [y_i - y_j > 0]\,\lambda_{{ij}}\,
                 \log\Bigl(1 + e^{{-(s_i - s_j)/T}}\Bigr),

    with :math:`\lambda_{{ij}} = 1` unless ``lambda_weights`` are given. The penalty
    is evaluated as :math:`\max(0, -x) + \operatorname{{log1p}}(e^{{-|x|}})`, which
    neither overflows nor loses digits (keras_rs writes ``log(1 + ...)``, equal to
    float rounding). The gradient, a ``jax.custom_vjp`` with :math:`O(n)` residuals,
    is :math:`-\sigma(-x)/T` per pair. Long lists are computed in blocks of rows
    (``block_size``), so memory stays :math:`O(\text{{rows}} \times n)` per list
    while time is :math:`O(n^2)`.

    Args:
      {args}
      {segments}
      temperature: static Python float > 0 that divides score differences.
      {reduction}
      lambda_weights: optional lambda weights such as
        :class:`jaxrank.DCGLambdaWeight`, multiplying each pair's term.
      {block_size}

    Returns:
      {returns}

    Raises:
      TypeError, ValueError: at trace time, for inputs of the wrong dtype or shape,
        a non-positive temperature, an unknown reduction, or a bad
        ``lambda_weights`` or ``block_size``.

    Examples:
      >>> import jax.numpy as jnp
      >>> import jaxrank
      >>> labels = jnp.array([1.0, 0.0, 1.0, 3.0, 2.0])
      >>> scores = jnp.array([1.0, 3.0, 2.0, 4.0, 0.8])
      >>> print(f"{{jaxrank.pairwise_logistic_loss(scores, labels):.4f}}")
      1.7071

    References:
      keras_rs ``PairwiseLogisticLoss``; Burges et al., *Learning to rank using
      gradient descent* (2005).
    """
    return _pair_term_loss(
        pair_blocks.LOGISTIC,
        scores,
        labels,
        where,
        weights,
        segments,
        temperature,
        reduction,
        lambda_weights,
        block_size,
    )


@cached_jit
@_documented
def pairwise_soft_zero_one_loss(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    segments: ArrayLike | None = None,
    temperature: float = 1.0,
    reduction: Reduction | None = "sum_over_batch_size",
    lambda_weights: LambdaWeight | None = None,
    block_size: int | None = None,
) -> jax.Array:
    r"""Pairwise soft zero-one loss, with the numbers of keras_rs.

    A smooth count of mis-ordered pairs:

    .. math::

        \ell_i = w_i \sum_j [y_i - y_j > 0]\,\lambda_{{ij}}\,
                 \sigma\Bigl(-\frac{{s_i - s_j}}{{T}}\Bigr),

    with :math:`\sigma` the logistic sigmoid and :math:`\lambda_{{ij}} = 1` unless
    ``lambda_weights`` are given. keras_rs writes :math:`1 - \sigma(x)` for
    :math:`x > 0`; :math:`\sigma(-x)` is the same number without the cancellation.
    The gradient, a ``jax.custom_vjp`` with :math:`O(n)` residuals, is
    :math:`-\sigma(x)\sigma(-x)/T` per pair. Long lists are computed in blocks of
    rows (``block_size``).

    Args:
      {args}
      {segments}
      temperature: static Python float > 0 that divides score differences.
      {reduction}
      lambda_weights: optional lambda weights such as
        :class:`jaxrank.DCGLambdaWeight`, multiplying each pair's term.
      {block_size}

    Returns:
      {returns}

    Raises:
      TypeError, ValueError: at trace time, for inputs of the wrong dtype or shape,
        a non-positive temperature, an unknown reduction, or a bad
        ``lambda_weights`` or ``block_size``.

    Examples:
      >>> import jax.numpy as jnp
      >>> import jaxrank
      >>> labels = jnp.array([1.0, 0.0, 1.0, 3.0, 2.0])
      >>> scores = jnp.array([1.0, 3.0, 2.0, 4.0, 0.8])
      >>> print(f"{{jaxrank.pairwise_soft_zero_one_loss(scores, labels):.4f}}")
      0.8610

    References:
      keras_rs ``PairwiseSoftZeroOneLoss``.
    """
    return _pair_term_loss(
        pair_blocks.SOFT_ZERO_ONE,
        scores,
        labels,
        where,
        weights,
        segments,
        temperature,
        reduction,
        lambda_weights,
        block_size,
    )


def _squared_error_item_losses(scores, labels, valid, ids) -> jax.Array:
    """:math:`\\sum_j v_j ((y_i - y_j) - (s_i - s_j))^2` for valid i, in O(n), over
    the list or, given dense segment ``ids``, over i's segment.

    With residuals :math:`e = y - s` centred over the valid items,
    :math:`d = e - \\bar e`, the sum is :math:`m d_i^2 + \\sum_j v_j d_j^2` for
    :math:`m` valid items; centring avoids the cancellation of the raw moments. The
    residuals are taken relative to the list's (segment's) first valid item :math:`r`,
    :math:`e_i = (y_i - y_r) - (s_i - s_r)` (the same :math:`d`): each difference is
    one of the definition's, so scores and labels far from zero lose nothing that the
    pairwise sum keeps.
    """
    dtype = scores.dtype
    zero = jnp.zeros((), dtype)

    def total(x):
        if ids is None:
            return jnp.sum(x, axis=-1, keepdims=True)
        return segment_sum(x, ids)

    if ids is None:
        # The first valid item (the first item of a list without one).
        position = lax.broadcasted_iota(jnp.int32, valid.shape, valid.ndim - 1)
        index = jnp.argmax(valid, axis=-1, keepdims=True) if valid.size else 0
        first = position == jnp.asarray(index).astype(jnp.int32)
    else:
        first = first_valid_item(ids, valid)

    def offsets(x):  # x - x_r; r's value is a constant that the centring removes
        r = total(jnp.where(first, x, zero))
        return x - jax.lax.stop_gradient(r)

    residuals = jnp.where(valid, offsets(labels) - offsets(scores), zero)
    count = total(valid.astype(jnp.int32)).astype(dtype)
    mean = safe_divide(total(residuals), count)
    centred = jnp.where(valid, residuals - mean, zero)
    spread = total(jnp.square(centred))
    return jnp.where(valid, count * jnp.square(centred) + spread, zero)


@cached_jit
@_documented
def pairwise_mean_squared_error(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    segments: ArrayLike | None = None,
    reduction: Reduction | None = "sum_over_batch_size",
    lambda_weights: LambdaWeight | None = None,
    block_size: int | None = None,
) -> jax.Array:
    r"""Pairwise squared error of score differences against label differences.

    Over every ordered pair of distinct valid items (equal labels included),

    .. math::

        \ell_i = w_i \sum_{{j \ne i}} \lambda_{{ij}}\,
                 \bigl((y_i - y_j) - (s_i - s_j)\bigr)^2,

    with the numbers of keras_rs's ``PairwiseMeanSquaredError`` (which has no
    temperature: it accepts one and ignores it). Without lambda weights the per-item
    sums have a closed form: with residuals :math:`e = y - s` centred over the
    :math:`m` valid items, :math:`d = e - \bar e`,

    .. math:: \ell_i = w_i \Bigl(m\,d_i^2 + \sum_j d_j^2\Bigr),

    (with ``segments``, :math:`m`, :math:`\bar e` and the sum are those of item
    :math:`i`'s segment) computed in :math:`O(n)` time and memory per list,
    differentiated by plain autodiff (also :math:`O(n)`; this path also has
    forward mode). With ``lambda_weights`` the pair terms are summed explicitly, in
    blocks of rows (``block_size``).

    Args:
      {args}
      {segments}
      {reduction}
      lambda_weights: optional lambda weights such as
        :class:`jaxrank.LabelDiffLambdaWeight`, multiplying each pair's term.
      block_size: with ``lambda_weights``, static rows per block or None to choose.

    Returns:
      {returns}

    Raises:
      TypeError, ValueError: at trace time, for inputs of the wrong dtype or shape,
        an unknown reduction, or a bad ``lambda_weights`` or ``block_size``.

    Examples:
      >>> import jax.numpy as jnp
      >>> import jaxrank
      >>> labels = jnp.array([1.0, 0.0, 1.0, 3.0, 2.0])
      >>> scores = jnp.array([1.0, 3.0, 2.0, 4.0, 0.8])
      >>> print(f"{{jaxrank.pairwise_mean_squared_error(scores, labels):.3f}}")
      19.104

    References:
      keras_rs ``PairwiseMeanSquaredError``.
    """
    if lambda_weights is not None:
        return _pair_term_loss(
            pair_blocks.SQUARED,
            scores,
            labels,
            where,
            weights,
            segments,
            1.0,
            reduction,
            lambda_weights,
            block_size,
        )
    reduction = checks.check_reduction(reduction)
    checks.check_positive_int("block_size", block_size)
    inputs, kernel_scores, nonfinite, segments = _pairwise_inputs(
        scores, labels, where, weights, segments
    )
    # A NaN list's (or segment's) losses are replaced, and its cotangent is 0: with
    # its scores read as 0 no intermediate overflows, so autodiff cannot make that 0
    # a NaN.
    zero = jnp.zeros((), kernel_scores.dtype)
    kernel_scores = jnp.where(nonfinite, zero, kernel_scores)
    ids = None if segments is None else dense_ids(segments)
    item_losses = _squared_error_item_losses(
        kernel_scores, inputs.labels, inputs.valid, ids
    )
    return _reduce_item_losses(item_losses, inputs, nonfinite, reduction)


@cached_jit
@_documented
def pairwise_qr_loss(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    segments: ArrayLike | None = None,
    tau: float = 0.5,
    squared: bool = False,
    reduction: Reduction | None = "sum_over_batch_size",
    lambda_weights: LambdaWeight | None = None,
    block_size: int | None = None,
) -> jax.Array:
    r"""Pairwise quantile-regression loss, with the pair terms of
    ``rax.pairwise_qr_loss``.

    Over the pairs an item should outrank, the score gap is regressed on the label
    gap with the pinball (quantile) loss of quantile :math:`\tau`:

    .. math::

        \ell_i = w_i \sum_j [y_i - y_j > 0]\,\lambda_{{ij}}\,\Bigl(
            \tau \max(0, u_{{ij}})^p + (1 - \tau) \max(0, -u_{{ij}})^p\Bigr),
        \qquad u_{{ij}} = (y_i - y_j) - (s_i - s_j),

    with :math:`p = 2` if ``squared`` else 1. At :math:`\tau = 1/2` (and
    :math:`p = 2`) it is half the squared error of the pairs with distinct labels.
    The gradient is a ``jax.custom_vjp`` with :math:`O(n)` residuals (subgradient 0
    at :math:`u_{{ij}} = 0`, as ``jax.nn.relu``); rax's ``reduce_fn=jnp.sum`` is our
    ``reduction="sum"`` (rax's mean divides by the number of pairs, ours by the
    number of entries, as every jaxrank loss). Long lists are computed in blocks of
    rows (``block_size``).

    Args:
      {args}
      {segments}
      tau: static quantile in :math:`(0, 1]`.
      squared: square each of the two hinges.
      {reduction}
      lambda_weights: optional lambda weights multiplying each pair's term.
      {block_size}

    Returns:
      {returns}

    Raises:
      TypeError, ValueError: at trace time, for inputs of the wrong dtype or shape,
        ``tau`` outside :math:`(0, 1]`, an unknown reduction, or a bad
        ``lambda_weights`` or ``block_size``.

    Examples:
      >>> import jax.numpy as jnp
      >>> import jaxrank
      >>> labels = jnp.array([2.0, 0.0, 1.0])
      >>> scores = jnp.array([0.5, 0.0, 1.5])
      >>> # Pairs (0, 1): u = 1.5; (0, 2): u = 2; (2, 1): u = -0.5.
      >>> losses = jaxrank.pairwise_qr_loss(scores, labels, tau=0.8, reduction="none")
      >>> print([f"{{x:.2f}}" for x in losses.tolist()])
      ['2.80', '0.00', '0.10']

    References:
      ``rax.pairwise_qr_loss``; Koenker and Bassett, *Regression quantiles* (1978).
    """
    squared = checks.check_flag("squared", squared)
    term = pair_blocks.quantile_term(checks.check_quantile(tau), squared)
    return _pair_term_loss(
        term,
        scores,
        labels,
        where,
        weights,
        segments,
        1.0,
        reduction,
        lambda_weights,
        block_size,
    )


# keras_rs's ListMLE constants: the floor inside the log, and the fill of ignored items.
_LIST_MLE_EPSILON = 1e-10
_LIST_MLE_FILL = -1e9


def _list_mle_losses(scores, labels, valid, temperature, ids=None):
    """Per-list negative log-likelihoods ``(...)`` with keras_rs's arithmetic; given
    dense segment ids, per-segment ones at each segment's first valid item."""
    dtype = scores.dtype
    fill = jnp.full((), _LIST_MLE_FILL, dtype)
    # Scaled by a power of two for T > 1, so that s - top cannot overflow either.
    scores, temperature = scale_for_temperature(scores, temperature)
    # keras_rs's order: decreasing label, equal labels in list order, ignored last
    # (with segments: segment after segment, each in that order).
    ranked = ranking.rank_sort(labels, valid, segments=ids)
    ranked_valid, ranked_ids = ranked.valid, ranked.segments
    # A gather, not one more operand of the sort: each swap would move it too.
    scores = jnp.take_along_axis(scores, ranked.order, axis=-1)
    lowest = jnp.full((), -jnp.inf, dtype)
    valid_scores = jnp.where(ranked_valid, scores, lowest)
    if ids is None:
        # The largest valid score, however negative (keras_rs's fill is no floor
        # here: a list far below it stays shift-invariant).
        top = jnp.max(valid_scores, axis=-1, keepdims=True, initial=lowest)
    else:
        top = segment_max(valid_scores, ranked_ids)
    # The kernel's scores are finite: only a list (segment) without items has none.
    has_items = top > lowest
    top = jnp.where(has_items, top, jnp.zeros((), dtype))
    # Shifted by the largest, exp cannot overflow (the log-sum-exp trick); shifted
    # before the division by T, s / T cannot overflow first.
    logits = (scores - top) / jnp.asarray(temperature, dtype)
    logits = jnp.where(ranked_valid, logits, fill)
    if ids is None:
        tail_sums = running_totals.cumsum(jnp.exp(logits), reverse=True)
    else:
        tail_sums = run_scan(jnp.add, jnp.exp(logits), ranked_ids, reverse=True)
    log_probs = logits - jnp.log(tail_sums + jnp.asarray(_LIST_MLE_EPSILON, dtype))
    log_probs = jnp.where(ranked_valid, log_probs, jnp.zeros((), dtype))
    if ids is None:
        return -jnp.sum(log_probs, axis=-1)
    in_list_order = jnp.take_along_axis(
        log_probs, inverse_permutation(ranked.order), -1
    )
    return -segment_totals(in_list_order, ids, valid)


@cached_jit
def list_mle_loss(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    temperature: float = 1.0,
    reduction: Reduction | None = "sum_over_batch_size",
    segments: ArrayLike | None = None,
) -> jax.Array:
    r"""ListMLE loss, with the numbers of ``keras_rs.losses.ListMLELoss``.

    Order each list's valid items by decreasing label, :math:`\pi(1), \pi(2), \dots,
    \pi(m)`. The loss is the negative log-probability of that order when items are
    drawn one at a time with probability proportional to :math:`e^{s/T}`:

    .. math::

        L = -w \sum_{k=1}^{m} \Bigl(z_k - \log\bigl(\epsilon
            + \textstyle\sum_{l \ge k} e^{z_l}\bigr)\Bigr), \qquad
        z_k = \frac{s_{\pi(k)}}{T} - \max_l \frac{s_{\pi(l)}}{T},

    with keras_rs's :math:`\epsilon = 10^{-10}`. Subtracting the maximum makes every
    exponential at most 1 (the log-sum-exp trick); the :math:`\epsilon` floor is
    keras_rs's, kept so the numbers agree (it bounds each term when scores span more
    than about 23/T). Cost: one sort and a reverse cumulative sum, :math:`O(n \log
    n)` time and :math:`O(n)` memory per list; the gradient is plain autodiff of
    that computation, also :math:`O(n)`.

    Conventions: **ties** in labels keep their order in the list (the first-listed
    item is drawn first), which is also what keras_rs does on the JAX backend; a
    list with tied labels therefore has one of the orders consistent with its
    labels, not an average over them. The loss is per list, so ``"none"`` returns
    the leading shape and weights are per list. Other conventions are those of
    :mod:`jaxrank.losses`.

    With ``segments``, each segment of a list is ranked and normalised on its own
    (one sort by (segment, label), a reverse cumulative sum restarted at each
    segment, :math:`O(n)` memory): ``"none"`` returns the scores' shape with each
    segment's loss at its first valid item (0 elsewhere, rax's layout), ``"mean"``
    divides by the number of segments with a valid item (rax's mean), and
    ``"sum_over_batch_size"`` by the number of items.

    Args:
      scores: ``(..., n)`` floating scores; the last axis is the list.
      labels: ``(..., n)`` relevance labels (integer or float); negative = ignore.
      where: optional ``(..., n)`` boolean mask; False = ignore the item.
      weights: optional scalar or per-list ``(...)``/``(..., 1)`` weights (weights
        that vary within a list have no meaning for a per-list loss and are
        refused).
      temperature: static Python float > 0 that divides the scores.
      reduction: ``"sum_over_batch_size"`` (default) or ``"mean"`` (both divide by
        the number of lists), ``"sum"``, ``"mean_with_sample_weight"``,
        ``"none"``/``None`` (per-list losses of the leading shape).
      segments: optional ``(..., n)`` integer segment ids: items of one list with
        equal ids form one sub-list with a loss of its own.

    Returns:
      A scalar, or per-list losses of shape ``scores.shape[:-1]`` for
      ``reduction="none"`` (the scores' shape with ``segments``).

    Raises:
      TypeError, ValueError: at trace time, for inputs of the wrong dtype or shape,
        per-item weights, a non-positive temperature or an unknown reduction.

    Examples:
      >>> import jax.numpy as jnp
      >>> import jaxrank
      >>> labels = jnp.array([[3.0, 2.0, 1.0, 0.0], [0.0, 1.0, 2.0, -1.0]])
      >>> scores = jnp.array([[0.8, 0.6, 0.4, 0.2], [1.0, 1.8, 2.0, 5.0]])
      >>> jaxrank.list_mle_loss(scores, labels, reduction="none")
      Array([2.6211944, 1.1534532], dtype=float32)

    References:
      keras_rs ``ListMLELoss``; Xia et al., *Listwise approach to learning to rank:
      theory and algorithm* (2008).
    """
    temperature = checks.check_temperature(temperature)
    reduction = checks.check_reduction(reduction)
    inputs, kernel_scores, nonfinite = _kernel_inputs(scores, labels, where, weights)
    shape = kernel_scores.shape
    checks.check_list_weights(weights, shape)
    segments = checks.check_segments(segments, kernel_scores)
    if segments is not None:
        ids = dense_ids(segments)
        losses = _list_mle_losses(
            kernel_scores, inputs.label_keys, inputs.valid, temperature, ids
        )
        first = first_valid_item(ids, inputs.valid)
        return reduce_losses(
            losses,
            reduction,
            weights=inputs.weights,
            # Each segment's loss sits at its first valid item.
            nonfinite=first & holds_nonfinite(inputs.scores, ids),
            weight_sum=inputs.weight_sum,
            mean_count=jnp.sum(first),
        )
    losses = _list_mle_losses(
        kernel_scores, inputs.label_keys, inputs.valid, temperature
    )
    # A list's weight sits on each of its items (an empty list's loss is 0 anyway).
    if shape[-1] > 0:
        list_weights = inputs.weights[..., 0]
    else:
        list_weights = jnp.ones(shape[:-1], kernel_scores.dtype)
    return reduce_losses(
        losses,
        reduction,
        weights=list_weights,
        nonfinite=nonfinite,
        weight_sum=inputs.weight_sum,
    )
