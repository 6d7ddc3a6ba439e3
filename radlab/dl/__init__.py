"""Deep learning on cohort grids (extra ``dl``): datasets, small ResNets, training, CV and deep features.

Importing this subpackage imports torch. Nothing is downloaded: models are built here or loaded from the
user's own weights file (:func:`load_model`). A GPU is used when present.
"""

from radlab.dl._augment import Augment
from radlab.dl._cv import PREDICTION_COLUMNS, CrossValidationResult, cross_validate, ensemble, grouped_splits
from radlab.dl._data import BoxDataset, ChannelNormalizer, SliceDataset, make_dataset
from radlab.dl._features import deep_features
from radlab.dl._nets import ResNet, default_device, load_model, save_model
from radlab.dl._synthetic import synthetic_grid
from radlab.dl._train import TrainingResult, aggregate_slices, predict, train

__all__ = [
    "Augment", "BoxDataset", "ChannelNormalizer", "CrossValidationResult", "PREDICTION_COLUMNS", "ResNet",
    "SliceDataset", "TrainingResult", "aggregate_slices", "cross_validate", "deep_features", "default_device",
    "ensemble", "grouped_splits", "load_model", "make_dataset", "predict", "save_model", "synthetic_grid", "train",
]
