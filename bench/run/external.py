"""Models that live outside this repository: export the test inputs exactly as cells see them, then score
the model's outputs (a folder of wavs, or a Python callable run on each input) with the code that scores
the suite's own cells (bench/run/cell.score_cell), into an ordinary cell record.

    <out>/<dataset>/<protocol slug>/manifest.csv      id, lr_path, low_sr, target_sr, out_samples, protocol,
                                    lr/<id>.wav         profile, data hash; LR test inputs at the low rate
                                    hr/<id>.wav         (--with-hr) the references, at the target rate
    <outputs>/<id>.wav                                  one protocol: the model's outputs at the target rate
    <outputs>/<dataset>/<protocol slug>/sr/<id>.wav     several protocols at once (export's layout)

An external cell is keyed by what it scores: the SHA-256 of every output file, or the callable's source
file hash and arguments, so a changed output or model is a new cell. A submission with any problem
(missing item, wrong rate, length beyond LENGTH_TOLERANCE, non-finite samples, unreadable file) is
refused as a whole, naming every file, and nothing is recorded.
"""
from __future__ import annotations

import csv
import hashlib
import importlib
import inspect
import io
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from bench.core.files import atomic_write
from bench.core.records import run_exclusive, run_recorded
from bench.core.spec import CellSpec, Protocol, SpecError
from bench.core.store import Store
from bench.data import Pairs
from bench.run.cell import base_record, score_cell, test_pairs
from bench.run.evaluate import score_files
from bench.signal.audio import AudioError, read_audio, write_audio

# Outputs may differ from the expected length by this many samples at the target rate (a model's own
# padding or framing); they are trimmed or zero-padded to it, and the record lists which. More is an error.
LENGTH_TOLERANCE = 8
MANIFEST = "manifest.csv"
SHOWN = 10  # problems named one by one before "... and N more"


def protocol_slug(proto: Protocol) -> str:
    """A folder name for one protocol: 'R2-8000-16000-cheby1'."""
    return f"R{proto.scale}-{proto.low_sr}-{proto.target_sr}-{proto.lowpass}"


def external_spec(planned: CellSpec, name: str, external: dict[str, Any]) -> CellSpec:
    """The cell of model `name` on `planned`'s dataset and protocol (a planned cell of any method: its data
    and scoring hashes are what an external cell shares with the suite's own), keyed by `external`."""
    return replace(planned, method=name, method_config={}, code_hash="", eval_repeats=1, train_budget=None,
                   external=external)


# --- export ------------------------------------------------------------------------------------------

def export_protocol(spec: CellSpec, store: Store, out: Path, with_hr: bool) -> Path:
    """Write the LR test inputs (and with `with_hr` the references) of `spec`'s (dataset, protocol) as
    float WAV under out/<dataset>/<slug>/, with manifest.csv; -> the manifest's path."""
    proto, pairs = spec.protocol, test_pairs(spec, store)
    folder = out / spec.dataset / protocol_slug(proto)
    rows = []
    for item_id, lr, hr in zip(pairs.ids, pairs.lr, pairs.hr):
        write_audio(folder / "lr" / f"{item_id}.wav", lr, proto.low_sr)
        row = {"id": item_id, "lr_path": f"lr/{item_id}.wav", "low_sr": proto.low_sr, "target_sr": proto.target_sr,
               "out_samples": len(hr), "scale": proto.scale, "lowpass": proto.lowpass,
               "upsampler": proto.upsampler, "dataset": spec.dataset, "profile": spec.profile,
               "data_hash": spec.data_hash}
        if with_hr:
            write_audio(folder / "hr" / f"{item_id}.wav", hr, proto.target_sr)
            row["hr_path"] = f"hr/{item_id}.wav"
        rows.append(row)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write(folder / MANIFEST, lambda tmp: tmp.write_text(buf.getvalue()))
    return folder / MANIFEST


# --- outputs ------------------------------------------------------------------------------------------

