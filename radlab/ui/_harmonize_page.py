"""Harmonisation page: a feature's distribution by centre before / after harmonisation, PCA by centre and
the counts of batch-affected features (radlab.harmonize.BatchEffect)."""

from __future__ import annotations

import holoviews as hv
import holoviews.plotting.bokeh  # noqa: F401  (registers the bokeh backend that .opts() styles)
import numpy as np
import pandas as pd
import panel as pn
import param

from radlab.harmonize import BatchEffect, ComBat

__all__ = ["HarmonisationPage", "HarmonisationStore"]


class HarmonisationStore(param.Parameterized):
    """Features (case x feature) with a batch label per case, before and after harmonisation.

    ``after`` defaults to ComBat fitted on all the cases given (a diagnostic view; in a study ComBat is
    fitted on the training cases only: pass its output as ``after``).
    """

    feature = param.Selector(objects=[], doc="feature whose distribution is shown")
    stage = param.Selector(objects=["before", "after"], default="after", doc="PCA before or after")

    def __init__(self, features: pd.DataFrame, batch: pd.Series, *, after: pd.DataFrame | None = None,
                 covariates: pd.DataFrame | None = None, **params):
        owner = type(self).__name__
        features = features.select_dtypes("number")
        batch = pd.Series(batch, index=features.index) if not isinstance(batch, pd.Series) else batch
        if not batch.index.equals(features.index):
            batch = batch.reindex(features.index)
        if batch.isna().any():
            raise ValueError(f"The 'batch' parameter of {owner} must label every case of 'features'. "
                             f"Missing for {batch.index[batch.isna()][:5].tolist()}.")
        keep = features.columns[features.notna().all() & (features.std() > 0)]
        self.before = features[keep]
        self.batch = batch.astype(str).rename("batch")
        self.fitted_here = after is None
        if after is None:
            X = self.before.assign(batch=self.batch.to_numpy())
            kwargs = {}
            if covariates is not None:
                X = X.join(covariates)
                kwargs["continuous"] = list(covariates.columns)
            after = pd.DataFrame(np.asarray(ComBat(batch="batch", **kwargs).fit(X).transform(X)),
                                 index=self.before.index, columns=keep)
        self.after = after[keep]
        self._effects: dict = {}
        self.param.feature.objects = list(keep)
        params.setdefault("feature", self.effect("before").tests.sort_values("statistic").feature.iloc[-1])
        super().__init__(**params)

    def effect(self, stage: str) -> BatchEffect:
        """BatchEffect (Kruskal-Wallis per feature, PCA, separability) of the 'before' or 'after' features."""
        if stage not in self._effects:
            data = self.before if stage == "before" else self.after
            self._effects[stage] = BatchEffect.from_features(data, self.batch.to_numpy(), name=stage)
        return self._effects[stage]

    def summary(self) -> pd.DataFrame:
        return pd.concat([self.effect("before").summary(), self.effect("after").summary()], ignore_index=True)

    def distribution_plot(self):
        frames = [pd.DataFrame({"stage": stage, "batch": self.batch.to_numpy(),
                                "value": (self.before if stage == "before" else self.after)[self.feature].to_numpy()})
                  for stage in ("before", "after")]
        data = pd.concat(frames, ignore_index=True)
        plots = [hv.BoxWhisker(data[data.stage == stage], ["batch"], "value", label=stage).opts(
            box_fill_color="batch", cmap="Category10", frame_width=260, frame_height=260, title=stage,
            ylabel=self.feature[-40:]) for stage in ("before", "after")]
        return (plots[0] + plots[1]).opts(shared_axes=False)

    def pca_plot(self):
        return self.effect(self.stage).plot(width=420, height=380)

    def figures(self) -> dict:
        return {"Batch effect": self.summary(), "Distribution": self.distribution_plot(),
                "PCA before": self.effect("before").plot(), "PCA after": self.effect("after").plot()}


class HarmonisationPage(pn.viewable.Viewer):
    """Harmonisation diagnostics over a :class:`HarmonisationStore`."""

    def __init__(self, store: HarmonisationStore, **params):
        self.store = store
        super().__init__(**params)

    @param.depends("store.feature")
    def _distribution(self):
        return pn.pane.HoloViews(self.store.distribution_plot(), linked_axes=False)

    @param.depends("store.stage")
    def _pca(self):
        return pn.pane.HoloViews(self.store.pca_plot(), linked_axes=False)

    def __panel__(self):
        s = self.store
        summary = s.summary()[["name", "n_features", "n_significant", "separability", "chance", "silhouette"]]
        how = ("ComBat fitted here on all cases shown (diagnostic view)" if s.fitted_here
               else "harmonised features as given")
        return pn.Column(
            pn.pane.Markdown(f"## Harmonisation\nBatch = {s.batch.nunique()} groups; after = {how}. "
                             "Features differing by batch: Kruskal-Wallis, Benjamini-Hochberg q < 0.05; "
                             "separability: cross-validated balanced accuracy of a batch classifier.",
                             sizing_mode="stretch_width"),
            pn.pane.DataFrame(summary.round(3), index=False, width=640),
            pn.Row(pn.Column(pn.widgets.Select.from_param(s.param.feature, width=320), self._distribution),
                   pn.Column(pn.widgets.RadioButtonGroup.from_param(s.param.stage), self._pca)),
            sizing_mode="stretch_width")
