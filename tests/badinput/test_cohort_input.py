"""A bad case never sinks a cohort: check(), acquisition(), headers() and to_grid() report it and finish the rest.

Every problem row names the case and the file at fault (never "cohort 'm', case 'x'" in the file column); an error
raised while computing a case's voxels names the cohort and the case.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

import radlab.cohort
from radlab.cohort import CaseError, GeometryError
from radlab.io import ReadError
from radlab.io._index import HeaderIndex

from ._helpers import messy_catalog, open_m, write_catalog


def image_path(root, case):
    return root / "images" / case / "T2w_pre.nii.gz"


def mask_path(root, case):
    return root / "masks" / case / "tumour_pre.nii.gz"


def rewrite(path, fn):
    """Write ``fn(voxels)`` back to ``path`` on the same grid."""
    image = sitk.ReadImage(str(path))
    out = sitk.GetImageFromArray(fn(sitk.GetArrayFromImage(image)))
    out.CopyInformation(image)
    sitk.WriteImage(out, str(path))


def garbage_header(root, case):
    image_path(root, case).write_bytes(b"not an image at all")
    return image_path(root, case), "unreadable nifti header"


def nan_voxels(root, case):  # readable header, unreadable voxels (caught when computed)
    rewrite(image_path(root, case), lambda a: np.where(np.arange(a.size).reshape(a.shape) == 7, np.nan, a).astype(np.float32))
    return image_path(root, case), "voxels are not finite"


def empty_mask(root, case):
    rewrite(mask_path(root, case), lambda a: np.zeros_like(a))
    return mask_path(root, case), "is empty"


def nan_mask(root, case):
    rewrite(mask_path(root, case), lambda a: np.where(a > 0, np.nan, 0).astype(np.float32))
    return mask_path(root, case), "voxels are not finite"


def mask_off_grid(root, case):
    mask = sitk.ReadImage(str(mask_path(root, case)))
    coarse = sitk.Resample(mask, [s // 2 for s in mask.GetSize()], sitk.Transform(), sitk.sitkNearestNeighbor,
                           mask.GetOrigin(), [s * 2 for s in mask.GetSpacing()], mask.GetDirection())
    sitk.WriteImage(coarse, str(mask_path(root, case)))
    return mask_path(root, case), "does not lie on image"


def rows(frame: pd.DataFrame) -> list[tuple[str, str, str]]:
    return [tuple(r) for r in frame.itertuples(index=False)]


# ------------------------------------------------------------------------------------------- check()
@pytest.mark.parametrize("breaker", [garbage_header, nan_voxels, empty_mask, nan_mask, mask_off_grid],
                         ids=["check-unreadable-header", "check-unreadable-voxels", "check-empty-mask",
                              "check-unreadable-mask", "check-mask-off-grid"])
def test_check_names_the_file_at_fault_and_checks_the_rest(messy, breaker):
    root, ids = messy
    path, words = breaker(root, ids[2])
    problems = open_m(root).check(progress=False)
    assert list(problems.case) == [ids[2]]
    assert problems.file.iloc[0] == str(path) and words in problems.problem.iloc[0]


def test_check_never_raises_on_a_bad_sidecar_value(messy):
    root, ids = messy
    sidecar = image_path(root, ids[1]).with_name("T2w_pre.json")
    sidecar.write_text(json.dumps({"Manufacturer": "SIEMENS", "RepetitionTime": "abc"}))
    cohort = open_m(root)
    problems = cohort.check(progress=False)
    assert list(problems.case) == [ids[1]]
    assert problems.file.iloc[0] in (str(sidecar), str(image_path(root, ids[1])))
    assert "'abc'" in problems.problem.iloc[0] and f"case '{ids[1]}'" in problems.problem.iloc[0]
    with pytest.raises(CaseError) as err:  # building the case is an error naming case and file
        cohort.case(ids[1])
    assert err.value.case == ids[1] and err.value.file == problems.file.iloc[0]


def test_check_turns_an_unexpected_error_into_a_row(messy, monkeypatch):
    root, ids = messy
    real = radlab.cohort.read_voxels

    def flaky(header):
        if ids[3] in header.path:
            raise RuntimeError("library surprise")
        return real(header)

    monkeypatch.setattr(radlab.cohort, "read_voxels", flaky)
    problems = open_m(root).check(progress=False)
    assert rows(problems) == [(ids[3], str(image_path(root, ids[3])),
                               f"cohort 'm', case '{ids[3]}': unexpected RuntimeError reading 'T2w': library surprise")]


def test_check_turns_an_unexpected_header_error_into_a_row(messy, monkeypatch):
    root, ids = messy
    real = HeaderIndex.get

    def flaky(self, path, fmt):
        if ids[0] in path and "images" in path:
            raise KeyError("Rows")
        return real(self, path, fmt)

    monkeypatch.setattr(HeaderIndex, "get", flaky)
    cohort = open_m(root)
    problems = cohort.check(progress=False)
    path = str(image_path(root, ids[0]))
    assert rows(problems) == [(ids[0], path, f"cohort 'm', case '{ids[0]}': {path}: cannot read its header (KeyError: 'Rows')")]
    acq = cohort.acquisition()
    assert list(acq.case) == ids[1:] and acq.attrs["problems"] == [dict(zip(("case", "file", "problem"), problems.iloc[0]))]


def test_check_lists_what_the_reader_skipped(messy, monkeypatch):
    root, ids = messy
    real = HeaderIndex.get
    note = "skipped 2 localizer slices: IM0001.dcm, IM0002.dcm"

    def noted(self, path, fmt):
        header = real(self, path, fmt)
        return dataclasses.replace(header, notes=(note,)) if ids[4] in path and "images" in path else header

    monkeypatch.setattr(HeaderIndex, "get", noted)
    problems = open_m(root).check(progress=False)
    assert rows(problems) == [(ids[4], str(image_path(root, ids[4])), note)]


def test_check_lists_opening_problems_first(messy):
    root, ids = messy
    image_path(root, ids[0]).unlink()
    garbage_header(root, ids[1])
    problems = open_m(root).check(progress=False)
    assert list(problems.case) == ids[:2]
    assert list(problems.file) == [str(image_path(root, ids[0])), str(image_path(root, ids[1]))]
    assert problems.problem.iloc[0].startswith("file not found")


# ------------------------------------------------------------------------------------------- acquisition(), headers()
def test_acquisition_and_headers_skip_an_unreadable_header(messy):
    root, ids = messy
    path, _ = garbage_header(root, ids[2])
    cohort = open_m(root)
    acq = cohort.acquisition()
    assert list(acq.case) == ids[:2] + ids[3:] and acq.nz.notna().all()
    [problem] = acq.attrs["problems"]
    assert problem["case"] == ids[2] and problem["file"] == str(path) and "unreadable nifti header" in problem["problem"]
    pd.testing.assert_frame_equal(pd.DataFrame(acq.attrs["problems"]), cohort.check(progress=False))
    headers = cohort.headers(progress=False)
    assert list(headers) == ids and headers[ids[2]] == {"tumour": headers[ids[2]]["tumour"]}
    assert all(set(headers[c]) == {"T2w", "tumour"} for c in ids if c != ids[2])


# ------------------------------------------------------------------------------------------- errors name case and file
def test_voxel_error_when_computed_names_cohort_and_case(messy):
    root, ids = messy
    path, _ = nan_voxels(root, ids[1])
    ds = open_m(root).case(ids[1])
    with pytest.raises(ReadError) as err:
        ds["T2w"].values
    assert str(err.value).startswith(f"cohort 'm', case '{ids[1]}': {path}: ")
    assert err.value.case == ids[1] and err.value.file == str(path)


def test_case_errors_carry_case_and_file(messy):
    root, ids = messy
    image_path(root, ids[0]).unlink()
    garbage_header(root, ids[1])
    mask, _ = mask_off_grid(root, ids[2])
    cohort = open_m(root)
    expected = {ids[0]: str(image_path(root, ids[0])), ids[1]: str(image_path(root, ids[1])), ids[2]: str(mask)}
    for case, file in expected.items():
        with pytest.raises(CaseError) as err:
            cohort.case(case)
        assert (err.value.case, err.value.file) == (case, file) and f"'{case}'" in str(err.value)
    assert isinstance(err.value, GeometryError)


# ------------------------------------------------------------------------------------------- to_grid()
GRID = {"spacing": (3.0, 1.0, 1.0), "shape": (6, 20, 20), "include_mask": True}


@pytest.mark.parametrize("breaker", [garbage_header, empty_mask, nan_mask, mask_off_grid],
                         ids=["grid-unreadable-header", "grid-empty-mask", "grid-unreadable-mask", "grid-mask-off-grid"])
def test_to_grid_leaves_out_a_bad_case_and_completes(messy, breaker, caplog):
    root, ids = messy
    path, words = breaker(root, ids[1])
    cohort = open_m(root)
    grid = cohort.to_grid(**GRID)
    good = [c for c in ids if c != ids[1]]
    assert list(grid.case.values) == good
    [problem] = grid.attrs["problems"]
    assert problem["case"] == ids[1] and problem["file"] == str(path)
    assert words in problem["problem"] and problem["problem"].endswith("case left out")
    assert f"to_grid: {problem['problem']}" in caplog.text
    # the cases kept hold exactly what a grid of only them holds: no number changed by the bad one
    reference = cohort.subset(good).to_grid(**GRID)
    np.testing.assert_array_equal(grid.values, reference.values)
    assert np.isfinite(grid.values).all() and (grid.sel(channel="tumour").sum(("z", "y", "x")) > 0).all()


def test_to_grid_with_no_usable_case(messy):
    root, ids = messy
    for case in ids:
        empty_mask(root, case)
    with pytest.raises(CaseError) as err:
        open_m(root).to_grid(**GRID)
    message = str(err.value)
    assert message.startswith("cohort 'm': no case can go on the grid (5 left out; first: cohort 'm', case ")
    assert "ROI mask 'tumour' is empty" in message and err.value.file == str(mask_path(root, ids[0]))


def test_to_grid_of_no_cases(messy):
    root, ids = messy
    with pytest.raises(CaseError, match="cohort 'm' has no cases to put on a grid"):
        open_m(root).subset(query="age < 0").to_grid(**GRID)


# ------------------------------------------------------------------------------------------- threshold and label
def probability_map(root, case):
    original = sitk.GetArrayFromImage(sitk.ReadImage(str(mask_path(root, case))))
    rewrite(mask_path(root, case), lambda a: np.where(a > 0, 0.8, 0.3).astype(np.float32))
    return original


@pytest.mark.parametrize("resample", [False, True], ids=["threshold-on-grid", "threshold-resampled"])
def test_threshold_from_the_catalog(messy, resample):
    root, ids = messy
    originals = {case: probability_map(root, case) for case in ids}
    write_catalog(root, messy_catalog(root).replace("image: T2w}", "image: T2w, threshold: 0.5}"))
    if resample:  # a mask off its image's grid: resampled, then the same threshold
        mask_off_grid(root, ids[0])
    cohort = open_m(root)
    for case in ids:
        mask = cohort.case(case, resample_masks=resample)["tumour"]
        assert mask.attrs["threshold"] == 0.5 and "label" not in mask.attrs
        values = mask.values
        assert values.dtype == mask.dtype == np.uint8
        if case != ids[0] or not resample:
            np.testing.assert_array_equal(values, originals[case])
        else:
            assert set(np.unique(values)) == {0, 1}
    assert len(cohort.check(progress=False)) == int(resample)  # check() opens without resampling: off the grid


def test_probability_map_without_threshold_is_a_problem(messy):
    root, ids = messy
    probability_map(root, ids[3])
    problems = open_m(root).check(progress=False)
    assert list(problems.case) == [ids[3]] and problems.file.iloc[0] == str(mask_path(root, ids[3]))
    assert "threshold:" in problems.problem.iloc[0]


def test_label_is_recorded_on_the_mask(messy):
    root, ids = messy
    write_catalog(root, messy_catalog(root).replace("image: T2w}", "image: T2w, label: 1}"))
    mask = open_m(root).case(ids[0])["tumour"]
    assert mask.attrs["label"] == 1 and "threshold" not in mask.attrs and mask.dtype == np.uint8
