"""Tests of the public jaxrank.data namespace and the synthetic dataset."""

from __future__ import annotations

import numpy as np
import pytest

from jaxrank import data


def test_public_names():
    assert sorted(data.__all__) == [
        "PackedLists",
        "PaddedLists",
        "RankingDataset",
        "batches",
        "bucketize",
        "default_list_sizes",
        "load_svmlight",
        "make_synthetic",
        "pack_lists",
        "pad_lists",
        "scatter_scores",
    ]
    for name in data.__all__:
        assert getattr(data, name).__module__.startswith("jaxrank._src.")


def test_synthetic_is_deterministic_and_well_formed():
    a = data.make_synthetic((30, 10), num_features=10, list_size=(4, 12), seed=3)
    b = data.make_synthetic((30, 10), num_features=10, list_size=(4, 12), seed=3)
    c = data.make_synthetic((30, 10), num_features=10, list_size=(4, 12), seed=4)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.features, y.features)
        np.testing.assert_array_equal(x.labels, y.labels)
    assert not np.array_equal(a[0].features, c[0].features)
    train, test = a
    assert (train.num_queries, test.num_queries, train.num_features) == (30, 10, 10)
    sizes = np.concatenate([train.list_sizes, test.list_sizes])
    assert sizes.min() >= 4 and sizes.max() <= 12
    assert set(np.unique(np.concatenate([train.labels, test.labels]))) <= {
        0,
        1,
        2,
        3,
        4,
    }
    assert train.features.dtype == np.float32
    assert len(set(train.query_ids) | set(test.query_ids)) == 40
    with pytest.raises(ValueError, match="num_features"):
        data.make_synthetic(num_features=2)


def test_synthetic_labels_follow_the_features():
    """Without noise, a linear fit to the labels ranks far better than chance."""
    train, test = data.make_synthetic((300, 100), noise=0.0, seed=1)
    x = np.log1p(np.abs(train.features))
    coef, *_ = np.linalg.lstsq(np.c_[x, np.ones(len(x))], train.labels, rcond=None)
    pred = np.c_[np.log1p(np.abs(test.features)), np.ones(test.num_docs)] @ coef
    # Kendall-like agreement on within-query pairs of different labels.
    agree = total = 0
    for lo, hi in zip(test.query_offsets[:-1], test.query_offsets[1:], strict=True):
        dy = np.sign(test.labels[lo:hi, None] - test.labels[None, lo:hi])
        ds = np.sign(pred[lo:hi, None] - pred[None, lo:hi])
        agree += np.sum((dy * ds) > 0)
        total += np.sum(dy != 0)
    assert agree / total > 0.65  # chance is 0.5
