"""The state shared by the prediction pages: a predictions table and the cohort / model / split chosen."""

from __future__ import annotations

import pandas as pd
import param

from radlab.errors import InputError
from radlab.ui._inputs import average_predictions, fit_rows, problems_for, selection_problem, validate_predictions

__all__ = ["PredictionStore", "ProblemPanes", "AVERAGING_NOTE"]

AVERAGING_NOTE = ("Out-of-fold predictions from repeated cross-validation are averaged per case and model "
                  "(one score per case: the mean over repeats and folds).")


# results shared by every session reading the same predictions table (sessions of one server get the same
# table object from PageInputs): id(table) -> (table, averaged rows, result cache); the last few tables only
_SHARED: dict[int, tuple] = {}
_MAX_TABLES = 8


def _shared(predictions: pd.DataFrame, outcome: str, build):
    key = (id(predictions), outcome)
    if key not in _SHARED or _SHARED[key][0] is not predictions:
        while len(_SHARED) >= _MAX_TABLES:
            _SHARED.pop(next(iter(_SHARED)))
        _SHARED[key] = (predictions, *build(), {})
    return _SHARED[key][1:]


class PredictionStore(param.Parameterized):
    """Cohort, model and split picked from a tidy predictions table (``radlab.validation.PREDICTION_COLUMNS``).

    ``outcome="label"`` keeps rows with a binary label, ``"survival"`` rows with time and event. Results
    are cached per selection (:meth:`cached`), so a parameter that only moves a threshold recomputes no
    bootstrap. ``problems`` lists what :func:`~radlab.ui._inputs.validate_predictions` found for this outcome
    (rows excluded, splits not estimable), model by model; :meth:`not_estimable` says why the chosen
    selection gives no statistic.
    """

    cohort = param.Selector(objects=[], doc="cohort the predictions were made for")
    model = param.Selector(objects=[], doc="model whose scores are shown")
    split = param.Selector(objects=[], doc="split evaluated (training rows are out-of-fold)")

    def __init__(self, predictions: pd.DataFrame, *, outcome: str = "label", **params):
        owner = type(self).__name__
        need = ["label"] if outcome == "label" else ["time", "event"]

        def build():
            usable, problems = validate_predictions(predictions, owner)
            problems = problems_for(problems, outcome)
            table = usable.dropna(subset=need + ["score"])
            if table.empty:
                found = "; ".join(dict.fromkeys(problems.problem))
                raise InputError(f"The 'predictions' parameter of {owner} has no rows with {need} and a score"
                                 f"{f' ({found})' if found else ''}.")
            return table, average_predictions(table), problems
        self.outcome = outcome
        self.table, self.averaged, self.problems, self._cache = _shared(predictions, outcome, build)
        cohorts = list(dict.fromkeys(self.table.cohort))
        self.param.cohort.objects = cohorts
        params.setdefault("cohort", cohorts[0])
        self._set_choices(params["cohort"], params)
        super().__init__(**params)

    def _set_choices(self, cohort, params=None):
        rows = self.averaged[self.averaged.cohort == cohort]
        models = list(dict.fromkeys(rows.model))
        order = {s: i for i, s in enumerate(("external", "test", "validation", "train"))}
        splits = sorted(dict.fromkeys(rows.split), key=lambda s: order.get(s, 9))
        self.param.model.objects, self.param.split.objects = models, splits
        if params is not None:  # during __init__
            params.setdefault("model", models[0])
            params.setdefault("split", splits[0])
            return
        with param.parameterized.batch_call_watchers(self):
            if self.model not in models:
                self.model = models[0]
            if self.split not in splits:
                self.split = splits[0]

    @param.depends("cohort", watch=True)
    def _on_cohort(self):
        self._set_choices(self.cohort)

    # ------------------------------------------------------------------ selections
    def rows(self, model: str | None = None, split: str | None = None) -> pd.DataFrame:
        """Averaged rows (one per case) of the chosen cohort for a model and split (default: the chosen)."""
        model, split = model or self.model, split or self.split

        def compute():
            a = self.averaged
            return a[(a.cohort == self.cohort) & (a.model == model) & (a.split == split)]
        return self.cached(("rows", self.cohort, model, split), compute)

    def not_estimable(self, model: str | None = None, split: str | None = None) -> str | None:
        """Why the chosen (or given) model and split give no statistic ("not estimable: only one class in
        test ..."), or None."""
        split = split or self.split
        return selection_problem(self.rows(model, split), self.outcome, split)

    def selection_problems(self) -> pd.DataFrame:
        """The problems of the chosen cohort (every model, so a model without usable rows is listed too) and of
        cohorts without a usable row (they are not among the choices)."""
        p = self.problems
        return p[(p.cohort == self.cohort) | ~p.cohort.isin(self.param.cohort.objects)].reset_index(drop=True)

    def fit_rows(self, model: str | None = None) -> tuple[pd.DataFrame, str]:
        """Averaged rows that thresholds / cut-offs are fitted on (training, else out-of-fold), and their name."""
        model = model or self.model

        def compute():
            t = self.table
            rows, what = fit_rows(t[(t.cohort == self.cohort) & (t.model == model)])
            return average_predictions(rows), what
        return self.cached(("fit_rows", self.cohort, model), compute)

    def cached(self, key: tuple, compute):
        """``compute()`` once per key (the selection, led by the store's class), shared by every session that
        reads the same predictions table."""
        key = (type(self).__name__, *key)
        if key not in self._cache:
            self._cache.setdefault(key, compute())  # the first result stays (a warm-up may race a session)
        return self._cache[key]


