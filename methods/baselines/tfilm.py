"""TFiLM (Birnbaum, Kuleshov, Enam, Koh, Ermon, "Temporal FiLM: Capturing Long-Range Sequence
Dependencies with Feature-Wise Modulations", NeurIPS 2019, arXiv:1909.06628): the AudioUNet of
methods/baselines/audiounet.py with a temporal FiLM layer after every down block, the bottleneck and
every up block (before the skip concatenation).

TFiLM layer, on a feature map x (B, C, T) with block size b (T divisible by b, n = T / b blocks):

    pooled = MaxPool1d(b)(x)                        (B, C, n)      one summary per block
    h      = LSTM(pooled as a sequence of n steps)  (B, n, C) ("scale") or (B, n, 2C) ("affine")
    scale, shift = h, 0 ("scale") or split(h) ("affine")              (B, C, n) each
    y[:, c, j*b + t] = scale[:, c, j] * x[:, c, j*b + t] + shift[:, c, j]      (B, C, T)

so block j's modulation depends, through the LSTM state, on every block before it.

What was read where:
- kuleshov/audio-super-res, src/models/audiotfilm.py: filters [128, 256, 512, 512, ...], kernels
  [65, 33, 17, 9, ...], `--layers` down blocks; a down block is Conv1D('same', dilation_rate 2,
  Orthogonal init) + MaxPooling1D + LeakyReLU(0.2) + TFiLM (not AudioUNet's stride-2 conv); the
  bottleneck is the same with filters[-1] and kernel 9, plus Dropout(0.5) before the LeakyReLU; an up
  block is Conv1D(2F, dilation 2) + Dropout(0.5) + ReLU + SubPixel1D(2) + TFiLM, then the
  concatenation [up, skip]; the last layer is Conv1D(2, kernel 9, no dilation, RandomNormal std 1e-3) +
  SubPixel1D(2), then the additive skip from the spline input. TFiLM (`_make_normalizer`,
  `_apply_normalizer`): MaxPooling1D(n_block), one `LSTM(units = n_filters)` with Keras' defaults,
  whose raw output *multiplies* the block: no shift and no offset (scale = LSTM output). Block size:
  n_block = 128 / 2^l at down level l and 128 / 2^L at the bottleneck; the up loop does not set it
  again, so every up level reuses the bottleneck's 128 / 2^L (8 for L = 4: a 4096-sample level-0 map
  gets 512 blocks, where the down path has 32 at every level of an 8192-sample patch).
- kuleshov/audio-super-res, keras_layer.py: the stand-alone TFiLM layer, the same multiply-only
  LSTM(units = channels).
- kuleshov/audio-super-res, README.md "Training the model": `run.py train ... -e 120 --batch-size 64
  --lr 3e-4 --model audiotfilm --r 4 --layers 4 --pool_size 2 --strides 2` on VCTK p225 patches of
  8192 samples (stride 4096) at 16 kHz. Pool size and stride 2 come from this command (src/run.py
  defaults to 4, with which the r = 2 subpixel up path cannot meet its skips).
- kuleshov/audio-super-res, src/run.py `get_model`: Adam, b1 0.9, b2 0.999 (`PAPER_TRAIN`, shared
  with AudioUNet, whose module cites the rest).
- Keras' LSTM defaults (tf.keras, which keras 2.4.0 of the authors' environment.yaml is): one
  (C_in, 4H) kernel with Glorot-uniform init, one (H, 4H) orthogonal recurrent kernel, one bias of 4H
  (zeros, forget gate 1: `unit_forget_bias`), sigmoid gates, tanh cell. `TFiLM` reproduces it
  (see `_keras_lstm_init` and the constant input column there).
- The paper: its abstract (NeurIPS 2019 proceedings page) names the layer a feature-wise *linear*
  modulation whose RNN alters the convolutional activations; FiLM's usual form is a scale and a shift.
  Whether the paper's own equations carry a shift was not checked: its body could not be retrieved
  here. `film = "affine"` (an LSTM of 2C units: the first C give the scale, the last C the shift)
  offers that reading; no profile uses it.

Parameters: the `paper` config has 68,221,186 at every R, equal to the Keras model of audiotfilm.py
with --layers 4 counted from its layer shapes (56,411,394 in convolutions, 11,809,792 in the nine
LSTMs; tests/unit/test_audiounet_tfilm.py writes the arithmetic out).

Choices the code leaves open (named):
- Inputs are padded to a multiple of lcm over levels of (2^(l+1) * block size) so every feature map
  splits into whole blocks (256 samples for the paper sizes), then cropped back; the original clips
  its input to a multiple of 2^(layers+1) in `predict` (its 8192-sample patches need neither).
- `Config.tfilm_block`: block size at level 0 (level l uses max(1, tfilm_block >> l)).
- `Config.up_block`: "bottleneck" (up levels reuse the bottleneck's block size, as the code) or
  "mirror" (up level l uses down level l's block size, so every level has the same number of blocks).
- `Config.scale_offset`: scale = offset + LSTM output. The code uses the output as is (offset 0); an
  LSTM output starts near 0 and is bounded by (-1, 1), so at initialisation every TFiLM layer all but
  zeroes its features. Offset 1 starts each layer near the identity.

Deviations from the official code:
- paper: none in the architecture, init, loss or optimiser; the input padding above and the step
  count of `PAPER_TRAIN` (120 epochs of an estimated patch count) are ours.
- quick: `filters`, `kernels` (smaller network), `dropout` 0, `tfilm_block` 32, `up_block` "mirror"
  (what quick used before `up_block` existed; "bottleneck" not measured), `scale_offset` 1,
  `spectral_weight` 0.01, `train` (`QUICK_TRAIN`); the class docstring says why.
- smoke: `filters`, `kernels`, `tfilm_block` 8, `up_block` "mirror", `scale_offset` 1, `train`
  (`SMOKE_TRAIN`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from methods.baselines.audiounet import QUICK_TRAIN, SMOKE_TRAIN, AudioUNet, UNet1d

FILM_MODES = ("scale", "affine")
UP_BLOCKS = ("bottleneck", "mirror")


def _keras_lstm_init(lstm: nn.LSTM) -> None:
    """Keras' LSTM defaults on a bias-free `nn.LSTM` whose last input is the constant 1 (see `TFiLM`).

    weight_ih (4H, C + 1): the first C columns are Keras' (C, 4H) kernel transposed, Glorot-uniform over
    the whole matrix (fan_in C, fan_out 4H, not per gate); the last column is Keras' single bias: zero
    except the forget gate's 1 (`unit_forget_bias`). weight_hh (4H, H): Keras' (H, 4H) recurrent kernel
    transposed, orthogonal over the whole matrix. Gate order (i, f, g, o) is the same in both."""
    hidden = lstm.hidden_size
    with torch.no_grad():
        nn.init.xavier_uniform_(lstm.weight_ih_l0[:, :-1])
        bias = lstm.weight_ih_l0[:, -1]
        bias.zero_()
        bias[hidden:2 * hidden] = 1.0
        nn.init.orthogonal_(lstm.weight_hh_l0)


class TFiLM(nn.Module):
    """Temporal FiLM: (B, C, T) -> (B, C, T), T divisible by `block_size` (see the module docstring).

    The LSTM has no bias of its own and reads a constant-1 channel after the C pooled features, so the
    last column of its input weights is one bias vector, as in Keras; PyTorch's two biases (b_ih + b_hh)
    compute the same function with 4H more parameters, each of which Adam would step on its own."""

    def __init__(self, channels: int, block_size: int, mode: str = "scale", scale_offset: float = 0.0) -> None:
        super().__init__()
        if mode not in FILM_MODES:
            raise ValueError(f"unknown TFiLM mode {mode!r}; choose one of {FILM_MODES}")
        self.block_size, self.mode, self.scale_offset = block_size, mode, scale_offset
        hidden = 2 * channels if mode == "affine" else channels
        self.lstm = nn.LSTM(channels + 1, hidden, bias=False, batch_first=True)
        _keras_lstm_init(self.lstm)

    def modulation(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, C, T) -> (scale, shift), each (B, C, T / block_size): one pair per block."""
        if x.shape[-1] % self.block_size:
            raise ValueError(f"TFiLM: length {x.shape[-1]} is not a multiple of the block size {self.block_size}")
        pooled = F.max_pool1d(x, self.block_size).transpose(1, 2)          # (B, n, C)
        ones = pooled.new_ones(pooled.shape[0], pooled.shape[1], 1)        # (B, n, 1): the bias input
        h, _ = self.lstm(torch.cat([pooled, ones], dim=-1))                # (B, n, C) or (B, n, 2C)
        h = h.transpose(1, 2)                                              # (B, C | 2C, n)
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
    max(1, block0 >> l) steps; up levels use the bottleneck's size when `up_block` is "bottleneck"."""

    def __init__(self, filters: tuple[int, ...], kernels: tuple[int, ...], *, block0: int, film: str,
                 up_block: str, scale_offset: float = 0.0, **kwargs) -> None:
        if up_block not in UP_BLOCKS:
            raise ValueError(f"unknown up_block {up_block!r}; choose one of {UP_BLOCKS}")
        # read by make_modulation during UNet1d.__init__
        self.block0, self.film, self.up_block, self.scale_offset = block0, film, up_block, scale_offset
        super().__init__(filters, kernels, **kwargs)

    def block_size(self, level: int, *, up: bool = False) -> int:
        """Time steps per TFiLM block at `level` (self.depth = the bottleneck), on the up path if `up`."""
        if up and self.up_block == "bottleneck":
            level = self.depth
        return max(1, self.block0 >> level)

    def make_modulation(self, level: int, channels: int, *, up: bool) -> nn.Module:
        return TFiLM(channels, self.block_size(level, up=up), self.film, self.scale_offset)

    def length_multiple(self) -> int:
        """lcm of 2^(depth+1) and, per level and path, 2^(level+1) x the block size: a feature map at
        level l has T' / 2^(l+1) steps, which must split into whole blocks."""
        multiple = 2 ** (self.depth + 1)
        for level in range(self.depth + 1):
            for up in (False, True):
                multiple = math.lcm(multiple, 2 ** (level + 1) * self.block_size(level, up=up))
        return multiple


