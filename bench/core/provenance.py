"""What every record carries so a number can be traced: versions, git commit, device, host."""
from __future__ import annotations

import platform
import subprocess
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

REPO_DIR = Path(__file__).resolve().parents[2]
_PACKAGES = ("audio-sr-bench", "torch", "torchaudio", "numpy", "scipy", "librosa", "soundfile", "pandas", "ray")


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=REPO_DIR, capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


@lru_cache(maxsize=1)
def git_state() -> dict[str, Any]:
    commit = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {"git_commit": commit, "git_dirty": bool(status) if status is not None else None}


@lru_cache(maxsize=1)
def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def device_name(device: str) -> str:
    """A human-readable name of the device a cell ran on, e.g. 'cuda:0 NVIDIA H100' or 'cpu x86_64 (2 threads)'."""
    if device.startswith("cuda"):
        return f"{device} {torch.cuda.get_device_name(torch.device(device))}"
    return f"cpu {platform.machine()} ({torch.get_num_threads()} threads)"


def provenance(device: str) -> dict[str, Any]:
    return {**git_state(), "versions": versions(), "device": device_name(device), "host": platform.node()}
