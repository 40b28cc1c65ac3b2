"""Run profiles: how much data and compute a cell gets.

`smoke` is for tests (seconds per cell), `quick` the CPU default (about a minute per learned cell on
2 cores), `paper` the published settings (GPU). Each method's config per profile lives with the
method; what the harness itself varies by profile is here.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    name: str
    max_items: dict[str, int | None]  # per split; None = the whole split
    sample_files: int                 # test files whose LR/SR/HR wavs are kept for the leaderboard


PROFILES: dict[str, Profile] = {
    "smoke": Profile("smoke", {"train": 8, "valid": 2, "test": 2}, sample_files=1),
    "quick": Profile("quick", {"train": None, "valid": None, "test": None}, sample_files=2),
    "paper": Profile("paper", {"train": None, "valid": None, "test": None}, sample_files=2),
}
