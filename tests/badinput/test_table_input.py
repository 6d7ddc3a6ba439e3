"""Bad tables: ids as written, blank/duplicate/unsafe ids, unreadable or malformed files, files tables that do not
match, and invalid outcome values.

A table that cannot be read is one CatalogError naming the cohort, key and file; a bad row is listed in
``cohort.problems`` (case, file, problem) and only its case is left out (or, for an outcome value, set missing).
"""

from __future__ import annotations

import os
import shutil

import numpy as np
import pandas as pd
import pytest

from radlab.catalog import CatalogError

from ._helpers import messy_catalog, open_m, write_catalog


def clinical(root) -> pd.DataFrame:
    return pd.read_csv(root / "clinical.csv", dtype={"case_id": str})


def rename_cases(root, ids, new_ids):
    """Give the messy cases other ids (folders and clinical rows)."""
    table = clinical(root)
    for old, new in zip(ids, new_ids):
        for sub in ("images", "masks"):
            (root / sub / old).rename(root / sub / new)
    table["case_id"] = list(new_ids)
    return table


def problems_of(cohort) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for row in cohort.problems.itertuples():
        out.setdefault(row.case, []).append(row.problem)
    return out


def refused(root, *words: str, file=None) -> str:
    with pytest.raises(CatalogError) as err:
        open_m(root).ids
    message = str(err.value)
    assert "cohort 'm'" in message, message
    for word in words:
        assert word in message, (word, message)
    if file is not None:
        assert err.value.file == str(file) and str(file) in message
    return message


# ------------------------------------------------------------------------------------------- ids as written
def test_leading_zero_ids_stay_text(messy):
    root, ids = messy
    new = ["001", "002", "010", "0100", "1e3"]
    rename_cases(root, ids, new).to_csv(root / "clinical.csv", index=False)
    cohort = open_m(root)
    assert cohort.ids == new and len(cohort.problems) == 0
    assert cohort.case("010")["T2w"].attrs["source"].endswith("images/010/T2w_pre.nii.gz")


def test_one_blank_id_does_not_turn_ids_into_floats(messy):
    root, ids = messy
    new = ["101", "102", "103", "104", "105"]
    table = rename_cases(root, ids, new)
    table.loc[len(table)] = table.iloc[0]
    table.iloc[-1, 0] = ""
    table.to_csv(root / "clinical.csv", index=False)
    cohort = open_m(root)
    assert cohort.ids == new and list(cohort.clinical.index) == new
    row = cohort.problems.iloc[0]
    assert len(cohort.problems) == 1 and row.case == "" and row.file == str(root / "clinical.csv")
    assert row.problem == "line 7 has no case id in column 'case_id': row skipped"


@pytest.mark.parametrize("dtype", ["int64", "float64", "Int64"], ids=["parquet-int-ids", "parquet-float-ids",
                                                                         "parquet-nullable-int-ids"])
def test_numeric_parquet_ids_have_no_trailing_zero(messy, dtype):
    root, ids = messy
    new = ["101", "102", "103", "104", "105"]
    table = rename_cases(root, ids, new)
    table["case_id"] = table.case_id.astype(int).astype(dtype)
    if dtype != "int64":  # a missing id as well
        table = pd.concat([table, table.iloc[[0]].assign(case_id=pd.array([None], dtype=dtype))], ignore_index=True)
    table.to_parquet(root / "clinical.parquet")
    write_catalog(root, messy_catalog(root).replace("clinical.csv", "clinical.parquet"))
    cohort = open_m(root)
    assert cohort.ids == new
    assert list(cohort.problems.problem) == ([] if dtype == "int64" else ["row 6 has no case id in column 'case_id': row skipped"])


