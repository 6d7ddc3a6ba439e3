"""The command line's error contract: every ``radlab`` verb, given bad input, prints one line on stderr,
``radlab <verb>: <what is wrong>`` naming the thing at fault, and exits with the documented code (no traceback
unless ``--debug``). Run as a user runs it: ``python -m radlab.cli`` in a subprocess.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from radlab import cli
from radlab.errors import EXIT_BAD_INPUT, EXIT_FAILED_CASES, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_NOTHING

SMALL_PARAMS = "setting: {binCount: 16}\nimageType: {Original: {}}\nfeatureClass: {firstorder: [Mean]}\n"


def radlab(*args, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "radlab.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def _setup(root: Path, kind: str) -> list:
    """The command line of one kind, with the bad file it needs written under ``root`` (the messy cohort)."""
    catalog = root / "catalog.yaml"
    if kind == "invalid-catalog-two-problems":
        bad = root / "bad.yaml"
        bad.write_text("cohorts:\n  x: {images: {T2w: 'a.nii'}, clinical: {path: c.csv}, colour: red}\n")
        return ["--catalog", bad, "catalog"]
    if kind == "data-folder-under-a-file":
        (root / "a-file").write_text("not a folder")
        return ["data", "--data", root / "a-file" / "data"]
    if kind == "params-malformed-yaml":
        (root / "params.yaml").write_text("setting: {binCount: 16\nimageType: [\n")
    if kind == "users-file-missing":
        return ["serve", "--port", "5", "--basic-auth", root / "users.json"]
    return {
        "catalog-file-missing": ["--catalog", root / "nope.yaml", "catalog"],
        "unknown-cohort": ["--catalog", catalog, "info", "no-such-cohort"],
        "check-unknown-cohort": ["--catalog", catalog, "info", "no-such-cohort", "--check"],
        "demo-cases-zero": ["demo", "--cases", "0"],
        "serve-port-out-of-range": ["serve", "--port", "70000"],
        "params-file-missing": ["--catalog", catalog, "extract", "m", "--params", root / "missing.yaml",
                                "--scheduler", "sync", "--out", root / "f.parquet"],
        "params-malformed-yaml": ["--catalog", catalog, "extract", "m", "--params", root / "params.yaml",
                                  "--scheduler", "sync", "--out", root / "f.parquet"],
        "extract-out-not-a-table": ["--catalog", catalog, "extract", "m", "--out", root / "f.xlsx"],
        "html-predictions-missing": ["--catalog", catalog, "export-html", "roc", "--out", root / "roc.html",
                                     "--predictions", root / "mine.csv"],
        "figure-format-unknown": ["--catalog", catalog, "export-figure", "roc", "ROC", "--out", root / "roc.jpg"],
        "figure-predictions-missing": ["--catalog", catalog, "export-figure", "roc", "ROC", "--out", root / "roc.png",
                                       "--predictions", root / "mine.csv"],
        "archive-folder-missing": ["index", root / "no-archive", "--name", "x"],
        "ibsi-unknown-config": ["ibsi", "--config", "Z"],
        "dicom-folder-missing": ["deidentify", root / "no-dicom", root / "deidentified"],
        "unknown-verb": ["frobnicate"],
    }[kind]


# kind, verb, exit code, words the line must hold ({root}: the messy cohort's folder)
KINDS = [
    ("catalog-file-missing", "catalog", EXIT_BAD_INPUT, ["{root}/nope.yaml", "not found"]),
    ("invalid-catalog-two-problems", "catalog", EXIT_BAD_INPUT,
     ["{root}/bad.yaml", "2 problem(s); cohort 'x', key 'images.T2w': the path template must contain '{case}'",
      "; cohort 'x', key 'colour'"]),
    ("unknown-cohort", "info", EXIT_BAD_INPUT, ["no cohort 'no-such-cohort'", "{root}/catalog.yaml", "'m'"]),
    ("check-unknown-cohort", "info", EXIT_BAD_INPUT, ["no cohort 'no-such-cohort'"]),
    ("data-folder-under-a-file", "data", EXIT_BAD_INPUT, ["data folder {root}/a-file/data", "Not a directory",
                                                          "--data"]),
    ("demo-cases-zero", "demo", EXIT_BAD_INPUT, ["argument --cases", "integer >= 1", "'0'"]),
    ("serve-port-out-of-range", "serve", EXIT_BAD_INPUT, ["argument --port", "1 to 65535", "'70000'"]),
    ("users-file-missing", "serve", EXIT_BAD_INPUT, ["{root}/users.json", "no such file", '{"user": "password"']),
    ("params-file-missing", "extract", EXIT_BAD_INPUT, ["{root}/missing.yaml", "does not exist"]),
    ("params-malformed-yaml", "extract", EXIT_BAD_INPUT, ["{root}/params.yaml"]),
    ("extract-out-not-a-table", "extract", EXIT_BAD_INPUT, ["argument --out", ".parquet or .csv", "f.xlsx"]),
    ("html-predictions-missing", "export-html", EXIT_BAD_INPUT, ["predictions file {root}/mine.csv", "does not exist"]),
    ("figure-format-unknown", "export-figure", EXIT_BAD_INPUT, ["argument --out", ".png or .svg", "roc.jpg"]),
    ("figure-predictions-missing", "export-figure", EXIT_BAD_INPUT,
     ["predictions file {root}/mine.csv", "does not exist"]),
    ("archive-folder-missing", "index", EXIT_BAD_INPUT, ["archive folder {root}/no-archive", "does not exist"]),
    ("ibsi-unknown-config", "ibsi", EXIT_BAD_INPUT, ["argument --config: invalid choice: 'Z'", "see radlab ibsi --help"]),
    ("dicom-folder-missing", "deidentify", EXIT_BAD_INPUT, ["{root}/no-dicom", "no such folder"]),
    ("unknown-verb", "", EXIT_BAD_INPUT, ["invalid choice: 'frobnicate'", "radlab --help"]),
]


@pytest.mark.parametrize("kind, verb, code, words", KINDS, ids=[k[0] for k in KINDS])
def test_every_verb_gives_one_line_and_its_exit_code(messy, kind, verb, code, words):
    root, _ = messy
    out = radlab(*_setup(root, kind))
    assert out.returncode == code, out.stderr
    assert "Traceback" not in out.stderr
    assert len(out.stderr.splitlines()) == 1, out.stderr
    line = out.stderr.strip()
    assert line.startswith(f"radlab {verb}: " if verb else "radlab: ")
    for word in words:
        assert word.replace("{root}", str(root)) in line
    assert not (root / "f.parquet").exists() and not (root / "roc.html").exists()  # nothing written


def test_every_registered_verb_has_a_bad_input_kind():
    sub = next(a for a in cli._parser()._actions if a.dest == "verb")
    assert set(sub.choices) == {verb for _, verb, _, _ in KINDS if verb}


def test_debug_adds_the_traceback_before_the_line(tmp_path):
    for argv in (["--debug", "--catalog", tmp_path / "nope.yaml", "catalog"],
                 ["--catalog", tmp_path / "nope.yaml", "catalog", "--debug"]):
        out = radlab(*argv)
        assert out.returncode == EXIT_BAD_INPUT
        assert out.stderr.startswith("Traceback (most recent call last):")
        assert "radlab.catalog.CatalogError" in out.stderr
        assert out.stderr.splitlines()[-1] == f"radlab catalog: catalog file {tmp_path / 'nope.yaml'} not found"


def _break(root: Path, case: str) -> Path:
    path = root / "images" / case / "T2w_pre.nii.gz"
    path.write_bytes(path.read_bytes()[:100])
    return path


def test_info_check_lists_unreadable_headers(messy):
    """Kind info-check-unreadable-header: the acquisition table shows the readable cases, --check the whole table."""
    root, ids = messy
    broken = _break(root, ids[1])
    out = radlab("--catalog", root / "catalog.yaml", "info", "m", "--check", "--quiet")
    assert out.returncode == EXIT_FAILED_CASES and "Traceback" not in out.stderr
    acquisition = out.stdout.split("acquisition (per image, first rows):")[1].split("header(s) could not be read")[0]
    assert all(case in acquisition for case in ids if case != ids[1]) and ids[1] not in acquisition
    assert "1 header(s) could not be read" in out.stdout and "1 problem(s):" in out.stdout
    table = out.stdout.split("1 problem(s):")[1]
    assert f"{ids[1]} {broken}" in table and "unreadable nifti header" in table


@pytest.fixture
def extract_m(messy):
    root, ids = messy
    (root / "small.yaml").write_text(SMALL_PARAMS)

    def run():
        return radlab("--catalog", root / "catalog.yaml", "extract", "m", "--params", root / "small.yaml",
                      "--scheduler", "sync", "--no-cache", "--quiet", "--out", root / "out" / "f.parquet")
    return root, ids, run


def test_extract_with_some_cases_failing_exits_1(extract_m):
    """Kind extract-some-cases-fail: the other cases' features are written, the failed ones named."""
    root, ids, run = extract_m
    broken = [_break(root, ids[0]), _break(root, ids[3])]
    out = run()
    assert out.returncode == EXIT_FAILED_CASES and "Traceback" not in out.stderr
    errors_file = root / "out" / "f.parquet.errors.csv"
    assert out.stderr.splitlines()[-1] == (f"radlab extract: 2 of 5 case(s) failed: {ids[0]}, {ids[3]}; case, file "
                                           f"and message in {errors_file}")
    errors = pd.read_csv(errors_file, dtype=str)
    assert errors.case.tolist() == [ids[0], ids[3]] and errors.file.tolist() == [str(p) for p in broken]
    features = pd.read_parquet(root / "out" / "f.parquet")
    assert features.index.tolist() == [ids[1], ids[2], ids[4]]
    for case in features.index:  # the right numbers for the others: Mean is the mean of the masked voxels
        image = sitk.GetArrayFromImage(sitk.ReadImage(str(root / "images" / case / "T2w_pre.nii.gz")))
        mask = sitk.GetArrayFromImage(sitk.ReadImage(str(root / "masks" / case / "tumour_pre.nii.gz")))
        assert features.loc[case, "T2w__tumour__original_firstorder_Mean"] == pytest.approx(
            image[mask > 0].astype(np.float64).mean(), rel=1e-6)


