"""benchmark.config: strategy files, typed dotted overrides, errors naming the key, schedule sha256."""
from __future__ import annotations

import pytest
import yaml

from aramega_ssum.scheduling import strategy_names
from benchmark.config import (
    DEFAULTS,
    ConfigError,
    dump_config,
    load_config,
    save_config,
    schedule_sha256,
)


@pytest.mark.parametrize("strategy", strategy_names())
def test_every_strategy_file_resolves(strategy):
    config = load_config(strategy, ["model.name=Qwen/Qwen2.5-Omni-7B"])  # the recipe for a real model
    assert config["strategy"] == strategy
    assert config["schedule"]["strategy"] == strategy
    assert set(DEFAULTS) <= set(config)
    assert config["train"]["batch_size"] == 8  # effective batch of the paper's group
    assert config["train"]["lr"] == pytest.approx(1e-4)
    assert config["train"]["grad_clip"] == 1.0
    assert (config["lora"]["r"], config["lora"]["alpha"]) == (16, 32)


def test_strategy_files_header_shows_the_launch_command():
    from benchmark.config import config_path

    for strategy in strategy_names():
        head = config_path(strategy).read_text(encoding="utf-8").split("\nschedule:")[0]
        assert f"python -m benchmark.run --strategy {strategy}" in head


def test_tiny_block_applies_to_the_tiny_model_only():
    from benchmark.config import config_path

    tiny, real = load_config("hybrid"), load_config("hybrid", ["model.name=/models/omni"])
    assert tiny["model"]["name"] == "tiny"
    block = yaml.safe_load(config_path("hybrid").read_text(encoding="utf-8"))["tiny"]
    assert block and tiny["tiny"] == {}  # applied, then emptied: the resolved config is final
    for key, value in block.items():
        section, name = key.split(".")
        assert tiny[section][name] == value
    assert real["train"]["lr"] == pytest.approx(1e-4) and real["model"]["extra_trainable"] == []
    assert tiny["train"]["lr"] != real["train"]["lr"]
    # the command line wins over the tiny block
    assert load_config("hybrid", ["train.lr=5e-4"])["train"]["lr"] == pytest.approx(5e-4)
    assert load_config("hybrid", ["train.max_steps=3"])["train"]["max_steps"] == 3


def test_bad_tiny_block_names_the_key(tmp_path):
    bad = tmp_path / "x.yaml"
    bad.write_text("schedule: {strategy: uniform}\ntiny:\n  train.lrr: 1.0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"tiny.*train\.lrr"):
        load_config("uniform", path=bad)
    assert load_config("uniform", ["model.name=x"], path=bad)["train"]["lr"] == pytest.approx(1e-4)


def test_overrides_are_typed_and_dotted():
    config = load_config("hybrid", ["train.lr=3e-4", "train.max_steps=7", "model.train_aligner=true",
                                    "schedule.switch=0.25", "data.max_audio_seconds=30", "eval.bertscore_model=/m"])
    assert config["train"]["lr"] == pytest.approx(3e-4) and isinstance(config["train"]["lr"], float)
    assert config["train"]["max_steps"] == 7
    assert config["model"]["train_aligner"] is True
    assert config["schedule"]["switch"] == 0.25
    assert config["data"]["max_audio_seconds"] == 30
    assert config["eval"]["bertscore_model"] == "/m"
    # an int where a float is expected is fine; the file's other values are untouched
    assert load_config("hybrid", ["train.lr=1"])["train"]["lr"] == 1.0
    assert load_config("hybrid")["schedule"]["switch"] != 0.25


@pytest.mark.parametrize("override, names", [
    ("train.lrr=1", "train.lrr"),
    ("nope.x=1", "nope"),
    ("schedule.switchh=0.1", "schedule.switchh"),
    ("train.max_steps=1.5", "train.max_steps"),
    ("train.max_steps=many", "train.max_steps"),
    ("model.train_aligner=1", "model.train_aligner"),
    ("train.lr=fast", "train.lr"),
    ("data.max_audio_seconds=long", "data.max_audio_seconds"),
    ("schedule.tpc.stages=3", "schedule.tpc.stages"),
    ("strategy=tpc", "strategy"),
])
def test_bad_overrides_name_the_key(override, names):
    with pytest.raises(ConfigError, match=names.replace(".", r"\.")):
        load_config("hybrid", [override])


def test_unknown_key_suggests_a_close_one():
    with pytest.raises(ConfigError, match="did you mean 'lr'"):
        load_config("uniform", ["train.lrr=1"])


def test_override_without_equals_sign():
    with pytest.raises(ConfigError, match="key=value"):
        load_config("uniform", ["train.lr"])


def test_unknown_strategy_and_bad_file(tmp_path):
    with pytest.raises(ConfigError, match="did you mean 'hybrid'"):
        load_config("hybridd")
    bad = tmp_path / "x.yaml"
    bad.write_text("schedule: {strategy: uniform}\ntrain:\n  lr: 1e-4\n  epochs: 2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"train\.epochs"):
        load_config("uniform", path=bad)
    bad.write_text("train:\n  max_steps: ten\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"x\.yaml.*train\.max_steps"):
        load_config("uniform", path=bad)


def test_schedule_sha256_tracks_only_the_schedule_block():
    base = load_config("hybrid")
    assert schedule_sha256(base) == schedule_sha256(load_config("hybrid"))
    assert len(schedule_sha256(base)) == 64
    assert schedule_sha256(load_config("hybrid", ["train.lr=2e-4"])) == schedule_sha256(base)
    assert schedule_sha256(load_config("hybrid", ["schedule.switch=0.3"])) != schedule_sha256(base)
    assert schedule_sha256(load_config("uniform")) != schedule_sha256(base)


def test_resolved_config_round_trips(tmp_path):
    config = load_config("tpc", ["train.max_steps=3"])
    path = save_config(config, tmp_path / "config.yaml")
    assert yaml.safe_load(path.read_text(encoding="utf-8")) == config
    assert dump_config(config) == path.read_text(encoding="utf-8")
    # a resolved config file can be loaded back as a config file
    again = load_config("tpc", path=path)
    assert again == config
