"""Hierarchical merging 8 → 4 → 2 → 1, with an odd model carried up a level."""

from __future__ import annotations

import torch

from coterie import merging, models


def _models(n: int) -> list[torch.nn.Module]:
    torch.manual_seed(0)
    return [models.create("mlp", hidden=(8,)) for _ in range(n)]


def test_eight_models_three_levels_equals_uniform_average() -> None:
    ms = _models(8)
    merged, record = merging.hierarchical(ms, "average")
    assert [len(level) for level in record.levels] == [4, 2, 1]
    assert torch.allclose(merged.fc1.weight, merging.average(ms).fc1.weight, atol=1e-6)


def test_odd_model_is_carried() -> None:
    _, record = merging.hierarchical(_models(5), "average")
    assert record.levels[0][-1] == {"carried": 4}
    assert [len(level) for level in record.levels] == [3, 2, 1]


def test_self_merge_with_mega_is_identity() -> None:
    m = _models(1)[0]
    x, y = torch.randn(30, 40), torch.randint(0, 10, (30,))
    merged, record = merging.hierarchical(
        [m] * 4, "mega", fitness_data=(x, y), population=4, generations=2, p_mut=0.0, progress=False, align=True
    )
    with torch.no_grad():
        assert torch.allclose(merged(x), m(x), atol=1e-5)
    assert record.levels[0][0]["history"]["genome"] == "scalar"


def test_callable_method_and_single_model() -> None:
    ms = _models(3)
    merged, _ = merging.hierarchical(ms, lambda a, b: merging.average([a, b], weights=[1.0, 0.0]))
    assert torch.equal(merged.fc1.weight, ms[0].fc1.weight)
    single, record = merging.hierarchical(ms[:1])
    assert single is not ms[0] and record.levels == []
