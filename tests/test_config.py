"""benchmark.config: the layers (base, tiny, strategy, --config, command line) and the layer each value
came from, typed dotted overrides, errors naming the key, schedule sha256, evaluate reading the same layers."""
from __future__ import annotations

import pytest
import yaml

from aramega_ssum.scheduling import strategy_names
from benchmark.config import (
    SCHEMA,
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
    assert set(SCHEMA) <= set(config)
    assert config["train"]["batch_size"] == 8  # effective batch of the paper's group
    assert config["train"]["lr"] == pytest.approx(1e-4)
    assert config["train"]["grad_clip"] == 1.0
    assert (config["lora"]["r"], config["lora"]["alpha"]) == (16, 32)


def test_strategy_files_header_shows_the_launch_command():
    from benchmark.config import config_path

    for strategy in strategy_names():
        head = config_path(strategy).read_text(encoding="utf-8").split("\nschedule:")[0]
        assert f"python -m benchmark.run --strategy {strategy}" in head


def test_tiny_layer_applies_to_the_tiny_model_only():
    from benchmark.config import CONFIG_DIR

    tiny, real = load_config("hybrid"), load_config("hybrid", ["model.name=/models/omni"])
    assert tiny["model"]["name"] == "tiny" and "tiny" not in tiny
    overlay = yaml.safe_load((CONFIG_DIR / "tiny.yaml").read_text(encoding="utf-8"))
    assert overlay
    for section, block in overlay.items():
        for name, value in block.items():
            assert tiny[section][name] == value and tiny["sources"][f"{section}.{name}"] == "tiny.yaml"
    assert real["train"]["lr"] == pytest.approx(1e-4) and real["model"]["extra_trainable"] == []
    assert "tiny.yaml" not in real["sources"].values()
    assert tiny["train"]["max_steps"] != real["train"]["max_steps"]
    # the command line wins over the tiny layer
    assert load_config("hybrid", ["train.max_steps=3"])["train"]["max_steps"] == 3


def test_strategy_files_hold_only_the_schedule_and_base_the_rest():
    from benchmark.config import CONFIG_DIR

    for strategy in strategy_names():
        assert list(yaml.safe_load((CONFIG_DIR / f"{strategy}.yaml").read_text(encoding="utf-8"))) == ["schedule"]
    base = yaml.safe_load((CONFIG_DIR / "base.yaml").read_text(encoding="utf-8"))
    assert {block: set(keys) for block, keys in base.items()} == {block: set(keys) for block, keys in SCHEMA.items()}


@pytest.fixture
def configs(tmp_path, monkeypatch):
    """A copy of benchmark/configs/ that the loader reads (so a test may edit the layer files)."""
    import shutil

    import benchmark.config as cfg

    copy = tmp_path / "configs"
    shutil.copytree(cfg.CONFIG_DIR, copy)
    monkeypatch.setattr(cfg, "CONFIG_DIR", copy)
    return copy


def _add(path, text):
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def test_a_value_in_the_strategy_file_wins_over_tiny(configs):
    # the bug this layering fixes: `lr: 5e-5` in hybrid.yaml resolved to the tiny block's value
    _add(configs / "hybrid.yaml", "train:\n  lr: 5e-5\n")
    config = load_config("hybrid")
    assert config["model"]["name"] == "tiny"
    assert config["train"]["lr"] == pytest.approx(5e-5) and config["sources"]["train.lr"] == "hybrid.yaml"
    assert config["train"]["max_steps"] == 200 and config["sources"]["train.max_steps"] == "tiny.yaml"
    cli = load_config("hybrid", ["train.lr=1e-3"])  # the command line wins over every file
    assert cli["train"]["lr"] == pytest.approx(1e-3) and cli["sources"]["train.lr"] == "command line"
    other = load_config("tpc")  # other strategies keep the lower layers' value
    assert other["train"]["lr"] == pytest.approx(1e-4) and other["sources"]["train.lr"] == "base.yaml"


def test_layer_order_base_tiny_strategy_config_command_line(configs, tmp_path):
    own = tmp_path / "my.yaml"
    own.write_text("train:\n  lr: 3.0e-4\n  warmup_steps: 2\n", encoding="utf-8")
    _add(configs / "uniform.yaml", "train:\n  lr: 5.0e-5\n  val_every: 7\n  grad_clip: 0.5\n")
    config = load_config("uniform", ["train.warmup_steps=4"], path=own)
    expected = {  # key: (value, layer)
        "train.seed": (0, "base.yaml"),
        "train.max_steps": (200, "tiny.yaml"),
        "train.val_every": (7, "uniform.yaml"),  # uniform.yaml over tiny.yaml's 25
        "train.grad_clip": (0.5, "uniform.yaml"),  # over base.yaml's 1.0
        "train.lr": (3e-4, str(own)),  # --config over uniform.yaml and tiny.yaml
        "train.warmup_steps": (4, "command line"),  # command line over --config
        "schedule.temperature": (1.0, "uniform.yaml"),
    }
    for key, (value, layer) in expected.items():
        block, name = key.split(".")
        assert config[block][name] == pytest.approx(value) and config["sources"][key] == layer, key
    assert set(config["sources"]) >= {f"{b}.{k}" for b, keys in SCHEMA.items() for k in keys}
    # a real model skips tiny.yaml: base.yaml's values where no later layer sets one
    real = load_config("uniform", ["model.name=/models/omni"], path=own)
    assert real["train"]["max_steps"] == 1000 and real["sources"]["train.max_steps"] == "base.yaml"
    # --config may choose the tiny model itself (tiny.yaml applies when the final model.name is tiny)
    own.write_text("model:\n  name: tiny\n", encoding="utf-8")
    assert load_config("uniform", ["model.name=/m"])["sources"].get("train.max_steps") == "base.yaml"
    assert load_config("uniform", path=own)["sources"]["train.max_steps"] == "tiny.yaml"


def test_layer_files_are_checked(configs, tmp_path):
    _add(configs / "tiny.yaml", "data:\n  pathh: x\n")
    with pytest.raises(ConfigError, match=r"tiny\.yaml: unknown config key 'data\.pathh'.*did you mean 'path'"):
        load_config("uniform")
    assert load_config("uniform", ["model.name=x"])["data"]["path"] == "aramega-ssum"  # tiny.yaml not read
    (configs / "tiny.yaml").write_text("schedule:\n  temperature: 2.0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"tiny\.yaml: 'schedule\.temperature' cannot be set in tiny\.yaml"):
        load_config("uniform")
    base = configs / "base.yaml"
    base.write_text(base.read_text(encoding="utf-8").replace("  grad_clip: 1.0\n", ""), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"train\.grad_clip: set by no layer \(add it to .*base\.yaml\)"):
        load_config("uniform", ["model.name=x"])


def test_resolved_config_names_the_layer_of_each_value(tmp_path):
    config = load_config("hybrid", ["train.max_steps=3", "schedule.switch=0.25"])
    text = save_config(config, tmp_path / "config.yaml").read_text(encoding="utf-8")
    sources = yaml.safe_load(text)["sources"]
    assert sources["train.max_steps"] == "command line" and sources["schedule.switch"] == "command line"
    assert sources["train.val_every"] == "tiny.yaml" and sources["lora.r"] == "base.yaml"
    assert sources["schedule.tpc.replay"] == "hybrid.yaml"
    # loaded back (as --resume does), the recorded layers stay; new overrides are the command line's
    again = load_config("hybrid", ["train.keep_checkpoints=2"], path=tmp_path / "config.yaml")
    assert again["sources"]["train.max_steps"] == "command line" and again["sources"]["train.val_every"] == "tiny.yaml"
    assert again["sources"]["train.keep_checkpoints"] == "command line" and again["train"]["max_steps"] == 3


def test_a_resolved_schedule_block_stands_whole(tmp_path):
    config = load_config("tpc")
    del config["schedule"]["replay"]  # as if the run was made before tpc.yaml had this key
    save_config(config, tmp_path / "config.yaml")
    assert "replay" not in load_config("tpc", path=tmp_path / "config.yaml")["schedule"]
    partial = tmp_path / "my.yaml"  # a user's layer (no `sources:`) merges into the strategy's block
    partial.write_text("schedule:\n  replay: 0.5\n", encoding="utf-8")
    merged = load_config("tpc", path=partial)["schedule"]
    assert merged["replay"] == 0.5 and merged["stages"] == load_config("tpc")["schedule"]["stages"]


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


def test_evaluate_reads_the_same_layers(configs, tmp_path):
    from benchmark.evaluate import parse_args, settings

    def opts(*argv):
        return settings(parse_args(list(argv)))

    assert opts("--model", "/models/omni")["max_new_tokens"] == 256  # base.yaml
    assert opts()["model"] == "tiny" and opts()["max_new_tokens"] == 128  # tiny.yaml for the default model
    # base.yaml is the only home of the defaults: evaluate has none of its own
    base = configs / "base.yaml"
    base.write_text(base.read_text(encoding="utf-8").replace("bootstrap: 1000", "bootstrap: 7")
                    .replace("split: test", "split: validation"), encoding="utf-8")
    assert (opts()["bootstrap"], opts()["split"]) == (7, "validation")
    own = tmp_path / "my.yaml"
    own.write_text("eval:\n  batch_size: 3\n  max_new_tokens: 20\n  max_per_task: 5\n", encoding="utf-8")
    got = opts("--config", str(own), "eval.max_new_tokens=32")
    assert (got["batch_size"], got["max_new_tokens"], got["limit"]) == (3, 32, 5)  # key=value over --config
    assert opts("--config", str(own), "eval.max_new_tokens=32", "--max-new-tokens", "9")["max_new_tokens"] == 9
    assert opts("--tasks", "asr", "eval.batch_size=2")["batch_size"] == 2  # not taken for a task name
    assert opts("--skip-long-audio")["over_limit"] == "skip" and opts("--limit", "0")["limit"] is None
    with pytest.raises(ConfigError, match=r"command line: eval\.max_new_tokens: expected int"):
        opts("eval.max_new_tokens=many")


def test_evaluate_reads_a_runs_config(tmp_path):
    from benchmark.evaluate import parse_args, settings

    config = load_config("hybrid", ["model.name=/models/omni", "eval.max_new_tokens=12", "data.path=/data/x"])
    save_config(config, tmp_path / "config.yaml")
    got = settings(parse_args(["--config", str(tmp_path / "config.yaml")]))
    assert (got["model"], got["max_new_tokens"], str(got["data"])) == ("/models/omni", 12, "/data/x")


def test_old_run_configs_still_load(tmp_path):
    # config.yaml of a run made before the layers: an emptied `tiny: {}` block, no `sources:`
    config = load_config("hybrid", ["train.max_steps=3"])
    old = {k: v for k, v in config.items() if k != "sources"} | {"tiny": {}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(old, sort_keys=False), encoding="utf-8")
    again = load_config("hybrid", path=tmp_path / "config.yaml")
    assert {k: v for k, v in again.items() if k != "sources"} == {k: v for k, v in config.items() if k != "sources"}
    assert set(again["sources"].values()) == {str(tmp_path / "config.yaml")}
    (tmp_path / "old.yaml").write_text("tiny:\n  train.lr: 1.0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"'tiny:' block is no longer read.*tiny\.yaml"):
        load_config("hybrid", path=tmp_path / "old.yaml")


def test_resume_compares_values_not_layers(tmp_path):
    from benchmark.preflight import resume_config

    save_config(load_config("uniform", ["train.lr=2e-4"]), tmp_path / "config.yaml")
    config, refused = resume_config("uniform", ["train.keep_checkpoints=3", "train.lr=2e-4"], tmp_path)
    assert refused == [] and config["train"]["keep_checkpoints"] == 3
    assert config["sources"]["train.lr"] == "command line" and config["sources"]["train.max_steps"] == "tiny.yaml"
    _, refused = resume_config("uniform", ["train.lr=1e-3"], tmp_path)
    assert len(refused) == 1 and "train.lr was 0.0002" in refused[0]


def test_tiny_generation_budget_covers_every_embedded_target(embedded_dataset):
    """A budget below the references cuts every summary (it once was 48 tokens against targets of up to 115)."""
    from aramega_ssum.dataset import load_split
    from benchmark.model import tiny_base_dir
    from benchmark.processor import load_processor

    tok = load_processor(str(tiny_base_dir())).tokenizer  # the harness's own loader
    longest = max(len(tok(target)["input_ids"]) for split in ("train", "validation", "test")
                  for target in load_split(embedded_dataset, split)["target"])
    assert longest + 1 <= load_config("hybrid")["eval"]["max_new_tokens"], longest  # + the stop token
