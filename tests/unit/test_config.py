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
        ({"data": {"name": "digits", "num_samples": 50}}, "data.num_samples"),
        ({"data": {"name": "digits", "data_dir": "/data"}}, "data.data_dir"),
        ({"data": {"name": "mnist1d", "data_dir": "/data"}}, "data.data_dir"),
        ({"optimizer": {"name": "adam", "momentum": 0.5}}, "optimizer.momentum"),
        ({"optimizer": {"name": "adamw", "nesterov": True}}, "optimizer.nesterov"),
        ({"data": {"val_fraction": 0}}, "data.val_fraction"),
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


def test_a_dumped_config_validates_again():
    # config.yaml records every field with its default (SGD's momentum for an Adam run, data options as null), and
    # coterie.load / eval validate it again
    cfg = validate_config(_base() | {"optimizer": {"name": "adam", "lr": 0.001}, "data": {"name": "digits"}})
    again = validate_config(cfg.model_dump(mode="json"))
    assert again.optimizer.name == "adam" and again.data.num_samples is None


def test_loader_options_reach_the_loader(monkeypatch):
    from coterie.experiments import build

    seen = {}
    monkeypatch.setattr(build, "load_splits", lambda name, **kw: seen.setdefault(name, kw))
    for data in ({"name": "mnist1d", "num_samples": 123}, {"name": "cifar10", "data_dir": "d"}, {"name": "digits"}):
        build.build_splits(validate_config(_base() | {"data": data}).data, seed=0)
    assert seen["mnist1d"]["num_samples"] == 123 and seen["cifar10"]["data_dir"] == "d"
    assert "num_samples" not in seen["digits"] and "data_dir" not in seen["digits"]


def test_an_unknown_field_lists_its_sections_fields():
    with pytest.raises(
        ConfigError, match=r"optimizer\.momentun: unknown field \(did you mean 'momentum'\? allowed: lr, "
    ):
        validate_config(_base() | {"optimizer": {"name": "sgd", "momentun": 0.5}})
    with pytest.raises(ConfigError, match=r"zzz: unknown field \(allowed: amp, batch_size, "):
        validate_config(_base() | {"zzz": 1})


def test_amp_off_survives_yaml(tmp_path):
    import yaml

    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump(_base()) + "amp: off\n")  # YAML reads the bare word as false
    assert load_config(p).amp == "off"
    assert with_overrides(load_config(p), {"amp": False}).amp == "off"
    with pytest.raises(ConfigError, match="amp"):
        validate_config(_base() | {"amp": True})
