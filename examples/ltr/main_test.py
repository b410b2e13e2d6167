"""Runs the LTR example on tiny data: it learns, writes outputs, shards exactly.

pytest puts this folder on ``sys.path`` (no ``__init__.py``), so ``main.py``'s
sibling modules (``features``, ``model``, ``cv``, ...) import by their own names.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import pathlib
import subprocess
import sys

import jax
import numpy as np
import pytest
from cv import cv_folds
from features import (
    FEATURE_TRANSFORMS,
    GaussRank,
    fit_features,
    standardize_within_lists,
)
from flags import parse_flags
from flax import nnx
from model import Scorer

from jaxrank import data

jax.config.update("jax_numpy_rank_promotion", "raise")  # as in tests/conftest.py

HERE = pathlib.Path(__file__).resolve().parent
# Load main.py under a unique name (other examples may also have a main.py).
_spec = importlib.util.spec_from_file_location("ltr_example_main", HERE / "main.py")
example = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = example
_spec.loader.exec_module(example)

TINY = dict(num_features=8, list_size=(3, 12), seed=5)


def numpy_ndcg(scores, labels, offsets, k):
    """float64 NDCG@k per query: gain 2^y - 1, log2 discount, no relevant doc -> 1."""
    out = []
    for lo, hi in zip(offsets[:-1], offsets[1:], strict=True):
        y = labels[lo:hi].astype(np.float64)
        order = np.argsort(-scores[lo:hi], kind="stable")
        discount = 1.0 / np.log2(np.arange(2, hi - lo + 2))
        dcg = np.sum(((2.0 ** y[order] - 1) * discount)[:k])
        ideal = np.sum(((2.0 ** np.sort(y)[::-1] - 1) * discount)[:k])
        out.append(dcg / ideal if ideal > 0 else 1.0)
    return np.array(out)


def test_training_lowers_loss_and_beats_random_ranking():
    train, test = data.make_synthetic((80, 40), **TINY)
    config = example.Config(
        epochs=4,
        batch_size=8,
        hidden=(32, 16),
        learning_rate=3e-3,
        input_dropout=0.0,
        seed=0,
    )
    history = example.train(
        config, train, test, show_progress=False, log=lambda _: None
    )
    losses = history["epoch_losses"]
    assert losses[-1] < 0.8 * losses[0]
    # The reported metrics are those of the returned scores, in the test file's order.
    scores = history["test_scores"]
    assert scores.shape == (test.num_docs,)
    for k in example.CUTOFFS:
        want = numpy_ndcg(scores, test.labels, test.query_offsets, k).mean()
        np.testing.assert_allclose(history["metrics"][-1][f"ndcg@{k}"], want, rtol=1e-5)
    rng = np.random.default_rng(0)
    random_ndcg = np.mean(
        [
            numpy_ndcg(
                rng.random(test.num_docs), test.labels, test.query_offsets, 10
            ).mean()
            for _ in range(20)
        ]
    )
    trained = history["metrics"][-1]["ndcg@10"]
    assert trained > random_ndcg + 0.05, (trained, random_ndcg)
    assert trained > history["metrics"][0]["ndcg@10"] - 0.02


def test_ensemble_members_train_independently_and_average():
    train, test = data.make_synthetic((40, 12), **TINY)
    config = example.Config(
        epochs=2, batch_size=8, hidden=(16, 8), dropout=0.0, ensemble=2, seed=3
    )
    quiet = dict(show_progress=False, log=lambda _: None)
    pair = example.train(config, train, test, **quiet)
    alone = example.train(dataclasses.replace(config, ensemble=1), train, test, **quiet)
    # Member 0 of the pair (same seed, batches and initialisation) is the lone model.
    (_, pair_params), (_, alone_params) = pair["model"], alone["model"]
    jax.tree.map(
        lambda a, b: np.testing.assert_allclose(a[0], b[0], rtol=1e-4, atol=1e-5),
        pair_params,
        alone_params,
    )
    # The ensemble scores the test set with the mean of its members' scores.
    graphdef, params = pair["model"]
    pipeline = fit_features(train, config.feature_transform, config.list_features)
    lists = data.pad_lists(pipeline(test))
    members = [
        np.asarray(
            nnx.merge(graphdef, jax.tree.map(lambda x, m=m: x[m], params))(
                lists.features, lists.mask
            )
        )[lists.mask]
        for m in range(2)
    ]
    assert not np.allclose(members[0], members[1])
    np.testing.assert_allclose(
        pair["test_scores"][lists.doc_index[lists.mask]],
        np.mean(members, axis=0),
        rtol=1e-4,
        atol=1e-5,
    )


def test_features_within_lists_are_standardised_per_query():
    dataset, _ = data.make_synthetic((6, 2), **TINY)
    within = standardize_within_lists(dataset)
    offsets = dataset.query_offsets
    for lo, hi in zip(offsets[:-1], offsets[1:], strict=True):
        x = dataset.features[lo:hi].astype(np.float64)
        std = x.std(axis=0)
        want = (x - x.mean(axis=0)) / np.where(std > 1e-6, std, 1.0)
        np.testing.assert_allclose(within[lo:hi], want, atol=1e-6)
    # An affine change of one query's features (positive scale) leaves them unchanged.
    shifted = dataset.features.copy()
    shifted[offsets[0] : offsets[1]] = 3.0 * shifted[offsets[0] : offsets[1]] - 7.0
    np.testing.assert_allclose(
        standardize_within_lists(dataclasses.replace(dataset, features=shifted)),
        within,
        atol=1e-5,
    )
    for transform in FEATURE_TRANSFORMS:
        prepared = fit_features(dataset, transform, list_features=True)(dataset)
        assert prepared.num_features == 2 * dataset.num_features


def test_gauss_rank_is_monotone_and_normal_on_training_values():
    rng = np.random.default_rng(0)
    features = np.stack([rng.exponential(size=400), rng.random(400) < 0.2], axis=1)
    transform = GaussRank.fit(features)
    out = transform(features)
    # The continuous feature becomes close to standard normal...
    assert abs(out[:, 0].mean()) < 0.02 and abs(out[:, 0].std() - 1) < 0.05
    # ...each feature keeps its order, and new values are clamped at the ends.
    probe = np.array([[-1.0, 0.0], [0.5, 0.5], [2.0, 1.0], [99.0, 2.0]])
    mapped = transform(probe)
    assert np.all(np.diff(mapped, axis=0) >= 0)
    np.testing.assert_allclose(mapped[-1], out.max(axis=0))


def test_list_context_sees_the_list_but_not_its_padding():
    model = Scorer(4, (8, 8), 0.0, list_context=True, rngs=nnx.Rngs(0))
    x = np.random.default_rng(1).normal(size=(2, 5, 4)).astype(np.float32)
    mask = np.array([[True] * 5, [True, True, True, False, False]])
    scores = model(x, mask)
    # Changing the padded documents changes nothing.
    noisy = x.copy()
    noisy[1, 3:] = 100.0
    np.testing.assert_allclose(model(noisy, mask)[1, :3], scores[1, :3], rtol=1e-6)
    # Changing one real document changes the scores of the others in its list only.
    moved = x.copy()
    moved[0, 4] += 1.0
    assert not np.allclose(model(moved, mask)[0, :4], scores[0, :4])
    np.testing.assert_allclose(model(moved, mask)[1], scores[1], rtol=1e-6)
    with pytest.raises(ValueError, match="two hidden layers"):
        Scorer(4, (8,), 0.0, list_context=True, rngs=nnx.Rngs(0))


def test_cross_validation_folds_partition_the_queries():
    folds = cv_folds(23, 5, seed=1)
    assert len(folds) == 5 and {len(f) for f in folds} == {4, 5}
    np.testing.assert_array_equal(np.sort(np.concatenate(folds)), np.arange(23))


def test_flags_come_from_the_dataclass_fields():
    def parse(*argv):
        return parse_flags(argv, example.Config, example.Run, description="")

    config, run = parse()
    assert config == example.Config() and run == example.Run()
    config, run = parse(
        *("--hidden", "16,8", "--no-list-context", "--feature-transform", "log"),
        *("--learning-rate", "0.5", "--epochs", "3", "--train", "a.txt"),
        "--no-progress",
    )
    assert config == dataclasses.replace(
        example.Config(),
        hidden=(16, 8),
        list_context=False,
        feature_transform="log",
        learning_rate=0.5,
        epochs=3,
    )
    assert (run.train, run.test, run.progress) == ("a.txt", None, False)
    for bad in (["--feature-transform", "nope"], ["--lambda-weights", "x"]):
        with pytest.raises(SystemExit):
            parse(*bad)


def write_letor(path, dataset):
    lines = []
    for q, (lo, hi) in enumerate(
        zip(dataset.query_offsets[:-1], dataset.query_offsets[1:], strict=True)
    ):
        for i in range(lo, hi):
            features = " ".join(
                f"{j + 1}:{v:g}" for j, v in enumerate(dataset.features[i]) if v
            )
            lines.append(f"{int(dataset.labels[i])} qid:{q} {features} # doc {i}")
    path.write_text("\n".join(lines) + "\n")


def test_command_line_on_letor_files(tmp_path, capsys):
    train, test = data.make_synthetic((40, 12), **TINY)
    write_letor(tmp_path / "train.txt", train)
    write_letor(tmp_path / "test.txt", test)
    result = example.main(
        [
            "--train",
            str(tmp_path / "train.txt"),
            "--test",
            str(tmp_path / "test.txt"),
            "--epochs",
            "2",
            "--hidden",
            "16,8",
            # Exported without the `_loss` suffix: found all the same.
            "--loss",
            "pairwise_mean_squared_error",
            "--no-progress",
            "--predictions-out",
            str(tmp_path / "pred.txt"),
            "--plot-out",
            str(tmp_path / "p.png"),
        ]
    )
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert json.loads(last) == result
    assert set(result) >= {"ndcg@1", "ndcg@3", "ndcg@5", "ndcg@10"}
    assert result["loss"] == "pairwise_mean_squared_error"
    predictions = np.loadtxt(tmp_path / "pred.txt")
    assert predictions.shape == (test.num_docs,)
    # The written scores, in file order, reproduce the reported NDCG@10.
    np.testing.assert_allclose(
        numpy_ndcg(predictions, test.labels, test.query_offsets, 10).mean(),
        result["ndcg@10"],
        rtol=1e-4,
    )
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(SystemExit, match="unknown --loss 'nope'"):
        example.main(["--loss", "nope"])


TRAJECTORY = """
import json, sys
sys.path.insert(0, {here!r})
import jax, main as example
from jaxrank import data
train, test = data.make_synthetic((48, 16), num_features=8, list_size=(3, 12), seed=5)
config = example.Config(epochs=1, batch_size=8, hidden=(16, 8), dropout=0.2, seed=0)
history = example.train(config, train, test, show_progress=False, log=lambda _: None)
print(json.dumps({{"devices": jax.device_count(), "losses": history["step_losses"],
                  "ndcg": history["metrics"][-1]["ndcg@10"]}}))
"""


def run_on_host_devices(count):
    env = dict(
        os.environ,
        XLA_FLAGS=f"--xla_force_host_platform_device_count={count}",
        JAX_PLATFORMS="cpu",
    )
    out = subprocess.run(
        [sys.executable, "-c", TRAJECTORY.format(here=str(HERE))],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_eight_devices_follow_the_single_device_trajectory():
    single, sharded = run_on_host_devices(1), run_on_host_devices(8)
    assert (single["devices"], sharded["devices"]) == (1, 8)
    assert len(single["losses"]) == len(sharded["losses"]) > 5
    np.testing.assert_allclose(
        sharded["losses"], single["losses"], rtol=1e-4, atol=1e-5
    )
    np.testing.assert_allclose(sharded["ndcg"], single["ndcg"], rtol=1e-4)
