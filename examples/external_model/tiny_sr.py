"""A stand-in for a model that lives in your own repository: a small torch network that super-resolves
by adding a learned residual to a linear interpolation of the input. Nothing here imports the suite.

    python examples/external_model/tiny_sr.py CHECKPOINT     # writes a (briefly trained) checkpoint

`make(checkpoint=PATH)` is the factory `bench score --callable examples.external_model.tiny_sr:make
--callable-arg checkpoint=PATH` calls once; it returns `enhance(lr, low_sr, target_sr) -> numpy array`.
"""
from __future__ import annotations

import sys

import numpy as np
import torch
from torch import nn


class TinySR(nn.Module):
    """(B, 1, T_low) -> (B, 1, T_low * R): linear interpolation plus a 3-layer convolutional residual."""

    def __init__(self, channels: int = 16) -> None:
        super().__init__()
        self.residual = nn.Sequential(nn.Conv1d(1, channels, 9, padding=4), nn.Tanh(),
                                      nn.Conv1d(channels, channels, 9, padding=4), nn.Tanh(),
                                      nn.Conv1d(channels, 1, 9, padding=4))

    def forward(self, lr: torch.Tensor, scale: int) -> torch.Tensor:
        up = nn.functional.interpolate(lr, scale_factor=scale, mode="linear", align_corners=False)
        return up + self.residual(up)


def train_checkpoint(path: str, steps: int = 30, scale: int = 2, seed: int = 0) -> None:
    """Fit TinySR for a few steps on random band-limited noise and save its weights (a plain state dict,
    so it loads with weights_only=True)."""
    torch.manual_seed(seed)
    model = TinySR()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(steps):
        hr = torch.cumsum(0.01 * torch.randn(8, 1, 4096), dim=-1)  # smooth, low-frequency-heavy signals
        hr = hr - hr.mean(dim=-1, keepdim=True)
        loss = nn.functional.mse_loss(model(hr[..., ::scale], scale), hr)
        opt.zero_grad()
        loss.backward()
        opt.step()
    torch.save({"weights": model.state_dict()}, path)


def make(checkpoint: str):
    """Load the checkpoint once; return the function the suite calls on each test input."""
    model = TinySR()
    model.load_state_dict(torch.load(checkpoint, map_location="cpu", weights_only=True)["weights"])
    model.eval()

    @torch.no_grad()
    def enhance(lr: np.ndarray, low_sr: int, target_sr: int) -> np.ndarray:
        scale = target_sr // low_sr
        x = torch.from_numpy(np.asarray(lr, dtype=np.float32)).view(1, 1, -1)
        return model(x, scale)[0, 0].numpy()

    return enhance


if __name__ == "__main__":
    train_checkpoint(sys.argv[1])
    print(f"wrote {sys.argv[1]}")
