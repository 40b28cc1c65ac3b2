"""run_cell: the whole life of one SR cell; executors call `run_cell_exclusive`, which runs it under the
cell's lock.

    spec -> prepare pairs -> fit (learned methods) -> super-resolve the test set -> score -> record

Everything the cell produces goes under results/<key>/; record.json is written last and marks the
cell done. An exception anywhere becomes a `failed` record carrying the traceback tail, never a
crash of the driver: the other cells go on (bench/core/records.run_recorded).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bench.core.files import atomic_write
from bench.core.lock import cell_lock
from bench.core.profiles import PROFILES
from bench.core.records import error_fields, log_line, record_fields, run_exclusive, run_recorded
from bench.core.seeds import seed_everything
from bench.core.spec import CellSpec
from bench.core.store import Store
from bench.data import Pairs, load_card, load_pairs
from bench.metrics import scoring
from bench.run.evaluate import evaluate, mean_over_repeats, repeat_spread
from bench.run.train import CHECKPOINT, PROGRESS, Trainer
from bench.signal.audio import write_audio
from methods import load_method_class


def base_record(spec: CellSpec, status: str, device: str = "cpu", **fields: Any) -> dict[str, Any]:
    """The fields every SR record has, whatever its status."""
    return record_fields(spec.key, spec.to_dict(), status, spec.seed, spec.rng_seed, device,
                         protocol=spec.protocol.describe(), command=spec.command, **fields)


def failure_record(spec: CellSpec, exc: BaseException, device: str = "cpu", status: str = "failed") -> dict[str, Any]:
    return base_record(spec, status, device, **error_fields(exc))


def _reset_peak_memory(device: str) -> None:
    """Start the cell's peak-memory window: VmHWM (Linux: writing 5 to clear_refs) and CUDA's peak."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass  # not Linux: ru_maxrss then is the process's peak since it started
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats(device)


def _peak_memory(device: str) -> dict[str, Any]:
    """Peak resident memory of this process since _reset_peak_memory (MB), and CUDA's max allocated."""
    import resource

    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    try:
        hwm = [ln for ln in Path("/proc/self/status").read_text().splitlines() if ln.startswith("VmHWM:")]
        rss_mb = int(hwm[0].split()[1]) / 1024 if hwm else rss_mb
    except OSError:
        pass
    cuda_mb = torch.cuda.max_memory_allocated(device) / 2**20 if device.startswith("cuda") else None
    return {"peak_rss_mb": rss_mb, "peak_cuda_mb": cuda_mb}


def _save_samples(cell_dir: Path, pairs: Pairs, estimates: list[np.ndarray], spec: CellSpec, n: int) -> list[Path]:
    """LR / SR / HR wavs of the first `n` test files and a spectrogram of the first (not keyed: display
    only); -> the files written."""
    from bench.report.plots import spectrogram_figure  # matplotlib only where a figure is drawn

    proto = spec.protocol
    samples = cell_dir / "samples"
    written = []
    for item_id, lr, hr, est in list(zip(pairs.ids, pairs.lr, pairs.hr, estimates))[:n]:
        for name, audio, sr in (("lr", lr, proto.low_sr), ("sr", est, proto.target_sr), ("hr", hr, proto.target_sr)):
            written.append(samples / f"{item_id}_{name}.wav")
            write_audio(written[-1], audio, sr)
    written.append(samples / f"{pairs.ids[0]}_spectrogram.png")
    panels = [("LR", pairs.lr[0], proto.low_sr), (spec.method, estimates[0], proto.target_sr),
              ("HR", pairs.hr[0], proto.target_sr)]
    spectrogram_figure([panels], max_hz=proto.target_sr / 2, path=written[-1], title=f"{spec.dataset}, {proto.describe()}")
    return written


def test_pairs(spec: CellSpec, store: Store) -> Pairs:
    """The test pairs a cell of `spec` scores on: its corpus, protocol and the profile's item count."""
    return load_pairs(load_card(spec.dataset), "test", spec.protocol, store.cache_dir,
                      PROFILES[spec.profile].max_items["test"])


