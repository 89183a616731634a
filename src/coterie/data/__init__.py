"""Datasets: MNIST-1D (generated offline), sklearn digits, CIFAR-10/100 from pickle batches, DNA methylation (GEO
series matrix, tables, simulator), seeded splits (``load_splits``: random or official), batch augmentation
(``augment.build_augment``)."""

from coterie.data.cifar import load_cifar
from coterie.data.dataset import Splits, TensorData, random_splits, split_indices
from coterie.data.digits import load_digits
from coterie.data.methylation import (
    MethylationData,
    MethylationFormatError,
    MethylationPreprocessor,
    load_methylation,
    read_geo_series_matrix,
    read_methylation_table,
    simulate_methylation,
    simulate_methylation_v2,
    split_samples,
)
from coterie.data.mnist1d import load_mnist1d
from coterie.data.registry import DATASETS, load_dataset, names, register_dataset
from coterie.data.splits import load_splits, official_names, register_official

__all__ = [
    "DATASETS",
    "MethylationData",
    "MethylationFormatError",
    "MethylationPreprocessor",
    "Splits",
    "TensorData",
    "load_cifar",
    "load_dataset",
    "load_digits",
    "load_methylation",
    "load_mnist1d",
    "load_splits",
    "names",
    "official_names",
    "random_splits",
    "read_geo_series_matrix",
    "read_methylation_table",
    "register_dataset",
    "register_official",
    "simulate_methylation",
    "simulate_methylation_v2",
    "split_indices",
    "split_samples",
]
