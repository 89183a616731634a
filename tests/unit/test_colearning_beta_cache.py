"""CoLearning keeps a scalar β's coupling matrix per (β, N, device, dtype) instead of building it (and syncing on
``beta.any()``) every step; the kept matrix must follow every change of β, N, normalisation and dtype."""

from __future__ import annotations

import torch

from coterie import CoLearning
from coterie.objectives.colearning import beta_matrix


def test_scalar_beta_matrix_follows_beta_n_normalize_and_dtype():
    obj = CoLearning(-0.5)
    like = torch.zeros(())
    torch.testing.assert_close(obj._coupling(4, like), beta_matrix(-0.5, 4))
    assert obj._coupling(4, like) is obj._coupling(4, like)  # kept
    obj.beta = 0.25
    torch.testing.assert_close(obj._coupling(4, like), beta_matrix(0.25, 4))
    torch.testing.assert_close(obj._coupling(3, like), beta_matrix(0.25, 3))
    obj.normalize = True
    torch.testing.assert_close(obj._coupling(3, like), beta_matrix(0.25, 3) / 3)
    assert obj._coupling(3, like.double()).dtype == torch.float64
    assert obj._coupling(1, like) is None  # one member: nothing couples
    obj.beta = 0.0
    assert obj._coupling(3, like) is None


def test_matrix_beta_and_zero_matrix():
    m = [[0.0, 0.1, 0.2], [0.3, 0.0, 0.4], [0.5, 0.6, 0.0]]
    torch.testing.assert_close(CoLearning(m)._coupling(3, torch.zeros(())), torch.tensor(m))
    assert CoLearning([[0.0] * 3] * 3)._coupling(3, torch.zeros(())) is None
