"""`radlab <verb>` on the project catalog over the tiny data folder."""

from __future__ import annotations

import re
import subprocess
import sys

from radlab.cli import main


def test_catalog_lists_and_validates(catalog, capsys):
    assert main(["--catalog", str(catalog.path), "catalog"]) == 0
    out = capsys.readouterr().out
    assert "7 cohorts, valid" in out
    assert "demo " in out and "30 cases" in out and "569 cases" in out and "feature table" in out
    assert re.search(r"lidc +64 cases  masks only", out)


def test_catalog_reports_invalid_file(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("cohorts:\n  x: {images: {T2w: 'a.nii'}, cases: [a]}\n")
    assert main(["--catalog", str(bad), "catalog"]) == 2  # bad input (was 1 before the CLI's error contract)
    err = capsys.readouterr().err
    assert err.startswith(f"radlab catalog: catalog {bad}: 1 problem(s); cohort 'x', key 'images.T2w'")
    assert "must contain '{case}'" in err and err.count("\n") == 1


def test_info_describes_a_cohort(catalog, capsys):
    assert main(["--catalog", str(catalog.path), "info", "demo", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "<Cohort 'demo': 30 cases" in out
    assert "outcomes: label=pcr, time=os_months, event=os_event" in out
    assert "centre: A (" in out and "SIEMENS" in out
    assert "no problems found" in out


def test_info_check_reads_every_case(catalog, capsys):
    assert main(["--catalog", str(catalog.path), "info", "demo-dicom", "--check", "--quiet"]) == 0
    assert "no problems found" in capsys.readouterr().out


def test_console_script_is_installed(catalog):
    result = subprocess.run([sys.executable, "-m", "radlab.cli", "--catalog", str(catalog.path), "catalog"],
                            capture_output=True, text=True, check=True)
    assert "gbsg2" in result.stdout


def test_serving_beyond_localhost_requires_auth(catalog):
    import pytest

    from radlab.ui import serve

    with pytest.raises(PermissionError, match="refusing to serve on '0.0.0.0' without authentication"):
        serve(catalog=catalog.path, address="0.0.0.0", port=0)


def test_import_radlab_is_light():
    code = ("import sys, radlab, radlab.catalog, radlab.cohort, radlab.datasets, radlab.grid;"
            "heavy = [m for m in ('torch', 'shap', 'radiomics', 'panel', 'holoviews') if m in sys.modules];"
            "print(heavy)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"
