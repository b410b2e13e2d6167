"""Trains a Flax NNX ranking model with a jaxrank loss, data-parallel over all devices.

Without ``--train``/``--test`` it uses the project's synthetic dataset
(:func:`jaxrank.data.make_synthetic`); with them, LETOR/SVMlight files. Each epoch it
prints the mean training loss and the test NDCG@1/3/5/10, writes a PNG plot of both at
the end, and prints a JSON object of the final test metrics as the last line of
stdout. See ``README.md`` beside this file.

    python examples/ltr/main.py
    python examples/ltr/main.py --train ../shared/data/yahoo-ltr-sample/rank.train \\
        --test ../shared/data/yahoo-ltr-sample/rank.test --loss pairwise_hinge
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import inspect
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P
from tqdm.auto import tqdm

import jaxrank
import jaxrank.metrics
from jaxrank import data as ltr_data

CUTOFFS = (1, 3, 5, 10)


@dataclasses.dataclass
class Config:
    """Training settings; the defaults are the example's defaults (see README)."""

    loss: str = "pairwise_hinge"
    epochs: int = 30
    batch_size: int = 8
    learning_rate: float = 1e-3
    weight_decay: float = 1e-2
    hidden: tuple[int, ...] = (256, 128)
    dropout: float = 0.5
    input_dropout: float = 0.2
    feature_transform: str = "gauss-rank"
    list_features: bool = True
    list_context: bool = True
    ensemble: int = 5
    lambda_weights: str = "none"
    temperature: float = 1.0
    seed: int = 0
    eval_batch_size: int = 128


# ------------------------------------------------------------------------- data


@dataclasses.dataclass(frozen=True)
class Standardizer:
    """Signed ``log1p`` (optional) then standardisation, fitted on training documents.

    ``sign(x) * log(1 + |x|)`` tames raw web-search features (counts, BM25, PageRank
    spanning orders of magnitude) while leaving 0/1 and [0, 1] features nearly linear;
    the per-feature mean and standard deviation then put every feature on one scale.
    A constant feature gets scale 1 (it becomes 0 everywhere).
    """

    mean: np.ndarray
    scale: np.ndarray
    log: bool = True

    def _squash(self, x: np.ndarray) -> np.ndarray:
        return np.sign(x) * np.log1p(np.abs(x)) if self.log else x

    @classmethod
    def fit(cls, features: np.ndarray, *, log: bool = True) -> Standardizer:
        squashed = cls(0.0, 1.0, log)._squash(features.astype(np.float64))
        std = squashed.std(axis=0)
        return cls(squashed.mean(axis=0), np.where(std > 1e-12, std, 1.0), log)

    def __call__(self, dataset: ltr_data.RankingDataset) -> ltr_data.RankingDataset:
        features = ((self._squash(dataset.features) - self.mean) / self.scale).astype(
            np.float32
        )
        return dataclasses.replace(dataset, features=features)


@dataclasses.dataclass(frozen=True)
class GaussRank:
    """Gaussian-rank transform: each feature through its training ECDF, then ``Φ⁻¹``.

    A value's mid-rank among the training values of its feature, ``(#below + #equal/2)
    / n``, is mapped to the standard normal quantile, so every feature comes out
    roughly ``N(0, 1)`` whatever its scale or skew (ties, e.g. the zeros of a sparse
    feature, share one value). New values are interpolated between the training
    values and clamped at the ends.
    """

    knots: tuple[np.ndarray, ...]  # per feature: the sorted distinct training values
    quantiles: tuple[np.ndarray, ...]  # per feature: the normal quantile of each knot

    @classmethod
    def fit(cls, features: np.ndarray) -> GaussRank:
        knots, mid_ranks = [], []
        for column in features.T:
            values, counts = np.unique(column, return_counts=True)
            knots.append(values)
            mid_ranks.append((np.cumsum(counts) - counts / 2) / features.shape[0])
        # One call for all features (one compilation, not one per column length).
        quantiles = np.asarray(jax.scipy.special.ndtri(np.concatenate(mid_ranks)))
        splits = np.cumsum([k.size for k in knots])[:-1]
        return cls(tuple(knots), tuple(np.split(quantiles, splits)))

    def __call__(self, features: np.ndarray) -> np.ndarray:
        return np.stack(
            [
                np.interp(column, k, q)
                for column, k, q in zip(
                    features.T, self.knots, self.quantiles, strict=True
                )
            ],
            axis=1,
        )


