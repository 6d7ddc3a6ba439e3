"""Image preprocessing on radlab DataArrays (resampling, N4, windowing, discretisation, ADC, ROI crops, rigid
registration), learned intensity normalisers (scikit-learn estimators) and lazy cohort-level versions.
Every step appends its parameters to the output's ``provenance`` attr."""

from radlab.preprocessing._cohort import PreprocessedCohort, preprocess
from radlab.preprocessing._crop import crop_to_roi, roi_stack, voi_slices
from radlab.preprocessing._intensity import adc, discretise, n4_correct, window
from radlab.preprocessing._normalise import HistogramMatcher, PercentileScaler, ZScore
from radlab.preprocessing._register import Registration, apply_transform, register_rigid, registration_quality
from radlab.preprocessing._resample import modal_spacing, resample, resampled_shape

__all__ = ["HistogramMatcher", "PercentileScaler", "PreprocessedCohort", "Registration", "ZScore", "adc",
           "apply_transform", "crop_to_roi", "discretise", "modal_spacing", "n4_correct", "preprocess",
           "register_rigid", "registration_quality", "resample", "resampled_shape", "roi_stack", "voi_slices", "window"]
