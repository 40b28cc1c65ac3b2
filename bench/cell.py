"""run_cell: the whole life of one cell. The only function an executor ever calls.

    spec -> prepare pairs -> fit (learned methods) -> enhance test set -> score -> record

Everything the cell produces goes under results/<key>/; record.json is written last and marks the
cell done. An exception anywhere becomes a `failed` record carrying the traceback tail, never a
crash of the driver: the other cells go on.
"""
from __future__ import annotations

import dataclasses
import random
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from bench import metrics
from bench.audio import write_audio
from bench.data import load_card, load_pairs
from bench.inference import enhance_file
from bench.profiles import PROFILES
from bench.provenance import provenance
from bench.spec import CellSpec
from bench.store import Store, atomic_write, write_json
from methods import load_method_class

TRACEBACK_LINES = 25


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def log_line(cell_dir: Path, message: str) -> None:
    """Append a time-stamped line to the cell folder's log.txt."""
    with (cell_dir / "log.txt").open("a") as fh:
        fh.write(f"{datetime.now(timezone.utc).isoformat(timespec='seconds')} {message}\n")


def base_record(spec: CellSpec, status: str, device: str = "cpu", **fields: Any) -> dict[str, Any]:
    """The fields every record has, whatever its status."""
    return {"key": spec.key, "spec": spec.to_dict(), "status": status, "seed": spec.seed,
            "rng_seed": spec.rng_seed, "protocol": spec.protocol.describe(),
            "provenance": provenance(device), **fields}


def error_fields(exc: BaseException) -> dict[str, str]:
    """A failed record's `error` (one line) and `traceback` (its last TRACEBACK_LINES lines)."""
    tb = "".join(traceback.format_exception(exc)).strip().splitlines()[-TRACEBACK_LINES:]
    return {"error": f"{type(exc).__name__}: {exc}".splitlines()[0], "traceback": "\n".join(tb)}


def failure_record(spec: CellSpec, exc: BaseException, device: str = "cpu", status: str = "failed") -> dict[str, Any]:
    return base_record(spec, status, device, **error_fields(exc))


def _score_files(pairs, estimates: list[np.ndarray], low_sr: int, target_sr: int) -> pd.DataFrame:
    """One row per test file: every LSD convention, per-band LSD, PESQ/STOI where installed; a metric
    that fails is NaN with the reason in `error`, never 0 (metrics.score_file)."""
    rows = [{"file": item_id, **metrics.score_file(est, hr, low_sr, target_sr)}
            for item_id, hr, est in zip(pairs.ids, pairs.hr, estimates)]
    return pd.DataFrame(rows, columns=metrics.file_columns())


def repeat_seed(cell_seed: int, repeat: int) -> int:
    """The 31-bit sampling seed of evaluation pass `repeat` of a cell: distinct per pass, fixed by the cell."""
    return int(np.random.SeedSequence([cell_seed, repeat]).generate_state(1)[0]) & 0x7FFFFFFF


def _mean_over_repeats(passes: list[pd.DataFrame]) -> pd.DataFrame:
    """Per-file table of the mean over evaluation passes (the only pass when there is one); errors joined."""
    if len(passes) == 1:
        return passes[0]
    stacked = pd.concat(passes)
    numeric = [c for c in passes[0].columns if c not in ("file", "error")]
    files = stacked.groupby("file", sort=False)[numeric].mean().reset_index()
    errors = stacked.groupby("file", sort=False)["error"].agg(lambda e: "; ".join(sorted(set(e) - {""})))
    files["error"] = errors.to_numpy()  # same first-appearance file order as `files`
    return files[passes[0].columns]


def _repeat_spread(passes: list[pd.DataFrame]) -> dict[str, Any]:
    """{n, metrics: {name: {mean, std, values}}}: each pass's mean over files, their mean and spread."""
    spread = {}
    for name in metrics.METRIC_NAMES:
        values = [float(p[name].mean()) for p in passes]
        spread[name] = {"mean": float(np.mean(values)), "std": float(np.std(values, ddof=1)) if len(values) > 1
                        else float("nan"), "values": values}
    return {"n": len(passes), "metrics": spread}


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


def _save_samples(cell_dir: Path, pairs, estimates: list[np.ndarray], spec: CellSpec, n: int) -> None:
    from bench.plots import spectrogram_figure  # matplotlib only where a figure is drawn

    proto = spec.protocol
    samples = cell_dir / "samples"
    for item_id, lr, hr, est in list(zip(pairs.ids, pairs.lr, pairs.hr, estimates))[:n]:
        write_audio(samples / f"{item_id}_lr.wav", lr, proto.low_sr)
        write_audio(samples / f"{item_id}_sr.wav", est, proto.target_sr)
        write_audio(samples / f"{item_id}_hr.wav", hr, proto.target_sr)
    panels = [("LR", pairs.lr[0], proto.low_sr), (spec.method, estimates[0], proto.target_sr),
              ("HR", pairs.hr[0], proto.target_sr)]
    spectrogram_figure([panels], max_hz=proto.target_sr / 2, path=samples / f"{pairs.ids[0]}_spectrogram.png",
                       title=f"{spec.dataset}, {proto.describe()}")