def _segment_sums(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Sums of ``values`` rows over each segment ``offsets[q]:offsets[q + 1]``."""
    cumulative = np.concatenate([np.zeros((1, values.shape[1])), np.cumsum(values, 0)])
    return cumulative[offsets[1:]] - cumulative[offsets[:-1]]


def standardize_within_lists(dataset: ltr_data.RankingDataset) -> np.ndarray:
    """Every feature standardised over the documents of its own query.

    Each document's value minus its query's mean, over its query's standard deviation
    (0 where the feature is constant within the query): how a document compares with
    the other candidates for the same query, which is what a ranking depends on.
    """
    sizes = np.maximum(dataset.list_sizes, 1)[:, None]
    features = dataset.features.astype(np.float64)
    mean = _segment_sums(features, dataset.query_offsets) / sizes
    centred = features - np.repeat(mean, dataset.list_sizes, axis=0)
    std = np.sqrt(_segment_sums(centred**2, dataset.query_offsets) / sizes)
    scale = np.repeat(np.where(std > 1e-6, std, 1.0), dataset.list_sizes, axis=0)
    return centred / scale


@dataclasses.dataclass(frozen=True)
class Features:
    """The model's input features, fitted on the training set (``fit_features``).

    The global transform (``log``: signed ``log1p`` then standardisation; or
    ``gauss-rank``: :class:`GaussRank` then standardisation), then optionally, per
    document, the same features standardised within its query, concatenated
    (``list_features``): twice as many inputs.
    """

    transform: Callable[[np.ndarray], np.ndarray] | None
    standardizer: Standardizer
    list_features: bool

    def __call__(self, dataset: ltr_data.RankingDataset) -> ltr_data.RankingDataset:
        features = dataset.features
        if self.transform is not None:
            features = self.transform(features)
        out = self.standardizer(dataclasses.replace(dataset, features=features))
        if self.list_features:
            within = standardize_within_lists(out).astype(np.float32)
            out = dataclasses.replace(
                out, features=np.concatenate([out.features, within], axis=1)
            )
        return out


FEATURE_TRANSFORMS = ("log", "gauss-rank")


def fit_features(config: Config, train_set: ltr_data.RankingDataset) -> Features:
    """The feature pipeline of ``config``, fitted on the training documents."""
    if config.feature_transform not in FEATURE_TRANSFORMS:
        raise ValueError(
            f"unknown feature_transform {config.feature_transform!r}; "
            f"choose from {FEATURE_TRANSFORMS}"
        )
    features, transform = train_set.features, None
    if config.feature_transform == "gauss-rank":
        transform = GaussRank.fit(features)
        features = transform(features)
    # The log squash is part of the "log" transform only.
    standardizer = Standardizer.fit(features, log=transform is None)
    return Features(transform, standardizer, config.list_features)


def widen(
    dataset: ltr_data.RankingDataset, num_features: int
) -> ltr_data.RankingDataset:
    """Pads the feature axis with zero columns up to ``num_features``."""
    extra = num_features - dataset.num_features
    if extra == 0:
        return dataset
    return dataclasses.replace(
        dataset, features=np.pad(dataset.features, ((0, 0), (0, extra)))
    )


def load_data(args: argparse.Namespace, seed: int):
    """(train, test) datasets: LETOR files, or the synthetic dataset."""
    if args.cv_folds:
        train = (
            ltr_data.load_svmlight(args.train)
            if args.train
            else ltr_data.make_synthetic(seed=seed)[0]
        )
        return train, None
    if (args.train is None) != (args.test is None) and not args.validation_split:
        raise SystemExit(
            "pass both --train and --test (or neither, for synthetic data)"
        )
    if args.train is None:
        train, test = ltr_data.make_synthetic(seed=seed)
    else:
        train = ltr_data.load_svmlight(args.train)
        test = ltr_data.load_svmlight(args.test) if args.test else None
    if args.validation_split:
        # Model selection: hold out some training queries and evaluate on them instead.
        order = np.random.default_rng(seed).permutation(train.num_queries)
        held = int(round(args.validation_split * train.num_queries))
        train, test = train.subset(order[held:]), train.subset(order[:held])
    width = max(train.num_features, test.num_features)
    return widen(train, width), widen(test, width)


# ------------------------------------------------------------------------ model


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


LAMBDA_WEIGHTS = {
    "none": None,
    # LambdaRank: |change in NDCG| from swapping the two documents of a pair.
    "ndcg": jaxrank.DCGLambdaWeight(normalize=True),
    "ndcg10": jaxrank.DCGLambdaWeight(topn=10, normalize=True),
}


def resolve_loss(name: str) -> Callable[..., jax.Array]:
    """A functional jaxrank loss by name (``_loss`` suffix optional), so new losses
    work unchanged: ``pairwise_hinge``, ``pairwise_mean_squared_error``, ..."""
    losses = {
        n.removesuffix("_loss"): getattr(jaxrank, n)
        for n in jaxrank.__all__
        if n.islower() and n not in ("as_optax_loss", "data", "metrics")
    }
    fn = losses.get(name.removesuffix("_loss"))
    if fn is None:
        raise SystemExit(f"unknown --loss {name!r}; jaxrank has: {', '.join(losses)}")
    return fn


# --------------------------------------------------------------------- training


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

    def put_batch(self, array: np.ndarray) -> jax.Array:
        processes, index = jax.process_count(), jax.process_index()
        per_process = array.shape[0] // processes
        local = array[index * per_process : (index + 1) * per_process]
        return jax.make_array_from_process_local_data(self.batch, local, array.shape)

    def replicate(self, tree):
        return jax.device_put(tree, self.replicated)


def init_ensemble(config: Config, num_features: int):
    """``config.ensemble`` independently initialised scorers, parameters stacked.

    Returns the shared graph definition and the parameters with a leading member axis;
    member ``m`` is initialised from seed ``config.seed + 1000 * m``.
    """
    states = []
    for member in range(config.ensemble):
        model = Scorer(
            num_features,
            config.hidden,
            config.dropout,
            config.input_dropout,
            list_context=config.list_context,
            rngs=nnx.Rngs(config.seed + 1000 * member),
        )
        graphdef, state = nnx.split(model)
        states.append(state)
    return graphdef, jax.tree.map(lambda *xs: jnp.stack(xs), *states)


def train(
    config: Config,
    train_set: ltr_data.RankingDataset,
    test_set: ltr_data.RankingDataset,
    *,
    show_progress: bool = True,
    log: Callable[[str], None] = print,
) -> dict:
    """Trains and evaluates every epoch.

    Returns:
      A dict with ``step_losses`` (every step), ``epoch_losses``, ``metrics`` (one dict
      of test NDCG@k per epoch), ``test_scores`` (final scores in the test set's
      document order), ``train_seconds`` and ``model``: the graph definition and the
      trained parameters, stacked over the ensemble's members (leading axis).
    """
    loss_fn = resolve_loss(config.loss)
    if "temperature" in inspect.signature(loss_fn).parameters:
        loss_fn = functools.partial(loss_fn, temperature=config.temperature)
    lambda_weights = LAMBDA_WEIGHTS[config.lambda_weights]
    if lambda_weights is not None:
        loss_fn = functools.partial(loss_fn, lambda_weights=lambda_weights)
    parallel = DataParallel()
    # Every batch must split evenly over the devices.
    batch_size = -(-config.batch_size // parallel.size) * parallel.size
    eval_batch_size = -(-config.eval_batch_size // parallel.size) * parallel.size

    pipeline = fit_features(config, train_set)
    train_buckets = ltr_data.bucketize(pipeline(train_set))
    test_buckets = ltr_data.bucketize(pipeline(test_set))

    graphdef, params = init_ensemble(config, train_buckets[0].features.shape[-1])
    steps_per_epoch = sum(-(-b.num_queries // batch_size) for b in train_buckets)
    schedule = optax.cosine_decay_schedule(
        config.learning_rate, config.epochs * steps_per_epoch
    )
    optimizer = optax.adamw(schedule, weight_decay=config.weight_decay)
    params = parallel.replicate(params)
    opt_state = parallel.replicate(optimizer.init(params))

    def member_loss(params, features, labels, mask, key):
        scores = nnx.merge(graphdef, params)(features, mask, key)
        lists = jnp.sum(jnp.any(mask, axis=-1).astype(jnp.float32))
        # Mean loss per query in the batch (padded, empty lists count for nothing).
        total = loss_fn(scores, labels, where=mask, reduction="sum")
        return total / jnp.maximum(lists, 1.0)

    def objective(params, features, labels, mask, key):
        # The members share nothing, so the gradient of the sum of their losses is
        # each member's own gradient, and AdamW (elementwise) updates each as if alone.
        keys = jax.random.split(key, config.ensemble)
        losses = jax.vmap(member_loss, in_axes=(0, None, None, None, 0))(
            params, features, labels, mask, keys
        )
        return jnp.sum(losses), jnp.mean(losses)

    @jax.jit
    def train_step(params, opt_state, features, labels, mask, key):
        (_, loss), grads = jax.value_and_grad(objective, has_aux=True)(
            params, features, labels, mask, key
        )
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    @jax.jit
    def evaluate(params, features, labels, mask):
        # The ensemble's score is the mean of its members' scores.
        member_scores = jax.vmap(lambda p: nnx.merge(graphdef, p)(features, mask))(
            params
        )
        scores = jnp.mean(member_scores, axis=0)
        ndcgs = [
            jaxrank.metrics.ndcg(scores, labels, where=mask, k=k, no_relevant_value=1.0)
            for k in CUTOFFS
        ]
        return scores, jnp.stack(ndcgs, axis=-1)

    def test_metrics(params):
        batches = list(ltr_data.batches(test_buckets, eval_batch_size))
        scores, per_list = [], []
        for batch in batches:
            s, n = evaluate(
                params,
                *(
                    parallel.put_batch(x)
                    for x in (batch.features, batch.labels, batch.mask)
                ),
            )
            scores.append(np.asarray(s))
            per_list.append(np.asarray(n)[batch.mask.any(axis=1)])
        mean = np.concatenate(per_list).mean(axis=0)
        metrics = {f"ndcg@{k}": float(m) for k, m in zip(CUTOFFS, mean, strict=True)}
        return metrics, ltr_data.scatter_scores(batches, scores, test_set.num_docs)

    shuffle = np.random.default_rng(config.seed)
    dropout_key = jax.random.key(config.seed + 1)
    history = {"step_losses": [], "epoch_losses": [], "metrics": []}
    start = time.perf_counter()
    step = 0
    for epoch in range(1, config.epochs + 1):
        epoch_losses = []
        bar = tqdm(
            total=steps_per_epoch,
            desc=f"epoch {epoch}/{config.epochs}",
            leave=False,
            disable=not show_progress,
            file=sys.stderr,
        )
        for batch in ltr_data.batches(
            train_buckets, batch_size, shuffle=True, seed=shuffle
        ):
            arrays = (
                parallel.put_batch(x)
                for x in (batch.features, batch.labels, batch.mask)
            )
            key = jax.random.fold_in(dropout_key, step)
            params, opt_state, loss = train_step(params, opt_state, *arrays, key)
            epoch_losses.append(float(loss))
            step += 1
            bar.update()
            bar.set_postfix(loss=f"{epoch_losses[-1]:.4f}")
        bar.close()
        metrics, test_scores = test_metrics(params)
        history["step_losses"].extend(epoch_losses)
        history["epoch_losses"].append(float(np.mean(epoch_losses)))
        history["metrics"].append(metrics)
        shown = "  ".join(f"{k} {v:.4f}" for k, v in metrics.items())
        log(f"epoch {epoch:3d}  loss {history['epoch_losses'][-1]:.4f}  test {shown}")
    history["train_seconds"] = time.perf_counter() - start
    history["test_scores"] = test_scores
    history["model"] = (graphdef, params)
    return history


def cv_folds(num_queries: int, folds: int, seed: int) -> list[np.ndarray]:
    """Query indices of ``folds`` near-equal folds of a seeded random permutation."""
    order = np.random.default_rng(seed).permutation(num_queries)
    return np.array_split(order, folds)


def cross_validate(
    config: Config, dataset: ltr_data.RankingDataset, folds: int
) -> list[dict[str, float]]:
    """Final NDCG@1/3/5/10 on each held-out fold of ``dataset``'s queries.

    The fold split depends on ``config.seed``; each fold trains from scratch on the
    other folds (the standardiser too) and is scored after the last epoch.
    """
    results = []
    for held in cv_folds(dataset.num_queries, folds, config.seed):
        keep = np.setdiff1d(np.arange(dataset.num_queries), held)
        history = train(
            config,
            dataset.subset(keep),
            dataset.subset(np.sort(held)),
            show_progress=False,
            log=lambda _: None,
        )
        results.append(history["metrics"][-1])
    return results


def ndcg_of_scores(
    dataset: ltr_data.RankingDataset, scores: np.ndarray
) -> dict[str, float]:
    """Mean NDCG@1/3/5/10 over the queries of ``dataset`` for per-document ``scores``.

    The same definition as during training (``jaxrank.metrics.ndcg``: gain 2^label - 1,
    log2 discount, a query without relevant documents counting 1.0); used to score
    other models, e.g. ``lightgbm_baseline.py``.
    """
    padded = ltr_data.pad_lists(dataset)
    list_scores = np.where(
        padded.mask, np.asarray(scores, np.float32)[padded.doc_index], 0.0
    )
    return {
        f"ndcg@{k}": float(
            jnp.mean(
                jaxrank.metrics.ndcg(
                    jnp.asarray(list_scores),
                    jnp.asarray(padded.labels),
                    where=jnp.asarray(padded.mask),
                    k=k,
                    no_relevant_value=1.0,
                )
            )
        )
        for k in CUTOFFS
    }


def plot(history: dict, path: str, title: str) -> None:
    """Training loss and test NDCG per epoch, side by side, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = np.arange(1, len(history["epoch_losses"]) + 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(epochs, history["epoch_losses"])
    left.set(
        xlabel="epoch", ylabel="mean training loss per query", title="training loss"
    )
    for k in CUTOFFS:
        right.plot(
            epochs, [m[f"ndcg@{k}"] for m in history["metrics"]], label=f"NDCG@{k}"
        )
    right.set(xlabel="epoch", ylabel="test NDCG", title="test NDCG")
    right.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    defaults = Config()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--train", help="LETOR/SVMlight training file (default: synthetic data)"
    )
    parser.add_argument("--test", help="LETOR/SVMlight test file")
    parser.add_argument(
        "--loss",
        default=defaults.loss,
        help="a jaxrank loss: NAME picks jaxrank.NAME_loss (default %(default)s)",
    )
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument(
        "--batch-size", type=int, default=defaults.batch_size, help="lists per step"
    )
    parser.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
    parser.add_argument("--weight-decay", type=float, default=defaults.weight_decay)
    parser.add_argument(
        "--hidden",
        default=",".join(map(str, defaults.hidden)),
        help="hidden layer widths, comma separated",
    )
    parser.add_argument("--dropout", type=float, default=defaults.dropout)
    parser.add_argument(
        "--input-dropout",
        type=float,
        default=defaults.input_dropout,
        help="dropout rate on the input features",
    )
    parser.add_argument(
        "--feature-transform",
        choices=FEATURE_TRANSFORMS,
        default=defaults.feature_transform,
        help="log: signed log1p then standardise; gauss-rank: each feature through "
        "its training ECDF and the normal quantile (default %(default)s)",
    )
    parser.add_argument(
        "--list-features",
        action=argparse.BooleanOptionalAction,
        default=defaults.list_features,
        help="also give each document its features standardised within its own "
        "query (default %(default)s)",
    )
    parser.add_argument(
        "--list-context",
        action=argparse.BooleanOptionalAction,
        default=defaults.list_context,
        help="feed the mean first-layer hidden vector of each list, beside each "
        "document's own, to the second layer (default %(default)s)",
    )
    parser.add_argument(
        "--ensemble",
        type=int,
        default=defaults.ensemble,
        help="train this many independently initialised scorers at once (one "
        "vmapped step) and average their scores (default %(default)s)",
    )
    parser.add_argument(
        "--lambda-weights",
        choices=sorted(LAMBDA_WEIGHTS),
        default=defaults.lambda_weights,
        help="LambdaRank-style pair weights for the pairwise losses "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--temperature",
        type=float,
        default=defaults.temperature,
        help="the loss's temperature (default %(default)s)",
    )
    parser.add_argument(
        "--cv-folds",
        type=int,
        default=0,
        help="instead of training once, run K-fold cross-validation over the "
        "--train queries and report the mean held-out NDCG (for choosing settings)",
    )
    parser.add_argument(
        "--validation-split",
        type=float,
        default=0.0,
        help="evaluate on this fraction of the training queries instead of "
        "--test (for choosing settings without looking at the test set)",
    )
    parser.add_argument(
        "--predictions-out", help="write one test score per line, in file order"
    )
    parser.add_argument(
        "--plot-out",
        default=os.path.join(tempfile.gettempdir(), "jaxrank_ltr.png"),
        help="PNG of loss and NDCG per epoch (default %(default)s)",
    )
    parser.add_argument(
        "--no-progress", action="store_true", help="hide the progress bars"
    )
    parser.add_argument(
        "--distributed",
        action="store_true",
        help="call jax.distributed.initialize() first (multi-host runs)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> dict:
    args = parse_args(argv)
    if args.distributed:
        jax.distributed.initialize()
    config = Config(
        loss=args.loss,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        weight_decay=args.weight_decay,
        hidden=tuple(int(h) for h in args.hidden.split(",") if h),
        dropout=args.dropout,
        input_dropout=args.input_dropout,
        feature_transform=args.feature_transform,
        list_features=args.list_features,
        list_context=args.list_context,
        ensemble=args.ensemble,
        lambda_weights=args.lambda_weights,
        temperature=args.temperature,
        seed=args.seed,
    )
    resolve_loss(config.loss)  # fail fast on a bad name
    train_set, test_set = load_data(args, args.seed)
    if args.cv_folds:
        start = time.perf_counter()
        folds = cross_validate(config, train_set, args.cv_folds)
        result = {k: float(np.mean([f[k] for f in folds])) for k in folds[0]} | {
            "cv_folds": args.cv_folds,
            "fold_ndcg@10": [round(f["ndcg@10"], 4) for f in folds],
            "config": dataclasses.asdict(config),
            "seconds": round(time.perf_counter() - start, 1),
        }
        print(json.dumps(result))
        return result
    print(
        f"train: {train_set.num_queries} queries, {train_set.num_docs} docs, "
        f"{train_set.num_features} features; test: {test_set.num_queries} queries, "
        f"{test_set.num_docs} docs; {len(jax.devices())} device(s); loss {config.loss}"
    )
    history = train(config, train_set, test_set, show_progress=not args.no_progress)
    if args.predictions_out:
        np.savetxt(args.predictions_out, history["test_scores"], fmt="%.6g")
    plot(
        history,
        args.plot_out,
        f"{config.loss} on {os.path.basename(args.train or 'synthetic')}",
    )
    result = dict(history["metrics"][-1])
    result.update(
        loss=config.loss,
        epochs=config.epochs,
        seed=config.seed,
        train_seconds=round(history["train_seconds"], 2),
    )
    print(f"plot: {args.plot_out}; training took {history['train_seconds']:.1f}s")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
