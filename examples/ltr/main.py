"""Trains a Flax NNX ranking model with a jaxrank loss, data-parallel over all devices.

Top to bottom: the settings (each one a command-line flag), the loss, the training step
and evaluation, the training loop, and ``main``. It prints the mean training loss and
test NDCG@1/3/5/10 each epoch, and the final metrics as JSON on the last line of stdout.
Data, features, model, sharding, flags, cross-validation and plot: the files beside it.

    python examples/ltr/main.py  # jaxrank's synthetic dataset
    python examples/ltr/main.py --train ../shared/data/yahoo-ltr-sample/rank.train \\
        --test ../shared/data/yahoo-ltr-sample/rank.test --loss pairwise_hinge
"""

from __future__ import annotations

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
from cv import cross_validate
from datasets import load_data
from features import FeatureTransform, fit_features
from flags import option, parse_flags
from flax import nnx
from model import init_ensemble
from parallel import DataParallel
from plot import plot_history
from tqdm.auto import tqdm

import jaxrank
from jaxrank import data as ltr_data

CUTOFFS = (1, 3, 5, 10)
LAMBDA_WEIGHTS = {  # LambdaRank: |change in NDCG| from swapping a pair's documents.
    "none": None,
    "ndcg": jaxrank.DCGLambdaWeight(normalize=True),
    "ndcg10": jaxrank.DCGLambdaWeight(topn=10, normalize=True),
}


@dataclasses.dataclass
class Config:
    """Training settings; the defaults are the example's defaults (see README)."""

    loss: str = option("pairwise_hinge", "a jaxrank loss: NAME is jaxrank.NAME_loss")
    epochs: int = option(30, "passes over the training queries")
    batch_size: int = option(8, "lists per step")
    learning_rate: float = option(1e-3, "AdamW's rate, cosine-decayed to 0")
    weight_decay: float = option(1e-2, "AdamW's weight decay")
    hidden: tuple[int, ...] = option((256, 128), "hidden layer widths, comma separated")
    dropout: float = option(0.5, "dropout rate on the hidden layers")
    input_dropout: float = option(0.2, "dropout rate on the input features")
    feature_transform: FeatureTransform = option("gauss-rank", "see features.py")
    list_features: bool = option(True, "add features standardised within each query")
    list_context: bool = option(True, "pool each list's first-layer vectors (model.py)")
    ensemble: int = option(5, "train this many scorers at once; average their scores")
    lambda_weights: str = option("none", "pair weights", choices=tuple(LAMBDA_WEIGHTS))
    temperature: float = option(1.0, "the loss's temperature, if it has one")
    seed: int = option(0, "seeds initialisation, dropout, batch order and splits")
    eval_batch_size: int = option(128, "lists per evaluation step")


@dataclasses.dataclass
class Run:
    """What to train on and what to write: flags too, but not training settings."""

    train: str | None = option(None, "LETOR/SVMlight training file (else synthetic)")
    test: str | None = option(None, "LETOR/SVMlight test file")
    cv_folds: int = option(0, "K > 0: K-fold cross-validation on --train instead")
    validation_split: float = option(0.0, "evaluate on this share of --train instead")
    predictions_out: str | None = option(None, "write the test scores, in file order")
    plot_out: str = option(
        os.path.join(tempfile.gettempdir(), "jaxrank_ltr.png"), "PNG of loss and NDCG"
    )
    progress: bool = option(True, "show progress bars")
    distributed: bool = option(False, "call jax.distributed.initialize() first")


def make_loss(config: Config) -> Callable[..., jax.Array]:
    """The jaxrank loss ``config.loss`` (``_loss`` suffix optional, so new losses work
    unchanged), with the ``temperature`` and ``lambda_weights`` of ``config``."""
    losses = {
        n.removesuffix("_loss"): getattr(jaxrank, n)
        for n in jaxrank.__all__
        if n.islower() and callable(getattr(jaxrank, n)) and n != "as_optax_loss"
    }
    name = config.loss
    if (loss_fn := losses.get(name.removesuffix("_loss"))) is None:
        raise SystemExit(f"unknown --loss {name!r}; jaxrank has: {', '.join(losses)}")
    if "temperature" in inspect.signature(loss_fn).parameters:
        loss_fn = functools.partial(loss_fn, temperature=config.temperature)
    if (lambda_weights := LAMBDA_WEIGHTS[config.lambda_weights]) is not None:
        loss_fn = functools.partial(loss_fn, lambda_weights=lambda_weights)
    return loss_fn


def make_steps(config: Config, graphdef: nnx.GraphDef, optimizer, loss_fn):
    """The jitted training step and evaluation of an ensemble of ``graphdef`` models."""

    def member_loss(params, features, labels, mask, key):
        scores = nnx.merge(graphdef, params)(features, mask, key)
        # Mean loss per query in the batch (padded, empty lists count for nothing).
        lists = jnp.maximum(jnp.sum(jnp.any(mask, axis=-1).astype(jnp.float32)), 1.0)
        return loss_fn(scores, labels, where=mask, reduction="sum") / lists

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
        members = jax.vmap(lambda p: nnx.merge(graphdef, p)(features, mask))(params)
        scores = jnp.mean(members, axis=0)
        ndcgs = [
            jaxrank.metrics.ndcg(scores, labels, where=mask, k=k, no_relevant_value=1.0)
            for k in CUTOFFS
        ]
        return scores, jnp.stack(ndcgs, axis=-1)

    return train_step, evaluate


