"""AudioUNet (Kuleshov, Enam, Ermon, "Audio Super Resolution using Neural Networks", ICLR 2017
workshop track, arXiv:1708.00853): a 1-D U-Net that predicts the residual between the
cubic-spline-upsampled LR signal and the HR signal.

Shapes (B = batch, T = T_low * R samples at the target rate, C = channels):

    lr (B, 1, T_low) --spline--> x (B, 1, T) --pad--> (B, 1, T')   T' = T rounded up to a multiple of 2^(L+1)
    down block l = 0..L-1:   (B, C_{l-1}, T'/2^l)  -> (B, C_l, T'/2^(l+1))        C_{-1} = 1
    bottleneck:              (B, C_{L-1}, T'/2^L)  -> (B, C_{L-1}, T'/2^(L+1))
    up block l = L-1..0:     (B, C_in, T'/2^(l+2)) -conv-> (B, 2 C_l, .) -subpixel-> (B, C_l, T'/2^(l+1))
                             -concat down l-> (B, 2 C_l, T'/2^(l+1))
    last conv + subpixel:    (B, 2 C_0, T'/2) -> (B, 2, T'/2) -> (B, 1, T')
    output = crop(last, T) + x                                          (B, 1, T)

What was read where: the code of kuleshov/audio-super-res (whose README names both papers). The
paper PDFs were not retrievable while this was written, so every value below comes from the code.
- kuleshov/audio-super-res, src/models/audiounet.py: filters [128, 384, 512, 512, ...], kernel sizes
  [65, 33, 17, 9, ...]; down block = Conv1D stride 2 ('same' padding, Orthogonal init) +
  LeakyReLU(0.2), no batch norm (commented out there); bottleneck = the same conv with filters[-1],
  kernel 9 + Dropout(0.5) + LeakyReLU(0.2); up block = Conv1D with 2F filters + Dropout(0.5) + ReLU +
  SubPixel1D(r=2) + concatenation [up, skip] with the matching down block's output (a *stacked* skip,
  not a sum); last layer = Conv1D(2 filters, kernel 9, RandomNormal init, std 1e-3) + SubPixel1D(r=2);
  then the *additive* skip from the spline input. The file as committed mixes Keras-1 arguments
  (`init=`, `subsample_length=2`, `merge(mode='sum')`, `RandomNormal(stdev=...)`) into a Keras-2
  model and calls `Convolution1D` without importing it, so it does not build as is; the values above
  are what those arguments name.
- kuleshov/audio-super-res, src/models/layers/subpixel.py: `SubPixel1D` = transpose +
  `tf.batch_to_space` on the channel axis: for input channels r*C, out[c, w*r + i] = in[i*C + c, w]
  (the channel index's *outer* factor becomes the phase i). `subpixel1d` below reproduces that.
- kuleshov/audio-super-res, src/models/audiounet.py `predict`/`spline_up`: the network sees
  `scipy.interpolate.splrep/splev` cubic-spline input at the HR rate; inputs are *clipped* to a
  multiple of 2^(layers+1).
- kuleshov/audio-super-res, src/models/model.py `create_objective`: the trained "l2 loss" is the
  batch mean of sqrt(mean over samples of (P - Y)^2 + 1e-6) (per-example RMSE). `Config.loss` offers
  it as "rmse" (default, every profile) and the plain mean squared error as "mse".
- Conv1D 'same' padding is TensorFlow's: total padding max((ceil(T/s) - 1) s + span - T, 0), the
  smaller half on the left (`SameConv1d`). For the stride-2 down convs of even-length maps that is
  (k - 3) / 2 left and (k - 1) / 2 right, so down output i is centred on input 2i + 1.
- Init: Keras' `Orthogonal` on a (k, C_in, C_out) kernel orthogonalises its (k * C_in, C_out)
  reshape; ours orthogonalises the (C_out, C_in * k) reshape of the PyTorch weight, the same matrix
  transposed with its rows permuted, which a uniformly drawn orthogonal matrix does not notice.
  Conv biases start at zero (Keras' default).
- Training: see `PAPER_TRAIN` below.
- NOT in the papers or the code: `Config.spectral_weight` (default 0 = off; 0.01 in `quick` only)
  adds a multi-resolution STFT term (`log_power_stft_loss`: L1 of log10 power + spectral
  convergence). It exists because an L2-trained U-Net regresses the unpredictable high band towards
  zero and so loses to `noisefill` on LSD (measured numbers in the class docstring); it is a named
  config knob, part of the cell key, never a silent change of the published objective.

`downsample="maxpool"` (+ `dilation`) is the down-sampling of the TFiLM code (conv stride 1, dilation
2, then MaxPool(2)); AudioUNet's code uses "stride". Both share this module so the TFiLM model
(methods/baselines/tfilm.py) is this U-Net plus modulation layers.

Deviations from the official code:
- paper: architecture, init, loss and optimiser as the code. Left: (1) inputs whose length is not a
  multiple of 2^(L+1) are reflect-padded at the end (replicate when shorter than the pad) and the
  output cropped back, where `predict` clips the input, so every input sample gets an output sample
  (training patches of 8192 samples are multiples already); (2) the step count is derived from the
  README's epochs and an estimate of the p225 patch count (see `PAPER_TRAIN`).
- quick: `filters`, `kernels` (smaller network), `dropout` 0, `spectral_weight` 0.01, `train`
  (`QUICK_TRAIN`: batch 8, 0.25 s crops, lr 1e-3 cosine with warm-up, grad clip 1, FLOP-budget steps).
- smoke: `filters`, `kernels`, `train` (`SMOKE_TRAIN`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from bench.signal.degrade import upsample
from methods.api import Batch, LearnedMethod, TrainConfig
from methods.common.losses import log_power_stft_loss


def subpixel1d(x: torch.Tensor, r: int) -> torch.Tensor:
    """(B, r*C, W) -> (B, C, W*r), out[b, c, w*r + i] = x[b, i*C + c, w] (TF `SubPixel1D` ordering)."""
    b, rc, w = x.shape
    if rc % r:
        raise ValueError(f"subpixel1d: {rc} channels are not divisible by r={r}")
    return x.view(b, r, rc // r, w).permute(0, 2, 3, 1).reshape(b, rc // r, w * r)


class SubPixel1d(nn.Module):
    """Module form of `subpixel1d`: (B, r*C, W) -> (B, C, W*r)."""

    def __init__(self, r: int = 2) -> None:
        super().__init__()
        self.r = r

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return subpixel1d(x, self.r)


class SameConv1d(nn.Conv1d):
    """Conv1d with TensorFlow's 'same' padding: (B, C_in, T) -> (B, C_out, ceil(T / stride)).

    TF pads max((ceil(T/s) - 1) * s + span - T, 0) samples in total (span = dilation * (k - 1) + 1),
    the smaller half on the left. Odd kernels at stride 1 get symmetric padding; a stride-2 conv of an
    even-length map pads one sample less on the left than on the right, so output i is centred on
    input 2i + 1, as in the original Keras models."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        length, stride = x.shape[-1], self.stride[0]
        span = self.dilation[0] * (self.kernel_size[0] - 1) + 1
        total = max((-(-length // stride) - 1) * stride + span - length, 0)
        return super().forward(F.pad(x, (total // 2, total - total // 2)))


def _conv(c_in: int, c_out: int, kernel: int, stride: int = 1, dilation: int = 1) -> SameConv1d:
    """`SameConv1d` with the init of the original code: orthogonal weight, zero bias."""
    conv = SameConv1d(c_in, c_out, kernel, stride=stride, dilation=dilation)
    nn.init.orthogonal_(conv.weight)
    nn.init.zeros_(conv.bias)
    return conv


class DownBlock(nn.Module):
    """(B, C_in, T) -> (B, C_out, T/2): conv stride 2 (or conv + MaxPool(2)) [+ dropout] + LeakyReLU(0.2)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, *, downsample: str = "stride", dilation: int = 1,
                 dropout: float = 0.0) -> None:
        super().__init__()
        if downsample == "stride":
            layers: list[nn.Module] = [_conv(c_in, c_out, kernel, stride=2, dilation=dilation)]
        elif downsample == "maxpool":
            layers = [_conv(c_in, c_out, kernel, dilation=dilation), nn.MaxPool1d(2)]
        else:
            raise ValueError(f"unknown downsample {downsample!r}; choose stride or maxpool")
        if dropout:
            layers.append(nn.Dropout(dropout))
        layers.append(nn.LeakyReLU(0.2))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class UpBlock(nn.Module):
    """(B, C_in, T) -> (B, C_out, 2T): conv to 2*C_out + dropout + ReLU + subpixel(r=2).

    The concatenation with the matching down block's output happens in `UNet1d.forward`."""

    def __init__(self, c_in: int, c_out: int, kernel: int, *, dilation: int = 1, dropout: float = 0.0) -> None:
        super().__init__()
        layers: list[nn.Module] = [_conv(c_in, 2 * c_out, kernel, dilation=dilation)]
        if dropout:
            layers.append(nn.Dropout(dropout))
        layers += [nn.ReLU(), SubPixel1d(2)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class UNet1d(nn.Module):
    """The AudioUNet generator: (B, 1, T) spline input -> (B, 1, T) = input + predicted residual.

    Subclasses add per-block modulation by overriding `make_modulation` (an nn.Module applied to
    each down block's output, the bottleneck's output and each up block's output before the
    concatenation) and `length_multiple`.
    """

    def __init__(self, filters: tuple[int, ...], kernels: tuple[int, ...], *, dropout: float = 0.5,
                 downsample: str = "stride", dilation: int = 1, last_kernel: int = 9,
                 last_init_std: float = 1e-3) -> None:
        super().__init__()
        if len(filters) != len(kernels) or not filters:
            raise ValueError(f"filters {filters} and kernels {kernels} must be non-empty and of equal length")
        self.depth = len(filters)
        self.down = nn.ModuleList()
        c_in = 1
        for c, k in zip(filters, kernels):
            self.down.append(DownBlock(c_in, c, k, downsample=downsample, dilation=dilation))
            c_in = c
        self.bottleneck = DownBlock(c_in, filters[-1], kernels[-1], downsample=downsample, dilation=dilation,
                                    dropout=dropout)
        c_in = filters[-1]
        self.up = nn.ModuleList()
        for c, k in reversed(list(zip(filters, kernels))):
            self.up.append(UpBlock(c_in, c, k, dilation=dilation, dropout=dropout))
            c_in = 2 * c  # after the concatenation with the skip
        self.last = nn.Conv1d(c_in, 2, last_kernel, padding=last_kernel // 2)
        nn.init.normal_(self.last.weight, std=last_init_std)
        nn.init.zeros_(self.last.bias)
        # Modulation layers (identity here); index l = level of the matching down block.
        self.down_mod = nn.ModuleList(self.make_modulation(l, c, up=False) for l, c in enumerate(filters))
        self.bottleneck_mod = self.make_modulation(self.depth, filters[-1], up=False)
        self.up_mod = nn.ModuleList(self.make_modulation(l, c, up=True)
                                    for l, c in reversed(list(enumerate(filters))))

    # --- hooks for subclasses -------------------------------------------------------------------------
    def make_modulation(self, level: int, channels: int, *, up: bool) -> nn.Module:
        """Module applied to a (B, channels, T' / 2^(level+1)) feature map (level = depth: the
        bottleneck; `up`: an up block's output, before the concatenation); identity for AudioUNet."""
        return nn.Identity()

    def length_multiple(self) -> int:
        """Input lengths must be a multiple of this (forward pads to it)."""
        return 2 ** (self.depth + 1)

    # --- forward --------------------------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, T) -> (B, 1, T), any T >= 1."""
        length = x.shape[-1]
        multiple = self.length_multiple()
        pad = -length % multiple
        h = F.pad(x, (0, pad), mode="reflect" if pad < length else "replicate") if pad else x
        skips = []
        for block, mod in zip(self.down, self.down_mod):
            h = mod(block(h))
            skips.append(h)
        h = self.bottleneck_mod(self.bottleneck(h))
        for block, mod, skip in zip(self.up, self.up_mod, reversed(skips)):
            h = torch.cat([mod(block(h)), skip], dim=1)
        residual = subpixel1d(self.last(h), 2)[..., :length]
        return x + residual


# Published training recipe: the training command of kuleshov/audio-super-res, README.md "Training the
# model" (`run.py train ... -e 120 --batch-size 64 --lr 3e-4 --layers 4`, the only training command the
# README gives; it names `--model audiotfilm`, and the same command with `--model audiounet` trains this
# model). Optimiser: kuleshov/audio-super-res, src/run.py `get_model`, which for every `train` run sets
# Adam with lr = --lr, b1 0.9, b2 0.999, batch = --batch-size; src/models/model.py `default_opt` (lr 1e-4,
# b1 0.99, batch 128) is used only when run.py builds a model to evaluate, never to train.
# - patches: 8192 samples at 16 kHz, stride 4096, VCTK p225 (README `prep_vctk.py --dimension 8192
#   --stride 4096 --sr 16000`; 223 training files, kuleshov/audio-super-res,
#   data/vctk/speaker1/speaker1-train-files.txt).
# - steps: 120 epochs; the patch count is our estimate, not read anywhere: ~2.7k patches (prep_vctk.py
#   keeps a multiple of 128) / 64 = ~42 steps per epoch, x 120 = ~5k steps.
# - no gradient clipping, constant LR (kuleshov/audio-super-res, src/models/model.py has neither).
PAPER_TRAIN = TrainConfig(steps=5000, batch_size=64, crop_seconds=8192 / 16000, optimizer="adam", lr=3e-4,
                          betas=(0.9, 0.999), schedule="constant", grad_clip=None,
                          valid_every=500, checkpoint_every=500, valid_items=8)

# quick: ~1 minute of training on one CPU thread (~0.1 s/step at R=2, ~0.15 s at R=6, plus validation);
# cosine decay from 1e-3 and grad clipping so a few hundred steps converge. Not published.
QUICK_TRAIN = TrainConfig(batch_size=8, crop_seconds=0.25, optimizer="adam", lr=1e-3,
                          betas=(0.9, 0.999), schedule="cosine", warmup=0.05, grad_clip=1.0,
                          checkpoint_every=100, valid_items=4)

# smoke: seconds (40 steps of a few ms). Measured on synth-speech through the Trainer, then scored on a
# held fixed batch (3 seeds): loss x0.95-0.975 (AudioUNet) and x0.96-0.986 (TFiLM) at R = 2, 4, 6;
# with 10-20 steps, batch 2 or LR 1e-3 the change was within +-1 % either way (batch-to-batch noise).
SMOKE_TRAIN = TrainConfig(batch_size=4, crop_seconds=0.2, optimizer="adam", lr=3e-3,
                          betas=(0.9, 0.999), grad_clip=1.0, checkpoint_every=20, valid_items=1)


class AudioUNet(LearnedMethod):
    """AudioUNet (Kuleshov et al. 2017): 1-D U-Net on the spline input, additive residual skip.

    forward: lr (B, 1, T_low) -> (B, 1, T_low * R). Loss: `Config.loss` ("rmse" = the original
    code's per-example sqrt-MSE, averaged over the batch; "mse" = mean squared error), plus
    `spectral_weight` x `log_power_stft_loss` when that (non-published) knob is > 0.

    Profiles (parameters counted by `num_parameters`):
    - paper: filters (128, 384, 512, 512), kernels (65, 33, 17, 9), dropout 0.5, `PAPER_TRAIN`;
      70,977,154 parameters at every R, equal to the Keras model of kuleshov/audio-super-res,
      src/models/audiounet.py with --layers 4 counted from its layer shapes
      (tests/unit/test_audiounet_tfilm.py writes the arithmetic out).
    - quick: filters (16, 32, 48, 64), kernels (33, 17, 9, 9), dropout 0 (our choice for a
      few-hundred-step run; 0.5 was not measured), `QUICK_TRAIN`; 0.45 M.
    - smoke: filters (4, 8), kernels (9, 5); 2.5 k.

    Measured (synth-speech, quick, 16 test files, `python -m bench run ... --profile quick`), R = 2 / 4 / 6:
    with the published loss (rmse) SNR beats spline at every R (16.29 / 13.91 / 12.77 dB vs
    15.66 / 12.31 / 11.52) but LSD (1.28 / 1.95 / 2.48) loses to noisefill (1.16 / 1.42 / 1.69): the
    L2 optimum under-predicts the unpredictable high band by 15-27 dB (mean log-power bias of the HF
    bins). 5x the steps does not fix it (R = 6, 2000 steps: LSD 2.26), nor do lr 3e-3, 4x the
    parameters or "mse". spectral_weight = 0.01 does: LSD 0.66 / 1.04 / 0.97 with SNR
    16.00 / 13.63 / 12.48, so `quick` uses it; `paper` and `smoke` keep the published objective.
    These runs predate TensorFlow's 'same' alignment of the stride-2 convs (`SameConv1d`; before it,
    down output i was centred on input 2i) and were not repeated.
    """

    name = "audiounet"

    @dataclass(frozen=True)
    class Config:
        filters: tuple[int, ...] = (128, 384, 512, 512)
        kernels: tuple[int, ...] = (65, 33, 17, 9)
        dropout: float = 0.5
        downsample: str = "stride"   # stride (AudioUNet code) | maxpool (TFiLM code)
        dilation: int = 1            # conv dilation (2 in the TFiLM code)
        loss: str = "rmse"           # rmse (original code's objective) | mse
        spectral_weight: float = 0.0  # NOT published: weight of a multi-resolution log-STFT term (0 = off)
        spectral_ffts: tuple[int, ...] = (512, 1024, 2048)
        train: TrainConfig = PAPER_TRAIN

    profile_overrides: ClassVar[dict] = {
        "smoke": {"filters": (4, 8), "kernels": (9, 5), "train": SMOKE_TRAIN},
        # quick adds the (unpublished) spectral term: with the published loss alone a minute of
        # training loses to noisefill on LSD at every R (numbers in the class docstring).
        "quick": {"filters": (16, 32, 48, 64), "kernels": (33, 17, 9, 9), "dropout": 0.0, "train": QUICK_TRAIN,
                  "spectral_weight": 0.01},
        "paper": {},
    }

    def build_networks(self) -> dict[str, nn.Module]:
        c = self.config
        if c.loss not in ("rmse", "mse"):
            raise ValueError(f"unknown loss {c.loss!r}; choose rmse or mse")
        return {"unet": UNet1d(c.filters, c.kernels, dropout=c.dropout, downsample=c.downsample,
                               dilation=c.dilation)}

    def spline_input(self, lr: torch.Tensor) -> torch.Tensor:
        """(B, 1, T_low) -> (B, 1, T_low * R): the cubic-spline upsample the network refines."""
        return upsample(lr, self.protocol.scale, "spline")

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        """(B, 1, T_low) at protocol.low_sr -> (B, 1, T_low * R) at protocol.target_sr."""
        return self.networks["unet"](self.spline_input(lr))

    def losses(self, batch: Batch) -> dict[str, torch.Tensor]:
        est = self.forward(batch.lr)
        err = (est - batch.hr).square().flatten(1).mean(1)  # (B,) per-example MSE
        l2 = (err + 1e-6).sqrt().mean() if self.config.loss == "rmse" else err.mean()
        if not self.config.spectral_weight:
            return {"loss": l2}
        spectral = log_power_stft_loss(est, batch.hr, self.config.spectral_ffts)
        return {"loss": l2 + self.config.spectral_weight * spectral, "l2": l2, "spectral": spectral}
