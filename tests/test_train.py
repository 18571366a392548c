"""benchmark.train on the real tiny model and real speech: resume equality, accumulation, lr schedule."""
from __future__ import annotations

import json
import math

import pytest
import torch

from benchmark import checkpoint as ckpt
from benchmark.config import load_config
from benchmark.train import Trainer, example_losses, lr_lambda, target_losses, to_device

STEPS = 4


@pytest.fixture
def one_thread():
    """Tiny matmuls run fastest (and identically) on one thread; restore the setting afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def rows(speech_rows):
    """Short real-speech rows of every task (the >30 s clip left out to keep the test fast), twice."""
    short = [r for r in speech_rows if (r["duration"] or 0) < 30]
    return [dict(r, id=f"{r['id']}-{k}") for k in range(2) for r in short]


def make_trainer(run_dir, rows, tiny_model_dir, *overrides: str, seed: int = 0) -> Trainer:
    from aramega_ssum.scheduling import ScheduleInput, make_plan
    from benchmark.model import apply_lora, load_model
    from benchmark.prompting import build_training_batch

    config = load_config("uniform", ["train.batch_size=4", "train.micro_batch_size=2", f"train.max_steps={STEPS}",
                                     "train.checkpoint_every=2", "train.val_every=0", "train.warmup_steps=1",
                                     "train.lr=1e-2", *overrides])
    model, processor = load_model("tiny", cache_dir=tiny_model_dir.parent)
    torch.manual_seed(seed)
    model, _ = apply_lora(model, config["lora"]["r"], config["lora"]["alpha"], config["lora"]["dropout"])
    tc = config["train"]
    inputs = ScheduleInput([r["id"] for r in rows], [r["task"] for r in rows], [r["label"] for r in rows])
    plan = make_plan("uniform", inputs, batch_size=tc["batch_size"], steps=tc["max_steps"], seed=seed,
                     config=config["schedule"])
    torch.manual_seed(1000 + seed)  # the training RNG stream (LoRA dropout)
    trainer = Trainer(model, lambda rs: build_training_batch(rs, processor), rows, plan, config,
                      run_dir=run_dir, meta={"strategy": "uniform", "seed": seed})
    trainer.processor = processor  # for tests that swap the collator
    return trainer


def read_log(path) -> list[dict]:
    """Log records without the wall-clock fields."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        record.pop("examples_per_s", None)
        out.append(record)
    return out


def test_resume_sees_the_same_batches_and_reaches_the_same_weights(tmp_path, rows, tiny_model_dir, one_thread):
    full = make_trainer(tmp_path / "full", rows, tiny_model_dir)
    summary = full.fit()
    assert summary["steps"] == STEPS and summary["resumed_from"] is None and summary["train_wall_s"] > 0
    expected = ckpt.trainable_state_dict(full.model)

    # interrupted after step 3: the newest checkpoint is step 2, so step 3 is redone after --resume
    first = make_trainer(tmp_path / "cut", rows, tiny_model_dir)
    first.fit(stop_after=3)
    assert [p.name for p in ckpt.list_checkpoints(tmp_path / "cut")] == ["step-000002"]
    assert len(read_log(tmp_path / "cut" / "train_log.jsonl")) == 3
    saved = ckpt.load_checkpoint(ckpt.latest_checkpoint(tmp_path / "cut"))
    assert saved["step"] == 2 and saved["plan"] == first.plan.state_at(2)  # the real step, not 0
    again = make_trainer(tmp_path / "cut", rows, tiny_model_dir, seed=0)
    summary = again.fit(resume=True)
    assert summary["resumed_from"] == 2 and summary["steps"] == STEPS
    resumed = read_log(tmp_path / "cut" / "train_log.jsonl")[2]  # the first step after the resume
    assert resumed["step"] == 3 and resumed["batch"] == again.plan.batch(2)

    full_log, cut_log = read_log(tmp_path / "full" / "train_log.jsonl"), read_log(tmp_path / "cut" / "train_log.jsonl")
    assert [r["step"] for r in cut_log] == [1, 2, 3, 4]
    assert [r["batch"] for r in cut_log] == [r["batch"] for r in full_log]
    assert [r["lr"] for r in cut_log] == [r["lr"] for r in full_log]
    assert [r["loss"] for r in cut_log] == pytest.approx([r["loss"] for r in full_log], rel=1e-6)
    got = ckpt.trainable_state_dict(again.model)
    assert got.keys() == expected.keys()
    for name in expected:
        assert torch.allclose(got[name], expected[name], rtol=0, atol=1e-7), name
    # and training did change the adapter (lora_B starts at zero)
    assert any(float(t.abs().sum()) > 0 for n, t in got.items() if "lora_B" in n)


def test_resume_refuses_a_different_run(tmp_path, rows, tiny_model_dir, one_thread):
    make_trainer(tmp_path, rows, tiny_model_dir).fit(stop_after=2)
    other = make_trainer(tmp_path, rows, tiny_model_dir, seed=1)
    with pytest.raises(RuntimeError, match="seed"):
        other.fit(resume=True)