class TFiLMNet(AudioUNet):
    """TFiLM (Birnbaum et al. 2019): AudioUNet + temporal FiLM (block max-pool -> LSTM -> scale).

    forward: lr (B, 1, T_low) -> (B, 1, T_low * R); loss as AudioUNet (`Config.loss`, `spectral_weight`).

    Profiles (parameters counted by `num_parameters`, the same at every R):
    - paper: filters (128, 256, 512, 512), kernels (65, 33, 17, 9), conv dilation 2 + MaxPool(2) down
      blocks, TFiLM block 128 >> l down, 8 on the bottleneck and every up level ("bottleneck"), film
      "scale", offset 0, dropout 0.5, `PAPER_TRAIN`; 68,221,186 (the official model's count).
    - quick: filters (16, 32, 48, 64), kernels (33, 17, 9, 9), TFiLM block 32, up_block "mirror",
      dropout 0, film "scale" with scale_offset 1, `QUICK_TRAIN`; 0.60 M.
      Why not "affine" here: with the shift half, a 300-step run learns far less (R = 6 with
      spectral_weight 0.01, 3 seeds: LSD 1.65-1.78 affine vs 1.04-1.12 scale); the per-block shift the
      LSTM emits from the start is an input-dependent blocky offset the network must first unlearn.
      Why the offset: with offset 0, 300 steps reached LSD 3.15 at R = 6 vs 2.60 with offset 1
      (affine, PyTorch-default LSTM init, published loss).
    - smoke: filters (4, 8), kernels (9, 5), TFiLM block 8, up_block "mirror", film "scale", offset 1;
      4.4 k.

    Measured (synth-speech, quick, 16 test files, `python -m bench run ... --profile quick`), R = 2 / 4 / 6:
    published loss: SNR 16.07 / 13.81 / 12.66 dB, LSD 1.88 / 2.17 / 2.56 (noisefill LSD
    1.16 / 1.42 / 1.69, spline SNR 15.66 / 12.31 / 11.52); with spectral_weight = 0.01:
    SNR 15.56 / 13.26 / 12.30, LSD 0.80 / 1.11 / 0.99. These runs predate the LSTM's Keras form (one
    bias, Glorot and orthogonal init over whole matrices rather than per gate) and were not repeated.
    """

    name = "tfilm"

    @dataclass(frozen=True)
    class Config(AudioUNet.Config):
        filters: tuple[int, ...] = (128, 256, 512, 512)
        kernels: tuple[int, ...] = (65, 33, 17, 9)
        downsample: str = "maxpool"
        dilation: int = 2
        tfilm_block: int = 128       # block size (time steps) at level 0; level l uses tfilm_block >> l
        up_block: str = "bottleneck"  # bottleneck (code: up levels reuse the bottleneck's size) | mirror
        film: str = "scale"          # scale (code: multiply only) | affine (scale and shift)
        scale_offset: float = 0.0    # scale = offset + LSTM output (0 in the code)

    profile_overrides: ClassVar[dict] = {
        "smoke": {"filters": (4, 8), "kernels": (9, 5), "tfilm_block": 8, "up_block": "mirror",
                  "scale_offset": 1.0, "train": SMOKE_TRAIN},
        "quick": {"filters": (16, 32, 48, 64), "kernels": (33, 17, 9, 9), "dropout": 0.0, "tfilm_block": 32,
                  "up_block": "mirror", "scale_offset": 1.0, "train": QUICK_TRAIN,
                  "spectral_weight": 0.01},  # as AudioUNet's quick: the published loss alone loses to noisefill
        "paper": {},
    }

    def build_networks(self) -> dict[str, nn.Module]:
        c = self.config
        if c.loss not in ("rmse", "mse"):
            raise ValueError(f"unknown loss {c.loss!r}; choose rmse or mse")
        return {"unet": TFiLMUNet1d(c.filters, c.kernels, block0=c.tfilm_block, film=c.film,
                                    up_block=c.up_block, scale_offset=c.scale_offset, dropout=c.dropout,
                                    downsample=c.downsample, dilation=c.dilation)}
