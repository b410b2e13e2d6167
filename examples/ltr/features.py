"""The example's input features, fitted on the training documents only.

Each feature goes through a global transform (``gauss-rank``: :class:`GaussRank`, or
``log``: signed ``log1p``), is standardised (:class:`Standardizer`), and optionally
gets a second copy standardised within its own query (:func:`standardize_within_lists`).
:func:`fit_features` builds the whole pipeline, a :class:`Features`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Literal, get_args

import jax
import numpy as np

from jaxrank import data as ltr_data

FeatureTransform = Literal["log", "gauss-rank"]
FEATURE_TRANSFORMS: tuple[str, ...] = get_args(FeatureTransform)


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
    """The model's input features, fitted on the training set (:func:`fit_features`).

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


def fit_features(
    train_set: ltr_data.RankingDataset,
    transform: FeatureTransform = "gauss-rank",
    list_features: bool = True,
) -> Features:
    """The feature pipeline, fitted on the documents of ``train_set``.

    ``transform`` picks the global transform (``gauss-rank`` or ``log``, see
    :class:`Features`); ``list_features`` adds the within-query copy of every feature.
    """
    if transform not in FEATURE_TRANSFORMS:
        raise ValueError(
            f"unknown feature transform {transform!r}; choose from {FEATURE_TRANSFORMS}"
        )
    features, gauss_rank = train_set.features, None
    if transform == "gauss-rank":
        gauss_rank = GaussRank.fit(features)
        features = gauss_rank(features)
    # The log squash is part of the "log" transform only.
    standardizer = Standardizer.fit(features, log=gauss_rank is None)
    return Features(gauss_rank, standardizer, list_features)
