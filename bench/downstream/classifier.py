"""The downstream recogniser: a ResNet-18-style CNN on log-mel spectrograms, and how it is trained.

The seed paper (TFDFE-ASR) measures super-resolution by the ship-type accuracy of a ResNet-18
classifier on ShipsEar; its text gives no front end or training details, so every choice below is
ours and is a named `ClassifierConfig` field:

- front end: torchaudio ``MelSpectrogram`` over 0 .. sr/2 with a ~32 ms Hann window (``win_ms``),
  ``hop_ms`` hop, ``n_mels`` bands, power spectrum, ``log(x + 1e-6)``; standardised by the mean and
  standard deviation of the training features (two scalars kept in the model), so the level of each
  band is kept (a per-band or per-file norm would hide the "energy is missing up there" cue the
  task is about).
- network: torchvision's ResNet-18 layout (He et al. 2016) on a 1-channel image: 7x7 stride-2 stem,
  3x3 stride-2 max-pool, four stages of BasicBlocks (two 3x3 convs + BN, identity or 1x1 stride-2
  projection shortcut), global average pooling, one linear layer. ``paper`` uses ResNet-18's widths
  (64-128-256-512) and blocks (2-2-2-2); ``quick`` and ``smoke`` are narrower and shallower so they
  train in seconds on one CPU core.
- training: AdamW, cross-entropy, a fixed number of steps of random ``crop_s`` crops (a crop is the
  only augmentation; every training file is longer than a crop on the embedded corpora, shorter
  files are used whole), batches of ``batch_size``; evaluation on whole files (global pooling takes
  any length).

Everything random draws from the ``seed`` the harness derives from the cell key.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class ClassifierConfig:
    widths: tuple[int, ...] = (64, 128, 256, 512)
    blocks: tuple[int, ...] = (2, 2, 2, 2)
    n_mels: int = 64
    win_ms: float = 32.0
    hop_ms: float = 16.0
    crop_s: float = 1.5
    steps: int = 2000
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# The paper profile is ResNet-18 itself. quick (78 k parameters) trains in ~2.5 s of one quiet CPU core
# on synth-ship's 100 x 2 s training files (5-7 s on the loaded 2-core dev machine), so `downstream
# --methods all` (~56 classifiers) stays within minutes; widths 16-32-64-128 with 500 steps gained
# ~0.05 HR accuracy for 5x the time. smoke is for unit tests (well under a second).
CLASSIFIER_PROFILES: dict[str, ClassifierConfig] = {
    "smoke": ClassifierConfig(widths=(8, 16), blocks=(1, 1), n_mels=32, crop_s=0.5, steps=60, batch_size=8,
                              lr=3e-3),
    "quick": ClassifierConfig(widths=(16, 32, 64), blocks=(1, 1, 1), n_mels=64, crop_s=1.0, steps=300,
                              batch_size=16, lr=2e-3),
    "paper": ClassifierConfig(),
}


def classifier_config(profile: str) -> ClassifierConfig:
    return CLASSIFIER_PROFILES[profile]


class _BasicBlock(nn.Module):
    """ResNet BasicBlock: (B, c_in, H, W) -> (B, c_out, H / stride, W / stride)."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Identity() if stride == 1 and c_in == c_out else nn.Sequential(
            nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(y)) + self.shortcut(x))


