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

import lightgbm
import main as example
import numpy as np


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
    result = example.ndcg_of_scores(test, booster.predict(test.features))
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
    args = parser.parse_args()
    train, test = example.load_data(args, seed=0)
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
