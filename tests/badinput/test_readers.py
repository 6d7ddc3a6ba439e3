"""Bad input at the readers (NIfTI, NRRD, MetaImage, label-map masks) and the header cache.

Each kind breaks one case of the ``messy`` cohort (or its cache) one way and asserts the exact outcome: a
ReadError naming the file (``.file``) with the key words, the case named by the cohort and by ``check()``, the
other four cases still read, and no voxel value produced for the broken file.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import struct

import numpy as np
import pytest
import SimpleITK as sitk

from radlab.catalog import Catalog
from radlab.cohort import CaseError, GeometryError
from radlab.io import read_header, read_mask_voxels
from radlab.io._header import ReadError

IMAGE = "images/{case}/T2w_pre.nii.gz"
MASK = "masks/{case}/tumour_pre.nii.gz"


def open_m(root):
    """Cohort ``m`` of the ``messy`` folder's catalog (a new Catalog: nothing cached between opens)."""
    return Catalog(root / "catalog.yaml")["m"]


def _edit_catalog(root, old: str, new: str) -> None:
    """Replace ``old`` by ``new`` in the ``messy`` folder's catalog."""
    path = root / "catalog.yaml"
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new))


def _path(root, template, case, ext=None):
    path = root / template.format(case=case)
    return path.with_name(path.name.replace(".nii.gz", ext)) if ext else path


def _use_format(root, ids, ext):
    """Write every case's T2w as ``ext`` and point the catalog at those files."""
    for case in ids:
        sitk.WriteImage(sitk.ReadImage(str(_path(root, IMAGE, case))), str(_path(root, IMAGE, case, ext)))
    _edit_catalog(root, "T2w_pre.nii.gz", f"T2w_pre{ext}")


def _nifti(path) -> bytearray:
    return bytearray(gzip.decompress(path.read_bytes()))


def _poke(path, offset: int, fmt: str, *values) -> None:
    """Overwrite fields of a .nii.gz header in place (little-endian, as SimpleITK writes)."""
    data = _nifti(path)
    struct.pack_into("<" + fmt, data, offset, *values)
    path.write_bytes(gzip.compress(bytes(data)))


def _edit_text_header(path, old: str, new: str) -> None:
    text = path.read_bytes()
    assert old.encode() in text
    path.write_bytes(text.replace(old.encode(), new.encode()))


def _rewrite(path, fn) -> None:
    sitk.WriteImage(fn(sitk.ReadImage(str(path))), str(path))


def _array_image(path, fn) -> None:
    """Replace the voxels of ``path`` by ``fn(array)`` (geometry kept)."""
    image = sitk.ReadImage(str(path))
    array = fn(sitk.GetArrayFromImage(image))
    out = sitk.GetImageFromArray(array)
    out.CopyInformation(image)
    sitk.WriteImage(out, str(path))


# ------------------------------------------------------------------ images: each breaker returns (file, words)
def _nan_voxels(root, ids, case):
    path = _path(root, IMAGE, case)
    _array_image(path, lambda a: np.where(np.arange(a.size).reshape(a.shape) % 1000 == 0, np.nan, a).astype(np.float32))
    return path, ["voxels are not finite", "NaN", "replace them"]


def _inf_voxels(root, ids, case):
    path = _path(root, IMAGE, case)
    _array_image(path, lambda a: np.where(a > np.percentile(a, 99.9), np.inf, a).astype(np.float32))
    return path, ["voxels are not finite", "inf"]


def _short_nii(root, ids, case):
    _use_format(root, ids, ".nii")
    path = _path(root, IMAGE, case, ".nii")
    path.write_bytes(path.read_bytes()[:-5000])
    return path, ["truncated or corrupt file", "the header promises", "fill the missing voxels with zeros"]


def _truncated_nii_gz(root, ids, case):
    path = _path(root, IMAGE, case)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return path, ["truncated or corrupt file", "gzip stream"]


def _mhd_missing_raw(root, ids, case):
    _use_format(root, ids, ".mhd")
    _path(root, IMAGE, case, ".raw").unlink()
    return _path(root, IMAGE, case, ".mhd"), ["voxel data file", "T2w_pre.raw is missing"]


