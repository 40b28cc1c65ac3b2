"""Seeding every generator a cell draws from (the seed itself derives from the cell's key:
bench.core.hashing.seed_from_key)."""
from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed Python's, numpy's and torch's global generators."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
