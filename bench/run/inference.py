"""Super-resolving whole signals with any method, in overlapping chunks so memory stays bounded
(`Method.enhance` maps one batch of chunks; `super_resolve` maps a whole file of any length)."""
from __future__ import annotations

import numpy as np
import torch

from bench.core.spec import Protocol
from methods.api import Method

# Files are enhanced in chunks of this many seconds (at the low rate), overlapping by OVERLAP_S,
# so memory stays bounded whatever the file length.
CHUNK_S = 8.0
OVERLAP_S = 0.5


def _crossfade_weights(length: int, fade: int, first: bool, last: bool) -> np.ndarray:
    """(length,) weights: linear ramps over `fade` samples at inner chunk edges, 1 elsewhere."""
    w = np.ones(length, dtype=np.float64)
    ramp = np.arange(1, fade + 1) / (fade + 1)  # never 0, so the weight sum is never 0
    if not first and fade:
        w[:fade] = ramp
    if not last and fade:
        w[-fade:] = ramp[::-1]
    return w


@torch.no_grad()
def super_resolve_chunked(method: Method, lr: np.ndarray, scale: int, *, chunk: int, overlap: int,
                   batch: int = 8, device: str = "cpu") -> np.ndarray:
    """(T_low,) LR -> (T_low * scale,) estimate.

    Files longer than `chunk` LR samples are cut into chunks overlapping by `overlap` samples,
    enhanced `batch` chunks at a time, and cross-faded back together.
    """
    n = len(lr)
    x = torch.from_numpy(np.ascontiguousarray(lr, dtype=np.float32))
    if n <= chunk:
        return method.enhance(x.view(1, 1, -1).to(device))[0, 0].float().cpu().numpy()
    if not 0 <= overlap < chunk:
        raise ValueError(f"overlap {overlap} must be in [0, chunk={chunk})")
    hop = chunk - overlap
    starts = list(range(0, n - chunk + 1, hop))
    if starts[-1] + chunk < n:
        starts.append(n - chunk)
    out = np.zeros(n * scale, dtype=np.float64)
    weight = np.zeros(n * scale, dtype=np.float64)
    for b in range(0, len(starts), batch):
        group = starts[b:b + batch]
        chunks = torch.stack([x[s:s + chunk] for s in group]).unsqueeze(1).to(device)
        estimates = method.enhance(chunks)[:, 0].float().cpu().numpy()
        for s, est in zip(group, estimates):
            w = _crossfade_weights(chunk * scale, overlap * scale, first=s == 0, last=s == starts[-1])
            out[s * scale:(s + chunk) * scale] += w * est
            weight[s * scale:(s + chunk) * scale] += w
    return (out / weight).astype(np.float32)


def super_resolve(method: Method, lr: np.ndarray, protocol: Protocol, device: str = "cpu") -> np.ndarray:
    """(T_low,) at protocol.low_sr -> (T_low * R,) at protocol.target_sr, in the standard chunks."""
    return super_resolve_chunked(method, lr, protocol.scale, chunk=int(CHUNK_S * protocol.low_sr),
                          overlap=int(OVERLAP_S * protocol.low_sr), device=device)