def _mhd_short_raw(root, ids, case):
    _use_format(root, ids, ".mhd")
    raw = _path(root, IMAGE, case, ".raw")
    raw.write_bytes(raw.read_bytes()[:1000])
    return _path(root, IMAGE, case, ".mhd"), ["truncated voxel data", "holds 1000 bytes"]


def _nhdr_missing_data(root, ids, case):
    _use_format(root, ids, ".nhdr")
    _path(root, IMAGE, case, ".raw").unlink()
    return _path(root, IMAGE, case, ".nhdr"), ["voxel data file", "is missing"]


def _nhdr_short_data(root, ids, case):
    _use_format(root, ids, ".nhdr")
    raw = _path(root, IMAGE, case, ".raw")
    raw.write_bytes(raw.read_bytes()[:-4])
    return _path(root, IMAGE, case, ".nhdr"), ["truncated voxel data"]


def _short_mha(root, ids, case):
    _use_format(root, ids, ".mha")
    path = _path(root, IMAGE, case, ".mha")
    path.write_bytes(path.read_bytes()[:-100])
    return path, ["truncated voxel data"]


def _short_nrrd(root, ids, case):
    _use_format(root, ids, ".nrrd")
    path = _path(root, IMAGE, case, ".nrrd")
    path.write_bytes(path.read_bytes()[:-100])
    return path, ["truncated voxel data"]


def _garbage_nrrd(root, ids, case):
    _use_format(root, ids, ".nrrd")
    path = _path(root, IMAGE, case, ".nrrd")
    path.write_bytes(b"\x00\x01 not an image" * 10)
    return path, ["unreadable nrrd header", "copy it again"]


def _empty_file(root, ids, case):
    path = _path(root, IMAGE, case)
    path.write_bytes(b"")
    return path, ["unreadable nifti header"]


def _qform_sform(root, ids, case):
    path = _path(root, IMAGE, case)
    srow_x_offset = struct.unpack_from("<f", _nifti(path), 280 + 12)[0]
    _poke(path, 280 + 12, "f", srow_x_offset + 10.0)  # the sform's x origin 10 mm away from the qform's
    return path, ["qform and sform disagree", "10 mm apart", "set_qform"]


def _zero_pixdim(root, ids, case):
    path = _path(root, IMAGE, case)
    _poke(path, 76 + 4, "f", 0.0)  # pixdim[1]: ITK would read 1 mm
    return path, ["implausible voxel spacing", "(zero)", "pixdim"]


def _nan_pixdim(root, ids, case):
    path = _path(root, IMAGE, case)
    _poke(path, 76 + 12, "f", float("nan"))
    return path, ["implausible voxel spacing", "not finite"]


def _negative_spacing(root, ids, case):
    _use_format(root, ids, ".mhd")
    path = _path(root, IMAGE, case, ".mhd")
    _edit_text_header(path, "ElementSpacing = ", "ElementSpacing = -")
    return path, ["implausible voxel spacing", "(negative)"]


def _spacing_in_micrometres(root, ids, case):
    path = _path(root, IMAGE, case)
    _rewrite(path, lambda im: (im.SetSpacing([s * 1000 for s in im.GetSpacing()]), im)[1])
    return path, ["implausible voxel spacing", "over 50 mm", "other units than mm"]


def _sheared_direction(root, ids, case):
    _use_format(root, ids, ".mhd")
    path = _path(root, IMAGE, case, ".mhd")
    _edit_text_header(path, "TransformMatrix = 1 0 0 0 1 0 0 0 1", "TransformMatrix = 1 0 0 0.5 1 0 0 0 1")
    return path, ["not orthonormal", "sheared"]


def _two_d(root, ids, case):
    path = _path(root, IMAGE, case)
    sitk.WriteImage(sitk.ReadImage(str(path))[:, :, 3], str(path))
    return path, ["expected a 3-D image, got 2-D", "3-D volumes"]


def _four_d(root, ids, case):
    path = _path(root, IMAGE, case)
    image = sitk.ReadImage(str(path))
    sitk.WriteImage(sitk.JoinSeries([image, image, image]), str(path))
    return path, ["expected a 3-D image, got 4-D", "split a 4-D series"]


def _vector_image(root, ids, case):
    path = _path(root, IMAGE, case)
    image = sitk.ReadImage(str(path))
    sitk.WriteImage(sitk.Compose(image, image), str(path))
    return path, ["2 values per voxel", "scalar images"]


