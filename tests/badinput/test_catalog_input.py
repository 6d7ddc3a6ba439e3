"""Bad catalogs: encoding, duplicate keys, wrong types, unquoted ids, missing roots and paths outside the root.

Each kind gives one CatalogError naming the catalog file (and the cohort and key where there is one); nothing is
opened from a catalog that is wrong.
"""

from __future__ import annotations

import os

import pytest

from radlab.catalog import Catalog, CatalogError

from ._helpers import open_m, write_catalog


MASK = '{tumour: {path: "masks/{case}/tumour_pre.nii.gz", image: T2w%s}}'


def cohort_text(**keys: str) -> str:
    """A catalog of cohort ``m`` (the ``messy`` layout), with ``keys`` added or replaced."""
    body = {"images": '{T2w: "images/{case}/T2w_pre.nii.gz"}', "masks": MASK % "", "clinical": "{path: clinical.csv}"}
    return "cohorts:\n  m:\n" + "".join(f"    {k}: {v}\n" for k, v in (body | keys).items())


GOOD = cohort_text()


def refused(path, *words: str) -> str:
    """The CatalogError opening the catalog at ``path`` raises: it names the file and holds every word."""
    with pytest.raises(CatalogError) as err:
        Catalog(path)
    message = str(err.value)
    assert str(path) in message and err.value.file == str(path)
    for word in words:
        assert word in message, (word, message)
    return message


# ------------------------------------------------------------------------------------------- the file itself
def test_non_utf8_catalog_names_file_and_byte(tmp_path):
    path = tmp_path / "catalog.yaml"
    path.write_bytes("cohorts:\n  m:\n    description: 'Universit\xe9'\n    features: {path: t.csv}\n".encode("latin-1"))
    refused(path, "is not UTF-8 text", f"byte {path.read_bytes().index(0xE9)}", "save it as UTF-8")


def test_utf8_bom_is_fine(messy):
    root, ids = messy
    path = root / "catalog.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert open_m(root).ids == ids


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"], ids=["empty", "blank-lines", "comment-only"])
def test_empty_catalog(tmp_path, text):
    path = tmp_path / "catalog.yaml"
    path.write_text(text)
    refused(path, "is empty", "'cohorts' mapping")


@pytest.mark.parametrize("text, key, lines", [
    ("cohorts:\n  m: {features: {path: a.csv}}\n  m: {features: {path: b.csv}}\n", "'m'", "lines 2 and 3"),
    ("cohorts:\n  m:\n    features: {path: a.csv}\n    outcomes: {label: y}\n    outcomes: {label: z}\n", "'outcomes'",
     "lines 4 and 5"),
    ("cohorts:\n  m:\n    features: {path: a.csv, id: x, id: y}\n", "'id'", "lines 3 and 3"),
    ("cohorts: {}\ncohorts:\n  m: {features: {path: a.csv}}\n", "'cohorts'", "lines 1 and 2"),
], ids=["duplicate-cohort", "duplicate-cohort-key", "duplicate-nested-key", "duplicate-top-level-key"])
def test_duplicate_key_at_any_level(tmp_path, text, key, lines):
    refused(write_catalog(tmp_path, text), f"key {key} is given twice", lines, "remove or rename one")


def test_yaml_merge_key_is_not_a_duplicate(tmp_path):
    path = write_catalog(tmp_path, "cohorts:\n  m: &m {features: {path: a.csv}}\n  n: {<<: *m, description: merged}\n")
    assert Catalog(path).spec("n").features.path == "a.csv"


