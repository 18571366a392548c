"""Two CPU processes (torchrun, gloo) train the tiny model: same plan, disjoint data, same weights.

The test writes real speech rows to a file and launches this very file under
`python -m torch.distributed.run --standalone --nproc_per_node=2`; each rank trains through
`benchmark.train.Trainer` and dumps what it saw and its final trainable weights.
"""
from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch

STEPS, BATCH = 3, 4


def worker(work: Path) -> None:
    """One rank: train STEPS steps, then dump the plan, the ids it trained on and its weights."""
    from aramega_ssum.scheduling import ScheduleInput, make_plan
    from benchmark.checkpoint import trainable_state_dict
    from benchmark.config import load_config
    from benchmark.model import apply_lora, load_model
    from benchmark.prompting import build_training_batch
    from benchmark.train import Trainer, close_distributed, init_distributed

    torch.set_num_threads(1)
    process = init_distributed("cpu")
    rows = pickle.loads((work / "rows.pkl").read_bytes())
    config = load_config("uniform", [f"train.batch_size={BATCH}", "train.micro_batch_size=1", f"train.max_steps={STEPS}",
                                     "train.checkpoint_every=2", "train.val_every=2", "train.warmup_steps=1",
                                     "train.lr=1e-2"])
    model, processor = load_model("tiny", cache_dir=work / "tiny-cache")
    torch.manual_seed(process.process_index)  # deliberately different LoRA init per rank: the trainer must sync it
    model, _ = apply_lora(model)
    inputs = ScheduleInput([r["id"] for r in rows], [r["task"] for r in rows], [r["label"] for r in rows])
    plan = make_plan("uniform", inputs, batch_size=BATCH, steps=STEPS, seed=0, config=config["schedule"])
    seen: list[list[str]] = []

    def collate(batch_rows):
        seen.append([r["id"] for r in batch_rows])
        return build_training_batch(batch_rows, processor)

    torch.manual_seed(100 + process.process_index)
    trainer = Trainer(model, collate, rows, plan, config, run_dir=work / "run", process=process,
                      val_rows=[dict(r, id=f"val-{r['id']}") for r in rows[:4]])
    trainer.fit()
    rank, world = process.process_index, process.num_processes
    out = {"rank": rank, "world_size": world, "plan": [plan.batch(s) for s in range(STEPS)],
           "rank_batches": [plan.rank_batch(s, rank, world) for s in range(STEPS)], "seen": seen,
           "ids": [r["id"] for r in rows]}
    (work / f"rank{rank}.json").write_text(json.dumps(out), encoding="utf-8")
    torch.save(trainable_state_dict(trainer.model), work / f"rank{rank}.pt")
    close_distributed()


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory, speech_rows, tiny_model_dir):
    work = tmp_path_factory.mktemp("ddp")
    rows = [dict(r, id=f"{r['id']}-{k}") for k in range(2) for r in speech_rows if (r["duration"] or 0) < 30]
    (work / "rows.pkl").write_bytes(pickle.dumps(rows))
    (work / "tiny-cache").symlink_to(tiny_model_dir.parent, target_is_directory=True)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           str(Path(__file__).resolve()), str(work)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"torchrun failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    ranks = [json.loads((work / f"rank{r}.json").read_text(encoding="utf-8")) for r in range(2)]
    weights = [torch.load(work / f"rank{r}.pt") for r in range(2)]
    return work, ranks, weights


def test_both_ranks_follow_the_same_plan(ddp_run):
    _, ranks, _ = ddp_run
    assert [r["world_size"] for r in ranks] == [2, 2]
    assert ranks[0]["plan"] == ranks[1]["plan"]
    assert all(len(batch) == BATCH for batch in ranks[0]["plan"])


def test_each_rank_trains_on_its_disjoint_half_of_every_global_batch(ddp_run):
    _, ranks, _ = ddp_run
    ids = ranks[0]["ids"]
    for step in range(STEPS):
        halves = [r["rank_batches"][step] for r in ranks]
        assert not set(halves[0]) & set(halves[1])
        assert sorted(halves[0] + halves[1]) == sorted(ranks[0]["plan"][step])
    for r in ranks:  # micro-batches of 1; validation rows carry a "val-" prefix
        trained = [b[0] for b in r["seen"] if not b[0].startswith("val-")]
        assert all(len(b) == 1 for b in r["seen"])
        expected = [ids[i] for step in range(STEPS) for i in r["rank_batches"][step]]
        assert sorted(trained) == sorted(expected)


def test_weights_are_synchronized_and_trained(ddp_run):
    _, _, (w0, w1) = ddp_run
    assert w0.keys() == w1.keys() and w0
    for name in w0:
        assert torch.equal(w0[name], w1[name]), name
    assert any(float(t.abs().sum()) > 0 for n, t in w0.items() if "lora_B" in n)


def test_only_rank_zero_writes_the_log_and_checkpoints(ddp_run):
    work, _, _ = ddp_run
    records = [json.loads(line) for line in (work / "run" / "train_log.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(r["type"], r["step"]) for r in records] == [
        ("validation", 0), ("train", 1), ("train", 2), ("validation", 2), ("train", 3), ("validation", 3)]
    assert all(sum(r["task_examples"].values()) == BATCH for r in records if r["type"] == "train")
    assert sorted(p.name for p in (work / "run" / "checkpoints").iterdir()) == ["step-000003"]
    state = torch.load(work / "run" / "checkpoints" / "step-000003" / "state.pt", weights_only=False)
    assert state["world_size"] == 2 and len(state["rng"]) == 2


if __name__ == "__main__":  # a rank launched by the fixture above
    worker(Path(sys.argv[1]))