@dataclass
class Submission:
    """A model's outputs for one (dataset, protocol), checked: (T_i,) float32 at the target rate each."""

    spec: CellSpec
    pairs: Pairs
    estimates: list[np.ndarray]
    infer_s: float | None = None       # seconds the callable took (None: outputs made elsewhere)
    fitted: dict[str, int] | None = None  # item id -> samples trimmed (< 0) or padded (> 0)


def outputs_folder(outputs: Path, spec: CellSpec, several: bool) -> Path:
    """Where the outputs of `spec`'s protocol lie: <outputs>/<dataset>/<slug>/sr/ when that exists (export's
    layout); else <outputs> itself, which is only unambiguous when one protocol is scored."""
    nested = outputs / spec.dataset / protocol_slug(spec.protocol) / "sr"
    if nested.is_dir():
        return nested
    if several:
        raise SpecError(f"{outputs} has no {nested.relative_to(outputs)}/: scoring several protocols needs the "
                        "outputs of each in <outputs>/<dataset>/<protocol>/sr/<id>.wav (the layout `bench export` "
                        "writes), or score one protocol at a time with --datasets/--scales")
    return outputs


def fit_length(x: np.ndarray, expected: int, item_id: str, fitted: dict[str, int]) -> np.ndarray:
    """`x` trimmed or zero-padded to `expected` samples; a difference is noted in `fitted` (item id ->
    samples added (> 0) or removed (< 0))."""
    diff = expected - len(x)
    if diff:
        fitted[item_id] = diff
    return np.concatenate([x, np.zeros(diff, dtype=np.float32)]) if diff > 0 else x[:expected]


def check_output(audio: np.ndarray, sr: int, channels: int, expected: int, target_sr: int) -> str | None:
    """What is wrong with one output (None: usable after `fit_length`)."""
    if sr != target_sr:
        return f"is at {sr} Hz, not the target rate {target_sr} Hz"
    if channels != 1:
        return f"has {channels} channels: write mono"
    if abs(len(audio) - expected) > LENGTH_TOLERANCE:
        return (f"has {len(audio)} samples, expected {expected} (the HR length; at most {LENGTH_TOLERANCE} "
                "samples more or fewer are trimmed or padded)")
    if not np.isfinite(audio).all():
        return "contains NaN or infinite samples"
    return None


def refuse(problems: list[str], what: str) -> None:
    """SpecError listing the first SHOWN problems and the count, if there are any."""
    if problems:
        more = f"\n  ... and {len(problems) - SHOWN} more" if len(problems) > SHOWN else ""
        raise SpecError(f"{len(problems)} {what}; nothing was recorded:\n  " + "\n  ".join(problems[:SHOWN]) + more)


def read_outputs(folder: Path, spec: CellSpec, pairs: Pairs) -> tuple[Submission, dict[str, str]]:
    """Read and check every output of `pairs` from `folder` -> (the submission, item id -> SHA-256).
    SpecError naming each missing or unusable file."""
    missing = [i for i in pairs.ids if not (folder / f"{i}.wav").is_file()]
    if missing:
        ids = ", ".join(missing[:SHOWN]) + (f" ... ({len(missing)} in all)" if len(missing) > SHOWN else "")
        raise SpecError(f"{len(missing)} of {len(pairs)} outputs are missing from {folder} (expected <id>.wav at "
                        f"{spec.protocol.target_sr} Hz for every id of the manifest): {ids}; nothing was recorded")
    estimates, digests, fitted, problems = [], {}, {}, []
    for item_id, hr in zip(pairs.ids, pairs.hr):
        path = folder / f"{item_id}.wav"
        try:
            audio, sr, channels = read_audio(path, truncated="error")
        except AudioError as exc:
            problems.append(str(exc))
            continue
        wrong = check_output(audio, sr, channels, len(hr), spec.protocol.target_sr)
        if wrong:
            problems.append(f"{path} {wrong}")
            continue
        estimates.append(fit_length(audio, len(hr), item_id, fitted))
        digests[item_id] = hashlib.sha256(path.read_bytes()).hexdigest()
    refuse(problems, f"output file(s) in {folder} cannot be scored")
    return Submission(spec, pairs, estimates, fitted=fitted), digests


