"""The shared Trainer, on tiny test-only learned methods (the real ones are covered by contract tests)."""
from __future__ import annotations

import csv
from dataclasses import dataclass, replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from bench.core.spec import Protocol
from bench.data import Pairs
from bench.run.train import CHECKPOINT, EMA, NonFiniteLossError, PairSampler, Trainer
from bench.signal.degrade import degrade, upsample
from methods.api import lr_factor
from methods.api import LearnedMethod, TrainConfig

PROTO = Protocol(2, 16000)
TRAIN = TrainConfig(steps=12, batch_size=4, crop_seconds=0.064, lr=5e-3, valid_every=4, checkpoint_every=4,
                    valid_items=2)


class TinyNet(LearnedMethod):
    """linear-interpolated input + a small residual conv net (dropout, so the RNG matters)"""

    name = "tiny"

    @dataclass(frozen=True)
    class Config:
        channels: int = 8
        train: TrainConfig = TRAIN

    def build_networks(self):
        c = self.config.channels
        return {"net": torch.nn.Sequential(torch.nn.Conv1d(1, c, 9, padding=4), torch.nn.Tanh(),
                                           torch.nn.Dropout(0.2), torch.nn.Conv1d(c, 1, 9, padding=4))}

    def forward(self, lr):
        up = upsample(lr, self.protocol.scale, "linear")
        return up + self.networks["net"](up)

    def losses(self, batch):
        return {"loss": F.mse_loss(self.forward(batch.lr), batch.hr)}


class TinyGan(TinyNet):
    """two optimisers: a generator and a critic, stepped in one training_step"""

    name = "tiny-gan"
    training_only = ("critic",)

    def build_networks(self):
        return {**super().build_networks(), "critic": torch.nn.Conv1d(1, 1, 31, stride=4)}

    def configure_optimizers(self):
        return {"gen": torch.optim.Adam(self.networks["net"].parameters(), 1e-3),
                "critic": torch.optim.Adam(self.networks["critic"].parameters(), 1e-3)}

    def training_step(self, batch, opt):
        fake = self.forward(batch.lr)
        critic = self.networks["critic"]
        d_loss = F.relu(1 - critic(batch.hr)).mean() + F.relu(1 + critic(fake.detach())).mean()
        opt.step("critic", d_loss)
        recon = F.mse_loss(fake, batch.hr)
        g_loss = recon - 0.01 * critic(fake).mean()
        opt.step("gen", g_loss)
        return {"loss": g_loss, "recon": recon, "critic": d_loss}


def _pairs(n=6, seconds=0.25, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * PROTO.target_sr)) / PROTO.target_sr
    hr = [(0.5 * np.sin(2 * np.pi * rng.uniform(200, 3000) * t) + 0.05 * rng.standard_normal(t.size))
          .astype(np.float32) for _ in range(n)]
    return Pairs([f"x{i}" for i in range(n)], [None] * n, hr, [degrade(h, PROTO.scale).astype(np.float32) for h in hr])


def _fit(tmp_path, cls=TinyNet, train_cfg=TRAIN, seed=7, torch_seed=7):
    torch.manual_seed(torch_seed)
    method = cls(cls.Config(train=train_cfg), PROTO)
    result = Trainer(train_cfg, tmp_path, seed=seed, log=lambda m: None).fit(method, _pairs(), _pairs(2, seed=1))
    return method, result


def _losses(path):
    with (path / "train_log.csv").open() as fh:
        return [float(r["loss"]) for r in csv.DictReader(fh)]


def test_loss_falls_and_record_fields(tmp_path):
    method, result = _fit(tmp_path, train_cfg=replace(TRAIN, steps=40, valid_every=10, checkpoint_every=10))
    losses = _losses(tmp_path)
    assert len(losses) == 40
    assert np.mean(losses[-5:]) < 0.8 * np.mean(losses[:5])
    assert result.train_steps == 40 and result.train_s > 0 and result.steps_per_s > 0
    assert result.best_step in (10, 20, 30, 40) and np.isfinite(result.best_valid_lsd)
    assert 0 < result.data_fraction < 1  # batch making is timed apart from the steps


def test_final_checkpoint_loads_with_weights_only_and_reproduces_the_method(tmp_path):
    method, _ = _fit(tmp_path)
    state = torch.load(tmp_path / CHECKPOINT, weights_only=True)
    assert state["final"] is True
    other = TinyNet(TinyNet.Config(), PROTO)
    other.load_state_dict(state["weights"])
    lr = torch.randn(1, 1, 400)
    torch.testing.assert_close(other.enhance(lr), method.enhance(lr))