@pytest.mark.parametrize("bad, why", [
    ("{id} ", "it has leading or trailing spaces; it differs from case '{id}' only by spaces"),
    (" {id}", "it has leading or trailing spaces; it differs from case '{id}' only by spaces"),
    ("../{id}", "it holds a path separator"),
    ("{id}/..", "it holds a path separator"),
    ("..{id}", "it holds '..'"),
    ("{id}\\x", "it holds a path separator"),
    ("{id}\0", "it holds a NUL character"),
], ids=["trailing-space", "leading-space", "dotdot-slash", "slash-dotdot", "dotdot", "backslash", "nul"])
def test_unsafe_case_id_is_left_out(messy, bad, why):
    root, ids = messy
    table = clinical(root)
    table.loc[len(table)] = table.iloc[1]
    case = bad.format(id=ids[1])
    table.iloc[-1, 0] = case
    table.to_parquet(root / "clinical.parquet")  # Parquet keeps every character, NUL included
    write_catalog(root, messy_catalog(root).replace("clinical.csv", "clinical.parquet"))
    cohort = open_m(root)
    assert cohort.ids == ids  # the twin with the safe id still opens, and no other case is touched
    row = cohort.problems.iloc[0]
    assert len(cohort.problems) == 1 and row.case == case and row.file == str(root / "clinical.parquet")
    assert row.problem == f"unsafe case id {case!r} in the clinical table ({why.format(id=ids[1])}): case excluded; fix the id"


def test_unsafe_id_in_cases_list(messy):
    root, ids = messy
    write_catalog(root, messy_catalog(root).replace("clinical: {path: clinical.csv}", f"cases: ['{ids[0]}', '../{ids[1]}', '{ids[2]}', '{ids[2]}']")
                  .replace("    outcomes: {label: pcr, time: os_months, event: os_event}\n", ""))
    cohort = open_m(root)
    assert cohort.ids == [ids[0]]
    assert problems_of(cohort) == {
        f"../{ids[1]}": [f"unsafe case id '../{ids[1]}' in the catalog's 'cases' list (it holds a path separator): case excluded"],
        ids[2]: ["duplicate case id in the catalog's 'cases' list (2 times): case excluded"],
        ids[1]: ["images without a clinical row: case not opened"], ids[3]: ["images without a clinical row: case not opened"],
        ids[4]: ["images without a clinical row: case not opened"]}


def test_duplicate_id_leaves_out_both_rows(messy):
    root, ids = messy
    table = clinical(root)
    pd.concat([table, table.iloc[[2]].assign(pcr=1 - table.pcr.iloc[2])]).to_csv(root / "clinical.csv", index=False)
    cohort = open_m(root)
    assert cohort.ids == ids[:2] + ids[3:]
    assert problems_of(cohort) == {ids[2]: ["duplicate case id in clinical table (2 rows): case excluded"]}


# ------------------------------------------------------------------------------------------- unreadable tables
@pytest.mark.parametrize("content, words", [
    ("case_id,pcr\nA0000,1\nUniversit\xe9,0\n".encode("latin-1"), ["is not UTF-8 text (byte 29 is b'\\xe9')", "save it as UTF-8"]),
    (b"", ["is empty", "needs a header line"]),
    (b"\n  \n", ["is empty", "needs a header line"]),
    (b"case_id,pcr,os_months,os_event\n", ["has a header but no rows"]),
    (b"case_id;pcr;os_months;os_event\nA0000;0;39.67;1\n", ["has one column only ('case_id;pcr;os_months;os_event')",
                                                            "separated by semicolons", "save it with commas"]),
    (b"case_id\tpcr\tos_months\tos_event\nA0000\t0\t39.67\t1\n", ["has one column only", "separated by tabs"]),
    (b"case_id,pcr,os_months,os_event\nA0000,0,39.67,1,7\n", ["more values than its header has column names"]),
    (b"case_id,pcr,os_months,os_event\nA0000,0,39.67,1\nB0001,1,7.2,1,0,0\n", ["Expected 4 fields in line 3, saw 6",
                                                                            "check the separators"]),
    (b"id,pcr,os_months,os_event\nA0000,0,39.67,1\n", ["column 'case_id' (key 'clinical.id') is not in", "columns: ['id'"]),
    (b" Case_ID,pcr,os_months,os_event\nA0000,0,39.67,1\n", ["column 'case_id' (key 'clinical.id') is not in",
                                                             "' Case_ID' differs only by case or spaces"]),
], ids=["latin1", "zero-bytes", "whitespace-only", "header-only", "semicolons", "tabs", "extra-field-every-row",
        "ragged-row", "no-id-column", "id-column-with-space"])
def test_unreadable_clinical_table(messy, content, words):
    root, _ = messy
    (root / "clinical.csv").write_bytes(content)
    refused(root, "key 'clinical", *words, file=root / "clinical.csv")


