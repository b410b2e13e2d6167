r"""Transformations: new losses from metrics and losses (rax's ``*_t12n``).

A ranking metric is a step function of the scores: it moves only when two items
swap places, so its gradient is zero almost everywhere. The transformations here
build a differentiable loss from any metric that accepts the hooks
``rank_fn(scores, *, where, segments, key)`` (1-based ranks) and
``cutoff_fn(a, *, n, segments)`` (the top-``n`` indicator, applied to ``-ranks``):

* :func:`approx_t12n` (alias :func:`approximate_metric_loss`) passes the smooth
  ranks and cut-off of :mod:`jaxrank._src.approx_ranks`, :math:`\sigma(x/T)` in
  place of each step, and negates the metric (Qin, Liu and Li, 2010);
* :func:`bound_t12n` (alias :func:`bound_metric_loss`) passes hinge bounds instead:
  ranks that are never smaller and a cut-off never larger than the exact ones, so
  a metric that falls with the rank and rises with the cut-off is bounded below;
* :func:`gumbel_t12n` (alias :func:`gumbel_perturbed`) averages a loss or metric
  over scores perturbed by Gumbel noise (Bruch et al., 2020): a stochastic
  smoothing that turns, for example, a softmax loss into a sampled ListNet-like
  objective;
* :func:`segment_t12n` gives a function written for whole lists a ``segments=``
  argument (every jaxrank loss and metric has its own, at per-segment cost).

The hooks are keyword arguments of the returned function, so a caller can still
override them (``approx_t12n(m)(s, y, cutoff_fn=...)``); the numbers are those of
rax 0.4.0's transformations.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jaxrank._src import approx_ranks, checks
from jaxrank._src.eager_cache import cached_jit


def _accepts(fn: Callable[..., Any], name: str) -> bool:
    """Whether ``fn`` can take the keyword argument ``name``."""
    try:
        parameters = inspect.signature(fn).parameters
    except (TypeError, ValueError):  # a builtin without a signature
        return False
    return name in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )


def _with_key(fn: Callable[..., Any]) -> inspect.Signature:
    """``fn``'s signature with a keyword-only ``key`` (for :func:`inspect.signature`
    callers such as a second transformation)."""
    signature = inspect.signature(fn)
    others = [p for p in signature.parameters.values() if p.name != "key"]
    key = inspect.Parameter("key", inspect.Parameter.KEYWORD_ONLY)
    var_keyword = [p for p in others if p.kind is inspect.Parameter.VAR_KEYWORD]
    named = [p for p in others if p.kind is not inspect.Parameter.VAR_KEYWORD]
    return signature.replace(parameters=[*named, key, *var_keyword])


def _hooked(metric_fn, prefix: str, description: str, hooks: dict[str, Any]):
    """``-metric_fn`` with ``hooks`` as default keyword arguments."""
    if not callable(metric_fn):
        raise TypeError(f"`metric_fn` must be callable; received {metric_fn!r}.")
    parameters = inspect.signature(metric_fn).parameters
    defaults = {name: fn for name, fn in hooks.items() if name in parameters}

    @functools.wraps(metric_fn)
    def metric_loss(scores, labels, **kwargs):
        return -metric_fn(scores, labels, **{**defaults, **kwargs})

    name = getattr(metric_fn, "__name__", type(metric_fn).__name__)
    metric_loss.__name__ = metric_loss.__qualname__ = f"{prefix}_{name}"
    metric_loss.__doc__ = (
        f"The negated {name} with {description} (see jaxrank.{prefix}_t12n).\n\n"
        f"{metric_fn.__doc__ or ''}"
    )
    return metric_loss


def approx_t12n(
    metric_fn: Callable[..., jax.Array],
    temperature: float = 1.0,
    *,
    block_size: int | None = None,
) -> Callable[..., jax.Array]:
    r"""A differentiable loss from a metric: smooth ranks, negated (ApproxNDCG &c.).

    The returned ``loss(scores, labels, **kwargs)`` is
    ``-metric_fn(scores, labels, rank_fn=..., cutoff_fn=..., **kwargs)`` with

    .. math::

        \hat r_i = 1 + \sum_{j \ne i} \sigma\Bigl(\frac{s_j - s_i}{T}\Bigr),
        \qquad
        \hat c_i = \sigma\Bigl(\frac{t - \hat r_i}{T}\Bigr),

    (:func:`jaxrank.approx_ranks`, :func:`jaxrank.approx_cutoff` on
    :math:`-\hat r`), each hook passed only if ``metric_fn`` takes it. As
    :math:`T \to 0` the loss tends to the negated metric. The pair sums run in
    blocks of rows, so memory is :math:`O(n \cdot \text{block})` per list in the
    forward and reverse passes.

    Args:
      metric_fn: a metric taking ``rank_fn``/``cutoff_fn`` keyword arguments.
      temperature: static float > 0 of the sigmoids.
      block_size: static rows per block of the rank sums, or None to choose.

    Returns:
      The loss function, with ``metric_fn``'s arguments.

    Examples:
      >>> import jax
      >>> import jax.numpy as jnp
      >>> import jaxrank
      >>> def dcg(scores, labels, *, rank_fn, cutoff_fn=None):
      ...     ranks = rank_fn(scores, where=None, segments=None, key=None)
      ...     return jnp.sum((2.0**labels - 1) / jnp.log2(1 + ranks), axis=-1)
      >>> loss = jaxrank.approx_t12n(dcg, temperature=0.1)
      >>> scores, labels = jnp.array([0.0, 1.0, 3.0]), jnp.array([1.0, 0.0, 2.0])
      >>> print(f"{loss(scores, labels):.4f}")  # ranks close to 3, 2, 1
      -3.5000
      >>> smooth = jaxrank.approx_t12n(dcg, temperature=1.0)
      >>> print(jax.grad(smooth)(scores, labels).round(3))  # descent lifts item 2
      [ 0.046  0.19  -0.236]

    References:
      rax ``approx_t12n``; Qin, Liu and Li, *A general approximation framework for
      direct optimization of information retrieval measures* (2010).
    """
    temperature = checks.check_temperature(temperature)
    block_size = checks.check_positive_int("block_size", block_size)
    hooks = {
        "rank_fn": functools.partial(
            approx_ranks.approx_ranks, temperature=temperature, block_size=block_size
        ),
        "cutoff_fn": functools.partial(
            approx_ranks.approx_cutoff, temperature=temperature
        ),
    }
    return _hooked(metric_fn, "approx", "smooth ranks and cut-offs", hooks)


def bound_t12n(
    metric_fn: Callable[..., jax.Array], *, block_size: int | None = None
) -> Callable[..., jax.Array]:
    r"""A differentiable loss from a metric: hinge-bounded ranks, negated.

    The returned ``loss(scores, labels, **kwargs)`` is ``-metric_fn(...)`` with

    .. math::

        \bar r_i = 1 + \sum_{j \ne i} \max(0,\ s_j - s_i + 1) \ge r_i,
        \qquad
        \bar c_i = 1 - \max(0,\ 1 - (t - \bar r_i)) \le c_i,

    (:func:`jaxrank.bound_ranks`, :func:`jaxrank.bound_cutoff`): for a metric that
    decreases with rank and increases with the cut-off indicator (DCG, reciprocal
    rank with non-negative gains) the bounded metric is a lower bound, and the loss
    an upper bound of the negated metric.

    Args:
      metric_fn: a metric taking ``rank_fn``/``cutoff_fn`` keyword arguments.
      block_size: static rows per block of the rank sums, or None to choose.

    Returns:
      The loss function, with ``metric_fn``'s arguments.

    Examples:
      >>> import jax.numpy as jnp
      >>> import jaxrank
      >>> def rr(scores, labels, *, rank_fn):
      ...     ranks = rank_fn(scores, where=None, segments=None, key=None)
      ...     return jnp.max(labels / ranks, axis=-1)
      >>> loss = jaxrank.bound_t12n(rr)
      >>> # the relevant item's bound rank: 1 + (3 - 1 + 1) + 0
      >>> print(loss(jnp.array([0.0, 1.0, 3.0]), jnp.array([0.0, 1.0, 0.0])))
      -0.25

    References:
      rax ``bound_t12n``.
    """
    block_size = checks.check_positive_int("block_size", block_size)
    hooks = {
        "rank_fn": functools.partial(approx_ranks.bound_ranks, block_size=block_size),
        "cutoff_fn": approx_ranks.bound_cutoff,
    }
    return _hooked(metric_fn, "bound", "hinge-bounded ranks and cut-offs", hooks)


def _check_gumbel_options(samples, beta, smoothing_factor):
    samples = checks.check_positive_int("samples", samples)
    if samples is None:
        raise ValueError("`samples` must be a positive integer; received None.")
    try:
        beta = float(beta)
    except (TypeError, ValueError) as err:
        raise TypeError(f"`beta` must be a number; received {beta!r}.") from err
    if smoothing_factor is not None:
        smoothing_factor = float(smoothing_factor)
    return samples, beta, smoothing_factor


def gumbel_t12n(
    loss_or_metric_fn: Callable[..., jax.Array],
    *,
    samples: int = 8,
    beta: float = 1.0,
    smoothing_factor: float | None = None,
) -> Callable[..., jax.Array]:
    r"""The mean of a loss or metric over Gumbel-perturbed scores.

    The returned ``fn(scores, labels, *, key, **kwargs)`` draws ``samples``
    independent :math:`g^{(k)} \sim \mathrm{Gumbel}(0, 1)^n` per list and returns

    .. math::

        \frac{1}{K} \sum_{k=1}^{K}
        f\bigl(\tilde s^{(k)}, y, \dots\bigr), \qquad
        \tilde s^{(k)} = s + \beta g^{(k)},

    with, if ``smoothing_factor`` :math:`\varepsilon` is given,
    :math:`\tilde s^{(k)} \leftarrow \log(\operatorname{softmax}(\tilde s^{(k)}) +
    \varepsilon)` over each list's ``where`` items (:math:`10^{-20}` is
    TF-Ranking's setting). Sorting perturbed scores samples a Plackett-Luce
    ranking, so the mean is a Monte-Carlo estimate of the expected loss under that
    distribution (Bruch et al., 2020).

    The noise is rax's draw: ``key`` is split into two first when ``fn`` takes a
    ``key`` of its own (the second goes to ``fn``), then
    ``jax.random.gumbel(key, (samples, *scores.shape))``. rax stacks the samples as
    a leading batch axis instead of averaging; the two agree for the mean
    reductions, and rax's unreduced output is ours with that axis kept.

    Args:
      loss_or_metric_fn: ``fn(scores, labels, **kwargs)``.
      samples: static number of noise draws, >= 1.
      beta: scale of the noise.
      smoothing_factor: optional :math:`\varepsilon` above; ``<= 0`` may give NaN.

    Returns:
      The perturbed function; its output has ``fn``'s shape.

    Examples:
      >>> import jax
      >>> import jax.numpy as jnp
      >>> import jaxrank
      >>> loss = jaxrank.gumbel_t12n(jaxrank.list_mle_loss, samples=16)
      >>> scores, labels = jnp.array([0.0, 1.0, 3.0]), jnp.array([0.0, 1.0, 2.0])
      >>> value = loss(scores, labels, key=jax.random.key(0))
      >>> bool(value > jaxrank.list_mle_loss(scores, labels))  # noise blurs
      True

    References:
      rax ``gumbel_t12n``; Bruch, Han, Bendersky and Najork, *A stochastic treatment
      of learning to rank scoring functions* (2020).
    """
    if not callable(loss_or_metric_fn):
        raise TypeError(
            f"`loss_or_metric_fn` must be callable; received {loss_or_metric_fn!r}."
        )
    samples, beta, smoothing_factor = _check_gumbel_options(
        samples, beta, smoothing_factor
    )
    takes_key = _accepts(loss_or_metric_fn, "key")

    @functools.wraps(loss_or_metric_fn)
    def perturbed(scores, labels, *, key, **kwargs):
        scores = checks.check_scores(scores)
        scores = scores.astype(checks.compute_dtype(scores.dtype))
        if takes_key:
            key, kwargs["key"] = jax.random.split(key)
        noise = jax.random.gumbel(key, (samples, *scores.shape), scores.dtype)
        noisy = noise * jnp.asarray(beta, scores.dtype) + scores[None]
        if smoothing_factor is not None:
            where = kwargs.get("where")
            if where is not None:
                where = checks.check_where(where, scores)
                noisy = jnp.where(where, noisy, jnp.full((), -jnp.inf, noisy.dtype))
            smoothing = jnp.asarray(smoothing_factor, noisy.dtype)
            noisy = jnp.log(jax.nn.softmax(noisy, axis=-1) + smoothing)
        values = jax.vmap(lambda s: loss_or_metric_fn(s, labels, **kwargs))(noisy)
        return jnp.mean(values, axis=0)

    # Jitted with its own signature; the one it shows is fn's, with `key`.
    perturbed = cached_jit(perturbed)
    perturbed.__signature__ = _with_key(loss_or_metric_fn)
    name = getattr(loss_or_metric_fn, "__name__", "fn")
    perturbed.__name__ = perturbed.__qualname__ = f"gumbel_{name}"
    perturbed.__doc__ = (
        f"{name} averaged over Gumbel-perturbed scores (see jaxrank.gumbel_t12n); "
        f"takes a PRNG `key`.\n\n{loss_or_metric_fn.__doc__ or ''}"
    )
    return perturbed


def segment_t12n(loss_or_metric_fn: Callable[..., Any]) -> Callable[..., Any]:
    r"""``loss_or_metric_fn`` with a ``segments=`` argument (rax's ``segment_t12n``).

    Every jaxrank loss and metric takes ``segments=`` itself, at per-segment cost,
    and is returned unchanged, as is any function that accepts ``segments``. Any
    other function (one written for whole lists) gets the general construction:
    each list of :math:`n` items becomes :math:`n` copies of itself, and copy
    :math:`r` keeps (through ``where``) only the items of the segment whose first
    item is item :math:`r`, so that the function sees one list per segment, padded
    with masked items. This costs :math:`O(n^2)` time and memory per list, and the
    result has an extra list axis (``(..., n)`` lists of ``n`` items): with
    ``reduction="sum"`` a function whose all-masked lists count 0 (every jaxrank
    loss) gives the per-segment total. Array keyword arguments of the scores' shape
    (``weights`` per item, ...) are copied along; ``where`` is combined with the
    segment masks.

    Args:
      loss_or_metric_fn: ``fn(scores, labels, *, where=None, **kwargs)``.

    Returns:
      ``fn(scores, labels, *, segments=None, **kwargs)``.

    Examples:
      >>> import jax.numpy as jnp
      >>> import jaxrank
      >>> def top_label(scores, labels, *, where=None):  # one value per list
      ...     return jnp.max(jnp.where(where, labels, 0.0), axis=-1)
      >>> per_segment = jaxrank.segment_t12n(top_label)
      >>> scores, labels = jnp.zeros(4), jnp.array([1.0, 3.0, 2.0, 0.0])
      >>> per_segment(scores, labels, segments=jnp.array([0, 1, 0, 1]))
      Array([2., 3., 0., 0.], dtype=float32)
      >>> jaxrank.segment_t12n(jaxrank.softmax_loss) is jaxrank.softmax_loss
      True
    """
    checks.check_function(
        "loss_or_metric_fn", loss_or_metric_fn, "a loss or metric function"
    )
    if _accepts(loss_or_metric_fn, "segments"):
        return loss_or_metric_fn

    @functools.wraps(loss_or_metric_fn)
    def segmented(scores, labels, *, segments=None, **kwargs):
        if segments is None:
            return loss_or_metric_fn(scores, labels, **kwargs)
        scores = checks.check_scores(scores)
        segments = checks.check_segments(segments, scores)
        n = scores.shape[-1]

        def copies(x):
            x = jnp.asarray(x)
            return jnp.broadcast_to(x[..., None, :], x.shape[:-1] + (n, n))

        same = segments[..., :, None] == segments[..., None, :]
        # Row r keeps its segment only when r is the segment's first item.
        keep = same & (jnp.cumsum(same, axis=-2, dtype=jnp.int32) == 1)
        where = kwargs.pop("where", None)
        if where is not None:
            keep = keep & copies(checks.check_where(where, scores))
        for name, value in kwargs.items():
            if name != "key" and jnp.shape(value) == scores.shape:
                kwargs[name] = copies(value)
        return loss_or_metric_fn(copies(scores), copies(labels), where=keep, **kwargs)

    return segmented


approximate_metric_loss = approx_t12n
bound_metric_loss = bound_t12n
gumbel_perturbed = gumbel_t12n
