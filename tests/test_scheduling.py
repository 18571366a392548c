"""Property tests of the scheduling strategies on a synthetic mix with skewed task/label counts."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from aramega_ssum.scheduling import (ScheduledBatchSampler, ScheduleInput, get_strategy, load_schedule_config,
                                     make_plan)
from aramega_ssum.scheduling.kmeans import kmeans
from aramega_ssum.scheduling.sampler import apportion

SIZES = {"asr": 400, "ssum": 160, "tsum": 80, "dialect": 120, "emotion": 40}
LABEL_P = {"dialect": (["EGY", "GLF", "LEV", "NOR", "MSA"], [0.5, 0.2, 0.15, 0.1, 0.05]),
           "emotion": (["neutral", "happy", "sad", "angry", "surprise"], [0.5, 0.2, 0.1, 0.1, 0.1])}
STRATEGIES = ("uniform", "tpc", "ads", "hybrid")  # the built-ins (the registry may hold more)


@pytest.fixture(scope="module")
def mix() -> ScheduleInput:
    rng = np.random.default_rng(123)
    tasks, labels = [], []
    for task, n in SIZES.items():
        tasks += [task] * n
        if task in LABEL_P:
            names, p = LABEL_P[task]
            drawn = rng.choice(len(names), n, p=p)
            drawn[:len(names)] = np.arange(len(names))  # every label present, the last ones rare
            labels += [names[i] for i in drawn]
        else:
            labels += [None] * n
    n = len(tasks)
    emb = rng.normal(size=(n, 8)) + 4 * rng.integers(0, 4, size=(n, 1))  # 4 blobs per stratum
    return ScheduleInput([f"ex{i:04d}" for i in range(n)], tasks, labels, emb)


def _plan(strategy, mix, steps=60, batch_size=20, seed=0, config=None):
    return make_plan(strategy, mix, batch_size=batch_size, steps=steps, seed=seed, config=config)


def _tasks(mix, batch):
    return Counter(mix.tasks[batch].tolist())


def test_uniform_shares_follow_sizes(mix):
    plan = _plan("uniform", mix, steps=80)
    counts = Counter(t for s in range(80) for t in mix.tasks[plan.batch(s)])
    total = sum(SIZES.values())
    for task, n in SIZES.items():
        assert counts[task] / 1600 == pytest.approx(n / total, abs=0.03), task


def test_uniform_temperature_flattens_shares(mix):
    plan = _plan("uniform", mix, steps=50, config={"temperature": 1000.0})
    counts = Counter(t for s in range(50) for t in mix.tasks[plan.batch(s)])
    assert max(counts.values()) - min(counts.values()) <= 1  # equal shares up to rounding
    for s in range(50):
        assert set(_tasks(mix, plan.batch(s)).values()) == {4}


def test_tpc_stage_order_and_shares(mix):
    plan = _plan("tpc", mix, steps=60, config={"replay": 0.25})
    stages = [plan.stage(s) for s in range(60)]
    assert stages[0] == "stage1:asr" and stages[20] == "stage2:ssum+tsum" and stages[59] == "stage3:dialect+emotion"
    assert stages.count("stage1:asr") == 20 and stages.count("stage2:ssum+tsum") == 20
    assert all(set(_tasks(mix, plan.batch(s))) == {"asr"} for s in range(20))
    stage2 = Counter(t for s in range(20, 40) for t in mix.tasks[plan.batch(s)])
    assert stage2["asr"] == 0.25 * 400 and stage2["ssum"] + stage2["tsum"] == 300
    assert stage2["ssum"] == pytest.approx(2 * stage2["tsum"], abs=1)  # sizes 160:80
    stage3 = Counter(t for s in range(40, 60) for t in mix.tasks[plan.batch(s)])
    assert stage3["dialect"] + stage3["emotion"] == 300 and stage3["asr"] > 0 and stage3["tsum"] > 0


def test_tpc_custom_stages_and_shares(mix):
    config = {"stages": [["asr", "ssum"], ["tsum", "dialect", "emotion"]], "shares": [1, 3], "replay": 0.0}
    plan = _plan("tpc", mix, steps=40, config=config)
    assert [plan.stage(s) for s in (0, 9, 10)] == ["stage1:asr+ssum", "stage1:asr+ssum", "stage2:tsum+dialect+emotion"]
    assert set(_tasks(mix, plan.batch(10))) <= {"tsum", "dialect", "emotion"}


def test_ads_balance_and_no_repeats(mix):
    plan = _plan("ads", mix, steps=60)
    seen: dict[tuple, list] = {}
    for s in range(60):
        batch = plan.batch(s)
        tasks = _tasks(mix, batch)
        assert set(tasks) == set(SIZES) and max(tasks.values()) - min(tasks.values()) <= 1
        for task in LABEL_P:
            labels = Counter(mix.labels[[i for i in batch if mix.tasks[i] == task]].tolist())
            values = [labels.get(name, 0) for name in LABEL_P[task][0]]
            assert max(values) - min(values) <= 1, (s, task, labels)
        for i in batch:
            seen.setdefault((mix.tasks[i], mix.labels[i]), []).append(i)
    for stratum, draws in seen.items():
        size = len(mix.members(*stratum)) if stratum[1] else len(mix.members(stratum[0]))
        for lo in range(0, len(draws), size):  # each epoch of a stratum is a permutation
            epoch = draws[lo:lo + size]
            assert len(set(epoch)) == len(epoch), stratum


def test_ads_visits_clusters_round_robin(mix):
    plan = _plan("ads", mix, steps=10, config={"clusters": 4})
    asr = [i for s in range(10) for i in plan.batch(s) if mix.tasks[i] == "asr"]
    blob = np.round(mix.embeddings[asr].mean(1) / 4).astype(int)  # which of the 4 blobs
    assert all(len(set(blob[i:i + 4].tolist())) == 4 for i in range(0, 40, 4))


def test_hybrid_switches_at_configured_step(mix):
    plan = _plan("hybrid", mix, steps=50, config={"switch": 0.3})
    assert plan.stage(14) == "tpc/stage3:dialect+emotion" and plan.stage(15) == "ads"
    assert set(_tasks(mix, plan.batch(0))) == {"asr"} and set(_tasks(mix, plan.batch(15))) == set(SIZES)
    tpc = _plan("tpc", mix, steps=15)
    assert all(plan.batch(s) == tpc.batch(s) for s in range(15))  # wraps, does not copy
    ads = _plan("ads", mix, steps=35)
    assert all(plan.batch(15 + s) == ads.batch(s) for s in range(35))


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_deterministic_and_seeded(mix, strategy):
    a = [b for b in _plan(strategy, mix, seed=7)]
    b = [b for b in _plan(strategy, mix, seed=7)]
    c = [b for b in _plan(strategy, mix, seed=8)]
    assert a == b and a != c and all(len(x) == 20 for x in a)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_resume_equals_uninterrupted(mix, strategy):
    full = list(_plan(strategy, mix, steps=45))
    assert list(_plan(strategy, mix, steps=45)) == full == list(_plan(strategy, mix, steps=45))  # no cursor
    sampler = ScheduledBatchSampler(_plan(strategy, mix, steps=45), rank=0, world_size=1)
    it = iter(sampler)
    head = [next(it) for _ in range(17)]
    state = sampler.state_dict()
    assert state["step"] == 17
    resumed = ScheduledBatchSampler(_plan(strategy, mix, steps=45), rank=0, world_size=1)
    resumed.load_state_dict(state)
    assert head + list(resumed) == full
    assert resumed.plan.batch(30) == full[30]  # random access agrees too


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_rank_parts_disjoint_and_complete(mix, strategy):
    plan = _plan(strategy, mix, steps=10)
    for step in range(10):
        parts = [plan.rank_batch(step, r, 4) for r in range(4)]
        assert all(len(p) == 5 for p in parts)
        assert sum(parts, []) == plan.batch(step)
        assert len({i for p in parts for i in p}) == len(set(plan.batch(step)))
    with pytest.raises(ValueError, match="not divisible by world size 3"):
        plan.rank_batch(0, 0, 3)


def test_batch_sampler_with_dataloader_and_resume(mix):
    dataset = list(range(len(mix)))
    plan = _plan("ads", mix, steps=6)
    sampler = ScheduledBatchSampler(plan, rank=1, world_size=2)
    loader = DataLoader(dataset, batch_sampler=sampler, collate_fn=torch.tensor)
    batches = [b.tolist() for b in loader]
    assert len(batches) == 6 and batches[2] == plan.rank_batch(2, 1, 2)
    again = ScheduledBatchSampler(_plan("ads", mix, steps=6), rank=1, world_size=2)
    again.load_state_dict({"step": 4})
    assert len(again) == 2 and list(again) == batches[4:]


def test_registry_and_config_errors(mix, tmp_path):
    with pytest.raises(KeyError, match="did you mean 'hybrid'"):
        get_strategy("hybird")
    with pytest.raises(ValueError, match="did you mean 'clusters'"):
        _plan("ads", mix, config={"cluster": 4})
    with pytest.raises(TypeError, match="replay"):
        _plan("tpc", mix, config={"replay": "lots"})
    with pytest.raises(ValueError, match="needs embeddings"):
        make_plan("ads", ScheduleInput(mix.ids, mix.tasks, mix.labels), batch_size=4, steps=2)
    with pytest.raises(ValueError, match="config is for strategy 'tpc'"):
        _plan("ads", mix, config={"strategy": "tpc"})
    with pytest.raises(ValueError, match="outside"):
        ScheduledBatchSampler(_plan("uniform", mix), rank=0, world_size=1).load_state_dict({"step": 999})
    with pytest.raises(ValueError, match="seed"):
        ScheduledBatchSampler(_plan("uniform", mix), rank=0, world_size=1).load_state_dict({"step": 1, "seed": 5})


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_shipped_configs_build(mix, strategy):
    block = load_schedule_config(f"benchmark/configs/{strategy}.yaml")
    assert block["strategy"] == strategy
    assert len(_plan(strategy, mix, config=block).batch(0)) == 20


def test_config_overrides(mix):
    block = load_schedule_config("benchmark/configs/hybrid.yaml", {"switch": 0.2, "ads.clusters": 2})
    assert block["switch"] == 0.2 and block["ads"]["clusters"] == 2
    assert _plan("hybrid", mix, steps=10, config=block).stage(2) == "ads"


def test_kmeans_separates_blobs():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(c, 0.1, size=(50, 3)) for c in (0, 5, 10)])
    labels = kmeans(x, 3, seed=0)
    assert len(set(labels.tolist())) == 3
    assert all(len(set(labels[i:i + 50].tolist())) == 1 for i in (0, 50, 100))
    assert np.array_equal(labels, kmeans(x, 3, seed=0))


def test_apportion_tracks_shares():
    counts = apportion(np.array([3.0, 1.0, 0.0]), steps=10, batch_size=8)
    assert counts.sum(1).tolist() == [8] * 10 and counts[:, 2].sum() == 0
    assert counts[:, 0].sum() == 60 and set(counts[:, 0].tolist()) == {6}


def test_accelerate_split_batches_cuts_the_same_rank_parts(mix):
    from accelerate.data_loader import BatchSamplerShard

    plan = _plan("tpc", mix, steps=5)
    for rank in range(2):
        shard = BatchSamplerShard(ScheduledBatchSampler(_plan("tpc", mix, steps=5), world_size=1),
                                  num_processes=2, process_index=rank, split_batches=True)
        assert list(shard) == [plan.rank_batch(s, rank, 2) for s in range(5)]


def test_sampler_reads_torchrun_environment(mix, monkeypatch):
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("WORLD_SIZE", "4")
    plan = _plan("uniform", mix, steps=3)
    sampler = ScheduledBatchSampler(plan)
    assert (sampler.rank, sampler.world_size, sampler.batch_size) == (3, 4, 5)
    assert next(iter(sampler)) == plan.rank_batch(0, 3, 4)


def test_stream_windows_hold_distinct_members():
    from aramega_ssum.scheduling.sampler import StratumStream

    def windows(stream, w, epochs=60):
        draws = stream.take(0, epochs * len(stream))
        return [draws[p:p + w] for p in range(len(draws) - w + 1)], draws

    unguarded, _ = windows(StratumStream(np.arange(10), seed=0, key=1), 4)
    assert any(len(set(w.tolist())) < 4 for w in unguarded)  # a plain reshuffle repeats across epochs
    for clusters in (None, np.arange(10) % 3):
        stream = StratumStream(np.arange(10), seed=0, key=1, clusters=clusters, window=4)
        guarded, draws = windows(stream, 4)
        assert all(len(set(w.tolist())) == 4 for w in guarded)
        assert all(sorted(draws[e * 10:(e + 1) * 10].tolist()) == list(range(10)) for e in range(60))
        again = StratumStream(np.arange(10), seed=0, key=1, clusters=clusters, window=4)
        assert again.take(437, 9).tolist() == draws[437:446].tolist()  # random access, no state


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_no_example_twice_in_a_batch_of_the_embedded_data(embedded_dataset, strategy):
    """Every batch of every strategy on the embedded corpus has distinct examples, so rank parts are disjoint."""
    from aramega_ssum.dataset import load_split

    rows = load_split(embedded_dataset, "train", "multitask")
    inputs = ScheduleInput.from_rows(rows, np.random.default_rng(0).normal(size=(len(rows), 8)))
    block = load_schedule_config(f"benchmark/configs/{strategy}.yaml")
    for batch_size, steps, seed in ((8, 1000, 0), (8, 1000, 2), (32, 200, 0)):
        plan = make_plan(strategy, inputs, batch_size=batch_size, steps=steps, seed=seed, config=block)
        repeats = [s for s in range(steps) if len(set(plan.batch(s))) < batch_size]
        assert repeats == [], f"{strategy} batch {batch_size} seed {seed}: steps {repeats[:5]} repeat an example"
        parts = [set(plan.rank_batch(steps - 1, r, 2)) for r in range(2)]
        assert not parts[0] & parts[1]
