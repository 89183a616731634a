import pytest

from coterie.config import ConfigError, load_config, validate_config, with_overrides


def _base():
    return {
        "experiment": "train",
        "model": {"name": "mlp", "kwargs": {"hidden": [8]}},
        "ensemble": {"size": 2},
        "objective": {"name": "colearning", "params": {"beta": -0.5, "normalize": True}},
    }


def test_valid_config_roundtrip(tmp_path):
    import yaml

    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump(_base()))
    cfg = load_config(p)
    assert cfg.ensemble.size == 2 and cfg.objective.params["beta"] == -0.5
    assert with_overrides(cfg, {"ensemble.size": 4}).ensemble.size == 4


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"epochs": 0}, "epochs"),
        ({"optimizer": {"name": "rmsprop"}}, "optimizer.name"),
        ({"model": {"name": "transformer"}}, "model"),
        ({"model": {"name": "mlp", "kwargs": {"depth": 3}}}, "model"),
        ({"objective": {"name": "colearning", "params": {"betta": 1}}}, "objective"),
        ({"ensembl": {"size": 2}}, "ensembl"),
        ({"data": {"name": "imagenet"}}, "data.name"),
        ({"frozen": [5]}, "frozen"),
        ({"experiment": "nonsense"}, "experiment"),
    ],
)
def test_invalid_config_names_field(patch, field):
    raw = _base() | patch
    with pytest.raises(ConfigError) as e:
        validate_config(raw)
    assert field in str(e.value)


def test_allowed_values_are_listed():
    with pytest.raises(ConfigError, match="sgd"):
        validate_config(_base() | {"optimizer": {"name": "rmsprop"}})
    with pytest.raises(ConfigError, match="unknown field"):
        validate_config(_base() | {"colour": 1})


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
