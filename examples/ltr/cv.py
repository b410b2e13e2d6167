"""Choosing settings without the test set: held-out training queries, K-fold CV.

``main.py --validation-split F`` evaluates on a held-out fraction of the training
queries (:func:`hold_out`); ``main.py --cv-folds K`` trains K times and reports the
mean held-out NDCG (:func:`cross_validate`).
``lightgbm_baseline.py`` uses the same folds.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import numpy as np

from jaxrank import data as ltr_data


def hold_out(
    dataset: ltr_data.RankingDataset, fraction: float, seed: int
) -> tuple[ltr_data.RankingDataset, ltr_data.RankingDataset]:
    """(kept, held out): a seeded random ``fraction`` of the queries held out."""
    order = np.random.default_rng(seed).permutation(dataset.num_queries)
    held = int(round(fraction * dataset.num_queries))
    return dataset.subset(order[held:]), dataset.subset(order[:held])


def cv_folds(num_queries: int, folds: int, seed: int) -> list[np.ndarray]:
    """Query indices of ``folds`` near-equal folds of a seeded random permutation."""
    order = np.random.default_rng(seed).permutation(num_queries)
    return np.array_split(order, folds)


def cross_validate(
    train: Callable[[ltr_data.RankingDataset, ltr_data.RankingDataset], dict],
    dataset: ltr_data.RankingDataset,
    folds: int,
    config,
) -> dict:
    """Final held-out metrics over ``folds`` folds of ``dataset``'s queries.

    ``train(train_set, held_out_set)`` trains from scratch on the other folds (feature
    transforms included) and returns ``main.train``'s history; the last epoch's
    metrics of each fold count. ``config`` is ``main.Config``: its ``seed`` picks the
    folds, and it is reported with the result.

    Returns:
      The mean of each metric over the folds, ``cv_folds``, ``fold_ndcg@10``,
      ``config`` (as a dict) and ``seconds``.
    """
    start = time.perf_counter()
    results = []
    for held in cv_folds(dataset.num_queries, folds, config.seed):
        keep = np.setdiff1d(np.arange(dataset.num_queries), held)
        history = train(dataset.subset(keep), dataset.subset(np.sort(held)))
        results.append(history["metrics"][-1])
    mean = {k: float(np.mean([r[k] for r in results])) for k in results[0]}
    return mean | {
        "cv_folds": folds,
        "fold_ndcg@10": [round(r["ndcg@10"], 4) for r in results],
        "config": dataclasses.asdict(config),
        "seconds": round(time.perf_counter() - start, 1),
    }