def _huge_header(root, ids, case):
    path = _path(root, IMAGE, case)
    _poke(path, 40, "8h", 3, 32767, 32767, 32767, 1, 1, 1, 1)  # 128 TiB of float32 promised by a 50 kB file
    return path, ["32767 x 32767 x 32767 voxels of float32", "more than this machine's memory", "131,060.0 GiB"]


def _bad_sidecar(root, ids, case):
    path = _path(root, IMAGE, case).with_name("T2w_pre.json")
    path.write_text("{not json")
    return path, ["unreadable JSON sidecar", "fix or remove it"]


IMAGE_KINDS = {  # id: (breaker, where it is caught: "header" when the case is built, "voxels" when computed)
    "nan-voxels": (_nan_voxels, "voxels"),
    "inf-voxels": (_inf_voxels, "voxels"),
    "nii-shorter-than-header": (_short_nii, "header"),
    "nii-gz-truncated": (_truncated_nii_gz, "header"),
    "mhd-data-file-missing": (_mhd_missing_raw, "header"),
    "mhd-data-file-short": (_mhd_short_raw, "header"),
    "nhdr-data-file-missing": (_nhdr_missing_data, "header"),
    "nhdr-data-file-short": (_nhdr_short_data, "header"),
    "mha-truncated": (_short_mha, "header"),
    "nrrd-truncated": (_short_nrrd, "header"),
    "nrrd-garbage": (_garbage_nrrd, "header"),
    "empty-file": (_empty_file, "header"),
    "nifti-qform-sform-disagree": (_qform_sform, "header"),
    "nifti-zero-pixdim": (_zero_pixdim, "header"),
    "nifti-nan-pixdim": (_nan_pixdim, "header"),
    "negative-spacing": (_negative_spacing, "header"),
    "huge-spacing-units": (_spacing_in_micrometres, "header"),
    "non-orthonormal-direction": (_sheared_direction, "header"),
    "2d-image": (_two_d, "header"),
    "4d-image": (_four_d, "header"),
    "vector-image": (_vector_image, "header"),
    "header-bigger-than-memory": (_huge_header, "header"),
    "unreadable-sidecar": (_bad_sidecar, "header"),
}


def _assert_rest_completes(cohort, ids, bad):
    for case in ids:
        if case != bad:
            ds = cohort.case(case)
            assert np.isfinite(ds["T2w"].values).all() and ds["tumour"].values.sum() > 0


def _assert_only_problem(cohort, bad, path, words):
    problems = cohort.check(progress=False)
    assert list(problems.case) == [bad]
    text = problems.problem.iloc[0]
    assert str(path) in text and all(w in text for w in words), text


@pytest.mark.parametrize("kind", list(IMAGE_KINDS))
def test_broken_image_names_case_and_file_and_the_rest_completes(messy, kind):
    root, ids = messy
    breaker, level = IMAGE_KINDS[kind]
    bad = ids[1]
    path, words = breaker(root, ids, bad)
    cohort = open_m(root)
    if level == "header":
        with pytest.raises(CaseError) as err:
            cohort.case(bad)
        assert f"case '{bad}'" in str(err.value)
        with pytest.raises(ReadError) as err:
            read_header(cohort._files(bad)[0].path)  # the T2w file the catalog names
    else:
        with pytest.raises(ReadError) as err:
            cohort.case(bad)["T2w"].values  # no number comes out for the broken image
    assert err.value.file == str(path)
    message = str(err.value)
    assert f"{path}: " in message and all(w in message for w in words), message
    _assert_only_problem(cohort, bad, path, words)
    _assert_rest_completes(cohort, ids, bad)


# ------------------------------------------------------------------ label-map masks
def _float_mask(values):
    """A breaker writing the tumour mask as float32: tumour voxels get ``values`` cyclically."""
    def breaker(mask):
        out = mask.astype(np.float32)
        where = np.flatnonzero(mask)
        out.flat[where] = np.resize(np.asarray(values, np.float32), where.size)
        return out
    return breaker


