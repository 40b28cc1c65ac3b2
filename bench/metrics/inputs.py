"""How every metric takes its input: numpy arrays or torch tensors shaped (T,), (B, T) or (B, 1, T),
checked (real, finite, same shape, non-empty) and turned into float64 (B, T) tensors."""
from __future__ import annotations

from typing import Union

import numpy as np
import torch

ArrayLike = Union[np.ndarray, torch.Tensor]


def _to_batch(x: ArrayLike, what: str, device: torch.device | None) -> torch.Tensor:
    """Return ``x`` as a float64 tensor of shape (B, T) on ``device`` (or its own device if None)."""
    if isinstance(x, torch.Tensor):
        if x.is_complex():
            raise ValueError(f"{what} is complex ({x.dtype}); metrics take real-valued audio")
        t = x.detach()
    else:
        a = np.asarray(x)
        if np.iscomplexobj(a):
            raise ValueError(f"{what} is complex ({a.dtype}); metrics take real-valued audio")
        # Native-endian float64 for torch; a read-only array (memmap, frombuffer) is copied because
        # torch.from_numpy warns about sharing it.
        a = np.asarray(a, dtype=np.float64)
        t = torch.from_numpy(a if a.flags.writeable else a.copy())
    t = t.to(device=device if device is not None else t.device, dtype=torch.float64)
    if t.ndim == 3:
        if t.shape[1] != 1:
            raise ValueError(
                f"{what} has shape {tuple(t.shape)}: a 3-D input must be (B, 1, T), mono with a channel dim"
            )
        t = t[:, 0, :]
    elif t.ndim == 1:
        t = t.unsqueeze(0)
    elif t.ndim != 2:
        raise ValueError(f"{what} has shape {tuple(t.shape)}: expected (T,), (B, T) or (B, 1, T)")
    if t.shape[0] == 0:
        raise ValueError(f"{what} is an empty batch (B = 0)")
    if not torch.isfinite(t).all():  # one pass in the common case; name the problem only on failure
        raise ValueError(f"{what} contains {'NaN' if torch.isnan(t).any() else 'inf'}")
    return t


def _shape(x: ArrayLike) -> tuple[int, ...]:
    return tuple(x.shape) if isinstance(x, torch.Tensor) else np.shape(x)


def prepare(est: ArrayLike, ref: ArrayLike) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate a pair and return both as float64 (B, T) tensors on ``ref``'s device."""
    est_shape, ref_shape = _shape(est), _shape(ref)
    if est_shape != ref_shape:
        raise ValueError(f"est and ref must have the same shape, got est {est_shape} and ref {ref_shape}")
    ref_t = _to_batch(ref, "reference", None)
    est_t = _to_batch(est, "estimate", ref_t.device)
    return est_t, ref_t
