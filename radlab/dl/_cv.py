"""Patient-grouped stratified repeated k-fold CV of CNNs, ensembles, and the shared predictions table."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from sklearn.model_selection import StratifiedGroupKFold

from radlab.dl._data import ChannelNormalizer, _check_grid, make_dataset
from radlab.dl._nets import ResNet, default_device
from radlab.dl._train import TrainingResult, aggregate_slices, predict, train

try:  # the predictions-table contract is owned by radlab.validation
    from radlab.validation import PREDICTION_COLUMNS
except ImportError:
    PREDICTION_COLUMNS = ["case", "cohort", "split", "fold", "repeat", "model", "score", "label", "time", "event"]

__all__ = ["PREDICTION_COLUMNS", "grouped_splits", "cross_validate", "CrossValidationResult", "ensemble"]


def grouped_splits(labels: pd.Series, *, groups: pd.Series | None = None, n_splits: int = 5, n_repeats: int = 3,
                   random_state: int = 0):
    """Patient-grouped, stratified, repeated k-fold: yields ``(repeat, fold, train_cases, test_cases)``.

    Cases of one patient (``groups``: case id -> patient id; default each case is its own patient) always
    fall on the same side. Each repeat reshuffles with its own seed.

    Examples
    --------
    >>> y = pd.Series([0, 1] * 10, index=[f"c{i}" for i in range(20)])
    >>> folds = list(grouped_splits(y, n_splits=5, n_repeats=3))
    >>> len(folds), sorted(len(f[3]) for f in folds[:5])
    (15, [4, 4, 4, 4, 4])
    """
    labels = pd.Series(labels)
    cases = labels.index.astype(str).to_numpy()
    g = cases if groups is None else pd.Series(groups).reindex(labels.index).to_numpy()
    if pd.isna(g).any():
        raise ValueError("The 'groups' parameter must give a patient for every case in 'labels'.")
    for repeat in range(n_repeats):
        cv = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=random_state + repeat)
        for fold, (tr, te) in enumerate(cv.split(cases, labels.to_numpy(), g)):
            yield repeat, fold, list(cases[tr]), list(cases[te])


def _inner_split(labels: pd.Series, groups, validation_size: float, seed: int):
    k = min(max(2, int(round(1 / validation_size))), int(labels.value_counts().min()))
    if k < 2:
        raise ValueError(f"A training fold needs at least 2 cases of each class to hold out validation cases; "
                         f"got class counts {labels.value_counts().to_dict()}.")
    g = labels.index.to_numpy() if groups is None else pd.Series(groups).reindex(labels.index).to_numpy()
    cv = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    tr, va = next(cv.split(labels.index, labels.to_numpy(), g))
    return list(labels.index[tr]), list(labels.index[va])


def _table(pred: pd.DataFrame, *, cohort, split, fold, repeat, model, time=None, event=None) -> pd.DataFrame:
    per_case = aggregate_slices(pred)
    out = pd.DataFrame({"case": per_case["case"].astype(str), "cohort": cohort, "split": split, "fold": fold,
                        "repeat": repeat, "model": model, "score": per_case["score"].astype(float),
                        "label": per_case["label"].astype(float)})
    for name, s in (("time", time), ("event", event)):
        out[name] = np.nan if s is None else pd.Series(s, dtype=float).reindex(out["case"]).to_numpy()
    return out[PREDICTION_COLUMNS]


def ensemble(predictions: pd.DataFrame, *, name: str | None = None) -> pd.DataFrame:
    """Average scores over folds, repeats (models) per case, cohort, split and model.

    The result is again a predictions table, with ``fold = repeat = -1`` and ``model`` renamed to
    ``name`` (default: ``"<model> ensemble"``). Slices were already averaged per case.

    Examples
    --------
    >>> t = pd.DataFrame({"case": ["a", "a"], "cohort": "x", "split": "external", "fold": [0, 1],
    ...                   "repeat": 0, "model": "cnn", "score": [0.2, 0.6], "label": 1.0,
    ...                   "time": np.nan, "event": np.nan})
    >>> ensemble(t)[["case", "fold", "model", "score"]]
      case  fold         model  score
    0    a    -1  cnn ensemble    0.4
    """
    keys = ["case", "cohort", "split", "model"]
    out = predictions.groupby(keys, sort=False, dropna=False).agg(
        score=("score", "mean"), label=("label", "first"), time=("time", "first"), event=("event", "first"))
    out = out.reset_index()
    out["fold"], out["repeat"] = -1, -1
    out["model"] = name if name is not None else out["model"] + " ensemble"
    return out[PREDICTION_COLUMNS]


@dataclass
class CrossValidationResult:
    """Out-of-fold and external predictions (tidy table), trained models, normalisers, histories, and the
    cases of each fold (``splits``: repeat, fold, case, role in {"fit", "validation", "test"})."""

    predictions: pd.DataFrame
    models: dict[tuple[int, int], torch.nn.Module] = field(repr=False)
    normalizers: dict[tuple[int, int], ChannelNormalizer] = field(repr=False)
    histories: pd.DataFrame = field(repr=False)
    splits: pd.DataFrame = field(repr=False)

    def ensemble(self, *, name: str | None = None) -> pd.DataFrame:
        """:func:`ensemble` of the predictions."""
        return ensemble(self.predictions, name=name)


def cross_validate(grid, labels: pd.Series, *, dim: int = 3, model: Callable[[], torch.nn.Module] | None = None,
                   model_name: str = "cnn", cohort: str = "development", mask=None, groups=None,
                   n_splits: int = 5, n_repeats: int = 3, validation_size: float = 0.15,
                   external: Mapping[str, tuple] | None = None, time=None, event=None, random_state: int = 0,
                   device=None, progress: bool = True, **train_kwargs) -> CrossValidationResult:
    """Patient-grouped stratified repeated k-fold CV of a CNN on a cohort grid.

    For every repeat and fold: the training cases are split again (grouped, stratified) into fitting and
    early-stopping sets; a :class:`ChannelNormalizer` is fitted on the fitting cases only; a fresh model is
    seeded, trained with :func:`train` and scores the held-out fold (``split="test"``) and every external
    cohort (``split="external"``). 2D models score slices, averaged per case.

    Parameters
    ----------
    grid : DataArray (case, channel, z, y, x)
    labels : Series (case id -> 0/1)
    dim : 2 (slices) or 3 (boxes)
    model : callable returning a fresh nn.Module (default: ``ResNet(n_channels, dim=dim)``)
    model_name, cohort : values of the ``model`` and ``cohort`` columns
    mask : DataArray (case, [channel,] z, y, x); for ``dim=2``, keep only slices that contain ROI
    groups : Series case id -> patient id
    n_splits, n_repeats : k-fold settings (5 x 3 = 15 models)
    validation_size : share of each training fold used for early stopping
    external : {name: (grid, labels) or (grid, labels, mask)} scored by every fold model
    time, event : Series (case id -> value) copied into the table; NaN otherwise
    random_state : int
    train_kwargs : passed to :func:`train` (epochs, batch_size, lr, augment, patience, ...)

    Returns
    -------
    CrossValidationResult
        ``predictions`` has the columns ``PREDICTION_COLUMNS``.
    """
    _check_grid(grid)
    labels = pd.Series(labels)
    labels.index = labels.index.astype(str)
    device = torch.device(device) if device is not None else default_device()
    model = model or (lambda: ResNet(grid.sizes["channel"], dim=dim))
    rows, models, normalizers, histories, splits = [], {}, {}, [], []
    for repeat, fold, train_cases, test_cases in grouped_splits(
            labels, groups=groups, n_splits=n_splits, n_repeats=n_repeats, random_state=random_state):
        seed = random_state + 1000 * repeat + fold
        fit_cases, val_cases = _inner_split(labels.loc[train_cases], groups, validation_size, seed)
        norm = ChannelNormalizer().fit(grid.sel(case=fit_cases))
        splits += [(repeat, fold, c, role) for role, cs in (("fit", fit_cases), ("validation", val_cases),
                                                             ("test", test_cases)) for c in cs]
        data = {name: make_dataset(grid, labels, dim=dim, cases=cases, mask=mask, normalizer=norm)
                for name, cases in (("fit", fit_cases), ("validation", val_cases), ("test", test_cases))}
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net = model()
        result: TrainingResult = train(net, data["fit"], data["validation"], random_state=seed, device=device,
                                       progress=progress, **train_kwargs)
        common = dict(fold=fold, repeat=repeat, model=model_name)
        rows.append(_table(predict(result.model, data["test"]), cohort=cohort, split="test", time=time,
                           event=event, **common))
        for name, spec in (external or {}).items():
            ext_grid, ext_labels, *ext_mask = spec
            ds = make_dataset(ext_grid, ext_labels, dim=dim, mask=ext_mask[0] if ext_mask else None,
                              normalizer=norm)
            rows.append(_table(predict(result.model, ds), cohort=name, split="external", time=time, event=event,
                               **common))
        models[repeat, fold], normalizers[repeat, fold] = result.model.cpu(), norm
        histories.append(result.history.assign(repeat=repeat, fold=fold))
    return CrossValidationResult(pd.concat(rows, ignore_index=True), models, normalizers,
                                 pd.concat(histories, ignore_index=True),
                                 pd.DataFrame(splits, columns=["repeat", "fold", "case", "role"]))
