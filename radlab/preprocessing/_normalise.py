"""Intensity normalisers learned on training cases and applied unchanged to others (scikit-learn estimators).

``X`` is either a 2-D array (one row per case, voxel intensities flattened; NaN = outside the ROI) or a list
of image DataArrays (``fit(images, masks=...)`` restricts the statistics to the masks). ``transform`` returns
the same kind; DataArrays get a provenance entry.
"""

from __future__ import annotations

from numbers import Real

import numpy as np
import xarray as xr
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data

from radlab.preprocessing._provenance import with_provenance

__all__ = ["ZScore", "PercentileScaler", "HistogramMatcher"]


def _is_images(X) -> bool:
    return isinstance(X, xr.DataArray) or (isinstance(X, (list, tuple)) and X and isinstance(X[0], xr.DataArray))


def _pooled(X, masks) -> np.ndarray:
    """All training intensities (inside the masks) as one vector."""
    images = [X] if isinstance(X, xr.DataArray) else list(X)
    masks = [None] * len(images) if masks is None else ([masks] if isinstance(masks, xr.DataArray) else list(masks))
    out = [np.asarray(im.values, float)[np.asarray(m.values) > 0] if m is not None else np.asarray(im.values, float).ravel()
           for im, m in zip(images, masks)]
    return np.concatenate(out)


class _Normaliser(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    def _fit_values(self, values: np.ndarray) -> None:
        raise NotImplementedError

    def _apply(self, values: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, *, masks=None):
        if _is_images(X):
            values = _pooled(X, masks)
        else:
            X = validate_data(self, X, ensure_all_finite="allow-nan")
            values = X[np.isfinite(X)]
        self._fit_values(values[np.isfinite(values)])
        return self

    def transform(self, X):
        check_is_fitted(self)
        if _is_images(X):
            images = [X] if isinstance(X, xr.DataArray) else list(X)
            out = [with_provenance(im.copy(data=self._apply(np.asarray(im.values, float))), im,
                                   type(self).__name__, **self._provenance()) for im in images]
            return out[0] if isinstance(X, xr.DataArray) else out
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        return self._apply(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


class ZScore(_Normaliser):
    """(x - mean) / SD with mean and SD pooled over the training intensities.

    Examples
    --------
    >>> import numpy as np
    >>> z = ZScore().fit(np.array([[1.0, 2.0], [3.0, 4.0]]))
    >>> z.mean_, round(z.scale_, 4), z.transform(np.array([[2.5, 5.0]])).tolist()
    (2.5, 1.118, [[0.0, 2.23606797749979]])
    """

    _parameter_constraints = {"eps": [Interval(Real, 0, None, closed="left")]}

    def __init__(self, eps: float = 1e-8):
        self.eps = eps

    def _fit_values(self, values):
        self.mean_, self.scale_ = float(values.mean()), float(max(values.std(), self.eps))

    def _apply(self, values):
        return (values - self.mean_) / self.scale_

    def _provenance(self):
        return {"mean": self.mean_, "scale": self.scale_}


class PercentileScaler(_Normaliser):
    """Linear map of the training ``lower``/``upper`` percentiles to 0 and 1 (optionally clipped).

    Examples
    --------
    >>> import numpy as np
    >>> PercentileScaler(lower=0, upper=100).fit(np.array([[0.0, 10.0]])).transform(np.array([[5.0, 20.0]])).tolist()
    [[0.5, 2.0]]
    """

    _parameter_constraints = {"lower": [Interval(Real, 0, 100, closed="both")],
                              "upper": [Interval(Real, 0, 100, closed="both")], "clip": ["boolean"]}

    def __init__(self, lower: float = 1.0, upper: float = 99.0, clip: bool = False):
        self.lower, self.upper, self.clip = lower, upper, clip

    def _fit_values(self, values):
        if not self.lower < self.upper:
            raise ValueError(f"The 'lower' parameter of PercentileScaler must be below 'upper'. Got {self.lower} and {self.upper} instead.")
        self.low_, self.high_ = (float(v) for v in np.percentile(values, [self.lower, self.upper]))

    def _apply(self, values):
        out = (values - self.low_) / max(self.high_ - self.low_, 1e-12)
        return np.clip(out, 0, 1) if self.clip else out

    def _provenance(self):
        return {"low": self.low_, "high": self.high_, "clip": self.clip}


class HistogramMatcher(_Normaliser):
    """Piecewise-linear histogram matching (Nyul-Udupa style) to the training intensity quantiles.

    Each image's own quantiles at ``quantiles`` are mapped onto the pooled training quantiles.

    Examples
    --------
    >>> import numpy as np
    >>> m = HistogramMatcher(n_quantiles=3).fit(np.array([[0.0, 5.0, 10.0]]))
    >>> np.round(m.transform(np.array([[0.0, 50.0, 100.0]])), 6).tolist()
    [[0.0, 5.0, 10.0]]
    """

    _parameter_constraints = {"n_quantiles": [Interval(Real, 2, None, closed="left")]}

    def __init__(self, n_quantiles: int = 11):
        self.n_quantiles = n_quantiles

    def _fit_values(self, values):
        self.quantiles_ = np.linspace(0, 100, int(self.n_quantiles))
        self.landmarks_ = np.percentile(values, self.quantiles_)

    def _apply(self, values):
        values = np.asarray(values, float)
        rows = values.reshape(-1, values.shape[-1]) if values.ndim == 2 else values.reshape(1, -1)
        out = np.empty_like(rows)
        for i, row in enumerate(rows):
            finite = np.isfinite(row)
            own = np.percentile(row[finite], self.quantiles_) if finite.any() else self.landmarks_
            own = np.maximum.accumulate(own + np.arange(len(own)) * 1e-9)  # strictly increasing
            out[i] = np.interp(row, own, self.landmarks_, left=np.nan, right=np.nan)
            lo, hi = row < own[0], row > own[-1]  # extrapolate linearly beyond the extreme landmarks
            out[i, lo] = self.landmarks_[0] + (row[lo] - own[0]) * self._slope(own, 0)
            out[i, hi] = self.landmarks_[-1] + (row[hi] - own[-1]) * self._slope(own, -2)
            out[i, ~finite] = np.nan
        return out.reshape(values.shape)

    def _slope(self, own, i):
        return (self.landmarks_[i + 1] - self.landmarks_[i]) / max(own[i + 1] - own[i], 1e-12)

    def _provenance(self):
        return {"quantiles": self.quantiles_.tolist(), "landmarks": self.landmarks_.tolist()}
