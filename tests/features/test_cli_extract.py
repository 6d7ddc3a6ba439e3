"""``radlab extract`` through the real CLI entry point."""

from __future__ import annotations

import pandas as pd
import pytest

from radlab.cli import main


@pytest.mark.slow
def test_radlab_extract_writes_parquet_and_reuses_the_cache(catalog, tmp_path, capsys):
    out = tmp_path / "features.parquet"
    params = tmp_path / "small.yaml"
    params.write_text("setting: {binCount: 16}\nimageType: {Original: {}}\nfeatureClass: {firstorder: [Mean]}\n")
    argv = ["extract", "pyradiomics-samples", "--params", str(params), "--scheduler", "sync", "--out", str(out),
            "--cache", str(tmp_path / "cache"), "--quiet"]
    assert main(argv) == 0
    df = pd.read_parquet(out)
    assert list(df.index) == ["brain1", "brain2", "breast1", "lung1", "lung2"]
    assert list(df.columns) == ["image__label__original_firstorder_Mean"]
    assert "5 computed, 0 from cache" in capsys.readouterr().out
    assert main(argv) == 0
    assert "0 computed, 5 from cache" in capsys.readouterr().out
