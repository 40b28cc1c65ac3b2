"""Run profiles: how much data and compute a cell gets.

`smoke` is for tests (seconds per cell), `quick` the CPU default, `paper` the published settings (GPU).
Each method's config per profile lives with the method; what the harness itself varies by profile is
here, above all the training budget: in `smoke` and `quick` every learned method trains for the same
number of FLOPs (bench/run/flops.py), and the harness, not the method, sets its step count.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    name: str
    max_items: dict[str, int | None]  # per split; None = the whole split
    sample_files: int                 # test files whose LR/SR/HR wavs are kept for the leaderboard
    train_flops: float | None         # training budget of every learned cell; None: each recipe's own steps


# The budgets in FLOPs. quick: set so that the main command (`python -m bench run --methods all --scales
# 2,4,6`) fits 20 minutes on a 2-core laptop; smoke: a few seconds of training per cell.
SMOKE_FLOPS = 2e9
QUICK_FLOPS = 1e12

PROFILES: dict[str, Profile] = {
    "smoke": Profile("smoke", {"train": 8, "valid": 2, "test": 2}, sample_files=1, train_flops=SMOKE_FLOPS),
    "quick": Profile("quick", {"train": None, "valid": None, "test": None}, sample_files=2, train_flops=QUICK_FLOPS),
    "paper": Profile("paper", {"train": None, "valid": None, "test": None}, sample_files=2, train_flops=None),
}


def parse_budget(text: str) -> tuple[float, bool]:
    """`--budget` text -> (value, relative): a FLOP count ('2e12') or 'xK', K times the profile's."""
    relative = text.strip().lower().startswith("x")
    number = text.strip()[1:] if relative else text.strip()
    try:
        value = float(number)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise ValueError(f"budget {text!r} is impossible: give a positive FLOP count (e.g. 2e12) "
                         "or xK for K times the profile's budget (e.g. x2)")
    return value, relative


def resolve_budget(profile: str, override: tuple[float, bool] | None) -> float | None:
    """The training budget in FLOPs of a learned cell of `profile` (None: the recipe's own steps)."""
    base = PROFILES[profile].train_flops
    if override is None:
        return base
    value, relative = override
    if not relative:
        return value
    if base is None:
        raise ValueError(f"profile {profile!r} has no training budget to multiply (each recipe keeps its own "
                         "steps): give --budget as a FLOP count, e.g. 1e15")
    return value * base
