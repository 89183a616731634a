"""Datasets: MNIST-1D (generated offline), sklearn digits, CIFAR-10/100 from pickle batches, seeded splits."""

from coterie.data.cifar import load_cifar
from coterie.data.dataset import Splits, TensorData, random_splits, split_indices
from coterie.data.digits import load_digits
from coterie.data.mnist1d import load_mnist1d
from coterie.data.registry import load_dataset, names, register_dataset

__all__ = [
    "Splits",
    "TensorData",
    "load_cifar",
    "load_dataset",
    "load_digits",
    "load_mnist1d",
    "names",
    "random_splits",
    "register_dataset",
    "split_indices",
]