class LogMelResNet(nn.Module):
    """(B, T) waveform at ``sr`` -> (B, n_classes) logits."""

    def __init__(self, config: ClassifierConfig, sr: int, n_classes: int) -> None:
        super().__init__()
        import torchaudio  # only where a classifier is built

        n_fft = 1 << int(np.ceil(np.log2(config.win_ms * sr / 1000)))
        self.mel = torchaudio.transforms.MelSpectrogram(
            sample_rate=sr, n_fft=n_fft, win_length=int(config.win_ms * sr / 1000),
            hop_length=int(config.hop_ms * sr / 1000), f_min=0.0, f_max=sr / 2, n_mels=config.n_mels, power=2.0)
        self.register_buffer("feat_mean", torch.zeros(()))
        self.register_buffer("feat_std", torch.ones(()))
        w0 = config.widths[0]
        self.stem = nn.Sequential(nn.Conv2d(1, w0, 7, 2, 3, bias=False), nn.BatchNorm2d(w0), nn.ReLU(),
                                  nn.MaxPool2d(3, 2, 1))
        stages, c_in = [], w0
        for i, (width, n_blocks) in enumerate(zip(config.widths, config.blocks)):
            for j in range(n_blocks):
                stages.append(_BasicBlock(c_in, width, 2 if i > 0 and j == 0 else 1))
                c_in = width
        self.stages = nn.Sequential(*stages)
        self.head = nn.Linear(c_in, n_classes)

    def features(self, wave: torch.Tensor) -> torch.Tensor:
        """(B, T) waveform -> (B, 1, n_mels, frames) log-mel, not yet standardised."""
        return torch.log(self.mel(wave) + 1e-6).unsqueeze(1)

    def classify(self, feats: torch.Tensor) -> torch.Tensor:
        """(B, 1, n_mels, frames) log-mel -> (B, n_classes) logits."""
        x = (feats - self.feat_mean) / self.feat_std
        x = self.stages(self.stem(x))
        return self.head(x.mean(dim=(2, 3)))

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return self.classify(self.features(wave))


def _crops(feats: list[torch.Tensor], idx: np.ndarray, frames: int, rng: np.random.Generator) -> torch.Tensor:
    """A batch of random `frames`-long crops: feats[i] is (1, n_mels, T_i) -> (B, 1, n_mels, frames)."""
    out = []
    for i in idx:
        f = feats[i]
        n = f.shape[-1]
        if n <= frames:  # shorter than a crop: pad by repeating the file, never with silence
            f = f.repeat(1, 1, -(-frames // n))[..., :frames]
        else:
            start = int(rng.integers(0, n - frames + 1))
            f = f[..., start:start + frames]
        out.append(f)
    return torch.stack(out)


def train_classifier(config: ClassifierConfig, audio: Sequence[np.ndarray], labels: Sequence[int], sr: int,
                     n_classes: int, seed: int,
                     log: Callable[[str], None] | None = None,
                     device: str = "cpu") -> tuple[LogMelResNet, dict[str, Any]]:
    """Train on (T_i,) float waveforms at `sr` with integer labels; -> (model in eval mode, stats)."""

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = LogMelResNet(config, sr, n_classes).to(device)
    with torch.no_grad():  # features once: the crop is the only thing that changes between steps
        feats = [model.features(_wave(a, device))[0] for a in audio]
        flat = torch.cat([f.flatten() for f in feats])
        model.feat_mean.fill_(flat.mean())
        model.feat_std.fill_(flat.std().clamp_min(1e-6))
    y = torch.as_tensor(np.asarray(labels), dtype=torch.long, device=device)
    frames = max(1, int(round(config.crop_s * 1000 / config.hop_ms)))
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=config.lr, total_steps=config.steps)
    model.train()
    t0, losses = time.perf_counter(), []
    for step in range(config.steps):
        idx = rng.choice(len(feats), size=min(config.batch_size, len(feats)), replace=False)
        loss = F.cross_entropy(model.classify(_crops(feats, idx, frames, rng)), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
        if log and (step + 1) % max(1, config.steps // 5) == 0:
            log(f"classifier step {step + 1}/{config.steps}: loss {np.mean(losses[-20:]):.3f}")
    model.eval()
    stats = {"train_s": time.perf_counter() - t0, "steps": config.steps, "final_loss": float(np.mean(losses[-20:])),
             "params": sum(p.numel() for p in model.parameters()), "n_train": len(feats)}
    return model, stats


@torch.no_grad()
def predict(model: LogMelResNet, audio: Sequence[np.ndarray]) -> np.ndarray:
    """(N,) predicted class indices of whole (T_i,) waveforms, one file at a time (lengths differ)."""
    model.eval()
    device = model.feat_mean.device
    return np.array([int(model(_wave(a, device)).argmax(1)) for a in audio], dtype=np.int64)


def _wave(audio: np.ndarray, device: str | torch.device) -> torch.Tensor:
    """(T,) numpy waveform -> (1, T) float32 tensor on `device`."""
    return torch.from_numpy(np.asarray(audio, dtype=np.float32))[None].to(device)
