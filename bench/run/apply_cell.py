"""Applying a finished cell to audio outside the benchmark (`python -m bench enhance`), and rebuilding a
finished cell's method with its trained weights (also for downstream recognition).

The file is read at any rate and in any format soundfile understands, downmixed to mono (with a
warning), brought to the cell's input rate (`cell_input`: through the cell's own degradation from
above, upsampled from below, each with a warning), super-resolved in overlapping chunks (bounded
memory) and written at the cell's target rate in the format of the output's extension. Learned cells load their weights from results/.train/<training key>/checkpoint.pt
(weights_only=True: a checkpoint can carry no code).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.core.files import load_checkpoint
from bench.core.spec import CellSpec, Protocol, SpecError
from bench.core.store import Store
from bench.run.inference import super_resolve
from bench.run.train import CHECKPOINT
from bench.signal.audio import AudioError, read_audio, resample, write_audio
from bench.signal.degrade import degrade
from methods import load_method_class


def find_cell(store: Store, key: str | None = None, method: str | None = None, dataset: str | None = None,
              scale: int | None = None, profile: str | None = None) -> dict[str, Any]:
    """The finished (status ok) record named by `key`, or the one matching method/dataset/scale[/profile]."""
    if key:
        record = store.read_record(key) if len(key) == 16 else None
        if record is None:
            raise SpecError(f"no cell {key!r} in {store.root}: check --cell against results/results.csv "
                            "or pass --results DIR")
        if record["status"] != "ok":
            raise SpecError(f"cell {key} has status {record['status']!r} ({record.get('error', '')}): "
                            "re-run it with `python -m bench run ... --retry-failed`")
        return record
    if not (method and dataset and scale):
        raise SpecError("name the cell: --cell KEY, or --method, --dataset and --scale")
    matches = [r for r in store.records() if r["status"] == "ok" and r["spec"]["method"] == method
               and r["spec"]["dataset"] == dataset and r["spec"]["protocol"]["scale"] == scale
               and (profile is None or r["spec"]["profile"] == profile)]
    if not matches:
        raise SpecError(f"no finished cell for method {method}, dataset {dataset}, R={scale}"
                        f"{f', profile {profile}' if profile else ''} in {store.root}: run "
                        f"`python -m bench run --methods {method} --datasets {dataset} --scales {scale}` first")
    if len(matches) > 1:
        listing = "; ".join(f"{r['key']} ({CellSpec.from_dict(r['spec']).label})" for r in matches)
        raise SpecError(f"{len(matches)} finished cells match: {listing}. Pick one with --cell KEY (or --profile)")
    return matches[0]


def load_cell_method(store: Store, record: dict[str, Any], device: str):
    """The cell's method with its trained weights, on `device`."""
    spec = CellSpec.from_dict(record["spec"])
    cls = load_method_class(spec.method)
    method = cls(cls.config_from_dict(spec.method_config), spec.protocol)
    if cls.trainable:
        path = store.train_dir(record["train_key"]) / CHECKPOINT
        if not path.is_file():
            raise SpecError(f"cell {spec.key} has no {path}: re-run it with `python -m bench run`")
        method.load_state_dict(load_checkpoint(path)["weights"])
        method.to(device)
    return method, spec


# The shortest input enhance accepts, in samples at the cell's input rate: every registered method
# handles it (cubic splines need 4 points, NU-Wave 2's STFT conditioning a few dozen), and anything
# shorter (a few milliseconds) carries no band to extend.
MIN_INPUT_SAMPLES = 64


def check_output_path(input_path: Path, output_path: Path, overwrite: bool) -> None:
    """Refuse an output that is the input file (always) or any existing file (unless `overwrite`):
    enhance never touches what the user already has unless told to."""
    if not output_path.exists():
        return
    if input_path.exists() and output_path.samefile(input_path):  # also through a symlink or hard link
        raise SpecError(f"--output {output_path} is the input file: enhance never overwrites its input; "
                        "pass another --output path")
    if not output_path.is_file():
        raise SpecError(f"--output {output_path} exists and is not a file: pass a file path")
    if not overwrite:
        raise SpecError(f"--output {output_path} exists: pass --overwrite to replace it, or another --output path")