# --- callables ----------------------------------------------------------------------------------------

def load_callable(target: str, args: dict[str, str]) -> tuple[Callable[..., Any], dict[str, Any]]:
    """`package.module:function` -> (the function, {"target", "source_sha256", "args"} for the key).
    With `args`, `function(**args)` is a factory that returns the function (e.g. loads a checkpoint once)."""
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise SpecError(f"--callable {target!r} is malformed: write package.module:function")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - any failure to import the user's module is this flag's error
        raise SpecError(f"--callable {target}: cannot import {module_name!r} ({type(exc).__name__}: {exc}); "
                        "make it importable (e.g. PYTHONPATH=DIR)") from None
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise SpecError(f"--callable {target}: {module_name} has no function {attr!r}")
    source = Path(inspect.getsourcefile(module) or "")
    digest = hashlib.sha256(source.read_bytes()).hexdigest() if source.is_file() else ""
    if args:
        try:
            fn = fn(**args)
        except Exception as exc:  # noqa: BLE001 - the user's factory failing is this flag's error
            raise SpecError(f"--callable {target} with --callable-arg {args}: the factory raised "
                            f"{type(exc).__name__}: {exc}") from None
        if not callable(fn):
            raise SpecError(f"--callable {target}: called with --callable-arg it returned {type(fn).__name__}, "
                            "not a function lr -> sr")
    return fn, {"target": target, "source_sha256": digest, "args": dict(sorted(args.items()))}


def run_callable(fn: Callable[..., Any], spec: CellSpec, pairs: Pairs) -> Submission:
    """Call `fn(lr float32 (T_low,), low_sr, target_sr) -> (T,)` on every test input, timed like a cell's
    inference; SpecError naming each item whose output is unusable."""
    proto = spec.protocol
    estimates, fitted, problems, infer_s = [], {}, [], 0.0
    for item_id, lr, hr in zip(pairs.ids, pairs.lr, pairs.hr):
        t0 = time.perf_counter()
        out = np.asarray(fn(np.ascontiguousarray(lr, dtype=np.float32), proto.low_sr, proto.target_sr), np.float32)
        infer_s += time.perf_counter() - t0
        wrong = (f"returned an array of shape {out.shape}, not 1-D" if out.ndim != 1 else
                 check_output(out, proto.target_sr, 1, len(hr), proto.target_sr))
        if wrong:
            problems.append(f"item {item_id}: the callable {wrong}")
            continue
        estimates.append(fit_length(out, len(hr), item_id, fitted))
    refuse(problems, "output(s) of the callable cannot be scored")
    return Submission(spec, pairs, estimates, infer_s, fitted)


# --- recording ----------------------------------------------------------------------------------------

def record_submission(sub: Submission, store: Store, url: str | None, notes: str | None) -> dict[str, Any]:
    """Score a checked submission with the cells' own scoring code and save it as a cell record (under the
    cell's lock; an identical submission scored before is reused)."""
    spec = sub.spec
    cell_dir = store.cell_dir(spec.key)

    def work() -> dict[str, Any]:
        passes = [score_files(sub.pairs, sub.estimates, spec.protocol.low_sr, spec.protocol.target_sr)]
        return {**score_cell(spec, store, sub.pairs, passes, sub.estimates, sub.infer_s), "kind": "external",
                "url": url or "", "notes": notes or "", "length_fitted": sub.fitted or {}, "params": None,
                "train_s": None, "train_steps": 0}  # nothing trained here: no training cost to show

    return run_exclusive(cell_dir, spec.label, lambda: store.reusable_record(spec.key),
                         lambda: run_recorded(cell_dir, spec.to_dict(), lambda status: base_record(spec, status),
                                              work, store.save_record))
