"""Training and inference speed per method (quick configs), and the data path against a training step.

Run: python -m pytest tests/perf/test_training_perf.py -m perf --benchmark-enable -o addopts=""
Everything runs on one torch thread, as one cell of the main command does under Ray (one CPU per
cell). Figures go to extra_info:

- ``test_training_rate[m]``: the shared Trainer fits method m's quick config for STEPS steps on
  synth-speech at R = 4 (4 -> 16 kHz): ``steps_per_s`` and ``data_fraction`` (share of the loop spent
  making batches; the target is <= 10 %). Validation (one file, at the end) is outside both.
- ``test_inference_rtf[m]``: real-time factor of enhancing one 3 s test file (seconds per second).
- ``test_batch_rate`` / ``test_pairs_load``: batches per second of the crop sampler at the largest quick
  batch, and loading the prepared train pairs from the cache, to set beside the step rates.
"""
from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from bench.core.spec import Protocol
from bench.data import load_card, load_pairs
from bench.run.inference import super_resolve
from bench.run.train import PairSampler, Trainer
from methods import REGISTRY, load_method_class

PROTO = Protocol(4, 16000)
STEPS = 8
TRAINABLE = [name for name, entry in REGISTRY.items() if entry.trainable]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def pairs(cache):
    card = load_card("synth-speech")
    return {split: load_pairs(card, split, PROTO, cache, n) for split, n in (("train", None), ("valid", 1), ("test", 1))}


def _quick(name: str):
    cls = load_method_class(name)
    torch.manual_seed(0)
    return cls(cls.config_for("quick"), PROTO)


@pytest.mark.perf
@pytest.mark.parametrize("name", TRAINABLE)
def test_training_rate(benchmark, name, pairs, tmp_path):
    method = _quick(name)
    cfg = replace(method.config.train, steps=STEPS, valid_every=STEPS, checkpoint_every=STEPS, warmup=0.0)
    benchmark.group = f"training {STEPS} quick steps, R=4, 1 thread"
    result = benchmark.pedantic(lambda: Trainer(cfg, tmp_path, seed=0, log=lambda m: None).fit(
        method, pairs["train"], pairs["valid"]), rounds=1, iterations=1)
    assert result.train_steps == STEPS and 0 < result.data_fraction < 1
    benchmark.extra_info.update(method=name, steps_per_s=result.steps_per_s, data_fraction=result.data_fraction,
                                batch_size=cfg.batch_size, crop_seconds=cfg.crop_seconds)


@pytest.mark.perf
@pytest.mark.parametrize("name", TRAINABLE)
def test_inference_rtf(benchmark, name, pairs):
    method = _quick(name)
    lr, hr = pairs["test"].lr[0], pairs["test"].hr[0]
    benchmark.group = "inference, one 3 s file, R=4, 1 thread"
    out = benchmark.pedantic(super_resolve, args=(method, lr, PROTO), rounds=3, warmup_rounds=1)
    assert out.shape == hr.shape
    if benchmark.stats is not None:
        benchmark.extra_info.update(method=name, rtf=benchmark.stats.stats.mean / (len(hr) / PROTO.target_sr))


@pytest.mark.perf
def test_batch_rate(benchmark, pairs):
    batch_size = max(load_method_class(n).config_for("quick").train.batch_size for n in TRAINABLE)
    sampler = PairSampler(pairs["train"], PROTO.scale, 0.5, PROTO.target_sr, batch_size, seed=0)
    steps = iter(range(10**9))
    benchmark.group = "data"
    batch = benchmark(lambda: sampler.batch(next(steps), torch.device("cpu")))
    assert batch.hr.shape == (batch_size, 1, sampler.crop)
    if benchmark.stats is not None:
        benchmark.extra_info.update(batches_per_s=1 / benchmark.stats.stats.mean, batch_size=batch_size)


@pytest.mark.perf
def test_pairs_load(benchmark, pairs, cache):
    benchmark.group = "data"
    loaded = benchmark.pedantic(load_pairs, args=(load_card("synth-speech"), "train", PROTO, cache, None), rounds=5)
    assert len(loaded) == len(pairs["train"])
    if benchmark.stats is not None:
        benchmark.extra_info.update(items=len(loaded), seconds=benchmark.stats.stats.mean)
