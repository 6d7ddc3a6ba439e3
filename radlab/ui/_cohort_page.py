"""The cohort page: the case table (clinical + acquisition), acquisition parameters by centre, the image viewer."""

from __future__ import annotations

import pandas as pd
import panel as pn
import param

from radlab.catalog import Catalog
from radlab.ui._mask_viewer import MaskViewer
from radlab.ui._viewer import ImageViewer

__all__ = ["CohortPage", "acquisition_by_batch", "case_table", "cohort_table_one"]

ACQUISITION = ("vendor", "model", "field_strength", "slice_thickness", "spacing_x", "spacing_y", "spacing_z",
               "repetition_time", "echo_time", "kernel")


def case_table(cohort) -> pd.DataFrame:
    """One row per case: clinical columns plus the first image's acquisition parameters."""
    clinical = cohort.clinical
    acq = cohort.acquisition(progress=False)
    first = acq[acq.image == acq.image.iloc[0]].set_index("case") if len(acq) else pd.DataFrame(index=clinical.index)
    keep = [c for c in ("vendor", "model", "field_strength", "slice_thickness", "spacing_x", "spacing_z",
                        "repetition_time", "echo_time") if c in first and first[c].notna().any() and c not in clinical]
    return clinical.join(first[keep], how="left").reset_index()


def _summarise(values: pd.Series) -> str:
    values = values.dropna()
    if values.empty:
        return ""
    if pd.api.types.is_numeric_dtype(values):
        lo, med, hi = values.min(), values.median(), values.max()
        return f"{med:g}" if lo == hi else f"{med:g} ({lo:g}–{hi:g})"
    counts = values.astype(str).value_counts()
    return ", ".join(f"{k} ({v})" for k, v in counts.items())


def acquisition_by_batch(cohort, batch: str | None = None) -> pd.DataFrame:
    """Acquisition parameters per batch (default: the cohort's first batch column, e.g. centre) and image.

    One row per batch and image: number of cases, then per parameter the median (min–max) of numbers or
    the counts of each value.

    Examples
    --------
    >>> import radlab  # doctest: +SKIP
    >>> acquisition_by_batch(radlab.open_cohort("demo")).loc["A", "T2w_pre"].vendor  # doctest: +SKIP
    'SIEMENS (40)'
    """
    batch = batch or (cohort.batch[0] if cohort.batch else None)
    acq = cohort.acquisition(progress=False)
    cols = [c for c in ACQUISITION if c in acq and acq[c].notna().any()]
    acq = acq.assign(batch=acq.case.map(cohort.clinical[batch]) if batch else "all")
    table = acq.groupby(["batch", "image"], sort=True).agg(
        cases=("case", "nunique"), **{c: (c, _summarise) for c in cols})
    return table.rename_axis(index=[batch or "batch", "image"])


def cohort_table_one(cohort) -> pd.DataFrame | None:
    """Table 1 of the clinical variables by the cohort's split column (else its first batch column), via
    :func:`radlab.models.table_one`: variables with at most 5 values count as categorical, skewed variables
    (|skewness| > 1) are summarised as median [IQR] with rank tests. None when there is nothing to group by."""
    from radlab.models import table_one

    by = cohort.spec.split or (cohort.batch[0] if cohort.batch else None)
    clinical = cohort.clinical
    if by is None or clinical[by].nunique() < 2:
        return None
    variables = [c for c in clinical.columns if c != by and c not in cohort.batch and clinical[c].nunique() > 1]
    data = clinical[[by, *variables]]
    categorical = [c for c in variables if data[c].nunique() <= 5]
    numeric = [c for c in variables if c not in categorical and pd.api.types.is_numeric_dtype(data[c])]
    skewed = [c for c in numeric if abs(data[c].skew()) > 1]
    return table_one(data, by=by, variables=variables, categorical=categorical, nonnormal=skewed)


class CohortPage(pn.viewable.Viewer):
    """Pick an image cohort from the catalog, browse its cases in a table and view their images (a mask-only
    cohort's masks side by side or overlaid)."""

    cohort = param.Selector(objects=[])

    def __init__(self, catalog: Catalog, *, pseudonymiser=None, **params):
        """``pseudonymiser``: callable id -> shown name (default :class:`radlab.ui.Pseudonymiser`, random salt);
        pass ``Pseudonymiser(enabled=False)`` to show the real case ids."""
        from radlab.ui._inputs import Pseudonymiser

        self.catalog = catalog
        self.pseudonymiser = pseudonymiser or Pseudonymiser()
        names = [n for n in catalog.names if catalog.spec(n).images or catalog.spec(n).masks]
        self.param.cohort.objects = names
        params.setdefault("cohort", names[0])
        super().__init__(**params)
        self._table = pn.widgets.Tabulator(pagination="remote", page_size=12, disabled=True, selectable=1,
                                           show_index=False, sizing_mode="stretch_width", height=420)
        self._table.param.watch(self._on_select, "selection")
        self._viewer_area = pn.Column()
        self._acquisition = pn.pane.DataFrame(sizing_mode="stretch_width")
        self._table_one = pn.pane.DataFrame(sizing_mode="stretch_width", index=False)
        self._on_cohort()

    @param.depends("cohort", watch=True)
    def _on_cohort(self):
        cohort = self.catalog[self.cohort]
        self.viewer = (ImageViewer if cohort.spec.images else MaskViewer)(cohort, pseudonymiser=self.pseudonymiser)
        table = case_table(cohort)
        self._cases = table.case.astype(str).tolist()  # row -> real id, kept on the server
        self._table.value = table.assign(case=self.pseudonymiser.map(self._cases))
        self._acquisition.object = acquisition_by_batch(cohort)
        self._table_one.object = cohort_table_one(cohort)
        self._viewer_area[:] = [self.viewer]

    def _on_select(self, event):
        if event.new:
            self.viewer.case = self._cases[event.new[0]]

    def __panel__(self):
        return pn.Column(
            pn.pane.Markdown("## Cohort & images"),
            pn.widgets.Select.from_param(self.param.cohort, width=260),
            self._table,
            self._viewer_area,
            pn.pane.Markdown("### Acquisition parameters by centre\nmedian (min–max), or counts of each value"),
            self._acquisition,
            pn.pane.Markdown("### Table 1\nmean ± SD or median [IQR], n (%); Bonferroni-adjusted p"),
            self._table_one,
            sizing_mode="stretch_width",
        )
