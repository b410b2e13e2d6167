"""keras_rs's usage with one import changed: a Keras 3 ranking model trained with
jaxrank's Keras losses and metrics on jaxrank's synthetic data.

    KERAS_BACKEND=jax python examples/keras/ranker.py --epochs 10

A ``keras.Sequential`` scores every document of a padded list; ``fit`` minimises the
pairwise hinge, ``evaluate`` reports NDCG@10 over the test queries, and the model
is saved as ``.keras`` and reloaded with plain ``keras.models.load_model``.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import tempfile

os.environ.setdefault("KERAS_BACKEND", "jax")  # before Keras is first imported

import keras  # noqa: E402
import numpy as np  # noqa: E402

import jaxrank  # noqa: E402
import jaxrank.keras  # noqa: E402  (keras_rs users: was `import keras_rs`)


def padded(split, list_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Features ``(queries, list_size, features)`` and labels, -1 in padded slots
    (the losses and metrics ignore them)."""
    lists = jaxrank.data.pad_lists(split, list_size)
    return lists.features, lists.labels


def build_model(list_size: int, num_features: int) -> keras.Model:
    """One score per document: a small MLP applied to every slot of a list."""
    return keras.Sequential(
        [
            keras.Input((list_size, num_features)),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(1),
            keras.layers.Reshape((list_size,)),
        ]
    )


def main(
    num_queries: tuple[int, int] = (400, 100),
    epochs: int = 10,
    batch_size: int = 32,
    seed: int = 0,
    out_dir: str | None = None,
) -> dict[str, object]:
    """Trains, evaluates, saves and reloads; returns the losses and test metrics."""
    train, test = jaxrank.data.make_synthetic(num_queries, seed=seed)
    list_size = int(max(train.list_sizes.max(), test.list_sizes.max()))
    x_train, y_train = padded(train, list_size)
    x_test, y_test = padded(test, list_size)
    mean, std = train.features.mean(0), train.features.std(0) + 1e-6
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std

    keras.utils.set_random_seed(seed)
    model = build_model(list_size, train.num_features)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=jaxrank.keras.losses.PairwiseHingeLoss(),
        metrics=[jaxrank.keras.metrics.NDCG(k=10)],
    )
    history = model.fit(
        x_train, y_train, batch_size=batch_size, epochs=epochs, verbose=2
    )
    test_loss, test_ndcg = model.evaluate(x_test, y_test, verbose=0)
    print(f"test loss {test_loss:.4f}  NDCG@10 {test_ndcg:.4f}")

    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(out_dir or tmp) / "ranker.keras"
        model.save(path)
        reloaded = keras.models.load_model(path)  # no custom_objects needed
        reloaded_metrics = reloaded.evaluate(x_test, y_test, verbose=0)
    print(f"reloaded from {path.name}: NDCG@10 {reloaded_metrics[1]:.4f}")
    return {
        "train_loss": history.history["loss"],
        "test": (test_loss, test_ndcg),
        "reloaded": tuple(reloaded_metrics),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    main(epochs=args.epochs, batch_size=args.batch_size, seed=args.seed)