def test_damaged_parquet(messy):
    root, _ = messy
    clinical(root).to_parquet(root / "clinical.parquet")
    data = (root / "clinical.parquet").read_bytes()
    (root / "clinical.parquet").write_bytes(data[: len(data) // 2])
    write_catalog(root, messy_catalog(root).replace("clinical.csv", "clinical.parquet"))
    refused(root, "key 'clinical.path'", "cannot read", "as Parquet", file=root / "clinical.parquet")


def test_missing_table(messy):
    root, _ = messy
    (root / "clinical.csv").unlink()
    refused(root, "key 'clinical.path'", "not found", file=root / "clinical.csv")


def test_csv_utf8_bom_is_fine(messy):
    root, ids = messy
    (root / "clinical.csv").write_bytes(b"\xef\xbb\xbf" + (root / "clinical.csv").read_bytes())
    cohort = open_m(root)
    assert cohort.ids == ids and len(cohort.problems) == 0


# ------------------------------------------------------------------------------------------- files tables
FILES = """
cohorts:
  m:
    images: {T2w: {column: t2w}}
    masks: {tumour: {column: tumour, image: T2w}}
    files: {path: files.csv}
    clinical: {path: clinical.csv}
"""


def files_table(root, ids) -> pd.DataFrame:
    return pd.DataFrame({"case_id": ids, "t2w": [f"images/{c}/T2w_pre.nii.gz" for c in ids],
                         "tumour": [f"masks/{c}/tumour_pre.nii.gz" for c in ids]})


def test_files_table_and_clinical_table_disagree(messy):
    root, ids = messy
    table = files_table(root, ids[1:] + ["Z9999"])  # no row for ids[0]; a row for a case without clinical data
    table.to_csv(root / "files.csv", index=False)
    write_catalog(root, FILES)
    cohort = open_m(root)
    assert cohort.ids == ids[1:]
    files = str(root / "files.csv")
    assert [tuple(r) for r in cohort.problems.itertuples(index=False)] == [
        (ids[0], files, "no row in the files table: case excluded"),
        ("Z9999", files, "in the files table but not in the clinical table: case not opened")]


@pytest.mark.parametrize("entry, words", [
    ("/etc/{case}.nii.gz", ["column 't2w' of the files table gives '/etc/", "lies outside the cohort root"]),
    ("../{case}/T2w_pre.nii.gz", ["column 't2w' of the files table gives '../", "lies outside the cohort root"]),
    ("images/../../{case}.nii.gz", ["lies outside the cohort root", "allow_outside_root: true"]),
    ("", ["no path in column 't2w' of the files table"]),
], ids=["files-absolute-path", "files-dotdot-path", "files-path-climbing-out", "files-blank-path"])
def test_bad_files_table_entry_leaves_out_that_case(messy, entry, words):
    root, ids = messy
    table = files_table(root, ids)
    table.loc[2, "t2w"] = entry.format(case=ids[2])
    table.to_csv(root / "files.csv", index=False)
    write_catalog(root, FILES)
    cohort = open_m(root)
    assert cohort.ids == ids[:2] + ids[3:]
    row = cohort.problems.iloc[0]
    assert len(cohort.problems) == 1 and row.case == ids[2]
    assert row.file == (str(root / "files.csv") if not entry else os.path.normpath(root / entry.format(case=ids[2])))
    assert row.problem.startswith(f"cohort 'm', case '{ids[2]}': ") and row.problem.endswith(": case excluded")
    for word in words:
        assert word in row.problem


def test_files_table_entry_outside_root_allowed_explicitly(messy, tmp_path_factory):
    root, ids = messy
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    shutil.move(root / "images" / ids[2], elsewhere / ids[2])
    table = files_table(root, ids)
    table.loc[2, "t2w"] = str(elsewhere / ids[2] / "T2w_pre.nii.gz")
    table.to_csv(root / "files.csv", index=False)
    write_catalog(root, FILES + "    allow_outside_root: true\n")
    cohort = open_m(root)
    assert cohort.ids == ids and len(cohort.problems) == 0
    assert cohort.case(ids[2])["T2w"].attrs["source"] == str(elsewhere / ids[2] / "T2w_pre.nii.gz")


def test_files_table_without_the_column_the_catalog_names(messy):
    root, ids = messy
    files_table(root, ids).drop(columns="tumour").to_csv(root / "files.csv", index=False)
    write_catalog(root, FILES)
    refused(root, "key 'masks.tumour.column'", "column 'tumour' is not in the files table", file=root / "files.csv")


# per-case ROI names (catalog ``roi_column``: structure sets naming the ROI differently per patient); opening reads
# no mask, so the mask files here need not be RTSTRUCTs
ROI_FILES = FILES.replace("{column: tumour, image: T2w}", "{column: tumour, image: T2w, format: rtstruct, roi_column: roi}")


def test_roi_column_gives_each_case_its_roi(messy):
    root, ids = messy
    files_table(root, ids).assign(roi=["GTV-1", "gtv 1", "GTV-1", "GTV_primary", "GTV-1"]).to_csv(root / "files.csv",
                                                                                                   index=False)
    write_catalog(root, ROI_FILES)
    cohort = open_m(root)
    assert cohort.ids == ids and cohort.problems.empty
    assert [cohort.case(c)["tumour"].attrs["roi"] for c in ids] == ["GTV-1", "gtv 1", "GTV-1", "GTV_primary", "GTV-1"]


@pytest.mark.parametrize("cell", ["", "   "], ids=["blank", "spaces"])
def test_blank_roi_cell_leaves_out_that_case(messy, cell):
    root, ids = messy
    table = files_table(root, ids).assign(roi="GTV-1")
    table.loc[2, "roi"] = cell
    table.to_csv(root / "files.csv", index=False)
    write_catalog(root, ROI_FILES)
    cohort = open_m(root)
    assert cohort.ids == ids[:2] + ids[3:]
    assert [tuple(r) for r in cohort.problems.itertuples(index=False)] == [
        (ids[2], str(root / "files.csv"), f"cohort 'm', case '{ids[2]}': no ROI name in column 'roi' of the files "
                                          "table: case excluded")]


def test_roi_names_and_paths_stay_as_written(messy):
    """A files table's ROI names and paths are text as written, like ids: no "001" -> 1, no "NA" -> missing, and
    a blank cell does not turn the other names into floats ("7" -> "7.0")."""
    root, ids = messy
    for case in ids:
        (root / "masks" / case / "tumour_pre.nii.gz").rename(root / "masks" / case / "001")
    table = files_table(root, ids).assign(roi=["001", "", "1.0", "NA", "7"], tumour=[f"masks/{c}/001" for c in ids])
    table.to_csv(root / "files.csv", index=False)
    write_catalog(root, ROI_FILES)
    cohort = open_m(root)
    assert cohort.ids == [ids[0], *ids[2:]] and cohort.problems.case.tolist() == [ids[1]]
    cases = [cohort.case(c)["tumour"] for c in cohort.ids]
    assert [m.attrs["roi"] for m in cases] == ["001", "1.0", "NA", "7"]
    assert [m.attrs["source"] for m in cases] == [str(root / "masks" / c / "001") for c in cohort.ids]


def test_files_table_without_the_roi_column_the_catalog_names(messy):
    root, ids = messy
    files_table(root, ids).to_csv(root / "files.csv", index=False)
    write_catalog(root, ROI_FILES)
    refused(root, "key 'masks.tumour.roi_column'", "column 'roi' is not in the files table", file=root / "files.csv")


def test_clinical_ids_without_files_are_each_listed(messy):
    root, ids = messy
    table = clinical(root)
    table.loc[len(table)] = table.iloc[0]
    table.loc[len(table)] = table.iloc[0]
    table.iloc[-2:, 0] = ["X1", "X2"]
    table.to_csv(root / "clinical.csv", index=False)
    cohort = open_m(root)
    assert cohort.ids == ids
    assert list(cohort.problems.case) == ["X1", "X2"]
    assert all(p.startswith("file not found") for p in cohort.problems.problem)
    assert list(cohort.problems.file) == [str(root / "images" / c / "T2w_pre.nii.gz") for c in ("X1", "X2")]


# ------------------------------------------------------------------------------------------- outcome values
@pytest.mark.parametrize("column, values, words", [
    ("os_event", [1, 2, 2, 1, 2], ["key 'outcomes.event'", "column 'os_event' uses 1/2 coding", "recode to 0/1"]),
    ("os_event", [0.2, 0.9, 0.0, 1.0, 0.5], ["key 'outcomes.event'", "fractional values", "a probability is not an event"]),
    ("pcr", [1, 2, 1, 2, 2], ["key 'outcomes.label'", "column 'pcr' uses 1/2 coding"]),
    ("pcr", ["yes", "no", "no", "yes", "no"], ["key 'outcomes.label'", "column 'pcr' holds no numbers"]),
    ("os_months", [-1.0, -3.0, -2.5, -7.0, -4.0], ["key 'outcomes.time'", "only negative times"]),
    ("pcr", [0, 1, 0.5, 1, 0], ["key 'outcomes.label'", "fractional values (e.g. 0.5)", "a probability is not a label"]),
], ids=["event-1-2-coding", "event-fractional", "label-1-2-coding", "label-yes-no", "time-all-negative",
        "label-one-fraction"])
def test_wrongly_coded_outcome_column_is_refused(messy, column, values, words):
    root, _ = messy
    table = clinical(root)
    table[column] = values
    table.to_csv(root / "clinical.csv", index=False)
    refused(root, *words, f"(in {root / 'clinical.csv'})", file=root / "clinical.csv")


@pytest.mark.parametrize("column, value, text", [
    ("os_event", 3, "os_event is 3 (an event must be 0 or 1)"),
    ("os_months", -2.0, "os_months is -2 (a time must be a number >= 0)"),
    ("os_months", "12 months", "os_months is '12 months' (a time must be a number >= 0)"),
    ("pcr", "maybe", "pcr is 'maybe' (a label must be 0 or 1)"),
    ("pcr", 7, "pcr is 7 (a label must be 0 or 1)"),
], ids=["event-3", "time-negative", "time-text", "label-text", "label-7"])
def test_one_invalid_outcome_value_is_set_missing_and_listed(messy, column, value, text):
    root, ids = messy
    table = clinical(root)
    before = table.set_index("case_id")[column].copy()
    table[column] = table[column].astype(object)
    table.loc[1, column] = value
    table.to_csv(root / "clinical.csv", index=False)
    cohort = open_m(root)
    assert cohort.ids == ids  # the case keeps its images
    assert [tuple(r) for r in cohort.problems.itertuples(index=False)] == [
        (ids[1], str(root / "clinical.csv"), f"{text}: set to missing for this case (the case is kept)")]
    after = cohort.clinical[column]
    assert np.isnan(after[ids[1]]) and after.dtype.kind == "f"
    np.testing.assert_array_equal(after.drop(ids[1]).to_numpy(), before.drop(ids[1]).to_numpy().astype(float))
    assert cohort.case(ids[1])["T2w"].shape == cohort.case(ids[1])["tumour"].shape


def test_missing_outcome_values_are_no_problem(messy):
    root, ids = messy
    table = clinical(root)
    table.loc[[0, 3], ["pcr", "os_months", "os_event"]] = np.nan
    table.to_csv(root / "clinical.csv", index=False)
    cohort = open_m(root)
    assert cohort.ids == ids and len(cohort.problems) == 0
    assert cohort.clinical.pcr.isna().sum() == 2 and cohort.clinical.os_event.isna().sum() == 2


@pytest.mark.parametrize("content", [None, "{not json"], ids=["ground-truth-missing", "ground-truth-malformed"])
def test_unreadable_ground_truth(messy, content):
    root, ids = messy
    write_catalog(root, messy_catalog(root) + "    ground_truth: truth.json\n")
    if content is not None:
        (root / "truth.json").write_text(content)
    cohort = open_m(root)
    assert cohort.ids == ids  # the images open; only the ground truth cannot be read
    with pytest.raises(CatalogError) as err:
        cohort.ground_truth
    assert err.value.file == str(root / "truth.json")
    assert str(err.value).startswith(f"cohort 'm', key 'ground_truth': cannot read {root / 'truth.json'} (")


def test_feature_table_cohort_check_lists_only_table_problems(tmp_path):
    (tmp_path / "t.csv").write_text("case_id,f1,y\n001,1.5,0\n002,2.5,1\n002,3.5,1\n003,4.5,2\n")
    write_catalog(tmp_path, "cohorts:\n  m: {features: {path: t.csv}, outcomes: {label: y}}\n")
    cohort = open_m(tmp_path)
    assert cohort.ids == ["001", "003"] and np.isnan(cohort.clinical.y["003"])
    assert cohort.features.f1.tolist() == [1.5, 4.5]
    problems = cohort.check(progress=False)
    assert list(problems.case) == ["002", "003"] and set(problems.file) == {str(tmp_path / "t.csv")}
    assert problems.problem.tolist() == ["duplicate case id in features table (2 rows): case excluded",
                                         "y is 2 (a label must be 0 or 1): set to missing for this case (the case is kept)"]
