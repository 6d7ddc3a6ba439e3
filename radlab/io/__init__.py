"""Image and mask readers (NIfTI, NRRD, MHA/MHD, DICOM series, RTSTRUCT, SEG) and geometry helpers."""

from radlab.io._geometry import coords_from_geometry, from_sitk, geometry_attrs, same_geometry, to_sitk

__all__ = ["coords_from_geometry", "from_sitk", "geometry_attrs", "same_geometry", "to_sitk"]
