"""TFiLM (Birnbaum, Kuleshov, Enam, Koh, Ermon, "Temporal FiLM: Capturing Long-Range Sequence
Dependencies with Feature-Wise Modulations", NeurIPS 2019, arXiv:1909.06628): the AudioUNet of
methods/baselines/audiounet.py with a temporal FiLM layer after every down block, the bottleneck and
every up block (before the skip concatenation).

TFiLM layer, on a feature map x (B, C, T) with block size b (T divisible by b, n = T / b blocks):

    pooled = MaxPool1d(b)(x)                      (B, C, n)      one summary per block
    h      = LSTM(pooled as a sequence of n steps) (B, n, 2C)     ("affine") or (B, n, C) ("scale")
    scale, shift = split(h)                       (B, C, n) each (shift = 0 for "scale")
    y[:, c, j*b + t] = scale[:, c, j] * x[:, c, j*b + t] + shift[:, c, j]      (B, C, T)

so block j's modulation depends, through the LSTM state, on every block before it.

What was read where (kuleshov/audio-super-res):
- src/models/audiotfilm.py: filters [128, 256, 512, 512, ...], kernels [65, 33, 17, 9, ...]; the down
  blocks there are Conv1D(stride 1, dilation_rate=2) + MaxPooling1D(2) + LeakyReLU(0.2) (not the
  stride-2 conv of AudioUNet), the up blocks' convs also use dilation 2; everything else (dropout 0.5
  in bottleneck and up blocks, subpixel, stacked skips, last conv with 1e-3 normal init, additive
  spline skip) is AudioUNet's. Block size at down level l is n_block = 128 / 2^l time steps
  ("will be 32 [blocks] at training" for 8192-sample patches), 128 / 2^L at the bottleneck; the
  LSTM has `units = n_filters` and its raw output *multiplies* the block (`_apply_normalizer`,
  also keras_layer.py's TFiLM layer): no shift there.
- The paper describes TFiLM as a feature-wise *linear* modulation (FiLM): the RNN emits
  (gamma_b, beta_b) per block and y = gamma_b * x + beta_b (not re-checked against the PDF while
  this was written). `Config.film = "affine"` (our default, LSTM with 2C units: the first C give
  the scale, the last C the shift) follows that; `"scale"` reproduces the code (C units, multiply only).
- README "Training the model": `--lr 3e-4 --batch-size 64 -e 120 --layers 4` on VCTK p225 patches
  of 8192 samples (stride 4096) at 16 kHz; run.py: Adam with beta1 0.9, beta2 0.999.

Choices left open or changed (named):
- Up-block block sizes: in audiotfilm.py the up loop reuses the variable `nb` last set for the
  bottleneck (128 / 2^L) at every up level, which looks like a leftover rather than a design; we
  mirror the down path instead (up level l uses down level l's block size), so every level of a
  8192-sample patch has the same 32 blocks.
- Inputs are padded to a multiple of lcm over levels of (2^(l+1) * block_l) so every feature map
  splits into whole blocks (256 samples for the paper sizes), then cropped back.
- LSTM: one layer, unidirectional (causal over blocks) as in the code, with Keras' default init
  (`_keras_lstm_init`), not PyTorch's.
- `Config.tfilm_block`: block size at level 0 (level l uses max(1, tfilm_block >> l)).
- `Config.scale_offset`: scale = offset + LSTM output. Paper and code use the LSTM output as is
  (offset 0); an LSTM output starts near 0 and is bounded by (-1, 1), so at initialisation every
  TFiLM layer all but zeroes its features. Offset 1 starts each layer near the identity
  (scale ~ 1, shift small); profiles say which they use.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from methods.api import TrainConfig
from methods.baselines.audiounet import QUICK_TRAIN, SMOKE_TRAIN, AudioUNet, UNet1d


def _keras_lstm_init(lstm: nn.LSTM) -> None:
    """Keras' LSTM defaults, which the original code used: Glorot-uniform input weights, orthogonal
    recurrent weights, zero biases except the forget gate's 1 (`unit_forget_bias=True`). PyTorch's
    default (uniform +-1/sqrt(H) everywhere) gives the emitted shift a random per-block offset of the
    order of the features themselves at initialisation."""
    hidden = lstm.hidden_size
    for name, param in lstm.named_parameters():
        if name.startswith("weight_ih"):
            for gate in param.data.split(hidden):  # one Glorot matrix per gate (i, f, g, o), as Keras' kernel
                nn.init.xavier_uniform_(gate)
        elif name.startswith("weight_hh"):
            for gate in param.data.split(hidden):
                nn.init.orthogonal_(gate)
        elif name.startswith("bias"):
            nn.init.zeros_(param)
            if name.startswith("bias_ih"):
                param.data[hidden:2 * hidden] = 1.0  # forget gate


class TFiLM(nn.Module):
    """Temporal FiLM: (B, C, T) -> (B, C, T), T divisible by `block_size` (see the module docstring)."""

    def __init__(self, channels: int, block_size: int, mode: str = "affine", scale_offset: float = 0.0) -> None:
        super().__init__()
        if mode not in ("affine", "scale"):
            raise ValueError(f"unknown TFiLM mode {mode!r}; choose affine or scale")
        self.block_size, self.mode, self.scale_offset = block_size, mode, scale_offset
        self.lstm = nn.LSTM(channels, 2 * channels if mode == "affine" else channels, batch_first=True)
        _keras_lstm_init(self.lstm)

    def modulation(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, C, T) -> (scale, shift), each (B, C, T / block_size): one pair per block."""
        if x.shape[-1] % self.block_size:
            raise ValueError(f"TFiLM: length {x.shape[-1]} is not a multiple of the block size {self.block_size}")
        pooled = F.max_pool1d(x, self.block_size)                 # (B, C, n)
        h, _ = self.lstm(pooled.transpose(1, 2))                  # (B, n, 2C) or (B, n, C)
        h = h.transpose(1, 2)                                     # (B, 2C | C, n)
        if self.mode == "affine":
            scale, shift = h.chunk(2, dim=1)
            return scale + self.scale_offset, shift
        return h + self.scale_offset, torch.zeros_like(h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, t = x.shape
        scale, shift = self.modulation(x)
        blocks = x.view(b, c, t // self.block_size, self.block_size)
        return (scale.unsqueeze(-1) * blocks + shift.unsqueeze(-1)).reshape(b, c, t)


class TFiLMUNet1d(UNet1d):
    """UNet1d with a TFiLM layer at each level: level l (0..L-1 down/up, L bottleneck) pools blocks of
    max(1, block0 >> l) steps."""

    def __init__(self, filters: tuple[int, ...], kernels: tuple[int, ...], *, block0: int, film: str,
                 scale_offset: float = 0.0, **kwargs) -> None:
        # read by make_modulation during UNet1d.__init__
        self.block0, self.film, self.scale_offset = block0, film, scale_offset
        super().__init__(filters, kernels, **kwargs)

    def block_size(self, level: int) -> int:
        return max(1, self.block0 >> level)

    def make_modulation(self, level: int, channels: int) -> nn.Module:
        return TFiLM(channels, self.block_size(level), self.film, self.scale_offset)

    def length_multiple(self) -> int:
        multiple = 2 ** (self.depth + 1)
        for level in range(self.depth + 1):
            multiple = math.lcm(multiple, 2 ** (level + 1) * self.block_size(level))
        return multiple


# Published TFiLM training settings: README "Training the model" (-e 120, --batch-size 64, --lr 3e-4,
# --layers 4, 8192-sample patches with stride 4096 of VCTK p225 at 16 kHz) and run.py (Adam, betas
# 0.9 / 0.999). Steps: ~2.7k patches / 64 = ~42 steps per epoch, x 120 epochs = ~5k steps.
PAPER_TRAIN = TrainConfig(steps=5000, batch_size=64, crop_seconds=8192 / 16000, optimizer="adam", lr=3e-4,
                          betas=(0.9, 0.999), schedule="constant", grad_clip=None,
                          valid_every=500, checkpoint_every=500, valid_items=8)


class TFiLMNet(AudioUNet):
    """TFiLM (Birnbaum et al. 2019): AudioUNet + temporal FiLM (block max-pool -> LSTM -> scale, shift).

    forward: lr (B, 1, T_low) -> (B, 1, T_low * R); loss as AudioUNet (`Config.loss`, `spectral_weight`).

    Profiles (parameters counted by `num_parameters`):
    - paper: filters (128, 256, 512, 512), kernels (65, 33, 17, 9), conv dilation 2 + MaxPool down
      blocks, TFiLM block 128 (32 blocks per 8192-sample patch at every level), affine FiLM, offset 0,
      dropout 0.5, `PAPER_TRAIN`; 91.9 M (the 2C-unit LSTMs add ~21 M over the convolutions).
    - quick: filters (16, 32, 48, 64), kernels (33, 17, 9, 9), TFiLM block 32, dropout 0,
      film "scale" (the authors' code) with scale_offset 1, 300 steps of `QUICK_TRAIN`; 0.60 M.
      Why not "affine" here: with the shift half, a 300-step run learns far less (R = 6 with
      spectral_weight 0.01, 3 seeds: LSD 1.65-1.78 affine vs 1.04-1.12 scale); the per-block shift the
      LSTM emits from the start is an input-dependent blocky offset the network must first unlearn.
      Why the offset: with offset 0, 300 steps reached LSD 3.15 at R = 6 vs 2.60 with offset 1
      (affine, PyTorch-default LSTM init, published loss).
    - smoke: filters (4, 8), kernels (9, 5), TFiLM block 8, film "scale", offset 1; 4.5 k.

    Measured (synth-speech, quick, 16 test files, `python -m bench run ... --profile quick`), R = 2 / 4 / 6:
    published loss: SNR 16.07 / 13.81 / 12.66 dB, LSD 1.88 / 2.17 / 2.56 (noisefill LSD
    1.16 / 1.42 / 1.69, spline SNR 15.66 / 12.31 / 11.52); with spectral_weight = 0.01:
    SNR 15.56 / 13.26 / 12.30, LSD 0.80 / 1.11 / 0.99.
    """

    name = "tfilm"

    @dataclass(frozen=True)
    class Config(AudioUNet.Config):
        filters: tuple[int, ...] = (128, 256, 512, 512)
        kernels: tuple[int, ...] = (65, 33, 17, 9)
        downsample: str = "maxpool"
        dilation: int = 2
        tfilm_block: int = 128       # block size (time steps) at level 0; level l uses tfilm_block >> l
        film: str = "affine"         # affine (paper: scale and shift) | scale (code: multiply only)
        scale_offset: float = 0.0    # scale = offset + LSTM output (0 in paper and code)
        train: TrainConfig = PAPER_TRAIN

    profile_overrides: ClassVar[dict] = {
        "smoke": {"filters": (4, 8), "kernels": (9, 5), "tfilm_block": 8, "film": "scale", "scale_offset": 1.0,
                  "train": SMOKE_TRAIN},
        "quick": {"filters": (16, 32, 48, 64), "kernels": (33, 17, 9, 9), "dropout": 0.0, "tfilm_block": 32,
                  "film": "scale", "scale_offset": 1.0, "train": QUICK_TRAIN,
                  "spectral_weight": 0.01},  # as AudioUNet's quick: the published loss alone loses to noisefill
        "paper": {},
    }

    def build_networks(self) -> dict[str, nn.Module]:
        c = self.config
        if c.loss not in ("rmse", "mse"):
            raise ValueError(f"unknown loss {c.loss!r}; choose rmse or mse")
        return {"unet": TFiLMUNet1d(c.filters, c.kernels, block0=c.tfilm_block, film=c.film,
                                    scale_offset=c.scale_offset, dropout=c.dropout, downsample=c.downsample,
                                    dilation=c.dilation)}