def _run(spec: CellSpec, store: Store, cell_dir: Path, device: str) -> dict[str, Any]:
    proto = spec.protocol
    profile = PROFILES[spec.profile]
    seed_everything(spec.rng_seed)
    _reset_peak_memory(device)
    card = load_card(spec.dataset)
    test = test_pairs(spec, store)  # proto.lowpass: the test filter
    if len(test) == 0:
        raise ValueError(f"dataset {spec.dataset!r} has an empty test split: add test files")
    cls = load_method_class(spec.method)
    method = cls(cls.config_from_dict(spec.method_config), proto)
    log_line(cell_dir, f"start {spec.label} on {device}")
    training: dict[str, Any] = {"train_s": 0.0, "train_steps": 0, "train_flops": 0.0, "train_audio_s": 0.0}
    if cls.trainable:
        train, valid = (load_pairs(card, split, proto.for_training(), store.cache_dir, profile.max_items[split])
                        for split in ("train", "valid"))
        train_dir = store.train_dir(spec.training_key)
        # Cells sharing one training (same model, another test filter) wait for it rather than repeat it.
        with cell_lock(train_dir, notify=lambda who: log_line(cell_dir, f"waiting for the shared training ({who})")):
            trainer = Trainer(method.config.train, train_dir, spec.rng_seed, device,
                              log=lambda m: log_line(cell_dir, m), progress_path=cell_dir / PROGRESS,
                              budget=spec.train_budget)
            training = {**dataclasses.asdict(trainer.fit(method, train, valid)), "train_key": spec.training_key}

    passes, estimates, infer_s = evaluate(method, test, spec, device)
    scores = score_cell(spec, store, test, passes, estimates, infer_s)
    if cls.trainable:  # the weights `enhance` and downstream load: vouched for like the cell's own files
        scores["outputs"].append(str((store.train_dir(spec.training_key) / CHECKPOINT).relative_to(store.root)))
    return {**scores, "params": method.num_parameters(), **training, "inference_steps": method.inference_steps,
            **_peak_memory(device)}


def score_cell(spec: CellSpec, store: Store, test: Pairs, passes: list, estimates: list[np.ndarray],
               infer_s: float | None) -> dict[str, Any]:
    """The record fields every scored cell shares, the suite's methods and external models alike: summary
    metrics with CIs, per-band LSD, the spread over evaluation passes, inference speed (None when the
    outputs were made elsewhere), and `outputs`, the files the record vouches for (paths under the
    results root: a run recomputes a cell that lost one). Writes files.csv and the samples.

    `passes`: one per-file table per evaluation pass (bench.run.evaluate.score_files); `estimates`: the
    first pass's (T_i,) outputs at the target rate."""
    proto = spec.protocol
    cell_dir = store.cell_dir(spec.key)
    audio_s = sum(len(hr) for hr in test.hr) / proto.target_sr
    samples = _save_samples(cell_dir, test, estimates, spec, PROFILES[spec.profile].sample_files)
    timing = f" in {infer_s:.2f} s" if infer_s is not None else ""
    log_line(cell_dir, f"scored {len(test)} files ({audio_s:.1f} s of audio) x {len(passes)}{timing}")
    files = mean_over_repeats(passes)
    atomic_write(cell_dir / "files.csv", lambda tmp: files.to_csv(tmp, index=False))
    summary = scoring.summarise_files(files, proto.target_sr, seed=spec.rng_seed)  # metrics, lsd_bands, ...
    return {**summary, "repeats": repeat_spread(passes), "n_files": len(test),
            "metric_errors": int((files["error"] != "").sum()), "infer_s": infer_s,
            "infer_rtf": infer_s / (audio_s * len(passes)) if infer_s is not None else None,
            "outputs": [str(path.relative_to(store.root)) for path in [cell_dir / "files.csv", *samples]]}


def run_cell(spec: CellSpec, results_root: str | Path, *, num_threads: int = 1, device: str = "cpu") -> dict[str, Any]:
    """Run one cell and return its record (also saved as results/<key>/record.json)."""
    torch.set_num_threads(max(1, int(num_threads)))  # as many threads as CPUs granted to the cell
    store = Store(results_root)
    cell_dir = store.cell_dir(spec.key)
    return run_recorded(cell_dir, spec.to_dict(), lambda status: base_record(spec, status, device),
                        lambda: _run(spec, store, cell_dir, device), store.save_record)


def run_cell_exclusive(spec: CellSpec, results_root: str | Path, *, num_threads: int = 1,
                       device: str = "cpu") -> dict[str, Any]:
    """`run_cell` under the cell's lock; reuses a record another process wrote meanwhile (core/records.py)."""
    store = Store(results_root)
    return run_exclusive(store.cell_dir(spec.key), spec.label, lambda: store.reusable_record(spec.key),
                         lambda: run_cell(spec, results_root, num_threads=num_threads, device=device))
