"""Packed member parameters: slices of one (N, *shape) tensor per layer, rebuilt whenever the layout breaks."""

from __future__ import annotations

import copy

import pytest
import torch
from safetensors.torch import save_file

from coterie import CoLearning, Ensemble, Trainer
from coterie.ensemble import packing
from coterie.training.checkpoint import load_checkpoint, save_checkpoint
from coterie.training.optim import build_optimizer

KW = {"in_features": 6, "num_classes": 3, "hidden": (5, 4)}


def _trained_once(n: int = 3) -> tuple[Ensemble, torch.Tensor, torch.Tensor]:
    ens = Ensemble.from_factory("mlp", n, seed=1, executor="fused", **KW)
    x, y = torch.randn(8, 6), torch.randint(0, 3, (8,))
    CoLearning(-0.1)(ens, x, y).losses.sum().backward()
    return ens, x, y


def _pack(ens: Ensemble) -> packing.ParameterPack | None:
    return packing.pack_of(ens.members[0].fc1.weight)


def test_training_forward_packs_members_without_changing_values() -> None:
    ens = Ensemble.from_factory("mlp", 3, seed=1, executor="fused", **KW)
    before = [p.detach().clone() for p in ens.parameters()]
    assert _pack(ens) is None
    ens(torch.randn(4, 6))
    pack = _pack(ens)
    assert pack is not None and pack.intact()
    for p, b in zip(ens.parameters(), before):
        torch.testing.assert_close(p, b, rtol=0, atol=0)
        assert p.is_leaf and p.requires_grad
    w = pack.packs[pack.names.index("fc2.weight")]
    for i, m in enumerate(ens.members):
        assert m.fc2.weight.data_ptr() == w[i].data_ptr()  # member i's weight is slice i of the pack
    ens(torch.randn(4, 6))
    assert _pack(ens) is pack  # reused, not rebuilt


def test_a_replaced_storage_is_noticed_and_repacked() -> None:
    ens, x, _ = _trained_once()
    pack = _pack(ens)
    ens.members[1].fc1.weight.data = ens.members[1].fc1.weight.detach().clone() + 1.0
    assert not pack.intact()
    ref = Ensemble.from_factory("mlp", 3, seed=1, executor="loop", **KW)
    ref.load_state_dict(ens.state_dict())
    torch.testing.assert_close(ens(x), ref(x))  # the new value is used, and packed again
    assert _pack(ens) is not pack and _pack(ens).intact()


def test_in_place_change_between_forward_and_backward_raises() -> None:
    ens = Ensemble.from_factory("mlp", 2, seed=1, executor="fused", **KW)
    out = ens(torch.randn(4, 6))
    with torch.no_grad():
        ens.members[0].head.weight.mul_(2.0)
    with pytest.raises(RuntimeError, match="modified in place"):
        out.sum().backward()


def test_deepcopy_and_state_dict_are_independent_of_the_pack() -> None:
    ens, x, _ = _trained_once()
    clone = copy.deepcopy(ens)
    assert _pack(clone) is None  # a copy does not carry the cache
    with torch.no_grad():
        ens.members[0].fc1.weight.add_(1.0)
    assert not torch.equal(clone.members[0].fc1.weight, ens.members[0].fc1.weight)
    clone(x)  # packs its own storage
    assert _pack(clone).intact() and _pack(ens).intact()
    state = ens.members[2].state_dict()
    torch.testing.assert_close(state["fc2.bias"], ens.members[2].fc2.bias.detach())


def test_checkpoint_round_trip_of_packed_members_and_optimiser(tmp_path) -> None:
    ens, x, y = _trained_once()
    opt = build_optimizer(ens.parameters(), "sgd", lr=0.1, momentum=0.9)
    opt.step()
    save_checkpoint(tmp_path, 0, ens, opt, extra={})
    other = Ensemble.from_factory("mlp", 3, seed=9, executor="fused", **KW)
    other_opt = build_optimizer(other.parameters(), "sgd", lr=0.1, momentum=0.9)
    other(x)  # packed before loading: the load copies into the packs
    load_checkpoint(tmp_path, other, other_opt)
    for a, b in zip(ens.parameters(), other.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    for e, o in ((ens, opt), (other, other_opt)):  # one more step: the loaded momentum buffers carry on
        o.zero_grad()
        CoLearning(-0.1)(e, x, y).losses.sum().backward()
        o.step()
    for a, b in zip(ens.parameters(), other.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)


def test_members_that_differ_cannot_be_packed() -> None:
    a = Ensemble.from_factory("mlp", 1, seed=0, **KW).members[0]
    b = Ensemble.from_factory("mlp", 1, seed=0, **KW).members[0].double()
    with pytest.raises(ValueError, match="differ"):
        packing.pack_members([a, b], ["fc1.weight"])


def test_unpack_gives_storage_back_and_the_next_training_forward_repacks(tmp_path) -> None:
    ens, x, y = _trained_once()
    values = [p.detach().clone() for p in ens.parameters()]
    assert packing.unpack_members([ens]) == len(values)
    assert _pack(ens) is None and packing.unpack_members([ens]) == 0
    ptrs = {p.untyped_storage().data_ptr() for p in ens.parameters()}
    assert len(ptrs) == len(values)  # every parameter owns its storage
    for p, v in zip(ens.parameters(), values):
        torch.testing.assert_close(p, v, rtol=0, atol=0)
    save_file(ens.members[0].state_dict(), str(tmp_path / "member.safetensors"))  # safetensors accepts it again
    CoLearning(-0.1)(ens, x, y).losses.sum().backward()
    assert _pack(ens) is not None and _pack(ens).intact()


def test_a_trained_ensemble_is_unpacked() -> None:
    ens = Ensemble.from_factory("mlp", 3, seed=1, executor="fused", **KW)
    x, y = torch.randn(32, 6), torch.randint(0, 3, (32,))
    Trainer(ens, CoLearning(-0.1), epochs=1, batch_size=16, progress=False, device="cpu").fit((x, y))
    assert all(packing.pack_of(p) is None for p in ens.parameters())
    assert len({p.untyped_storage().data_ptr() for p in ens.parameters()}) == len(list(ens.parameters()))
