"""TFDFE-ASR configuration: the per-module optimisers, the method config and its profiles (paper, quick,
smoke). Every reading of the paper behind these numbers is in methods/tfdfe/README.md."""
from __future__ import annotations

from dataclasses import dataclass

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


# Published settings (the seed paper's training section): SWSRM SGD lr 1e-5, SSRM Adam lr 1e-4 betas (0.9, 0.999), batch 32.
# Not published: SGD momentum (0.9 assumed), the fusion optimiser (Adam 1e-4 assumed), the number
# of steps (assumed: 200k in all, 80 % modules, 20 % fusion), crop length (1 s assumed).
PAPER_TRAIN = TrainConfig(steps=200_000, batch_size=32, crop_seconds=1.0, optimizer="adam", lr=1e-4,
                          schedule="constant", grad_clip=None, valid_every=5000,
                          checkpoint_every=5000, valid_items=8)
PAPER_SWSRM_OPT = OptimConfig(optimizer="sgd", lr=1e-5, momentum=0.9)
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
    module_fraction: float = 0.8       # share of train.steps in stage 1 (fused rows only)
    stage_schedule: str = "constant"   # LR factor within each stage: constant | cosine (after warm-up)
    stage_warmup: float = 0.0          # warm-up, as a fraction of each stage
    train: TrainConfig = PAPER_TRAIN


# --- profiles ------------------------------------------------------------------------------------------

SMOKE_TRAIN = TrainConfig(batch_size=2, crop_seconds=0.1, optimizer="adam", lr=1e-3, grad_clip=1.0,
                          checkpoint_every=5, valid_items=1)
SMOKE = {
    "swsrm": SWSRMConfig(frame_ms=8.0, channels=(4, 8), kernels=(7, 5), latent=4),
    "ssrm": SSRMConfig(n_fft_low=32, hop_ms=2.0, channels=4, levels=1, n_rcab=1, reduction=2, dual_channels=2),
    "fusion": FusionConfig(width=8, heads=2, windows=(1, 2), stft_ms=(8.0, 16.0)),
    "swsrm_opt": OptimConfig(lr=1e-3), "ssrm_opt": OptimConfig(lr=1e-3), "fusion_opt": OptimConfig(lr=1e-3),
    "module_fraction": 0.5, "train": SMOKE_TRAIN,
}

QUICK_TRAIN = TrainConfig(batch_size=8, crop_seconds=0.5, optimizer="adam", lr=1e-3,
                          schedule="constant", grad_clip=1.0, checkpoint_every=100, valid_items=4)
QUICK = {
    "swsrm": SWSRMConfig(frame_ms=32.0, channels=(16, 32, 32), kernels=(7, 5, 3), latent=16),
    "ssrm": SSRMConfig(n_fft_low=128, hop_ms=8.0, channels=16, levels=2, n_rcab=1, reduction=4, dual_channels=8),
    "fusion": FusionConfig(width=32, heads=2, windows=(1, 2, 4), stft_ms=(16.0, 32.0, 64.0, 128.0)),
    "swsrm_opt": OptimConfig(lr=1e-3), "ssrm_opt": OptimConfig(lr=1e-3), "fusion_opt": OptimConfig(lr=2e-3),
    "stage_schedule": "cosine", "stage_warmup": 0.05, "train": QUICK_TRAIN,
}


def quick_profile(module_fraction: float = 1.0) -> dict:
    """The quick profile with a row's own share of the steps in stage 1 (1.0: single-module rows).
    The step count is the harness's: the same training FLOPs for every learned row."""
    return {**QUICK, "module_fraction": module_fraction}
