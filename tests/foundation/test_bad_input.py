"""Bad input: every problem names the case and the file; one bad case never sinks the cohort."""

from __future__ import annotations

import shutil
import textwrap

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from radlab.catalog import Catalog
from radlab.cohort import CaseError, GeometryError


@pytest.fixture
def messy(tmp_path, data_root):
    """Five demo cases copied into a fresh cohort folder, to be broken one way each."""
    src = data_root / "demo"
    clinical = pd.read_csv(src / "clinical.csv").head(5)
    for case in clinical.case_id:
        for sub in ("images", "masks"):
            shutil.copytree(src / sub / case, tmp_path / sub / case)
    clinical.to_csv(tmp_path / "clinical.csv", index=False)
    (tmp_path / "catalog.yaml").write_text(textwrap.dedent("""
        cohorts:
          m:
            images: {T2w: "images/{case}/T2w_pre.nii.gz"}
            masks: {tumour: {path: "masks/{case}/tumour_pre.nii.gz", image: T2w}}
            clinical: {path: clinical.csv}
            outcomes: {label: pcr}
    """))
    return tmp_path, list(clinical.case_id)


def open_m(root):
    return Catalog(root / "catalog.yaml")["m"]


def test_missing_file_excludes_only_that_case(messy):
    root, ids = messy
    (root / "images" / ids[1] / "T2w_pre.nii.gz").unlink()
    cohort = open_m(root)
    assert cohort.ids == [ids[0]] + ids[2:]
    problem = cohort.problems.iloc[0]
    assert problem.case == ids[1] and problem.file.endswith(f"{ids[1]}/T2w_pre.nii.gz")
    assert "file not found" in problem.problem
    with pytest.raises(CaseError, match=f"no usable case '{ids[1]}': file not found"):
        cohort.case(ids[1])


def test_duplicate_and_missing_ids_and_orphan_images(messy):
    root, ids = messy
    clinical = pd.read_csv(root / "clinical.csv")
    clinical = pd.concat([clinical, clinical.iloc[[0]]])  # duplicate first case
    clinical.loc[len(clinical)] = clinical.iloc[1]
    clinical.iloc[-1, 0] = np.nan  # a row without an id
    clinical = clinical[clinical.case_id != ids[4]]  # images without a clinical row
    clinical.to_csv(root / "clinical.csv", index=False)
    cohort = open_m(root)
    assert cohort.ids == ids[1:4]
    problems = cohort.problems.set_index("case")
    assert "duplicate case id" in problems.loc[ids[0], "problem"]
    assert "images without a clinical row" in problems.loc[ids[4], "problem"]
    assert "has no case id in column 'case_id'" in problems.loc[""].problem


def test_truncated_image_is_reported_by_check_with_its_file(messy):
    root, ids = messy
    path = root / "images" / ids[2] / "T2w_pre.nii.gz"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    cohort = open_m(root)
    problems = cohort.check(progress=False)
    assert list(problems.case) == [ids[2]]
    assert str(path) in problems.problem.iloc[0] and "truncated or corrupt file" in problems.problem.iloc[0]
    assert len(cohort.ids) == 5  # the rest still opens and computes
    assert cohort.case(ids[3])["T2w"].values.size > 0


def test_garbage_file_names_case_and_file(messy):
    root, ids = messy
    path = root / "images" / ids[0] / "T2w_pre.nii.gz"
    path.write_bytes(b"not an image at all")
    cohort = open_m(root)
    with pytest.raises(CaseError, match=rf"case '{ids[0]}': {path}: unreadable nifti header"):
        cohort.case(ids[0])


def test_empty_mask_is_reported(messy):
    root, ids = messy
    path = root / "masks" / ids[3] / "tumour_pre.nii.gz"
    mask = sitk.ReadImage(str(path))
    sitk.WriteImage(mask * 0, str(path))
    problems = open_m(root).check(progress=False)
    assert list(problems.case) == [ids[3]] and problems.problem.iloc[0] == "mask 'tumour' is empty"
    assert problems.file.iloc[0] == str(path)


def test_geometry_mismatch_names_case_and_both_files_and_can_resample(messy):
    root, ids = messy
    path = root / "masks" / ids[0] / "tumour_pre.nii.gz"
    mask = sitk.ReadImage(str(path))
    coarse = sitk.Resample(mask, [s // 2 for s in mask.GetSize()], sitk.Transform(), sitk.sitkNearestNeighbor,
                           mask.GetOrigin(), [s * 2 for s in mask.GetSpacing()], mask.GetDirection())
    sitk.WriteImage(coarse, str(path))
    cohort = open_m(root)
    with pytest.raises(GeometryError) as err:
        cohort.case(ids[0])
    message = str(err.value)
    assert f"case '{ids[0]}'" in message and str(path) in message and "T2w_pre.nii.gz" in message
    assert "spacing" in message and "resample_masks=True" in message
    fixed = cohort.case(ids[0], resample_masks=True)
    assert fixed["tumour"].shape == fixed["T2w"].shape
    original = sitk.GetArrayFromImage(mask)
    dice = 2 * np.sum(fixed["tumour"].values & original) / (fixed["tumour"].values.sum() + original.sum())
    assert dice > 0.7  # a 2x coarser mask of a small tumour, resampled back, still agrees with the original
