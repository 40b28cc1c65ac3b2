"""FLOP counting against hand-computed cases, and the budget rule that turns FLOPs into steps."""
from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch

from bench.run.flops import ANYTIME_FRACTIONS, StepCost, count_flops
from bench.run.train import Trainer
from tests.unit.test_train import TRAIN, TinyGan, TinyNet, _pairs, PROTO


def test_linear_forward_and_backward_by_hand():
    layer = torch.nn.Linear(10, 20)
    x = torch.randn(4, 10)
    forward = 2 * 4 * 10 * 20  # one multiply-add per (row, in, out)
    assert count_flops(lambda: layer(x)) == forward
    # backward: the weight gradient (x^T g, same size); no input gradient since x needs none
    assert count_flops(lambda: layer(x).sum().backward()) == 2 * forward
    x.requires_grad_(True)
    assert count_flops(lambda: layer(x).sum().backward()) == 3 * forward  # + the input gradient


def test_conv1d_forward_and_backward_by_hand():
    conv = torch.nn.Conv1d(3, 5, kernel_size=7)
    x = torch.randn(2, 3, 100, requires_grad=True)
    forward = 2 * 2 * 5 * (100 - 7 + 1) * 3 * 7  # batch, out channels, out length, in channels x kernel
    assert forward == 39_480
    assert count_flops(lambda: conv(x)) == forward
    assert count_flops(lambda: conv(x).sum().backward()) == 3 * forward  # input and weight gradients


def test_fft_formulas():
    x = torch.randn(3, 1024)
    real = 3 * 2.5 * 1024 * 10  # three real transforms of length 1024: half of 5 N log2 N
    assert count_flops(lambda: torch.fft.rfft(x)) == real
    assert count_flops(lambda: torch.fft.irfft(torch.fft.rfft(x), n=1024)) == 2 * real
    assert count_flops(lambda: torch.fft.fft(torch.randn(2, 256, dtype=torch.complex64))) == 2 * 5 * 256 * 8
    window = torch.hann_window(256)
    frames = 1 + 1024 // 64  # centred STFT, hop 64
    stft = count_flops(lambda: torch.stft(x, 256, 64, window=window, return_complex=True))
    assert stft == 3 * frames * 2.5 * 256 * 8


def test_steps_for_budget_is_at_most_one_step_over():
    one_phase = StepCost(("train",), (0.0,), (1000,))
    assert one_phase.steps_for(10_000) == 10 and one_phase.through(10, 10) == 10_000
    assert one_phase.steps_for(10_001) == 11
    two = StepCost(("reconstruction", "gan"), (0.0, 0.6), (100, 400))
    for budget in (1_000, 12_345, 99_999):
        n = two.steps_for(budget)
        assert two.through(n, n) >= budget > two.through(n - 1, n - 1)
        assert two.through(n, n) - budget < 400  # never more than one (dearest) step over
    assert two.through(10, 10) == 6 * 100 + 4 * 400  # GAN from round(0.6 x 10) = 6
    with pytest.raises(ValueError, match="0 FLOPs"):
        StepCost(("train",), (0.0,), (0,)).steps_for(1e9)


# TinyNet at batch 4 x 1024 samples: conv 1 -> 8 (k 9) and conv 8 -> 1 (k 9), 2 x 4 x 8 x 1024 x 9 FLOPs
# each forward. Backward: both weight gradients and the second conv's input gradient (the first conv's
# input, the upsampled LR, needs none): 5 convolutions of that size per step.
TINY_STEP = 5 * 2 * 4 * 8 * 1024 * 9


def test_trainer_meets_the_budget_of_a_toy_method(tmp_path):
    assert TRAIN.batch_size == 4 and round(TRAIN.crop_seconds * PROTO.target_sr) == 1024
    cfg = replace(TRAIN, steps=None, valid_every=None)
    method = TinyNet(TinyNet.Config(train=cfg), PROTO)
    budget = 10.5 * TINY_STEP
    result = Trainer(cfg, tmp_path, seed=0, log=lambda m: None, budget=budget).fit(method, _pairs(), _pairs(2, seed=1))
    assert result.train_flops_per_step == {"train": TINY_STEP}
    assert result.train_steps == 11 and result.train_flops == 11 * TINY_STEP  # the fewest steps reaching it
    assert result.train_budget_flops == budget and method.config.train.steps == 11
    assert result.train_audio_s == pytest.approx(11 * 4 * 1024 / PROTO.target_sr)
    assert [a["fraction"] for a in result.anytime] == list(ANYTIME_FRACTIONS)
    assert [a["step"] for a in result.anytime] == [1, 3, 6, 11]  # round(f x 11), at least 1
    assert [a["flops"] for a in result.anytime] == [s * TINY_STEP for s in (1, 3, 6, 11)]
    assert all(math.isfinite(a["valid_lsd"]) for a in result.anytime)
    assert result.best_valid_lsd == min(a["valid_lsd"] for a in result.anytime)


def test_without_a_budget_the_config_steps_are_kept_and_counted(tmp_path):
    method = TinyGan(TinyGan.Config(), PROTO)
    result = Trainer(TRAIN, tmp_path, seed=0, log=lambda m: None).fit(method, _pairs(), _pairs(2, seed=1))
    assert result.train_steps == TRAIN.steps and result.train_budget_flops is None
    assert result.train_flops == TRAIN.steps * result.train_flops_per_step["train"] > TRAIN.steps * TINY_STEP


def test_no_steps_and_no_budget_is_refused(tmp_path):
    cfg = replace(TRAIN, steps=None)
    with pytest.raises(ValueError, match="no step count"):
        Trainer(cfg, tmp_path, seed=0, log=lambda m: None).fit(TinyNet(TinyNet.Config(train=cfg), PROTO),
                                                                _pairs(), _pairs(2, seed=1))
