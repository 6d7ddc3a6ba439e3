"""Robustness screening: perturbed copies of each case, per-feature ICC across perturbations, a stability
selector and the correlation of each feature with tumour volume."""

from __future__ import annotations

from numbers import Real

import numpy as np
import pandas as pd
import xarray as xr
from sklearn.base import BaseEstimator, _fit_context
from sklearn.feature_selection import SelectorMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["perturb_case", "perturbations", "robustness", "icc", "StabilitySelector", "volume_correlation"]


def perturb_case(ds: xr.Dataset, *, noise: float = 0.0, angle: float = 0.0, shift=(0.0, 0.0, 0.0), morph: int = 0,
                 random_state: int = 0) -> xr.Dataset:
    """One perturbed copy of a case: Gaussian noise (``noise`` x the image's SD inside the masks), a rigid
    rotation by ``angle`` degrees about z and a translation ``shift`` (mm, x y z) about the ROI centre
    (images linear, masks nearest), then mask dilation (``morph`` > 0) or erosion (< 0) by ``|morph|`` voxels."""
    import SimpleITK as sitk

    from radlab.io._geometry import from_sitk, to_sitk

    rng = np.random.default_rng(random_state)
    masks = [v for v in ds.data_vars if ds[v].attrs.get("role") == "mask"]
    out = {}
    transform = None
    if angle or any(shift):
        ref = to_sitk(ds[masks[0]].compute()) if masks else to_sitk(ds[next(iter(ds.data_vars))].compute())
        stats = sitk.LabelShapeStatisticsImageFilter()
        stats.Execute(sitk.Cast(ref > 0, sitk.sitkUInt8))
        centre = stats.GetCentroid(1) if stats.HasLabel(1) else ref.TransformContinuousIndexToPhysicalPoint(
            [(s - 1) / 2 for s in ref.GetSize()])
        # Resample pulls from T(p): the inverse motion, so the content moves by +shift and rotates by +angle
        transform = sitk.Euler3DTransform(centre, 0.0, 0.0, -np.deg2rad(angle), tuple(-float(s) for s in shift))
    for var in ds.data_vars:
        arr = ds[var].compute()
        is_mask = arr.attrs.get("role") == "mask"
        if transform is not None:
            img = to_sitk(arr) if is_mask else sitk.Cast(to_sitk(arr), sitk.sitkFloat32)
            moved = sitk.Resample(img, img, transform, sitk.sitkNearestNeighbor if is_mask else sitk.sitkLinear, 0.0)
            arr = arr.copy(data=from_sitk(moved).values.astype(arr.dtype))
        if is_mask and morph:
            img = sitk.Cast(to_sitk(arr) > 0, sitk.sitkUInt8)
            op = sitk.BinaryDilate if morph > 0 else sitk.BinaryErode
            arr = arr.copy(data=sitk.GetArrayFromImage(op(img, [abs(int(morph))] * 3, sitk.sitkBall, 0, 1)).astype(arr.dtype))
        out[var] = arr
    if noise:
        roi = np.zeros(next(iter(out.values())).shape, bool)
        for m in masks:
            roi |= np.asarray(ds[m].values) > 0
        for var, arr in out.items():
            if arr.attrs.get("role") == "image":
                sd = float(np.std(arr.values[roi])) if roi.any() and arr.shape == roi.shape else float(np.std(arr.values))
                out[var] = arr.copy(data=(arr.values + rng.normal(0, noise * sd, arr.shape)).astype(arr.dtype))
    res = xr.Dataset(out, attrs=ds.attrs)
    for var in res.data_vars:
        res[var].attrs["provenance"] = [*ds[var].attrs.get("provenance", []), {
            "step": "perturb_case", "noise": noise, "angle": angle, "shift": list(shift), "morph": morph,
            "random_state": random_state}]
    return res