# ------------------------------------------------------------------------------------------- types
@pytest.mark.parametrize("key, value, words", [
    ("batch", "centre", ["key 'batch'", "valid list", "write [centre]"]),
    ("timepoints", "pre", ["key 'timepoints'", "valid list", "write [pre]"]),
    ("split", "1", ["key 'split'", "valid string", "got 1", "quote the value"]),
    ("split", "yes", ["key 'split'", "valid string", "got True", "quote the value"]),
    ("outcomes", "{label: 1}", ["key 'outcomes.label'", "valid string", "quote the value"]),
    ("resample_masks", "'yes'", ["key 'resample_masks'", "valid boolean", "got 'yes'"]),
    ("clinical", "{path: clinical.csv, id: 7}", ["key 'clinical.id'", "valid string", "got 7"]),
    ("masks", MASK % ", label: '1'", ["key 'masks.tumour.label'", "valid integer", "got '1'"]),
    ("masks", MASK % ", label: 1.0", ["key 'masks.tumour.label'", "valid integer", "got 1.0"]),
    ("masks", MASK % ", threshold: '0.5'", ["key 'masks.tumour.threshold'", "valid number", "got '0.5'"]),
    ("masks", MASK % ", roi: 1.5", ["key 'masks.tumour.roi'", "valid string or Input should be a valid integer", "got 1.5"]),
], ids=["batch-as-string", "timepoints-as-string", "split-as-number", "split-as-yes", "outcome-as-number",
        "bool-as-text", "id-as-number", "label-as-text", "label-as-float", "threshold-as-text", "roi-as-float"])
def test_wrong_type_is_refused_not_coerced(tmp_path, key, value, words):
    refused(write_catalog(tmp_path, cohort_text(**{key: value})), "cohort 'm'", *words)


def test_version_as_text(tmp_path):
    refused(write_catalog(tmp_path, "version: '1'\n" + GOOD), "key 'version'", "valid integer", "got '1'")


@pytest.mark.parametrize("cases, shown", [
    ("[001, 002]", "[1, 2] as int"),
    ("[a, 2020-01-31]", "[datetime.date(2020, 1, 31)] as date"),
    ("[a, 1.5]", "[1.5] as float"),
], ids=["leading-zero-ids", "date-like-id", "float-id"])
def test_unquoted_case_ids_are_refused(tmp_path, cases, shown):
    path = write_catalog(tmp_path, f"cohorts:\n  m:\n    images: {{T2w: 'i/{{case}}.nii.gz'}}\n    cases: {cases}\n")
    refused(path, "cohort 'm', key 'cases'", "case ids must be text", f"YAML read {shown}", "quote every id")


@pytest.mark.parametrize("entry, words", [
    ("label: 1, threshold: 0.5", ["give 'label'", "or 'threshold'", "not both"]),
    ("format: rtstruct, roi: GTV, threshold: 0.5", ["apply to label-map masks, not to rtstruct"]),
    ("format: seg, label: 2", ["apply to label-map masks, not to seg"]),
    ("threshold: .nan", ["'threshold' must be a finite number"]),
    ("format: rtstruct, roi: GTV, roi_column: gtv_roi", ["give 'roi'", "or 'roi_column'", "not both"]),
    ("roi_column: gtv_roi", ["'roi_column' names RTSTRUCT ROIs or SEG segments; the format is 'auto'"]),
    ("format: nifti, roi_column: gtv_roi", ["'roi_column' names RTSTRUCT ROIs or SEG segments; the format is 'nifti'"]),
], ids=["label-and-threshold", "threshold-on-rtstruct", "label-on-seg", "threshold-nan", "roi-and-roi-column",
        "roi-column-on-auto-format", "roi-column-on-label-map"])
def test_mask_rule_conflicts(tmp_path, entry, words):
    refused(write_catalog(tmp_path, cohort_text(masks=MASK % f", {entry}")), "cohort 'm', key 'masks.tumour'", *words)


def test_timepoint_that_is_a_path(tmp_path):
    text = cohort_text(images='{T2w: "images/{case}/T2w_{timepoint}.nii.gz"}', timepoints="[pre, ../other]")
    refused(write_catalog(tmp_path, text), "cohort 'm'", "timepoint '../other' is not a plain name")


