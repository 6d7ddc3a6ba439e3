"""Image and mask readers (NIfTI, NRRD, MHA/MHD, DICOM series, RTSTRUCT, SEG), geometry helpers, and the
indexing of a DICOM archive into a cohort (:func:`index_archive`) and its de-identification (:func:`deidentify`)."""

from radlab.io._archive import ArchiveIndex, index_archive
from radlab.io._deid import DeidResult, deidentify
from radlab.io._geometry import coords_from_geometry, from_sitk, geometry_attrs, same_geometry, to_sitk
from radlab.io._readers import Header, ReadError, detect_format, read_header, read_mask_voxels, read_voxels

__all__ = ["ArchiveIndex", "DeidResult", "Header", "ReadError", "coords_from_geometry", "deidentify", "detect_format",
           "from_sitk", "geometry_attrs", "index_archive", "read_header", "read_mask_voxels", "read_voxels", "same_geometry",
           "to_sitk"]