def placeholder(message: str, xlabel: str, ylabel: str):
    """An empty HoloViews overlay titled ``message``: what a figure shows for a selection that is not estimable."""
    import holoviews as hv

    return hv.Overlay([hv.Curve([], xlabel, ylabel), hv.Curve(([0, 1], [0, 1]), xlabel, ylabel).opts(
        color="grey", line_dash="dashed")]).opts(title=message)


def problems_markdown(store: PredictionStore) -> str:
    """The chosen selection's problems for a page: why it is not estimable and the rows left out of it, then a
    note of the cohort's problems for other models and splits (the table below the page lists them all)."""
    here = store.selection_problems()
    mine = here[(here.model == store.model) & (here.split == store.split)]
    lines = [f"- **{store.model} · {store.split}: {p.problem}** ({p.rows} row{'s' * (p.rows != 1)})"
             for p in mine.itertuples()]
    if (msg := store.not_estimable()) and msg not in set(mine.problem):
        lines.insert(0, f"- **{store.model} · {store.split}: {msg}**")
    others = len(here) - len(mine)
    if others:
        lines.append(f"- {others} more problem(s) in other models or splits (see *Input problems* below)")
    return "**Input problems**\n" + "\n".join(lines) if lines else ""


def problem_pane(problems: pd.DataFrame):
    """A cohort's input problems under a heading (model, split, rows, what is wrong), or nothing when none."""
    import panel as pn

    if not len(problems):
        return pn.pane.Markdown("")
    return pn.Column(pn.pane.Markdown("### Input problems"),
                     pn.pane.DataFrame(problems, index=False, sizing_mode="stretch_width"), sizing_mode="stretch_width")


class ProblemPanes(param.Parameterized):
    """The input-problem panes of a page over ``self.store`` (a :class:`PredictionStore`): the chosen selection's
    problems (:func:`problems_markdown`, next to the figures) and the cohort's table (:func:`problem_pane`)."""

    @param.depends("store.cohort", "store.split", "store.model")
    def _problems(self) -> str:
        return problems_markdown(self.store)

    @param.depends("store.cohort")
    def _problem_table(self):
        return problem_pane(self.store.selection_problems())


def widget_column(*widgets, width: int = 280):
    """A column of widgets that fits its width (widgets default to 300 px and would spill under the figures)."""
    import panel as pn

    for w in widgets:
        w.width = width - 20
    return pn.Column(*widgets, width=width)
