"""LightGBM lambdarank on the same data, split and NDCG as ``main.py``, for comparison.

    python examples/ltr/lightgbm_baseline.py \\
        --train ../shared/data/yahoo-ltr-sample/rank.train \\
        --test ../shared/data/yahoo-ltr-sample/rank.test

The settings are those of ``../shared/data/README.md`` (100 trees, learning rate 0.1,
31 leaves, min_data_in_leaf 50, seed 0). Needs ``pip install lightgbm``.
"""

from __future__ import annotations

import argparse
import json
import time

import jax.numpy as jnp
import lightgbm
import numpy as np
from cv import cv_folds
from datasets import load_data
from main import CUTOFFS

import jaxrank
from jaxrank import data as ltr_data


def ndcg_of_scores(
    dataset: ltr_data.RankingDataset, scores: np.ndarray
) -> dict[str, float]:
    """Mean NDCG@1/3/5/10 over the queries of ``dataset`` for per-document ``scores``.

    The same definition as ``main.py``'s evaluation (``jaxrank.metrics.ndcg``: gain
    2^label - 1, log2 discount, a query without relevant documents counting 1.0).
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


def run(train, test, seed: int) -> dict:
    params = dict(
        objective="lambdarank",
        num_iterations=100,
        learning_rate=0.1,
        num_leaves=31,
        min_data_in_leaf=50,
        seed=seed,
        verbosity=-1,
        num_threads=1,
    )
    start = time.perf_counter()
    booster = lightgbm.train(
        params, lightgbm.Dataset(train.features, train.labels, group=train.list_sizes)
    )
    seconds = time.perf_counter() - start
    result = ndcg_of_scores(test, booster.predict(test.features))
    result.update(
        model="lightgbm lambdarank", seed=seed, train_seconds=round(seconds, 2)
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", required=True)
    parser.add_argument("--test")
    parser.add_argument("--seeds", default="0", help="comma separated LightGBM seeds")
    parser.add_argument(
        "--validation-split",
        type=float,
        default=0.0,
        help="as in main.py: evaluate on held-out training queries",
    )
    parser.add_argument(
        "--cv-folds",
        type=int,
        default=0,
        help="as in main.py: mean NDCG over K folds of the --train queries "
        "(the same folds as main.py with --seed 0)",
    )
    args = parser.parse_args()
    train, test = load_data(args, seed=0)
    if args.cv_folds:
        folds = [
            run(
                train.subset(np.setdiff1d(np.arange(train.num_queries), held)),
                train.subset(np.sort(held)),
                seed=0,
            )
            for held in cv_folds(train.num_queries, args.cv_folds, seed=0)
        ]
        keys = [k for k in folds[0] if k.startswith("ndcg")]
        mean = {k: float(np.mean([f[k] for f in folds])) for k in keys}
        print(json.dumps(mean | {"cv_folds": args.cv_folds}))
        return
    results = [run(train, test, int(s)) for s in args.seeds.split(",")]
    for r in results:
        print(json.dumps(r))
    if len(results) > 1:
        keys = [k for k in results[0] if k.startswith("ndcg")]
        print(
            json.dumps(
                {k: float(np.mean([r[k] for r in results])) for k in keys}
                | {"mean_of_seeds": args.seeds}
            )
        )


if __name__ == "__main__":
    main()