def _with_second_label(mask):
    out = mask.astype(np.uint8)
    out[: out.shape[0] // 2][mask[: out.shape[0] // 2] > 0] = 2
    return out


MASK_KINDS = {  # id: (voxel change, catalog mask options, words)
    "probability-map": (_float_mask([0.7, 0.3, 1.0]), "", ["strictly between 0 and 1", "probability map", "threshold:"]),
    "several-labels-no-label": (_with_second_label, "", ["holds labels [1, 2]", "set `label:`"]),
    "label-not-present": (lambda m: m, ", label: 3", ["no voxel has label 3", "labels present: [1]"]),
    "negative-values": (lambda m: m.astype(np.int16) - (m == 0), "", ["negative", "down to -1"]),
    "non-integer-labels": (_float_mask([1.0, 2.5]), "", ["not whole numbers", "2.5"]),
    "single-label-255": (lambda m: m.astype(np.uint8) * 255, "", ["holds labels [255]", "set `label:`"]),
    "nan-in-mask": (_float_mask([1.0, np.nan]), "", ["voxels are not finite", "NaN"]),
}


@pytest.mark.parametrize("kind", list(MASK_KINDS))
def test_bad_mask_values_name_case_and_file_and_the_rest_completes(messy, kind):
    root, ids = messy
    change, options, words = MASK_KINDS[kind]
    bad = ids[3]
    path = _path(root, MASK, bad)
    _array_image(path, change)
    if options:
        _edit_catalog(root, "image: T2w}", f"image: T2w{options}}}")
        for case in ids:  # the other masks hold label 3, as the catalog says
            if case != bad:
                _array_image(_path(root, MASK, case), lambda m: m.astype(np.uint8) * 3)
    cohort = open_m(root)
    with pytest.raises(ReadError) as err:
        cohort.case(bad)["tumour"].values
    assert err.value.file == str(path)
    assert f"{path}: " in str(err.value) and all(w in str(err.value) for w in words), str(err.value)
    _assert_only_problem(cohort, bad, path, words)
    _assert_rest_completes(cohort, ids, bad)


def test_label_keeps_one_value_as_uint8(messy):
    root, ids = messy
    path = _path(root, MASK, ids[0])
    original = sitk.GetArrayFromImage(sitk.ReadImage(str(path)))
    _array_image(path, _with_second_label)
    _edit_catalog(root, "image: T2w}", "image: T2w, label: 2}")
    mask = open_m(root).case(ids[0])["tumour"]
    values = mask.values
    assert mask.dtype == values.dtype == np.uint8  # the lazy array's declared dtype is what the reader returns
    expected = np.zeros_like(original)
    expected[: original.shape[0] // 2] = original[: original.shape[0] // 2]
    np.testing.assert_array_equal(values, expected)


def test_threshold_turns_a_probability_map_into_the_mask(messy):
    root, ids = messy
    path = _path(root, MASK, ids[0])
    original = sitk.GetArrayFromImage(sitk.ReadImage(str(path)))
    _array_image(path, lambda m: np.where(m > 0, 0.8, 0.1).astype(np.float32))
    reference = read_header(_path(root, IMAGE, ids[0]))
    values = read_mask_voxels(str(path), "nifti", reference, threshold=0.5)
    assert values.dtype == np.uint8
    np.testing.assert_array_equal(values, original)
    with pytest.raises(ReadError, match="both `label` and `threshold` are set"):
        read_mask_voxels(str(path), "nifti", reference, threshold=0.5, label=1)
    with pytest.raises(ReadError, match="threshold nan is not a finite number"):
        read_mask_voxels(str(path), "nifti", reference, threshold=float("nan"))


def test_mask_one_voxel_off_the_image_grid_is_a_geometry_error(messy):
    root, ids = messy
    path = _path(root, MASK, ids[2])

    def shift(image):
        image.SetOrigin([o + s * (i == 0) for i, (o, s) in enumerate(zip(image.GetOrigin(), image.GetSpacing()))])
        return image
    _rewrite(path, shift)
    cohort = open_m(root)
    with pytest.raises(GeometryError) as err:
        cohort.case(ids[2])
    message = str(err.value)
    assert f"case '{ids[2]}'" in message and str(path) in message
    assert "origin [" in message and "spacing [" not in message and "size (" not in message  # only the origin differs
    _assert_only_problem(cohort, ids[2], path, ["does not lie on image", "origin"])
    _assert_rest_completes(cohort, ids, ids[2])


# ------------------------------------------------------------------ header cache
def _cache_file(cohort):
    return cohort._shared["index"].path


def _corrupt_json(path, entries):
    path.write_text(json.dumps(entries)[: len(json.dumps(entries)) // 2])


def _wrong_structure(path, entries):
    path.write_text(json.dumps(list(entries)))


def _entry_missing_keys(path, entries):
    first = next(iter(entries))
    del entries[first]["header"]["spacing"]
    path.write_text(json.dumps(entries))


def _entry_wrong_types(path, entries):
    first = next(iter(entries))
    entries[first]["header"]["shape"] = "abc"
    path.write_text(json.dumps(entries))


def _entry_not_a_record(path, entries):
    entries[next(iter(entries))] = [1, 2, 3]
    path.write_text(json.dumps(entries))


CACHE_KINDS = {
    "cache-not-json": (_corrupt_json, "is corrupt"),
    "cache-wrong-structure": (_wrong_structure, "is corrupt (a JSON list, not an object)"),
    "cache-entry-missing-keys": (_entry_missing_keys, "corrupt entry"),
    "cache-entry-wrong-types": (_entry_wrong_types, "corrupt entry"),
    "cache-entry-not-a-record": (_entry_not_a_record, "corrupt entry"),
}


@pytest.mark.parametrize("kind", list(CACHE_KINDS))
def test_corrupt_header_cache_is_reported_deleted_and_rebuilt(messy, kind, monkeypatch, caplog, tmp_path_factory):
    monkeypatch.setenv("RADLAB_CACHE", str(tmp_path_factory.mktemp("cache")))
    root, ids = messy
    first = open_m(root)
    expected = first.headers(progress=False)
    cache = _cache_file(first)
    breaker, words = CACHE_KINDS[kind]
    breaker(cache, json.loads(cache.read_text()))
    with caplog.at_level(logging.WARNING, logger="radlab.io._index"):
        again = open_m(root)
        assert again.headers(progress=False) == expected
    warnings = [r.getMessage() for r in caplog.records if r.name == "radlab.io._index"]
    assert len(warnings) == 1 and str(cache) in warnings[0] and words in warnings[0], warnings
    rebuilt = json.loads(cache.read_text())  # saved whole again
    assert sorted(rebuilt) == sorted(f.path for case in ids for f in again._files(case))


def test_header_changed_with_same_size_and_mtime_is_read_again(messy, monkeypatch, tmp_path_factory):
    monkeypatch.setenv("RADLAB_CACHE", str(tmp_path_factory.mktemp("cache")))
    root, ids = messy
    _use_format(root, ids, ".nii")
    path = _path(root, IMAGE, ids[0], ".nii")
    before = open_m(root).headers(progress=False)[ids[0]]["T2w"].spacing
    st = path.stat()
    data = bytearray(path.read_bytes())
    pixdim, srow = struct.unpack_from("<f", data, 76 + 4)[0], struct.unpack_from("<f", data, 280)[0]
    struct.pack_into("<f", data, 76 + 4, pixdim * 1.2)  # pixdim[1]: same size, then the old mtime restored
    struct.pack_into("<f", data, 280, srow * 1.2)  # srow_x[0], so the sform agrees
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    after = open_m(root).headers(progress=False)[ids[0]]["T2w"].spacing
    assert after[0] == pytest.approx(before[0] * 1.2) and after[1:] == before[1:]


def test_sidecar_added_or_rewritten_is_read_again(messy, monkeypatch, tmp_path_factory):
    """A header's acquisition metadata comes from its JSON sidecar too: the cache keys the sidecar as well."""
    monkeypatch.setenv("RADLAB_CACHE", str(tmp_path_factory.mktemp("cache")))
    root, ids = messy
    vendor = lambda: open_m(root).headers(progress=False)[ids[0]]["T2w"].meta.get("vendor")  # noqa: E731
    assert vendor() is None
    sidecar = _path(root, IMAGE, ids[0]).with_name("T2w_pre.json")
    sidecar.write_text(json.dumps({"Manufacturer": "Siemens"}))
    assert vendor() == "Siemens"  # a sidecar added after the header was cached
    st = sidecar.stat()
    sidecar.write_text(json.dumps({"Manufacturer": "Philips"}))  # same length, then the old mtime restored
    os.utime(sidecar, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (sidecar.stat().st_size, sidecar.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    assert vendor() == "Philips"
