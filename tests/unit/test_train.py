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
from bench.run.batches import PairSampler
from bench.run.train import CHECKPOINT, EMA, NonFiniteLossError, Trainer
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


def _ramp_pairs(lengths, scale=2, peaks=None):
    """Files whose HR sample i of file k is k * 1000 + i + 1 (never 0), scaled to `peaks`; LR = HR[::scale]."""
    hr = [np.arange(k * 1000 + 1, k * 1000 + 1 + n, dtype=np.float32) for k, n in enumerate(lengths)]
    if peaks is not None:
        hr = [(h / h.max() * p).astype(np.float32) for h, p in zip(hr, peaks)]
    return Pairs([f"f{k}" for k in range(len(hr))], [None] * len(hr), hr, [h[::scale].copy() for h in hr])


def test_sampler_pads_short_files_aligned_and_keeps_the_crop_length():
    pairs = _ramp_pairs([800, 100, 900])  # crop 160: the 100-sample file is shorter
    sampler = PairSampler(pairs, scale=2, crop_seconds=0.01, target_sr=16000, batch_size=64, seed=3)
    assert sampler.crop == 160 and sampler.padded_files == 1
    assert "1 of 3 training files are shorter and zero-padded" in sampler.describe()
    batch = sampler.batch(0, torch.device("cpu"))
    assert batch.hr.shape == (64, 1, 160) and batch.lr.shape == (64, 1, 80)
    torch.testing.assert_close(batch.lr, batch.hr[..., ::2])  # LR sample n at HR sample 2n, padding included
    lefts = set()
    for item in batch.hr[:, 0]:
        if 1000 < item.max() < 2000:  # the short file: all of it, once, inside zeros
            kept = item.nonzero().flatten()
            assert len(kept) == 100 and (kept.diff() == 1).all() and kept[0] % 2 == 0
            torch.testing.assert_close(item[kept], torch.arange(1001, 1101, dtype=torch.float32))
            lefts.add(int(kept[0]))
        else:
            assert (item > 0).all()  # long files are never padded
    assert len(lefts) > 1 and all(0 <= left <= 60 for left in lefts)  # at a random offset, as the NU-Wave loaders


def test_sampler_peak_normalisation_and_gain_scale_hr_and_lr_alike_per_step():
    pairs = _ramp_pairs([800, 600], peaks=[0.25, 4.0])
    kwargs = dict(scale=2, crop_seconds=0.01, target_sr=16000, batch_size=16, seed=5)
    plain = PairSampler(pairs, **kwargs)
    scaled = PairSampler(pairs, **kwargs, peak_normalize=True, random_gain=(0.5, 1.0))
    assert "files peak-normalised; gain ~ U(0.5, 1.0) per crop" in scaled.describe()
    for step in (0, 1):
        raw, out = plain.batch(step, torch.device("cpu")), scaled.batch(step, torch.device("cpu"))
        again = scaled.batch(step, torch.device("cpu"))
        torch.testing.assert_close(out.hr, again.hr, rtol=0, atol=0)  # a pure function of (seed, step)
        torch.testing.assert_close(out.lr, again.lr, rtol=0, atol=0)
        # the same crops as without the options, times one factor per item for HR and LR alike
        factor = out.hr[..., :1] / raw.hr[..., :1]
        torch.testing.assert_close(out.hr, raw.hr * factor)
        torch.testing.assert_close(out.lr, raw.lr * factor)
        peak = torch.where(raw.hr[:, 0, 0] < 1.0, 0.25, 4.0)  # which file: the whole file's peak
        gain = factor.flatten() * peak
        assert ((gain >= 0.5) & (gain <= 1.0)).all() and gain.unique().numel() > 1  # drawn per crop


def test_trainer_logs_the_padded_files_and_uses_the_data_options(tmp_path):
    lines = []
    cfg = replace(TRAIN, steps=2, crop_seconds=0.5, peak_normalize=True, random_gain=(0.5, 1.0))
    torch.manual_seed(0)
    method = TinyNet(TinyNet.Config(train=cfg), PROTO)
    result = Trainer(cfg, tmp_path, seed=1, log=lines.append).fit(method, _pairs(), _pairs(2, seed=1))
    assert any("crops of 8000 samples: 6 of 6 training files are shorter and zero-padded; files peak-normalised"
               in line for line in lines)
    assert result.train_audio_s == pytest.approx(2 * TRAIN.batch_size * 0.5)  # padded crops count whole
