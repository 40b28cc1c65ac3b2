"""The results store: one folder per cell under the results root, atomic writes.

    results/<key>/spec.json     resolved spec (method config and code hash included)
                  record.json   status, metrics, timings, provenance (written last: it marks done)
                  files.csv     per-file metrics
                  samples/      LR / SR / HR wavs of the first test files + a spectrogram PNG
                  log.txt, .lock (the per-cell lock, bench/core/lock.py)
    results/results.csv         one row per cell (bench/report/results_csv.py)
    results/.train/<training key>/   checkpoint.pt, train_log.csv of one training, shared by the cells
                                     that differ only in how they are evaluated
    results/.downstream/<key>/  one downstream classifier cell: record.json, classifier.pt, log.txt
    results/.slurm/<run-id>/    jobs.json (SLURM job id -> cell) and submitit's files of one SLURM run
    results/.cache/             prepared corpora and LR/HR pairs (derived data, safe to delete)

Nothing is ever written outside the root; every write goes to a temp file renamed into place,
so a killed driver or worker never leaves a half-written file that looks finished.
"""
from __future__ import annotations

import errno
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from bench.core.files import read_json, write_json
from bench.core.spec import SpecError

# cancelled: its SLURM job was cancelled (`bench cancel`, scancel) before it recorded anything else;
# like failed and timeout it is kept until `--retry-failed` re-runs it.
STATUSES = ("ok", "failed", "infeasible", "timeout", "cancelled")
RETRYABLE = ("failed", "timeout", "cancelled")
_KEY_RE = re.compile(r"^[0-9a-f]{16}$")

# errno values that mean "this folder cannot take our writes": permissions, read-only, full, quota.
WRITE_ERRNOS = (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT)
# Refuse to start a run with less free space than this (MiB; BENCH_MIN_FREE_MB overrides).
MIN_FREE_MB = float(os.environ.get("BENCH_MIN_FREE_MB", "50"))


class StoreWriteError(SpecError):
    """The results folder cannot be written (permissions, read-only, full); the message says what to do."""


def describe_write_error(exc: OSError, root: Path | str) -> str:
    what = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is exhausted",
            errno.EROFS: "the filesystem is read-only", errno.ENOTDIR: "a path on the way is not a directory",
            errno.EEXIST: "it exists and is not a directory"}.get(exc.errno, "permission denied")
    where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
    return (f"cannot write to the results folder {root}: {what}{where} [{exc.strerror or exc}]. "
            "Free space or fix permissions, or pass --results DIR on a writable filesystem; "
            "records already written are intact (every write is a temp file renamed into place)")


def _checked_key(key: str) -> str:
    if not _KEY_RE.match(key):  # keys come from sha256; anything else could escape the root
        raise ValueError(f"invalid cell key {key!r}: expected 16 lowercase hex digits")
    return key


class Store:
    """The results root. Cell folders are named by their 16-hex-digit key and nothing else."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root).resolve()

    @property
    def cache_dir(self) -> Path:
        return self.root / ".cache"

    @property
    def csv_path(self) -> Path:
        return self.root / "results.csv"

    def check_writable(self, min_free_mb: float = MIN_FREE_MB) -> None:
        """Before work starts: the root exists (created if needed), takes a file, and has some free
        space; StoreWriteError with what to do otherwise. Nothing is left behind."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(dir=self.root, prefix=".write-probe.", suffix=".tmp")
            try:
                os.write(fd, b"\0" * 4096)
                os.fsync(fd)
            finally:
                os.close(fd)
                os.unlink(probe)
        except OSError as exc:
            if exc.errno in WRITE_ERRNOS or exc.errno in (errno.ENOTDIR, errno.EEXIST):
                raise StoreWriteError(describe_write_error(exc, self.root)) from None
            raise
        free_mb = shutil.disk_usage(self.root).free / 2**20
        if free_mb < min_free_mb:
            raise StoreWriteError(describe_write_error(
                OSError(errno.ENOSPC, f"only {free_mb:.1f} MiB free, at least {min_free_mb:g} MiB needed"), self.root))

    def cell_dir(self, key: str) -> Path:
        return self.root / _checked_key(key)

    def train_dir(self, training_key: str) -> Path:
        """Checkpoints and train log of one training run, shared by every cell that differs from
        another only in how it is evaluated (test filter, scoring code): they never train twice."""
        return self.root / ".train" / _checked_key(training_key)

    def read_record(self, key: str) -> dict[str, Any] | None:
        path = self.cell_dir(key) / "record.json"
        if not path.is_file():
            return None
        try:
            return read_json(path)
        except json.JSONDecodeError:
            return None  # cannot happen with atomic writes, but a hand-edited file must not crash a run

    def save_record(self, record: dict[str, Any]) -> None:
        if record["status"] not in STATUSES:
            raise ValueError(f"unknown status {record['status']!r}")
        write_json(self.cell_dir(record["key"]) / "record.json", record)

    def records(self) -> list[dict[str, Any]]:
        out = []
        if self.root.is_dir():
            for path in sorted(self.root.glob("*/record.json")):
                if _KEY_RE.match(path.parent.name):
                    rec = self.read_record(path.parent.name)
                    if rec is not None:
                        out.append(rec)
        return out
