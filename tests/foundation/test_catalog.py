"""The catalog: validation with errors naming file, cohort, key, rule and value; env expansion."""

from __future__ import annotations

import textwrap

import pytest

import radlab
from radlab.catalog import Catalog, CatalogError


def write(tmp_path, text: str):
    path = tmp_path / "catalog.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_project_catalog_names_every_cohort(catalog):
    assert catalog.names == ["demo", "demo-dicom", "pyradiomics-samples", "breast-cancer-wisconsin", "gbsg2", "lung-ct",
                             "lidc"]
    assert "demo" in catalog and "nope" not in catalog
    with pytest.raises(KeyError, match="no cohort 'nope'.*cohorts: \\['demo'"):
        catalog["nope"]


def test_open_cohort_by_name_uses_env_catalog(catalog, monkeypatch):
    monkeypatch.setenv("RADLAB_CATALOG", str(catalog.path))
    cohort = radlab.open_cohort("demo")
    assert cohort.name == "demo" and len(cohort) == 30


def test_malformed_yaml_names_the_file(tmp_path):
    path = write(tmp_path, "cohorts:\n  demo: [unclosed\n")
    with pytest.raises(CatalogError, match=f"catalog {path}: malformed YAML"):
        Catalog(path)


def test_top_level_must_hold_cohorts(tmp_path):
    with pytest.raises(CatalogError, match="'cohorts' mapping"):
        Catalog(write(tmp_path, "- just a list\n"))


def test_error_names_cohort_key_rule_and_value(tmp_path):
    path = write(tmp_path, """
        cohorts:
          mri:
            images: {T2w: "img/{case}.nii.gz"}
            masks: {gtv: {path: "msk/{case}.nii.gz", image: T1}}
            cases: [a]
    """)
    with pytest.raises(CatalogError) as err:
        Catalog(path)
    message = str(err.value)
    assert "cohort 'mri'" in message
    assert "mask 'gtv' is drawn on image 'T1', which is not one of ['T2w']" in message


def test_template_without_case_placeholder(tmp_path):
    path = write(tmp_path, """
        cohorts:
          mri:
            images: {T2w: "img/scan.nii.gz"}
            cases: [a]
    """)
    with pytest.raises(CatalogError, match=r"cohort 'mri', key 'images.T2w'.*must contain '\{case\}'.*img/scan.nii.gz"):
        Catalog(path)


def test_unknown_key_is_rejected(tmp_path):
    path = write(tmp_path, """
        cohorts:
          wbc:
            features: {path: t.csv}
            outcome: {label: y}
    """)
    with pytest.raises(CatalogError, match=r"cohort 'wbc', key 'outcome': Extra inputs are not permitted"):
        Catalog(path)


def test_survival_outcome_needs_time_and_event(tmp_path):
    path = write(tmp_path, """
        cohorts:
          s:
            features: {path: t.csv}
            outcomes: {time: months}
    """)
    with pytest.raises(CatalogError, match="survival outcomes need both 'time' and 'event'"):
        Catalog(path)


def test_env_expansion_and_default(tmp_path, monkeypatch):
    monkeypatch.setenv("MY_ROOT", str(tmp_path / "x"))
    path = write(tmp_path, """
        cohorts:
          a: {root: "${MY_ROOT}", features: {path: t.csv}}
          b: {root: "${UNSET_RADLAB_VAR:-fallback}", features: {path: t.csv}}
    """)
    cat = Catalog(path)
    assert cat.root("a") == tmp_path / "x"
    assert cat.root("b") == tmp_path / "fallback"  # relative to the catalog file


def test_unset_env_var_is_an_error(tmp_path):
    path = write(tmp_path, "cohorts:\n  a: {root: '${UNSET_RADLAB_VAR}', features: {path: t.csv}}\n")
    with pytest.raises(CatalogError, match=r"key 'cohorts.a.root': environment variable \$\{UNSET_RADLAB_VAR\} is not set"):
        Catalog(path)


def test_outcome_column_missing_from_table(tmp_path):
    (tmp_path / "t.csv").write_text("case_id,f1,y\na,1,0\nb,2,1\n")
    path = write(tmp_path, "cohorts:\n  t: {features: {path: t.csv}, outcomes: {label: diagnosis}}\n")
    with pytest.raises(CatalogError, match="cohort 't', key 'outcomes.label': column 'diagnosis' is not in the clinical table"):
        Catalog(path)["t"].ids


def test_missing_table_file(tmp_path):
    path = write(tmp_path, "cohorts:\n  t: {features: {path: missing.csv}}\n")
    with pytest.raises(CatalogError, match="cohort 't', key 'features.path': file .*missing.csv not found"):
        Catalog(path)["t"].features
