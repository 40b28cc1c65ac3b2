"""The cell specification: what one benchmark cell is, and its content-hash key.

A *cell* is one (method, dataset, protocol, profile, seed). Everything that changes a cell's
result is in its spec, so the key (sha256 of canonical JSON) names the result uniquely:
the order of command-line arguments never changes a key, and editing a method's source does.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from bench.core.hashing import content_key, seed_from_key
from bench.core.profiles import PROFILES

# Seed paper (TFDFE-ASR, Table 1) rates: R=2: 8 -> 16 kHz, R=4: 4 -> 16 kHz, R=6: 4 -> 24 kHz.
PAPER_TARGET_SR: dict[int, int] = {2: 16000, 4: 16000, 6: 24000}
LOWPASS_KINDS = ("cheby1", "decimate", "stft", "sinc", "butter", "bessel", "ellip")
UPSAMPLER_KINDS = ("spline", "sinc", "linear")
DEVICES = ("auto", "cpu", "cuda")  # auto: CUDA where a GPU was granted, else CPU


class SpecError(ValueError):
    """Bad user input (unknown name, impossible scale, unusable file): the message names the thing and
    the fix. The CLI prints it as one line and exits 2; anything else is a bug and keeps its traceback."""


def check_scale(scale: Any) -> int:
    """`scale` if it is a possible upscaling ratio (an integer >= 2), else SpecError saying so."""
    if not isinstance(scale, int) or isinstance(scale, bool) or scale < 2:
        raise SpecError(f"scale {scale!r} is impossible: the upscaling ratio R must be an integer >= 2")
    return scale


@dataclass(frozen=True)
class Protocol:
    """How an LR/HR pair is made: HR at `target_sr`, LR = low-pass + keep every `scale`-th sample."""

    scale: int
    target_sr: int
    lowpass: str = "cheby1"    # the anti-alias filter of the test pairs
    upsampler: str = "spline"  # what "the unprocessed input" row and input-interpolating methods use
    train_lowpass: str | None = None  # the filter of the train/valid pairs when it differs (robustness)

    def __post_init__(self) -> None:
        check_scale(self.scale)
        if self.target_sr % self.scale:
            raise SpecError(
                f"scale {self.scale} does not divide target rate {self.target_sr} Hz: "
                f"pick --target-sr as a multiple of {self.scale} (e.g. {self.scale * 8000})"
            )
        for name in filter(None, (self.lowpass, self.train_lowpass)):
            if name not in LOWPASS_KINDS:
                raise SpecError(f"unknown low-pass {name!r}; choose one of {', '.join(LOWPASS_KINDS)}")
        if self.upsampler not in UPSAMPLER_KINDS:
            raise SpecError(f"unknown upsampler {self.upsampler!r}; choose one of {', '.join(UPSAMPLER_KINDS)}")

    @property
    def low_sr(self) -> int:
        return self.target_sr // self.scale

    @property
    def train_filter(self) -> str:
        return self.train_lowpass or self.lowpass

    def for_training(self) -> "Protocol":
        """The protocol of the train/valid pairs: the same rates, the training filter."""
        return Protocol(self.scale, self.target_sr, self.train_filter, self.upsampler)

    @classmethod
    def for_scale(cls, scale: int, target_sr: int | None = None, lowpass: str = "cheby1",
                  train_lowpass: str | None = None) -> "Protocol":
        """The paper's rates for `scale` unless `target_sr` overrides them."""
        if target_sr is None:
            if scale not in PAPER_TARGET_SR:
                raise SpecError(
                    f"scale {scale} has no paper default target rate (known: {sorted(PAPER_TARGET_SR)}); "
                    "pass --target-sr explicitly"
                )
            target_sr = PAPER_TARGET_SR[scale]
        train_lowpass = train_lowpass if train_lowpass not in (None, lowpass) else None
        return cls(scale=scale, target_sr=target_sr, lowpass=lowpass, train_lowpass=train_lowpass)

    def describe(self) -> str:
        trained = f" (trained on {self.train_lowpass})" if self.train_lowpass else ""
        return (f"R={self.scale}: {self.low_sr / 1000:g} -> {self.target_sr / 1000:g} kHz, "
                f"low-pass {self.lowpass}{trained}, input upsampler {self.upsampler}")


@dataclass(frozen=True)
class CellSpec:
    """One benchmark cell. `seed` is the user's seed; the cell's own RNG seed derives from the key."""

    method: str
    dataset: str
    protocol: Protocol
    profile: str = "quick"
    seed: int = 0
    # Filled by the harness before keying: the resolved method config, a hash of the method's source,
    # a hash of the data (card + the code that makes pairs) and of the scoring code.
    method_config: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    code_hash: str = ""
    data_hash: str = ""
    scoring_hash: str = ""
    # Passes over the test set with fresh sampling noise (stochastic methods; 1 for the others).
    eval_repeats: int = 1
    # Training budget in FLOPs of a learned cell (the profile's, or --budget); None: parameter-free
    # methods, and recipes that keep their own step count (paper).
    train_budget: float | None = None
    # A model outside this repository (`bench score`): {"kind": "outputs", "sha256": {item id: digest}}
    # for a folder of its outputs, {"kind": "callable", "target", "source_sha256", "args"} for a function
    # run on each test item. None for the suite's own methods (and then not keyed).
    external: dict[str, Any] | None = None
    # The command line that planned the cell: kept in its record for the page's "how to reproduce"
    # line; not keyed (two commands asking for one cell share it).
    command: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise SpecError(f"unknown profile {self.profile!r}; choose one of {', '.join(PROFILES)}")
        if not isinstance(self.eval_repeats, int) or isinstance(self.eval_repeats, bool) or self.eval_repeats < 1:
            raise SpecError(f"eval_repeats {self.eval_repeats!r} is impossible: pass --eval-repeats 1 or more")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "CellSpec":
        d = dict(d)
        d["protocol"] = Protocol(**d["protocol"])
        return cls(**d)

    def _keyed(self) -> dict[str, Any]:
        """The spec as keyed: fields at their defaults are left out as before they existed, so the
        cells keyed then stay valid."""
        d = self.to_dict()
        d.pop("command")
        if d["eval_repeats"] == 1:
            d.pop("eval_repeats")
        if d["train_budget"] is None:
            d.pop("train_budget")
        if d["external"] is None:
            d.pop("external")
        return d

    @property
    def key(self) -> str:
        return content_key(self._keyed())

    @property
    def training_key(self) -> str:
        """Names the trained weights: everything that shapes training, nothing that only shapes
        evaluation (test filter, scoring code, evaluation repeats), so cells differing only there
        share one training."""
        d = self._keyed()
        d["protocol"] = dataclasses.asdict(self.protocol.for_training())
        d.pop("scoring_hash")
        d.pop("eval_repeats", None)
        return content_key(d)

    @property
    def label(self) -> str:
        return f"{self.method}/{self.dataset}/R={self.protocol.scale}/{self.profile}/seed={self.seed}"

    @property
    def rng_seed(self) -> int:
        """A 31-bit seed derived from the key: every cell draws different, reproducible noise."""
        return seed_from_key(self.key)