def _evaluate(method, test, spec: CellSpec, cell_dir: Path, device: str,
              sample_files: int) -> tuple[list[pd.DataFrame], float]:
    """Enhance and score the test set `spec.eval_repeats` times -> (per-file table per pass, seconds
    spent enhancing). A stochastic method (one with `reseed`, e.g. methods/baselines/diffusion.py)
    samples each pass with its own noise, fixed by the cell seed; the first pass's samples are kept."""
    proto = spec.protocol
    infer_s, passes = 0.0, []
    for repeat in range(spec.eval_repeats):
        if hasattr(method, "reseed"):
            method.reseed(repeat_seed(spec.rng_seed, repeat))
        t0 = time.perf_counter()
        estimates = [enhance_file(method, lr, proto, device) for lr in test.lr]
        infer_s += time.perf_counter() - t0
        for item_id, hr, est in zip(test.ids, test.hr, estimates):
            if est.shape != hr.shape or not np.isfinite(est).all():
                raise ValueError(f"{spec.method} returned {est.shape} samples for {item_id} (expected {hr.shape}) "
                                 "or non-finite values: the method's enhance() is broken")
        passes.append(_score_files(test, estimates, proto.low_sr, proto.target_sr))
        if repeat == 0:
            _save_samples(cell_dir, test, estimates, spec, sample_files)
    return passes, infer_s


def _run(spec: CellSpec, store: Store, cell_dir: Path, device: str) -> dict[str, Any]:
    proto = spec.protocol
    profile = PROFILES[spec.profile]
    seed_everything(spec.rng_seed)
    _reset_peak_memory(device)
    card = load_card(spec.dataset)
    test = load_pairs(card, "test", proto, store.cache_dir, profile.max_items["test"])  # proto.lowpass: test filter
    if len(test) == 0:
        raise ValueError(f"dataset {spec.dataset!r} has an empty test split: add test files")
    cls = load_method_class(spec.method)
    method = cls(cls.config_from_dict(spec.method_config), proto)
    log_line(cell_dir, f"start {spec.label} on {device}")
    training: dict[str, Any] = {"train_s": 0.0}
    if cls.trainable:
        from bench.lock import cell_lock  # only learned cells pay for the training machinery
        from bench.train import PROGRESS, Trainer

        train, valid = (load_pairs(card, split, proto.for_training(), store.cache_dir, profile.max_items[split])
                        for split in ("train", "valid"))
        train_dir = store.train_dir(spec.training_key)
        # Cells sharing one training (same model, another test filter) wait for it rather than repeat it.
        with cell_lock(train_dir, notify=lambda who: log_line(cell_dir, f"waiting for the shared training ({who})")):
            trainer = Trainer(method.config.train, train_dir, spec.rng_seed, device,
                              log=lambda m: log_line(cell_dir, m), progress_path=cell_dir / PROGRESS)
            training = {**dataclasses.asdict(trainer.fit(method, train, valid)), "train_key": spec.training_key}

    audio_s = sum(len(hr) for hr in test.hr) / proto.target_sr
    passes, infer_s = _evaluate(method, test, spec, cell_dir, device, profile.sample_files)
    log_line(cell_dir, f"enhanced {len(test)} files ({audio_s:.1f} s of audio) x {spec.eval_repeats} in {infer_s:.2f} s")

    files = _mean_over_repeats(passes)
    atomic_write(cell_dir / "files.csv", lambda tmp: files.to_csv(tmp, index=False))
    summary = metrics.summarise_files(files, proto.target_sr, seed=spec.rng_seed)  # metrics, lsd_bands, ...
    return {**summary, "repeats": _repeat_spread(passes), "n_files": len(test),
            "metric_errors": int((files["error"] != "").sum()), "params": method.num_parameters(), **training,
            "inference_steps": getattr(method, "inference_steps", None), "infer_s": infer_s,
            "infer_rtf": infer_s / (audio_s * spec.eval_repeats), **_peak_memory(device)}


def run_cell(spec: CellSpec, results_root: str | Path, *, num_threads: int = 1, device: str = "cpu") -> dict[str, Any]:
    """Run one cell and return its record (also saved as results/<key>/record.json)."""
    torch.set_num_threads(max(1, int(num_threads)))  # as many threads as CPUs granted to the cell
    store = Store(results_root)
    cell_dir = store.cell_dir(spec.key)
    cell_dir.mkdir(parents=True, exist_ok=True)
    write_json(cell_dir / "spec.json", spec.to_dict())
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    try:
        record = base_record(spec, "ok", device, **_run(spec, store, cell_dir, device))
    except Exception as exc:  # noqa: BLE001 - a failing cell is a record, never a crash of the run
        log_line(cell_dir, f"failed: {type(exc).__name__}: {exc}")
        record = failure_record(spec, exc, device)
    record.update(started=started, wall_s=time.perf_counter() - t0)
    store.save_record(record)
    log_line(cell_dir, f"done: {record['status']} in {record['wall_s']:.2f} s")
    return record
