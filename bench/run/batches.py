"""Training batches: aligned random crops of the prepared LR/HR pairs, the same for every learned method.

The batch of step s is a pure function of (cell seed, s), so a resumed training sees the batches an
uninterrupted one would.
"""
from __future__ import annotations

import numpy as np
import torch

from bench.data import Pairs
from methods.api import Batch


def crop_length(crop_seconds: float, target_sr: int, scale: int) -> int:
    """Training crop in HR samples: `crop_seconds` at the target rate, a multiple of R (LR-aligned)."""
    return int(crop_seconds * target_sr) // scale * scale


class PairSampler:
    """Aligned random crops of the prepared train pairs; the batch of step s depends only on (seed, s).

    Every crop has the configured length. A file shorter than the crop is zero-padded, HR and LR alike,
    and placed at a random offset inside it (a multiple of R samples, so LR sample n still sits at HR
    sample n*R and the kept part is the file's own pair), as the NU-Wave loaders do (maum-ai/nuwave,
    dataloader.py; maum-ai/nuwave2, dataloader.py: zeros on both sides, a random share on the left).
    Options (TrainConfig): `peak_normalize` divides a file's HR and LR by the peak |x| of the whole HR
    file (those loaders normalise the loaded file before cropping, and derive the LR after it);
    `random_gain` (lo, hi) multiplies each crop, HR and LR alike, by a gain ~ U(lo, hi) drawn per step.
    """

    def __init__(self, pairs: Pairs, scale: int, crop_seconds: float, target_sr: int, batch_size: int,
                 seed: int, *, peak_normalize: bool = False, random_gain: tuple[float, float] | None = None) -> None:
        if len(pairs) == 0:
            raise ValueError("the train split is empty: a learned method needs training files")
        self.crop = crop_length(crop_seconds, target_sr, scale)
        if self.crop < scale * 8:
            raise ValueError(f"crops of {crop_seconds} s ({self.crop} samples at {target_sr} Hz) are too short "
                             "to be useful: raise train.crop_seconds")
        self.scale, self.batch_size, self.seed = scale, batch_size, seed
        self.peak_normalize, self.random_gain = peak_normalize, random_gain
        self.lengths = np.array([len(h) for h in pairs.hr])
        self.hr = np.concatenate(pairs.hr)
        self.lr = np.concatenate(pairs.lr)
        self.starts = np.concatenate([[0], np.cumsum(self.lengths)[:-1]])
        # Crop offsets per file, in LR samples: 0..room for a long file, room..0 (room < 0) for a short
        # one, whose negative offset is the zero padding on the left of it.
        self.room = (self.lengths - self.crop) // scale
        self.file_gain = 1.0 / self._peaks(pairs) if peak_normalize else np.ones(len(pairs))

    @staticmethod
    def _peaks(pairs: Pairs) -> np.ndarray:
        """(files,) peak |x| of each whole HR file; 1 for a silent file, which stays silent."""
        peaks = np.array([np.abs(h).max(initial=0.0) for h in pairs.hr], dtype=np.float64)
        return np.where(peaks > 0, peaks, 1.0)

    @property
    def padded_files(self) -> int:
        """How many training files are shorter than the crop (and are zero-padded)."""
        return int((self.room < 0).sum())

    def describe(self) -> str:
        """One line for the training log: the crop, the padded files and the data options."""
        options = (["files peak-normalised"] if self.peak_normalize else []) + \
                  ([f"gain ~ U{self.random_gain} per crop"] if self.random_gain is not None else [])
        return (f"crops of {self.crop} samples: {self.padded_files} of {len(self.lengths)} training files are "
                "shorter and zero-padded" + "".join(f"; {o}" for o in options))

    @staticmethod
    def _gather(flat: np.ndarray, starts: np.ndarray, lengths: np.ndarray, offsets: np.ndarray,
                size: int) -> np.ndarray:
        """(files, size) crops of `flat` at `offsets` from each file's start; positions outside the file are 0."""
        pos = offsets[:, None] + np.arange(size)
        inside = (pos >= 0) & (pos < lengths[:, None])
        return np.where(inside, flat[starts[:, None] + np.clip(pos, 0, np.maximum(lengths - 1, 0)[:, None])], 0)

    def batch(self, step: int, device: torch.device) -> Batch:
        """Batch of step `step`: hr (B, 1, crop), lr (B, 1, crop / R), float32 on `device`."""
        rng = np.random.default_rng([self.seed, step])
        files = rng.integers(0, len(self.starts), self.batch_size)
        room = self.room[files]
        offsets = rng.integers(np.minimum(room, 0), np.maximum(room, 0) + 1)  # in LR samples: crops stay aligned
        gain = self.file_gain[files]
        if self.random_gain is not None:  # drawn last, so the crops of a step do not depend on it
            gain = gain * rng.uniform(*self.random_gain, self.batch_size)
        lengths = self.lengths[files]
        hr = self._gather(self.hr, self.starts[files], lengths, offsets * self.scale, self.crop)
        lr = self._gather(self.lr, self.starts[files] // self.scale, lengths // self.scale, offsets,
                          self.crop // self.scale)
        gain = gain.astype(np.float32)[:, None]
        return Batch(lr=torch.from_numpy(lr * gain).unsqueeze(1).to(device),
                     hr=torch.from_numpy(hr * gain).unsqueeze(1).to(device))