def train(
    config: Config, train_set, test_set, *, show_progress=True, log=print
) -> dict:
    """Trains on ``train_set`` and evaluates on ``test_set`` every epoch.

    Returns:
      A dict with ``step_losses`` (every step), ``epoch_losses``, ``metrics`` (one dict
      of test NDCG@k per epoch), ``test_scores`` (final scores in the test set's
      document order), ``train_seconds`` and ``model``: the graph definition and the
      trained parameters, stacked over the ensemble's members (leading axis).
    """
    parallel = DataParallel()  # Batch sizes round up to a multiple of the devices.
    batch_size = parallel.round_up(config.batch_size)
    eval_batch_size = parallel.round_up(config.eval_batch_size)
    features = fit_features(train_set, config.feature_transform, config.list_features)
    train_buckets = ltr_data.bucketize(features(train_set))
    test_buckets = ltr_data.bucketize(features(test_set))
    test_batches = list(ltr_data.batches(test_buckets, eval_batch_size))
    graphdef, params = init_ensemble(
        config.ensemble,
        train_buckets[0].features.shape[-1],
        config.hidden,
        config.dropout,
        config.input_dropout,
        list_context=config.list_context,
        seed=config.seed,
    )
    steps_per_epoch = sum(-(-b.num_queries // batch_size) for b in train_buckets)
    schedule = optax.cosine_decay_schedule(
        config.learning_rate, config.epochs * steps_per_epoch
    )
    optimizer = optax.adamw(schedule, weight_decay=config.weight_decay)
    params = parallel.replicate(params)
    opt_state = parallel.replicate(optimizer.init(params))
    train_step, evaluate = make_steps(config, graphdef, optimizer, make_loss(config))
    shuffle = np.random.default_rng(config.seed)
    dropout_key = jax.random.key(config.seed + 1)
    history = {"step_losses": [], "epoch_losses": [], "metrics": []}
    start = time.perf_counter()
    for epoch in range(1, config.epochs + 1):
        bar = tqdm(
            ltr_data.batches(train_buckets, batch_size, shuffle=True, seed=shuffle),
            total=steps_per_epoch,
            desc=f"epoch {epoch}/{config.epochs}",
            leave=False,
            disable=not show_progress,
            file=sys.stderr,
        )
        losses = []
        for batch in bar:
            key = jax.random.fold_in(dropout_key, len(history["step_losses"]))
            arrays = parallel.put_batch(batch)
            params, opt_state, loss = train_step(params, opt_state, *arrays, key)
            losses.append(float(loss))
            history["step_losses"].append(losses[-1])
            bar.set_postfix(loss=f"{losses[-1]:.4f}")
        scores, per_list = [], []
        for batch in test_batches:
            batch_scores, ndcgs = evaluate(params, *parallel.put_batch(batch))
            scores.append(np.asarray(batch_scores))
            per_list.append(np.asarray(ndcgs)[batch.mask.any(axis=1)])
        mean = np.concatenate(per_list).mean(axis=0)
        metrics = {f"ndcg@{k}": float(m) for k, m in zip(CUTOFFS, mean, strict=True)}
        history["epoch_losses"].append(float(np.mean(losses)))
        history["metrics"].append(metrics)
        shown = "  ".join(f"{k} {v:.4f}" for k, v in metrics.items())
        log(f"epoch {epoch:3d}  loss {history['epoch_losses'][-1]:.4f}  test {shown}")
    history["train_seconds"] = time.perf_counter() - start
    history["test_scores"] = ltr_data.scatter_scores(
        test_batches, scores, test_set.num_docs
    )
    history["model"] = (graphdef, params)
    return history


def main(argv: Sequence[str] | None = None) -> dict:
    config, run = parse_flags(argv, Config, Run, description=__doc__.split("\n\n")[0])
    if run.distributed:
        jax.distributed.initialize()
    make_loss(config)  # fail fast on a bad --loss
    train_set, test_set = load_data(run, config.seed)
    if run.cv_folds:  # Choosing settings: the mean held-out NDCG over K folds (cv.py).
        fit = functools.partial(train, config, show_progress=False, log=lambda _: None)
        result = cross_validate(fit, train_set, run.cv_folds, config)
        print(json.dumps(result))
        return result
    print(
        f"train: {train_set.num_queries} queries, {train_set.num_docs} docs, "
        f"{train_set.num_features} features; test: {test_set.num_queries} queries, "
        f"{test_set.num_docs} docs; {len(jax.devices())} device(s); loss {config.loss}"
    )
    history = train(config, train_set, test_set, show_progress=run.progress)
    if run.predictions_out:
        np.savetxt(run.predictions_out, history["test_scores"], fmt="%.6g")
    title = f"{config.loss} on {os.path.basename(run.train or 'synthetic')}"
    plot_history(history, run.plot_out, title)
    result = history["metrics"][-1] | dict(loss=config.loss, epochs=config.epochs)
    result |= dict(seed=config.seed, train_seconds=round(history["train_seconds"], 2))
    print(f"plot: {run.plot_out}; training took {history['train_seconds']:.1f}s")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