def test_gradient_does_not_depend_on_the_micro_batch_size(tmp_path, rows, tiny_model_dir, one_thread):
    """Loss = mean over the global batch's target tokens, however the batch is split (dropout off)."""
    grads, losses = [], []
    for micro in (4, 1):
        trainer = make_trainer(tmp_path / f"m{micro}", rows, tiny_model_dir, f"train.micro_batch_size={micro}",
                               "train.max_steps=1", "lora.dropout=0.0")
        seen, step = {}, trainer.optimizer.step

        def capture(*args, _seen=seen, _trainer=trainer, _step=step, **kwargs):
            _seen.update({n: p.grad.clone() for n, p in _trainer.model.named_parameters() if p.requires_grad})
            return _step(*args, **kwargs)

        trainer.optimizer.step = capture
        record = trainer.train_step()
        assert sum(record["task_examples"].values()) == 4
        grads.append(seen)
        losses.append(record["loss"])
    assert losses[0] == pytest.approx(losses[1], rel=1e-6)
    assert grads[0].keys() == grads[1].keys() and grads[0]
    for name in grads[0]:
        assert torch.allclose(grads[0][name], grads[1][name], rtol=1e-4, atol=1e-8), name
    assert any(float(g.abs().sum()) > 0 for g in grads[0].values())


def test_log_records_per_task_loss_lr_and_stage(tmp_path, rows, tiny_model_dir, one_thread):
    trainer = make_trainer(tmp_path, rows, tiny_model_dir, "train.val_every=2", "train.max_steps=2")
    trainer.val_rows = rows[:5]
    trainer.fit()
    log = [json.loads(line) for line in (tmp_path / "train_log.jsonl").read_text(encoding="utf-8").splitlines()]
    kinds = [(r["type"], r["step"]) for r in log]
    assert kinds == [("validation", 0), ("train", 1), ("train", 2), ("validation", 2)]
    for record in log:
        assert math.isfinite(record["loss"]) and record["task_loss"]
        assert all(math.isfinite(v) and v > 0 for v in record["task_loss"].values())
    train = [r for r in log if r["type"] == "train"]
    assert all(r["stage"] == "uniform" and r["examples_per_s"] > 0 and len(r["batch"]) == 4 for r in train)
    assert train[0]["lr"] == pytest.approx(1e-2)  # warmup of 1 step
    assert set(log[0]["task_loss"]) == {r["task"] for r in rows[:5]}


def test_target_losses_match_full_logits(rows, tiny_model_dir, one_thread):
    from benchmark.model import load_model
    from benchmark.prompting import build_training_batch

    model, processor = load_model("tiny", cache_dir=tiny_model_dir.parent)
    batch = build_training_batch(rows[:5], processor)
    inputs = to_device({k: v for k, v in batch.items() if k != "labels"}, torch.device("cpu"))
    with torch.no_grad():
        full = example_losses(model(**inputs).logits, batch["labels"])
        fast = target_losses(model, inputs, batch["labels"])
    assert torch.equal(full[1], fast[1]) and int(fast[1].min()) > 0
    assert torch.allclose(full[0], fast[0], rtol=1e-5)


def test_lr_schedule_warmup_then_cosine():
    f = lr_lambda(warmup_steps=4, total_steps=20, min_ratio=0.1)
    assert [f(s) for s in range(4)] == pytest.approx([0.25, 0.5, 0.75, 1.0])
    assert f(4) == pytest.approx(1.0)
    assert f(12) == pytest.approx(0.1 + 0.9 * 0.5)
    assert f(20) == pytest.approx(0.1)
    values = [f(s) for s in range(4, 21)]
    assert all(a >= b for a, b in zip(values, values[1:]))


def test_checkpoints_keep_the_newest(tmp_path):
    for step in (2, 4, 6):
        ckpt.save_checkpoint(tmp_path, step, {"step": step}, keep=2)
    assert [p.name for p in ckpt.list_checkpoints(tmp_path)] == ["step-000004", "step-000006"]
    assert ckpt.load_checkpoint(ckpt.latest_checkpoint(tmp_path))["step"] == 6
    with pytest.raises(FileNotFoundError):
        ckpt.load_checkpoint(tmp_path / "nope")


def test_long_audio_over_the_bound_is_counted_not_hidden(tmp_path, speech_rows, tiny_model_dir, one_thread):
    """The >30 s clip, bounded at 5 s: every use is counted in the step's log record."""
    from benchmark.prompting import build_training_batch

    long = [r for r in speech_rows if (r["duration"] or 0) > 30]
    assert long, "the speech_rows fixture should hold a clip over 30 s"
    rows = [dict(long[0], id=f"long-{k}") for k in range(4)]
    trainer = make_trainer(tmp_path, rows, tiny_model_dir, "train.max_steps=1")
    trainer.collate = lambda rs: build_training_batch(rs, trainer.processor, max_audio_seconds=5.0)
    record = trainer.train_step()
    assert record["audio_truncated"] == 4 and record["audio_skipped"] == 0
    assert trainer.audio_counts == {"truncated": 4, "skipped": 0}



def test_base_lr_sets_the_lr_of_trained_base_weights():
    from benchmark.train import build_optimizer

    model = torch.nn.ModuleDict({"lora_A": torch.nn.Linear(2, 2), "lm_head": torch.nn.Linear(2, 2),
                                 "frozen": torch.nn.Linear(2, 2)}).requires_grad_(True)
    model["frozen"].requires_grad_(False)
    cfg = {"lr": 1e-3, "base_lr": 1e-2, "betas": [0.9, 0.999], "weight_decay": 0.0, "warmup_steps": 1,
           "min_lr_ratio": 0.0}
    optimizer, _ = build_optimizer(model, cfg, total_steps=4)
    lrs = {id(p): g["lr"] for g in optimizer.param_groups for p in g["params"]}
    assert [lrs[id(p)] for p in model["lora_A"].parameters()] == [1e-3, 1e-3]
    assert [lrs[id(p)] for p in model["lm_head"].parameters()] == [1e-2, 1e-2]
    assert not any(id(p) in lrs for p in model["frozen"].parameters())
    optimizer, _ = build_optimizer(model, {**cfg, "base_lr": None}, total_steps=4)
    assert len(optimizer.param_groups) == 1 and optimizer.param_groups[0]["lr"] == 1e-3