def test_extract_with_every_case_failing_exits_3(extract_m):
    """Kind extract-nothing-produced: exit 3, no feature table, every case in the errors file."""
    root, ids, run = extract_m
    for case in ids:
        _break(root, case)
    out = run()
    assert out.returncode == EXIT_NOTHING and "Traceback" not in out.stderr
    errors_file = root / "out" / "f.parquet.errors.csv"
    assert out.stderr.splitlines()[-1] == (f"radlab extract: no case of cohort 'm' produced features (5 failed); "
                                           f"case, file and message in {errors_file}; no table written")
    assert not (root / "out" / "f.parquet").exists()
    assert pd.read_csv(errors_file, dtype=str).case.tolist() == ids


def _fail_with(exc):
    def verb(args):
        raise exc
    return verb


@pytest.mark.parametrize("exc, code, line", [
    (ZeroDivisionError("division by zero"), EXIT_INTERNAL,
     "radlab catalog: internal error: ZeroDivisionError: division by zero (rerun with --debug for the traceback)"),
    (KeyboardInterrupt(), EXIT_INTERRUPTED, "radlab catalog: interrupted"),
    (FileNotFoundError(2, "No such file or directory", "/data/x.csv"), EXIT_BAD_INPUT,
     "radlab catalog: /data/x.csv: No such file or directory"),
], ids=["internal-error", "interrupted", "missing-file-oserror"])
def test_other_exceptions_are_one_line_too(monkeypatch, capsys, exc, code, line):
    monkeypatch.setattr(cli, "_catalog", _fail_with(exc))
    assert cli.main(["catalog"]) == code
    assert capsys.readouterr().err == line + "\n"


def test_value_errors_are_bad_input_only_when_radlab_raised_them(monkeypatch, capsys):
    """Kind library-value-error: a ValueError from radlab's own checks is bad input (2); one from deep inside a
    library is an internal error (70), named with its type."""
    def radlab_check(args):
        from radlab.ui._export import export_figure

        export_figure(None, "plot.jpg")  # radlab's own check of the format

    def library_error(args):
        np.linalg.cholesky(-np.eye(2))

    monkeypatch.setattr(cli, "_catalog", radlab_check)
    assert cli.main(["catalog"]) == EXIT_BAD_INPUT
    assert capsys.readouterr().err == ("radlab catalog: The 'fmt' parameter of export_figure must be 'png' or 'svg'. "
                                       "Got 'jpg' instead.\n")
    monkeypatch.setattr(cli, "_catalog", library_error)
    assert cli.main(["catalog"]) == EXIT_INTERNAL
    assert capsys.readouterr().err.startswith("radlab catalog: internal error: LinAlgError: Matrix is not positive")