def perturbations(ds: xr.Dataset, *, n: int = 6, noise: float = 0.1, angle: float = 5.0, shift: float = 1.0,
                  morph: bool = True, random_state: int = 0) -> list[tuple[str, xr.Dataset]]:
    """``n`` perturbed copies plus the original ("p0"): each combines noise, a random rotation in
    [-angle, angle] degrees, a random shift up to ``shift`` mm and (alternately) mask erosion/dilation."""
    rng = np.random.default_rng(random_state)
    out = [("p0", ds)]
    for i in range(1, n + 1):
        out.append((f"p{i}", perturb_case(
            ds, noise=noise, angle=float(rng.uniform(-angle, angle)), shift=tuple(rng.uniform(-shift, shift, 3)),
            morph=(1 if i % 2 else -1) if morph and i > n // 2 else 0, random_state=int(rng.integers(2**31)))))
    return out


def robustness(cohort, params="demo", *, n: int = 6, noise: float = 0.1, angle: float = 5.0, shift: float = 1.0,
               morph: bool = True, random_state: int = 0, ids=None, **extract_kwargs) -> pd.DataFrame:
    """Features of every case under ``n`` perturbations: rows indexed by (case, perturbation)."""
    from radlab.features._extract import _cases, extract

    def cases():
        for case, ds in _cases(cohort, ids):
            if isinstance(ds, BaseException):
                continue
            for name, pert in perturbations(ds, n=n, noise=noise, angle=angle, shift=shift, morph=morph,
                                            random_state=random_state):
                yield f"{case}#{name}", pert

    df = extract(list(cases()), params, **extract_kwargs)
    parts = df.index.str.rsplit("#", n=1)
    df.index = pd.MultiIndex.from_tuples([tuple(p) for p in parts], names=["case", "perturbation"])
    return df


def mean_squares(table: pd.DataFrame) -> tuple[int, int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The ANOVA of :func:`icc` per feature of a (case, rater)-indexed table, cases missing a rater dropped:
    (cases n, raters k, mean squares between cases, between raters, residual, within cases)."""
    wide = table.unstack(level=-1).dropna()
    k = wide.columns.get_level_values(-1).nunique()
    Y = wide.to_numpy(float).reshape(len(wide), len(table.columns), k).transpose(1, 0, 2)  # feature, case, rater
    n = Y.shape[1]
    grand = Y.mean(axis=(1, 2), keepdims=True)
    ms_rows = k * ((Y.mean(axis=2, keepdims=True) - grand) ** 2).sum(axis=(1, 2)) / (n - 1)
    ms_cols = n * ((Y.mean(axis=1, keepdims=True) - grand) ** 2).sum(axis=(1, 2)) / (k - 1)
    resid = Y - Y.mean(axis=2, keepdims=True) - Y.mean(axis=1, keepdims=True) + grand
    ms_err = (resid**2).sum(axis=(1, 2)) / ((n - 1) * (k - 1))
    ms_within = ((Y - Y.mean(axis=2, keepdims=True)) ** 2).sum(axis=(1, 2)) / (n * (k - 1))
    return n, k, ms_rows, ms_cols, ms_err, ms_within


def icc(table: pd.DataFrame, *, kind: str = "3,1") -> pd.Series:
    """Per-feature intraclass correlation across perturbations (or raters, test/retest).

    ``table`` is indexed by (case, perturbation) with one column per feature (as :func:`robustness` gives).
    ``kind="3,1"``: two-way mixed, consistency, single measurement; ``"2,1"``: two-way random, absolute
    agreement, single measurement; ``"1,1"``: one-way random, single measurement, for raters that differ from
    case to case (LIDC's anonymous readers) (Shrout & Fleiss 1979; McGraw & Wong 1996). Cases with a missing
    perturbation are dropped.

    Examples
    --------
    >>> import pandas as pd
    >>> idx = pd.MultiIndex.from_product([["a", "b", "c"], ["p0", "p1"]])
    >>> t = pd.DataFrame({"f": [1.0, 1.1, 2.0, 2.1, 3.0, 3.1]}, index=idx)
    >>> round(float(icc(t)["f"]), 6), round(float(icc(t, kind="2,1")["f"]), 4)
    (1.0, 0.995)
    """
    if kind not in ("3,1", "2,1", "1,1"):
        raise ValueError(f"The 'kind' parameter of icc must be '3,1', '2,1' or '1,1'. Got {kind!r} instead.")
    n, k, ms_rows, ms_cols, ms_err, ms_within = mean_squares(table)
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "1,1":
            value = (ms_rows - ms_within) / (ms_rows + (k - 1) * ms_within)
        elif kind == "3,1":
            value = (ms_rows - ms_err) / (ms_rows + (k - 1) * ms_err)
        else:
            value = (ms_rows - ms_err) / (ms_rows + (k - 1) * ms_err + k * (ms_cols - ms_err) / n)
    return pd.Series(value, index=table.columns, name=f"ICC({kind})")


class StabilitySelector(SelectorMixin, BaseEstimator):
    """Keep features whose ICC (from :func:`icc` on perturbed or test-retest data) is at least ``threshold``.

    ``icc`` is a Series indexed by feature name (matched to ``X``'s columns) or an array aligned with them;
    without it nothing is dropped. Features missing from ``icc`` or with NaN ICC are dropped.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 1.0], "c": [0.0, 1.0]})
    >>> sel = StabilitySelector(icc=pd.Series({"a": 0.95, "b": 0.4, "c": 0.8}), threshold=0.75).fit(X)
    >>> sel.get_feature_names_out().tolist()
    ['a', 'c']
    """

    _parameter_constraints = {"icc": [None, "array-like"], "threshold": [Interval(Real, None, 1, closed="right")],
                              "missing": [StrOptions({"drop", "keep"})]}

    def __init__(self, icc=None, threshold: float = 0.75, missing: str = "drop"):
        self.icc, self.threshold, self.missing = icc, threshold, missing

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        X = validate_data(self, X, ensure_all_finite="allow-nan")
        if self.icc is None:
            values = np.ones(self.n_features_in_)
        elif isinstance(self.icc, pd.Series) and hasattr(self, "feature_names_in_"):
            values = self.icc.reindex(self.feature_names_in_).to_numpy(float)
        else:
            values = np.asarray(self.icc, float)
            if values.shape != (self.n_features_in_,):
                raise ValueError(f"The 'icc' parameter of StabilitySelector must have one value per feature "
                                 f"({self.n_features_in_}). Got shape {values.shape} instead.")
        self.icc_ = values
        self.support_ = np.where(np.isnan(values), self.missing == "keep", values >= self.threshold)
        return self

    def _get_support_mask(self):
        check_is_fitted(self)
        return self.support_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


def volume_correlation(features: pd.DataFrame, volume: pd.Series | str | None = None, *,
                       method: str = "spearman") -> pd.Series:
    """Correlation of every feature with tumour volume (``volume`` column/Series; default: the first
    ``*shape_MeshVolume`` column). Features strongly correlated with volume add little beyond it.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"x__m__original_shape_MeshVolume": [1.0, 2, 3, 4], "f": [2.0, 4, 6, 9], "g": [4.0, 3, 2, 1]})
    >>> volume_correlation(df).round(3).to_dict()
    {'f': 1.0, 'g': -1.0}
    """
    if volume is None:
        cols = [c for c in features.columns if str(c).endswith("shape_MeshVolume")]
        if not cols:
            raise ValueError("The 'volume' parameter of volume_correlation is needed: the table has no *shape_MeshVolume column.")
        volume = cols[0]
    if isinstance(volume, str):
        vol, features = features[volume], features.drop(columns=[c for c in features.columns if str(c).endswith("shape_MeshVolume") or c == volume])
    else:
        vol = volume.reindex(features.index)
    return features.corrwith(vol, method=method).rename(f"{method} correlation with volume")