def test_killed_run_resumes_to_the_same_weights(tmp_path, monkeypatch):
    reference, _ = _fit(tmp_path / "a")

    original = TinyNet.losses
    calls = {"n": 0}

    def dies_at_step_6(self, batch):
        calls["n"] += 1
        if calls["n"] == 8:  # call 1 is the FLOP count on a copy, call 8 is step 6
            raise KeyboardInterrupt("killed")
        return original(self, batch)

    monkeypatch.setattr(TinyNet, "losses", dies_at_step_6)
    with pytest.raises(KeyboardInterrupt):
        _fit(tmp_path / "b")
    assert torch.load(tmp_path / "b" / CHECKPOINT, weights_only=True)["step"] == 4
    monkeypatch.setattr(TinyNet, "losses", original)
    resumed, result = _fit(tmp_path / "b", torch_seed=123)  # other init and RNG: the checkpoint's must win
    assert result.resumed_from == 4
    for key, value in reference.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[key], value, rtol=0, atol=0)


def test_nan_loss_fails_with_step_and_term(tmp_path, monkeypatch):
    original = TinyNet.losses
    calls = {"n": 0}

    def nan_at_step_3(self, batch):
        calls["n"] += 1
        out = original(self, batch)
        # call 1 is the FLOP count on a copy; calls 2, 3, 4, 5 are steps 0, 1, 2, 3
        return {"loss": out["loss"] * (float("nan") if calls["n"] == 5 else 1.0)}

    monkeypatch.setattr(TinyNet, "losses", nan_at_step_3)
    with pytest.raises(NonFiniteLossError, match="step 3: term\\(s\\) loss"):
        _fit(tmp_path)


def test_several_optimisers_through_the_same_loop(tmp_path):
    before = TinyGan(TinyGan.Config(), PROTO).state_dict()
    torch.manual_seed(7)
    method, _ = _fit(tmp_path, cls=TinyGan)
    after = method.state_dict()
    assert not torch.equal(before["critic.weight"], after["critic.weight"])
    assert not torch.equal(before["net.0.weight"], after["net.0.weight"])
    with (tmp_path / "train_log.csv").open() as fh:
        assert {"loss", "recon", "critic"} <= set(csv.DictReader(fh).fieldnames)
    assert method.num_parameters() == sum(p.numel() for p in method.networks["net"].parameters())


def test_ema_is_a_moving_average():
    method = TinyNet(TinyNet.Config(), PROTO)
    ema = EMA(method, decay=0.9)
    start = ema.shadow["net.0.bias"].clone()
    with torch.no_grad():
        method.networks["net"][0].bias.add_(1.0)
    ema.update(method)
    torch.testing.assert_close(ema.shadow["net.0.bias"], start + 0.1)


def test_lr_schedule_hand_values():
    cfg = TrainConfig(steps=110, lr=1.0, warmup=10 / 110, schedule="cosine")
    assert lr_factor(cfg, 0) == pytest.approx(0.1)
    assert lr_factor(cfg, 9) == pytest.approx(1.0)
    assert lr_factor(cfg, 10) == pytest.approx(1.0)
    assert lr_factor(cfg, 60) == pytest.approx(0.5)
    assert lr_factor(cfg, 110) == pytest.approx(0.0)
    assert lr_factor(TrainConfig(steps=1000, schedule="constant"), 500) == 1.0


def test_sampler_crops_are_aligned_and_deterministic():
    hr = [np.arange(k * 1000, k * 1000 + 800, dtype=np.float32) for k in range(3)]
    pairs = Pairs(["a", "b", "c"], [None] * 3, hr, [h[::2].copy() for h in hr])
    sampler = PairSampler(pairs, scale=2, crop_seconds=0.01, target_sr=16000, batch_size=5, seed=3)
    a, b = sampler.batch(0, torch.device("cpu")), sampler.batch(0, torch.device("cpu"))
    assert a.hr.shape == (5, 1, 160) and a.lr.shape == (5, 1, 80)
    torch.testing.assert_close(a.hr, b.hr)
    torch.testing.assert_close(a.lr, a.hr[..., ::2])  # LR sample n sits at HR sample 2n
    assert not torch.equal(sampler.batch(1, torch.device("cpu")).hr, a.hr)
    # crops never straddle two files: consecutive samples differ by exactly 1
    assert (a.hr.diff(dim=-1) == 1).all()