def cell_input(audio: np.ndarray, sr: int, proto: Protocol) -> tuple[np.ndarray, str | None]:
    """(T,) audio at any rate `sr` -> ((T_low,) at the cell's input rate, a warning or None).

    Above the input rate the audio goes to the target rate and through the cell's own degradation
    (its low-pass and decimation), so the model sees input shaped like its training input, at the cost
    of the band above the low-rate Nyquist. Below it the audio is upsampled, and the band between the
    two Nyquists stays empty."""
    if sr == proto.low_sr:
        return audio, None
    if sr > proto.low_sr:
        lr = degrade(resample(audio, sr, proto.target_sr), proto.scale, proto.lowpass).astype(np.float32)
        return lr, (f"the input is at {sr / 1000:g} kHz: its band above {proto.low_sr / 2000:g} kHz (of "
                    f"{sr / 2000:g} kHz) is discarded, low-passed ({proto.lowpass}) and resampled to the cell's input "
                    f"rate {proto.low_sr / 1000:g} kHz as in the cell's protocol")
    return resample(audio, sr, proto.low_sr), (
        f"the input is at {sr / 1000:g} kHz, below the cell's input rate {proto.low_sr / 1000:g} kHz: upsampled to "
        f"it, the band {sr / 2000:g}-{proto.low_sr / 2000:g} kHz stays empty (the model was trained to extend "
        f"from {proto.low_sr / 2000:g} kHz)")


def keeping_cell(store: Store, method: str, sr: int, scale: int) -> str:
    """How to keep the whole band of audio at `sr`: a finished cell of `method` whose input rate is at least
    `sr`, or the command that makes one."""
    fits = sorted((r["spec"]["protocol"]["target_sr"] // r["spec"]["protocol"]["scale"], r["key"])
                  for r in store.records() if r["status"] == "ok" and r["spec"]["method"] == method
                  and r["spec"]["protocol"]["target_sr"] // r["spec"]["protocol"]["scale"] >= sr)
    if fits:
        return f"cell {fits[0][1]} (input rate {fits[0][0] / 1000:g} kHz) keeps it: pass --cell {fits[0][1]}"
    return (f"a cell with input rate {sr / 1000:g} kHz would keep it: `python -m bench run --methods {method} "
            f"--scales {scale} --target-sr {sr * scale}`")


def apply_to_file(store: Store, record: dict[str, Any], input_path: Path, output_path: Path,
                  device: str = "cpu", overwrite: bool = False) -> dict[str, Any]:
    """Super-resolve `input_path` (any rate, see `cell_input`) with the cell of `record` into `output_path`
    (refused when it exists, unless `overwrite`; never the input itself); return a summary."""
    check_output_path(input_path, output_path, overwrite)
    audio, sr, channels = read_audio(input_path)
    method, spec = load_cell_method(store, record, device)
    proto = spec.protocol
    if channels > 1:
        print(f"warning: {input_path} has {channels} channels; enhancing their mean (mono)", file=sys.stderr)
    lr, warning = cell_input(audio, sr, proto)
    if warning:
        keep = f"; {keeping_cell(store, spec.method, sr, proto.scale)}" if sr > proto.low_sr else ""
        print(f"warning: {input_path}: {warning}{keep}", file=sys.stderr)
    if len(lr) < MIN_INPUT_SAMPLES:
        raise AudioError(f"{input_path} is too short to enhance: {len(audio)} samples at {sr} Hz "
                         f"({len(lr)} at the cell's input rate {proto.low_sr} Hz); the minimum is {MIN_INPUT_SAMPLES} "
                         f"samples at {proto.low_sr} Hz ({1000 * MIN_INPUT_SAMPLES / proto.low_sr:.1f} ms). "
                         "Give a longer recording")
    t0 = time.perf_counter()
    est = super_resolve(method, lr, proto, device)
    infer_s = time.perf_counter() - t0
    write_audio(output_path, est, proto.target_sr)
    seconds = len(est) / proto.target_sr
    return {"cell": spec.key, "method": spec.method, "in_sr": sr, "low_sr": proto.low_sr,
            "out_sr": proto.target_sr, "seconds": seconds, "rtf": infer_s / seconds}
