"""Runs the Keras example on tiny data: the loss falls, the reload evaluates the
same."""

import importlib.util
import pathlib
import sys

import jax
import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
# Loaded by path under a unique name: pytest imports every example by its basename.
_spec = importlib.util.spec_from_file_location(
    "keras_example_ranker", HERE / "ranker.py"
)
example = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = example
_spec.loader.exec_module(example)


def test_example_learns_and_reloads(tmp_path):
    # Keras's layers rely on implicit rank promotion (tests run with "raise").
    with jax.numpy_rank_promotion("allow"):
        result = example.main(
            num_queries=(60, 20), epochs=3, batch_size=16, out_dir=str(tmp_path)
        )
    losses = result["train_loss"]
    assert losses[-1] < losses[0]
    assert 0.0 < result["test"][1] <= 1.0
    np.testing.assert_allclose(result["reloaded"], result["test"], rtol=1e-6)
    assert (tmp_path / "ranker.keras").exists()
