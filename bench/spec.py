"""The cell specification: what one benchmark cell is, and its content-hash key.

A *cell* is one (method, dataset, protocol, profile, seed). Everything that changes a cell's
result is in its spec, so the key (sha256 of canonical JSON) names the result uniquely:
the order of command-line arguments never changes a key, and editing a method's source does.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

# Seed paper (TFDFE-ASR, Table 1) rates: R=2: 8 -> 16 kHz, R=4: 4 -> 16 kHz, R=6: 4 -> 24 kHz.
PAPER_TARGET_SR: dict[int, int] = {2: 16000, 4: 16000, 6: 24000}
LOWPASS_KINDS = ("cheby1", "decimate", "stft", "sinc")
UPSAMPLER_KINDS = ("spline", "sinc", "linear")
PROFILES = ("smoke", "quick", "paper")


class SpecError(ValueError):
    """Bad user input (unknown name, impossible scale, unusable file): the message names the thing and
    the fix. The CLI prints it as one line and exits 2; anything else is a bug and keeps its traceback."""


@dataclass(frozen=True)
class Protocol:
    """How an LR/HR pair is made: HR at `target_sr`, LR = low-pass + keep every `scale`-th sample."""

    scale: int
    target_sr: int
    lowpass: str = "cheby1"
    upsampler: str = "spline"  # what "the unprocessed input" row and input-interpolating methods use

    def __post_init__(self) -> None:
        if not isinstance(self.scale, int) or isinstance(self.scale, bool) or self.scale < 2:
            raise SpecError(f"scale {self.scale!r} is impossible: the upscaling ratio R must be an integer >= 2")
        if self.target_sr % self.scale:
            raise SpecError(
                f"scale {self.scale} does not divide target rate {self.target_sr} Hz: "
                f"pick --target-sr as a multiple of {self.scale} (e.g. {self.scale * 8000})"
            )
        if self.lowpass not in LOWPASS_KINDS:
            raise SpecError(f"unknown low-pass {self.lowpass!r}; choose one of {', '.join(LOWPASS_KINDS)}")
        if self.upsampler not in UPSAMPLER_KINDS:
            raise SpecError(f"unknown upsampler {self.upsampler!r}; choose one of {', '.join(UPSAMPLER_KINDS)}")

    @property
    def low_sr(self) -> int:
        return self.target_sr // self.scale

    @classmethod
    def for_scale(cls, scale: int, target_sr: int | None = None, lowpass: str = "cheby1") -> "Protocol":
        """The paper's rates for `scale` unless `target_sr` overrides them."""
        if target_sr is None:
            if scale not in PAPER_TARGET_SR:
                raise SpecError(
                    f"scale {scale} has no paper default target rate (known: {sorted(PAPER_TARGET_SR)}); "
                    "pass --target-sr explicitly"
                )
            target_sr = PAPER_TARGET_SR[scale]
        return cls(scale=scale, target_sr=target_sr, lowpass=lowpass)

    def describe(self) -> str:
        return (f"R={self.scale}: {self.low_sr / 1000:g} -> {self.target_sr / 1000:g} kHz, "
                f"low-pass {self.lowpass}, input upsampler {self.upsampler}")


@dataclass(frozen=True)
class CellSpec:
    """One benchmark cell. `seed` is the user's seed; the cell's own RNG seed derives from the key."""

    method: str
    dataset: str
    protocol: Protocol
    profile: str = "quick"
    seed: int = 0
    # Filled by the harness before keying: the resolved method config and a hash of its source.
    method_config: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    code_hash: str = ""

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise SpecError(f"unknown profile {self.profile!r}; choose one of {', '.join(PROFILES)}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "CellSpec":
        d = dict(d)
        d["protocol"] = Protocol(**d["protocol"])
        return cls(**d)

    @property
    def key(self) -> str:
        return content_key(self.to_dict())

    @property
    def label(self) -> str:
        return f"{self.method}/{self.dataset}/R={self.protocol.scale}/{self.profile}/seed={self.seed}"

    @property
    def rng_seed(self) -> int:
        """A 31-bit seed derived from the key: every cell draws different, reproducible noise."""
        return int(self.key[:8], 16) & 0x7FFFFFFF


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def content_key(obj: Any) -> str:
    """First 16 hex digits of the sha256 of the canonical JSON of `obj`."""
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()[:16]
