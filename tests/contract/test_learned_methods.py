"""Every trainable method learns through the shared Trainer, round-trips its checkpoint and resumes."""
from dataclasses import replace

import pytest
import torch

from bench.core.profiles import PROFILES
from bench.core.spec import Protocol
from bench.data import load_card, load_pairs
from bench.run.batches import PairSampler
from bench.run.train import CHECKPOINT, Trainer
from methods import REGISTRY, load_method_class

TRAINABLE = [name for name, entry in REGISTRY.items() if entry.trainable]
SMOKE_BUDGET = PROFILES["smoke"].train_flops
PROTO = Protocol(4, 16000)


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    card = load_card("synth-speech")
    return {split: load_pairs(card, split, PROTO, cache, n) for split, n in (("train", 8), ("valid", 2))}


def _method(name, seed=0):
    cls = load_method_class(name)
    torch.manual_seed(seed)
    return cls(cls.config_for("smoke"), PROTO)


def _eval_loss(method, batch):
    method.train_mode(False)
    with torch.no_grad():
        return float(method.losses(batch)["loss"])


@pytest.mark.parametrize("name", TRAINABLE)
def test_a_few_smoke_steps_lower_the_loss(name, pairs, tmp_path):
    method = _method(name)
    cfg = method.config.train
    fixed = PairSampler(pairs["train"], PROTO.scale, cfg.crop_seconds, PROTO.target_sr, 4, seed=99).batch(
        0, torch.device("cpu"))
    before = _eval_loss(method, fixed)
    result = Trainer(cfg, tmp_path, seed=1, log=lambda m: None, budget=SMOKE_BUDGET).fit(
        method, pairs["train"], pairs["valid"])
    assert _eval_loss(method, fixed) < before
    assert SMOKE_BUDGET <= result.train_flops < SMOKE_BUDGET + max(result.train_flops_per_step.values())


@pytest.mark.parametrize("name", TRAINABLE)
def test_checkpoint_round_trip(name, pairs, tmp_path):
    method = _method(name)
    Trainer(method.config.train, tmp_path, seed=1, log=lambda m: None, budget=SMOKE_BUDGET).fit(
        method, pairs["train"], pairs["valid"])
    state = torch.load(tmp_path / CHECKPOINT, weights_only=True)
    fresh = _method(name, seed=1234)
    fresh.load_state_dict(state["weights"])
    lr = torch.from_numpy(pairs["valid"].lr[0][:2000]).view(1, 1, -1)
    out = fresh.enhance(lr)
    torch.testing.assert_close(out, method.enhance(lr))
    assert out.shape == (1, 1, 2000 * PROTO.scale) and out.dtype == torch.float32 and torch.isfinite(out).all()


@pytest.mark.parametrize("name", TRAINABLE)
def test_killed_training_resumes_to_identical_weights(name, pairs, tmp_path, monkeypatch):
    cfg = replace(_method(name).config.train, steps=6, checkpoint_every=3, valid_every=3)
    reference = _method(name)
    Trainer(cfg, tmp_path / "a", seed=1, log=lambda m: None).fit(reference, pairs["train"], pairs["valid"])

    cls = load_method_class(name)
    original = cls.training_step
    victim, calls = _method(name), {"n": 0}

    def killed_at_step_4(self, batch, opt):
        calls["n"] += self is victim  # not the Trainer's FLOP count, which steps a copy
        if calls["n"] == 5:
            raise KeyboardInterrupt("killed")
        return original(self, batch, opt)

    monkeypatch.setattr(cls, "training_step", killed_at_step_4)
    with pytest.raises(KeyboardInterrupt):
        Trainer(cfg, tmp_path / "b", seed=1, log=lambda m: None).fit(victim, pairs["train"], pairs["valid"])
    monkeypatch.setattr(cls, "training_step", original)
    resumed = _method(name, seed=77)
    result = Trainer(cfg, tmp_path / "b", seed=1, log=lambda m: None).fit(resumed, pairs["train"], pairs["valid"])
    assert result.resumed_from == 3
    for key, value in reference.state_dict().items():
        assert torch.equal(resumed.state_dict()[key], value), key
