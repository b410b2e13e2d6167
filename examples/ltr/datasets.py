"""The example's data: LETOR/SVMlight files, or the synthetic dataset.

:func:`load_data` returns the (train, test) pair that ``main.py`` trains and evaluates
on, the training queries alone for cross-validation, or a held-out share of them as
the test set (:func:`cv.hold_out`).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from cv import hold_out

from jaxrank import data as ltr_data


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


def load_data(
    run, seed: int
) -> tuple[ltr_data.RankingDataset, ltr_data.RankingDataset | None]:
    """(train, test): LETOR/SVMlight files, or the synthetic dataset if there are none.

    ``run`` names the files and the split: ``train``, ``test`` (paths or None),
    ``cv_folds`` (if nonzero, cross-validation: no test set) and ``validation_split``
    (if nonzero, the test set is that share of the training queries instead), as
    ``main.Run`` does. ``seed`` seeds the synthetic dataset and the split. A sparse
    file may name fewer features than the other: both get the larger count.
    """
    train_file, test_file, cv = run.train, run.test, run.cv_folds > 0
    if (train_file is None) != (test_file is None) and not (run.validation_split or cv):
        raise SystemExit(
            "pass both --train and --test (or neither, for synthetic data)"
        )
    if train_file is None:
        train, test = ltr_data.make_synthetic(seed=seed)
    else:
        train = ltr_data.load_svmlight(train_file)
        test = ltr_data.load_svmlight(test_file) if test_file and not cv else None
    if cv:
        return train, None
    if run.validation_split:
        train, test = hold_out(train, run.validation_split, seed)
    width = max(train.num_features, test.num_features)
    return widen(train, width), widen(test, width)
