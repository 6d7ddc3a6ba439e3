"""Training loop (class weights, augmentation, early stopping on validation AUC, seeds) and prediction."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import roc_auc_score
from torch import nn

from radlab.dl._nets import default_device

__all__ = ["TrainingResult", "train", "predict", "aggregate_slices"]


@dataclass
class TrainingResult:
    """A trained model (best validation epoch restored) and its per-epoch history."""

    model: nn.Module
    history: pd.DataFrame
    best_epoch: int
    best_score: float


def _class_weights(labels: np.ndarray, class_weight) -> dict[int, float]:
    if class_weight is None:
        return {0: 1.0, 1: 1.0}
    if class_weight == "balanced":
        n = len(labels)
        counts = {c: int((labels == c).sum()) for c in (0, 1)}
        if min(counts.values()) == 0:
            raise ValueError(f"Training data must contain both classes; got counts {counts}.")
        return {c: n / (2 * counts[c]) for c in (0, 1)}
    if isinstance(class_weight, dict):
        return {0: float(class_weight[0]), 1: float(class_weight[1])}
    raise ValueError(f"The 'class_weight' parameter of train must be 'balanced', a dict or None. "
                     f"Got {class_weight!r} instead.")


def aggregate_slices(scores: pd.DataFrame, *, how: str = "mean") -> pd.DataFrame:
    """Slice -> case: one score per case (``mean`` of slice probabilities, ``median`` or ``max``).

    Examples
    --------
    >>> s = pd.DataFrame({"case": ["a", "a", "b"], "z": [0, 1, 0], "score": [0.2, 0.4, 0.9], "label": [0., 0, 1]})
    >>> aggregate_slices(s)
      case  score  label
    0    a    0.3    0.0
    1    b    0.9    1.0
    """
    if how not in ("mean", "median", "max"):
        raise ValueError(f"The 'how' parameter of aggregate_slices must be 'mean', 'median' or 'max'. "
                         f"Got {how!r} instead.")
    out = scores.groupby("case", sort=False).agg(score=("score", how), label=("label", "first"))
    return out.reset_index()


@torch.no_grad()
def predict(model: nn.Module, dataset, *, batch_size: int = 32, device=None) -> pd.DataFrame:
    """Probabilities (sigmoid of the first logit) for every item of a dataset.

    Returns a DataFrame with ``case``, ``z`` (slice index; -1 for boxes), ``score`` and ``label``.
    Use :func:`aggregate_slices` to get one score per case from a slice dataset.
    """
    device = torch.device(device) if device is not None else next(model.parameters()).device
    was_training = model.training
    model.eval()
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False)
    scores, labels = [], []
    for x, y in loader:
        scores.append(torch.sigmoid(model(x.to(device))[:, 0]).cpu())
        labels.append(y)
    model.train(was_training)
    out = dataset.items.copy()
    out["score"] = torch.cat(scores).numpy().astype(float) if scores else np.array([], float)
    out["label"] = torch.cat(labels).numpy().astype(float) if labels else np.array([], float)
    return out


def _validation_score(model, dataset, device, loss_fn) -> tuple[float, float]:
    """(case-level AUC, mean loss) on a validation dataset; AUC is NaN when it has one class."""
    pred = predict(model, dataset, device=device)
    p = np.clip(pred["score"].to_numpy(), 1e-7, 1 - 1e-7)
    y = pred["label"].to_numpy()
    loss = float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    per_case = aggregate_slices(pred)
    auc = np.nan
    if per_case["label"].nunique() == 2:
        auc = float(roc_auc_score(per_case["label"], per_case["score"]))
    return auc, loss


def train(model: nn.Module, train_data, validation_data=None, *, epochs: int = 30, batch_size: int = 16,
          lr: float = 1e-3, weight_decay: float = 1e-4, class_weight="balanced", augment=None,
          patience: int | None = 8, random_state: int = 0, device=None, progress: bool = True) -> TrainingResult:
    """Train a binary CNN with weighted BCE, AdamW, optional augmentation and early stopping.

    Early stopping watches the case-level AUC on ``validation_data`` (slice scores averaged per case), ties
    broken by the validation loss (the loss alone when that set holds one class); without validation data,
    the training loss. The best epoch's weights are restored. Seeds: ``random_state`` fixes shuffling,
    augmentation and dropout without touching the global torch RNG state.

    Parameters
    ----------
    model : nn.Module returning logits (N, >=1); the first logit is the positive class.
    train_data, validation_data : radlab datasets (:class:`SliceDataset` / :class:`BoxDataset`)
    epochs, batch_size, lr, weight_decay : optimisation settings
    class_weight : "balanced", {0: w0, 1: w1} or None
    augment : callable(batch, generator) -> batch, e.g. :class:`Augment`; training batches only
    patience : epochs without improvement before stopping (None: never stop early)
    random_state : int
    device : torch device; default CUDA when available, else CPU
    progress : show a tqdm progress bar over epochs

    Returns
    -------
    TrainingResult
    """
    from tqdm.auto import tqdm

    device = torch.device(device) if device is not None else default_device()
    labels = train_data.case_labels.reindex(train_data.items["case"]).to_numpy()
    weights = _class_weights(labels, class_weight)
    model.to(device)
    loss_fn = nn.BCEWithLogitsLoss(reduction="none")
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    generator = torch.Generator().manual_seed(random_state)
    loader = torch.utils.data.DataLoader(train_data, batch_size=batch_size, shuffle=True, generator=generator,
                                         drop_last=len(train_data) > batch_size)
    history, best, best_state, best_epoch, stale = [], (-np.inf, -np.inf), None, -1, 0
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(random_state)
        bar = tqdm(range(epochs), desc="training", disable=not progress, leave=False)
        for epoch in bar:
            model.train()
            total, n = 0.0, 0
            for x, y in loader:
                x, y = x.to(device), y.to(device)
                if augment is not None:
                    x = augment(x, generator)
                w = torch.where(y > 0.5, weights[1], weights[0]).to(device)
                loss = (loss_fn(model(x)[:, 0], y) * w).mean()
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                total, n = total + loss.item() * len(y), n + len(y)
            row = {"epoch": epoch, "train_loss": total / max(n, 1)}
            if validation_data is not None:
                auc, vloss = _validation_score(model, validation_data, device, loss_fn)
                score = (auc if np.isfinite(auc) else -np.inf, -vloss)
                row.update(validation_auc=auc, validation_loss=vloss)
            else:
                score = (-np.inf, -row["train_loss"])
            history.append(row)
            bar.set_postfix({k: round(v, 3) for k, v in row.items() if k != "epoch"})
            if score > best:
                best, best_epoch, stale = score, epoch, 0
                best_state = copy.deepcopy(model.state_dict())
            else:
                stale += 1
                if patience is not None and stale >= patience:
                    break
    model.load_state_dict(best_state)
    model.eval()
    return TrainingResult(model, pd.DataFrame(history), best_epoch, float(best[0]))
