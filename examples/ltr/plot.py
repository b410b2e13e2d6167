"""A PNG of a training run: mean training loss and test NDCG@k per epoch."""

from __future__ import annotations

import numpy as np


def plot_history(history: dict, path: str, title: str) -> None:
    """Training loss and test NDCG per epoch, side by side, as a PNG.

    ``history`` is what ``main.train`` returns: ``epoch_losses`` and ``metrics`` (one
    dict of ``ndcg@k`` per epoch).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = np.arange(1, len(history["epoch_losses"]) + 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(epochs, history["epoch_losses"])
    left.set(
        xlabel="epoch", ylabel="mean training loss per query", title="training loss"
    )
    for name in history["metrics"][0]:
        right.plot(
            epochs,
            [m[name] for m in history["metrics"]],
            label=name.replace("ndcg", "NDCG"),
        )
    right.set(xlabel="epoch", ylabel="test NDCG", title="test NDCG")
    right.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
