"""coterie.training.predict: the one evaluation loop (predict_outputs) and its ensemble forms."""

from __future__ import annotations

import torch
from torch import nn

from coterie import Ensemble
from coterie.training.data_source import as_source
from coterie.training.predict import predict_logits, predict_outputs, predict_source


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 8), nn.Dropout(0.5), nn.Linear(8, 3))


def test_predict_outputs_equals_one_eval_forward_and_restores_training_mode():
    model, x = _model(), torch.randn(23, 5)
    model.train()
    out = predict_outputs(model, x.split(4))
    assert model.training and not out.requires_grad and out.shape == (23, 3)
    model.eval()
    torch.testing.assert_close(out, model(x))  # dropout off: batches equal one forward


def test_predict_outputs_keeps_eval_mode_and_device_when_asked():
    model = _model().eval()
    out = predict_outputs(model, [torch.randn(3, 5), torch.randn(2, 5)], out_device=None)
    assert not model.training and out.shape == (5, 3)


def test_ensemble_forms_stack_members_first():
    ens = Ensemble.from_factory("mlp", 3, seed=1, in_features=6, num_classes=4, hidden=(5,))
    x, y = torch.rand(10, 6), torch.randint(0, 4, (10,))
    logits = predict_logits(ens, x, batch_size=3)
    assert logits.shape == (3, 10, 4)
    ens.eval()
    torch.testing.assert_close(logits, torch.stack([m(x) for m in ens.members]))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=4)
    got, labels = predict_source(ens, as_source(loader, batch_size=4))
    torch.testing.assert_close(got, logits)
    assert torch.equal(labels, y)
