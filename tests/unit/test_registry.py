"""One Registry class serves every family: duplicates refused, errors list the names and the arguments."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from coterie import attacks, data, merging, models, objectives
from coterie.config import ConfigError, validate_config
from coterie.data.splits import OFFICIAL_SPLITS
from coterie.experiments import registry as experiments
from coterie.utils.registry import ArgumentError, Registry, UnknownNameError

SRC = Path(__file__).resolve().parents[2] / "src" / "coterie"


def _factory(width: int, depth: int = 2) -> tuple[int, int]:
    return width, depth


def test_add_get_names_create() -> None:
    reg: Registry = Registry("widget")
    reg.add("b", _factory)
    reg.register("a")(lambda **kw: kw)
    assert reg.names() == ["a", "b"] == list(reg)
    assert "a" in reg and "c" not in reg and len(reg) == 2
    assert reg.get("b") is _factory and reg["b"] is _factory
    assert reg.create("b", width=3) == (3, 2)
    assert reg.create("a", anything=1) == {"anything": 1}  # **kwargs factories take anything
    assert reg.parameters("b") == ["width", "depth"] and reg.parameters("a") is None


def test_duplicate_name_is_refused_naming_the_holder() -> None:
    reg: Registry = Registry("widget")
    reg.add("w", _factory)
    with pytest.raises(ValueError, match=r"widget 'w' is already registered \(by .*test_registry\._factory\)"):
        reg.add("w", lambda: None)
    assert reg.get("w") is _factory  # the first entry stays


def test_unknown_name_lists_the_registered_ones() -> None:
    reg: Registry = Registry("merge method")
    reg.add("mega", _factory)
    reg.add("average", _factory)
    with pytest.raises(KeyError) as err:
        reg.get("meg")
    assert isinstance(err.value, UnknownNameError)
    assert str(err.value) == "unknown merge method 'meg'; registered merge methods: ['average', 'mega']"


def test_bad_argument_lists_the_allowed_ones() -> None:
    reg: Registry = Registry("widget")
    reg.add("w", _factory)
    expected = r"unknown argument\(s\) \['wdth'\] for widget 'w'; allowed: \['width', 'depth'\]"
    with pytest.raises(TypeError, match=expected):
        reg.create("w", wdth=3)
    with pytest.raises(ValueError):  # also a ValueError, so pydantic validators report it as a field error
        reg.check_kwargs("w", {"x": 1})
    assert issubclass(ArgumentError, TypeError) and issubclass(ArgumentError, ValueError)


def test_override_restores_the_previous_state() -> None:
    reg: Registry = Registry("widget")
    reg.add("w", _factory)
    with reg.override("w", print), reg.override("new", len):
        assert reg.get("w") is print and reg.get("new") is len
    assert reg.get("w") is _factory and "new" not in reg


@pytest.mark.parametrize(
    ("registry", "names_fn", "kind"),
    [
        (models.MODELS, models.names, "model"),
        (objectives.OBJECTIVES, objectives.names, "objective"),
        (data.DATASETS, data.names, "dataset"),
        (OFFICIAL_SPLITS, data.official_names, "dataset with an official split"),
        (experiments.EXPERIMENTS, experiments.names, "experiment"),
        (attacks.ATTACKS, lambda: sorted(attacks.ATTACKS), "attack"),
        (merging.MERGE_METHODS, lambda: sorted(merging.MERGE_METHODS), "merge method"),
    ],
)
def test_every_family_uses_the_registry(registry: Registry, names_fn, kind: str) -> None:
    assert isinstance(registry, Registry) and registry.kind == kind
    assert names_fn() == registry.names() and registry.names()
    first = registry.names()[0]
    with pytest.raises(ValueError, match="already registered"):
        registry.add(first, registry.get(first))


def test_family_functions_keep_their_behaviour() -> None:
    assert {"mlp", "lenet5", "vgg9", "resnet20", "cnn1d", "hnn"} <= set(models.names())
    assert {"independent", "colearning", "parl", "adp", "gal", "dverge"} <= set(objectives.names())
    assert {"fgsm", "bim", "mim", "pgd"} == set(attacks.ATTACKS)
    assert {"mega", "average"} == set(merging.MERGE_METHODS)
    assert {"train", "colearn", "merge", "robustness", "ldnn", "codeepnet", "expansion"} <= set(experiments.names())
    with pytest.raises(KeyError, match=r"registered models: \[.*'mlp'"):
        models.create("nope")
    with pytest.raises(TypeError, match=r"for model 'mlp'; allowed: \[.*'num_classes'"):
        models.create("mlp", in_features=4, num_classes=2, widht=3)
    with pytest.raises(KeyError, match=r"registered objectives: \[.*'colearning'"):
        objectives.create("nope")
    with pytest.raises(TypeError, match=r"for objective 'colearning'; allowed: \[.*'beta'"):
        objectives.create("colearning", betta=1.0)
    with pytest.raises(KeyError, match=r"registered datasets: \['cifar10', 'cifar100', 'digits', 'mnist1d'\]"):
        data.load_dataset("mnist")
    with pytest.raises(KeyError, match=r"registered experiments: \[.*'train'"):
        experiments.get("nope")
    with pytest.raises(ValueError, match=r"one of \['average', 'mega'\] or a callable"):
        merging.hierarchical([models.create("mlp", in_features=2, num_classes=2)] * 2, "median")


def test_config_validation_names_the_allowed_arguments() -> None:
    with pytest.raises(ConfigError, match=r"model.*unknown argument\(s\) \['widht'\] for model 'mlp'; allowed:"):
        validate_config({"experiment": "train", "model": {"name": "mlp", "kwargs": {"widht": 3}}})
    with pytest.raises(ConfigError, match=r"unknown argument\(s\) \['betta'\] for objective 'colearning'"):
        validate_config({"experiment": "train", "objective": {"name": "colearning", "params": {"betta": 1}}})


def test_no_module_reads_a_private_registry() -> None:
    """Registries are reached through their public methods: no ``x._REGISTRY``-style access and no private registry
    dicts left in src/."""
    offenders = []
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in {"_REGISTRY", "_LOADERS", "_OFFICIAL", "_entries"}:
                if not (path.name == "registry.py" and path.parent.name == "utils"):
                    offenders.append(f"{path.relative_to(SRC)}:{node.lineno} .{node.attr}")
            if isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    if isinstance(t, ast.Name) and t.id in {"_REGISTRY", "_LOADERS", "_OFFICIAL"}:
                        offenders.append(f"{path.relative_to(SRC)}:{node.lineno} {t.id} =")
    assert offenders == []
