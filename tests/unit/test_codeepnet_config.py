"""The codeepnet config (experiments/codeepnet/config.py): a version-2 cohort config survives a dump and re-validation
(config.yaml, fingerprint.json and --set all re-validate a dumped config that carries every field's default)."""

from __future__ import annotations

import pytest

from coterie.config import ConfigError, load_config, with_overrides

V2 = {
    "experiment": "codeepnet",
    "data": {"simulate": {"version": 2, "n_samples": 60, "n_cpgs": 40, "n_age_cpgs": 10}},
}


def test_v2_config_revalidates_after_a_dump_and_an_override() -> None:
    cfg = load_config(V2)
    again = with_overrides(cfg, {"seed": 3})
    assert again.seed == 3 and again.data.simulate.version == 2
    assert load_config(cfg.model_dump(mode="json")) == cfg


def test_v2_still_refuses_a_v1_field_that_was_changed() -> None:
    raw = {"experiment": "codeepnet", "data": {"simulate": {"version": 2, "noise_sd": 0.9}}}
    with pytest.raises(ConfigError, match=r"\['noise_sd'\] are v1-only"):
        load_config(raw)
