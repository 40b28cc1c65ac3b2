"""TFDFE-ASR configuration: the per-module optimisers, the method config and its profiles (paper, quick,
smoke). Every reading of the paper behind these numbers is in methods/tfdfe/README.md.

The `paper` profile (the defaults of TFDFEConfig) follows the TFDFE-ASR paper's section 4.2 where it
states a setting:

- SWSRM: stochastic gradient descent, lr 1e-5, batch 32, 150 iterations.
- SSRM: Adam with betas (0.9, 0.999), lr 1e-4, batch 32; its LR input made from the spectrogram by
  bicubic downsampling (SSRMConfig.pairs = "bicubic"); section 4.4: 800 training spectrograms and
  500 iteration cycles.
- SWSRM's input and synthesis as section 3.1 describes them (SWSRMConfig.domain = "spectrum"), and
  its loss exactly Eq. 3 (stft_weight 0).

Our choices, where the paper gives none:

- An iteration is an epoch, for both modules. Section 4.4 counts SSRM's training in iteration
  cycles over a set of 800 spectrograms; 150 single SGD steps at lr 1e-5 would leave SWSRM at its
  initialisation. One epoch = 800 crops at batch 32 = 25 steps for both modules (the paper gives no
  set size for SWSRM): SWSRM 150 x 25 = 3,750 steps, SSRM 500 x 25 = 12,500 steps. In the fused rows
  SWSRM stops after 0.3 of stage 1 (`swsrm_share`) and SSRM goes on alone.
- SGD momentum 0: the paper names plain SGD, and TensorFlow, the framework section 4.2 names, has no
  momentum in its SGD by default.
- The fusion stage: Adam, betas (0.9, 0.999), lr 1e-4 (SSRM's settings), 100 epochs = 2,500 steps
  after the modules: 15,000 steps in all for the fused rows (`module_fraction` = 12,500 / 15,000).
- A crop ("one spectrogram") is 1 s of audio; no gradient clipping; constant learning rates.
- Sizes (channels, latent, widths) and alpha, lambda: not stated; see README "Profiles".
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from methods.api import TrainConfig
from methods.tfdfe.ssrm import SSRMConfig
from methods.tfdfe.swsrm import SWSRMConfig
from methods.tfdfe.tfdfm import FusionConfig


@dataclass(frozen=True)
class OptimConfig:
    """One module's optimiser (the Trainer's TrainConfig keeps steps, batch, crops, clipping)."""

    optimizer: str = "adam"            # adam | adamw | sgd
    lr: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.999)
    momentum: float = 0.9              # sgd only
    weight_decay: float = 0.0


# The paper profile (module docstring): epochs of 800 crops at batch 32.
PAPER_EPOCH_STEPS = 800 // 32
PAPER_SWSRM_STEPS = 150 * PAPER_EPOCH_STEPS
PAPER_SSRM_STEPS = 500 * PAPER_EPOCH_STEPS
PAPER_FUSION_STEPS = 100 * PAPER_EPOCH_STEPS
PAPER_TRAIN = TrainConfig(steps=PAPER_SSRM_STEPS + PAPER_FUSION_STEPS, batch_size=32, crop_seconds=1.0,
                          optimizer="adam", lr=1e-4, schedule="constant", grad_clip=None, valid_every=2500,
                          checkpoint_every=2500, valid_items=8)
PAPER_SWSRM_OPT = OptimConfig(optimizer="sgd", lr=1e-5, momentum=0.0)
PAPER_SSRM_OPT = OptimConfig(optimizer="adam", lr=1e-4, betas=(0.9, 0.999))
PAPER_FUSION_OPT = OptimConfig(optimizer="adam", lr=1e-4, betas=(0.9, 0.999))


@dataclass(frozen=True)
class TFDFEConfig:
    swsrm: SWSRMConfig = SWSRMConfig()
    ssrm: SSRMConfig = SSRMConfig()
    fusion: FusionConfig = FusionConfig()
    swsrm_opt: OptimConfig = PAPER_SWSRM_OPT
    ssrm_opt: OptimConfig = PAPER_SSRM_OPT
    fusion_opt: OptimConfig = PAPER_FUSION_OPT
    # share of train.steps in stage 1 (fused rows only): SSRM's 12,500 of 15,000 steps in `paper`
    module_fraction: float = PAPER_SSRM_STEPS / (PAPER_SSRM_STEPS + PAPER_FUSION_STEPS)
    # SWSRM trains in this first share of stage 1, SSRM in all of it: 150 of 500 epochs in `paper`
    swsrm_share: float = PAPER_SWSRM_STEPS / PAPER_SSRM_STEPS
    stage_schedule: str = "constant"   # LR factor within each stage: constant | cosine (after warm-up)
    stage_warmup: float = 0.0          # warm-up, as a fraction of each stage
    train: TrainConfig = PAPER_TRAIN


# --- profiles ------------------------------------------------------------------------------------------

SMOKE_TRAIN = TrainConfig(batch_size=2, crop_seconds=0.1, optimizer="adam", lr=1e-3, grad_clip=1.0,
                          checkpoint_every=5, valid_items=1)
SMOKE = {
    "swsrm": SWSRMConfig(frame_ms=8.0, channels=(4, 8), kernels=(7, 5), latent=4),
    "ssrm": SSRMConfig(n_fft_low=32, hop_ms=2.0, channels=4, levels=1, n_rcab=1, reduction=2, dual_channels=2,
                       pairs="audio"),
    "fusion": FusionConfig(width=8, heads=2, windows=(1, 2), stft_ms=(8.0, 16.0)),
    "swsrm_opt": OptimConfig(lr=1e-3), "ssrm_opt": OptimConfig(lr=1e-3), "fusion_opt": OptimConfig(lr=1e-3),
    "module_fraction": 0.5, "swsrm_share": 1.0, "train": SMOKE_TRAIN,
}

QUICK_TRAIN = TrainConfig(batch_size=8, crop_seconds=0.5, optimizer="adam", lr=1e-3,
                          schedule="constant", grad_clip=1.0, checkpoint_every=100, valid_items=4)
QUICK = {
    "swsrm": SWSRMConfig(frame_ms=32.0, channels=(16, 32, 32), kernels=(7, 5, 3), latent=16),
    "ssrm": SSRMConfig(n_fft_low=128, hop_ms=8.0, channels=16, levels=2, n_rcab=1, reduction=4, dual_channels=8,
                       pairs="audio"),
    "fusion": FusionConfig(width=32, heads=2, windows=(1, 2, 4), stft_ms=(16.0, 32.0, 64.0, 128.0)),
    "swsrm_opt": OptimConfig(lr=1e-3), "ssrm_opt": OptimConfig(lr=1e-3), "fusion_opt": OptimConfig(lr=2e-3),
    "stage_schedule": "cosine", "stage_warmup": 0.05, "train": QUICK_TRAIN,
}


def paper_single(module: str) -> dict:
    """The paper profile of a single-module row: that module's own step count (150 or 500 epochs)."""
    steps = PAPER_SWSRM_STEPS if module == "swsrm" else PAPER_SSRM_STEPS
    return {"train": replace(PAPER_TRAIN, steps=steps), "swsrm_share": 1.0}


def quick_profile(module_fraction: float = 1.0) -> dict:
    """The quick profile with a row's own share of the steps in stage 1 (1.0: single-module rows).
    The step count is the harness's: the same training FLOPs for every learned row."""
    return {**QUICK, "module_fraction": module_fraction, "swsrm_share": 1.0}
