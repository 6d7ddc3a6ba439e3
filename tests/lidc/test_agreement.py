"""Reader agreement and reliability on the lidc slice: pairwise mask metrics against brute force, Bland-Altman
against hand formulas, ICC (and its CI) against pingouin, feature reliability named for selection, and a
patient-grouped CV that never splits a patient's nodules."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from radlab.evaluation import (BlandAltman, agreement_summary, feature_reliability, reader_agreement, reader_icc,
                               reader_volumes, segmentation_metrics, stable_features)

READERS = ["reader1", "reader2", "reader3", "reader4"]


@pytest.fixture(scope="module")
def agreement(lidc):
    return reader_agreement(lidc, READERS)


@pytest.fixture(scope="module")
def volumes(lidc):
    return reader_volumes(lidc, READERS)


@pytest.fixture(scope="module")
def shape_features(lidc):
    from radlab.features import extract

    params = {"setting": {"label": 1}, "featureClass": {"shape": None}}
    return extract(lidc, params, scheduler="sync", cache=False, progress=False)


def test_reader_agreement_has_every_pair_and_matches_segmentation_metrics(lidc, agreement):
    n = lidc.clinical.n_readers
    assert len(agreement) == int((n * (n - 1) / 2).sum())
    assert set(agreement.case) == set(n.index[n >= 2])  # a nodule with one reader has no pair
    for row in agreement.sample(8, random_state=0).itertuples():
        ds = lidc.case(row.case).compute()
        expected = segmentation_metrics(ds[row.reader_a], ds[row.reader_b], tolerance=1.0)
        for metric in ("dice", "hd95", "surface_dice", "assd"):
            assert getattr(row, metric) == pytest.approx(expected[metric])
    a, b = (lidc.case(agreement.case.iloc[0]).compute()[r].values > 0 for r in agreement.iloc[0][["reader_a", "reader_b"]])
    assert agreement.dice.iloc[0] == pytest.approx(2 * (a & b).sum() / (a.sum() + b.sum()))  # Dice by hand


def test_agreement_summary_is_the_median_of_per_nodule_means(agreement):
    summary = agreement_summary(agreement)
    per_case = agreement.groupby("case").dice.mean()
    assert summary.loc["all", "cases"] == len(per_case)
    assert summary.loc["all", "dice"] == pytest.approx(per_case.median())
    four = per_case[agreement.groupby("case").n_readers.first() == 4]
    assert summary.loc["4", "dice"] == pytest.approx(four.median())
    assert 0.5 < summary.loc["all", "dice"] < 0.9  # readers of LIDC agree moderately


def test_reader_volumes_are_voxel_counts_times_voxel_volume(lidc, volumes):
    case = volumes.index[0]
    ds = lidc.case(case).compute()
    assert volumes.at[case, "reader1"] == pytest.approx(ds.reader1.values.sum() * np.prod(ds.reader1.attrs["spacing"]))
    assert (volumes.notna().sum(axis=1) == lidc.clinical.n_readers).all()


def test_bland_altman_two_methods_matches_hand_formulas():
    rng = np.random.default_rng(1)
    a = rng.lognormal(6, 1, 40)
    b = a * rng.lognormal(0.05, 0.1, 40)
    ba = BlandAltman.from_measurements(a, b)
    d = a - b
    assert ba.bias == pytest.approx(d.mean()) and ba.sd == pytest.approx(d.std(ddof=1))
    assert (ba.lower, ba.upper) == pytest.approx((d.mean() - 1.96 * d.std(ddof=1), d.mean() + 1.96 * d.std(ddof=1)))
    from scipy import stats
    t = stats.t.ppf(0.975, 39)
    assert ba.bias_ci == pytest.approx((d.mean() - t * d.std(ddof=1) / np.sqrt(40), d.mean() + t * d.std(ddof=1) / np.sqrt(40)))
    assert ba.upper_ci[1] - ba.upper == pytest.approx(t * d.std(ddof=1) * np.sqrt(3 / 40))
    logged = BlandAltman.from_measurements(a, b, log=True)
    assert logged.ratio()["bias"] == pytest.approx(np.exp(np.mean(np.log(a / b))))
    assert logged.to_frame().loc["bias", "estimate"] == logged.bias and len(logged.points) == 40


def test_bland_altman_readers_uses_the_within_nodule_sd(volumes):
    ba = BlandAltman.from_readers(volumes, log=True)
    logv = np.log(volumes)
    usable = logv[logv.notna().sum(axis=1) >= 2]
    dev = usable.sub(usable.mean(axis=1), axis=0)
    s_w = np.sqrt((dev**2).sum().sum() / (usable.notna().sum(axis=1) - 1).sum())  # one-way ANOVA by hand
    assert ba.upper == pytest.approx(1.96 * np.sqrt(2) * s_w) and ba.lower == -ba.upper
    assert ba.n == len(usable) and ba.lower_ci[0] < ba.lower < ba.lower_ci[1]
    n = usable.notna().sum(axis=1)
    assert len(ba.points) == int((n * (n - 1) / 2).sum())
    plot = ba.plot()
    assert len(plot) == 4 and plot.get(0).data.shape == (len(ba.points), 2)  # dots, bias, two limits


def test_reader_icc_matches_pingouin(volumes):
    pg = pytest.importorskip("pingouin", reason="pingouin (dev extra) cross-checks the ICC")
    four = np.log(volumes[volumes.notna().all(axis=1)])
    long = four.stack().rename("volume").rename_axis(["case", "reader"]).to_frame()
    theirs = pg.intraclass_corr(long.reset_index(), targets="case", raters="reader", ratings="volume").set_index("Type")
    for kind, name in (("1,1", "ICC(1,1)"), ("2,1", "ICC(A,1)"), ("3,1", "ICC(C,1)")):
        ours = reader_icc(long, kind=kind).loc["volume"]
        assert ours.icc == pytest.approx(theirs.at[name, "ICC"], abs=1e-10)
        assert ours.n_cases == len(four) and ours.n_readers == 4
    ours = reader_icc(long).loc["volume"]
    assert (ours.ci_low, ours.ci_high) == pytest.approx(tuple(theirs.at["ICC(1,1)", "CI95"]), abs=0.006)  # pingouin rounds


def test_icc_one_way_ignores_which_slot_a_reader_has(volumes):
    four = volumes[volumes.notna().all(axis=1)]
    rng = np.random.default_rng(0)
    shuffled = pd.DataFrame([rng.permutation(row) for row in four.to_numpy()], index=four.index, columns=four.columns)
    long = lambda t: t.stack().rename("v").rename_axis(["case", "reader"]).to_frame()  # noqa: E731
    assert reader_icc(long(four)).at["v", "icc"] == pytest.approx(reader_icc(long(shuffled)).at["v", "icc"])


def test_feature_reliability_names_the_consensus_features_and_feeds_icc_filter(shape_features, lidc):
    from radlab.select import ICCFilter

    rel = feature_reliability(shape_features, READERS)
    assert all(i.startswith("shape__consensus__original_shape_") for i in rel.index)
    assert rel.n_cases.iloc[0] == (lidc.clinical.n_readers == 4).sum()
    vol = shape_features[[f"shape__{r}__original_shape_VoxelVolume" for r in READERS]].dropna()
    long = vol.set_axis(READERS, axis=1).stack().rename("v").rename_axis(["case", "reader"]).to_frame()
    assert rel.at["shape__consensus__original_shape_VoxelVolume", "icc"] == pytest.approx(reader_icc(long).at["v", "icc"])
    stable = stable_features(rel, threshold=0.75)
    consensus = shape_features.filter(like="__consensus__")
    kept = ICCFilter(rel["icc"], threshold=0.75, missing="drop").fit(consensus).get_feature_names_out().tolist()
    assert sorted(kept) == sorted(stable) and 0 < len(stable) < len(consensus.columns)


def test_patient_grouped_repeated_cv_never_splits_a_patient(lidc, shape_features):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from radlab.validation import RepeatedStratifiedGroupKFold, cross_validate_predictions

    clinical = lidc.clinical.dropna(subset=["malignant"])
    X = shape_features.loc[clinical.index, ["shape__consensus__original_shape_MeshVolume"]]
    cv = RepeatedStratifiedGroupKFold(n_splits=3, n_repeats=2, random_state=0)
    groups = clinical.patient_id.to_numpy()
    for train, test in cv.split(X, clinical.malignant, groups):
        assert not set(groups[train]) & set(groups[test])
    preds = cross_validate_predictions(make_pipeline(StandardScaler(), LogisticRegression()), X, clinical.malignant,
                                       cv=cv, groups=groups)
    preds["patient"] = preds.case.map(clinical.patient_id)
    assert (preds.groupby(["repeat", "patient"]).fold.nunique() == 1).all()
    assert len(preds) == 2 * len(clinical)
    assert any(n > 1 for n in clinical.patient_id.value_counts())  # some patients have several nodules


def test_pairs_of_one_case_from_arrays_without_a_cohort():
    a = np.zeros((3, 8, 8), np.uint8)
    a[1, 2:6, 2:6] = 1
    masks = {"n1": {"r1": a, "r2": np.roll(a, 1, axis=2), "r3": a}}
    table = reader_agreement(masks)
    assert table[["reader_a", "reader_b"]].values.tolist() == [list(p) for p in itertools.combinations(["r1", "r2", "r3"], 2)]
    assert table.dice.tolist() == pytest.approx([0.75, 1.0, 0.75])