# ------------------------------------------------------------------------------------------- roots and paths
def test_root_that_does_not_exist(tmp_path):
    path = write_catalog(tmp_path, cohort_text(root="data/nowhere"))
    catalog = Catalog(path)  # the catalog is valid; the cohort cannot open
    with pytest.raises(CatalogError) as err:
        catalog["m"]
    message = str(err.value)
    assert "cohort 'm'" in message and f"root folder {tmp_path / 'data' / 'nowhere'} does not exist" in message
    assert "'data/nowhere'" in message and err.value.file == str(tmp_path / "data" / "nowhere")


def test_unset_environment_variable(tmp_path, monkeypatch):
    monkeypatch.delenv("RADLAB_NO_SUCH_VAR", raising=False)
    path = write_catalog(tmp_path, cohort_text(root="${RADLAB_NO_SUCH_VAR}/demo"))
    refused(path, "key 'cohorts.m.root'", "${RADLAB_NO_SUCH_VAR} is not set", "${RADLAB_NO_SUCH_VAR:-default}")


@pytest.mark.parametrize("old, new, key", [
    ('"images/{case}/T2w_pre.nii.gz"', '"/data/images/{case}/T2w_pre.nii.gz"', "images.T2w.path"),
    ('"images/{case}/T2w_pre.nii.gz"', '"../images/{case}/T2w_pre.nii.gz"', "images.T2w.path"),
    ('"masks/{case}/tumour_pre.nii.gz"', '"{case}/../../masks/{case}/tumour_pre.nii.gz"', "masks.tumour.path"),
    ("{path: clinical.csv}", "{path: ../clinical.csv}", "clinical.path"),
    ("{path: clinical.csv}", "{path: /srv/clinical.csv}", "clinical.path"),
], ids=["absolute-template", "dotdot-template", "template-climbing-out-after-case", "dotdot-table", "absolute-table"])
def test_path_outside_the_root_needs_allow_outside_root(tmp_path, old, new, key):
    text = GOOD.replace(old, new)
    refused(write_catalog(tmp_path, text), "cohort 'm'", f"{key} = ", "lies outside the cohort root",
            "allow_outside_root: true")
    write_catalog(tmp_path, text + "    allow_outside_root: true\n")
    assert Catalog(tmp_path / "catalog.yaml").spec("m").allow_outside_root is True


def test_allow_outside_root_opens_data_elsewhere(messy, tmp_path_factory):
    root, ids = messy
    cohort_dir = tmp_path_factory.mktemp("cohort")
    (root / "clinical.csv").rename(cohort_dir / "clinical.csv")
    text = GOOD.replace('"images/', f'"{root}/images/').replace('"masks/', f'"{root}/masks/')
    (cohort_dir / "catalog.yaml").write_text(text)
    with pytest.raises(CatalogError, match="lies outside the cohort root"):
        Catalog(cohort_dir / "catalog.yaml")
    (cohort_dir / "catalog.yaml").write_text(text + "    allow_outside_root: true\n")
    cohort = Catalog(cohort_dir / "catalog.yaml")["m"]
    assert cohort.ids == ids and cohort.case(ids[0])["T2w"].attrs["source"] == f"{root}/images/{ids[0]}/T2w_pre.nii.gz"


def test_symlinked_data_folder_inside_the_root_still_opens(messy, tmp_path_factory):
    root, ids = messy
    cohort_dir = tmp_path_factory.mktemp("linked")
    for name in ("images", "masks", "clinical.csv"):
        os.symlink(root / name, cohort_dir / name)
    (cohort_dir / "catalog.yaml").write_text(GOOD)
    cohort = Catalog(cohort_dir / "catalog.yaml")["m"]
    assert cohort.ids == ids and len(cohort.problems) == 0
    assert cohort.case(ids[0])["T2w"].attrs["source"] == str(cohort_dir / "images" / ids[0] / "T2w_pre.nii.gz")
