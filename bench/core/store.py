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


def describe_write_error(exc: OSError, root: Path | str, flag: str = "--results") -> str:
    """One line for a folder that refused a write: which folder, why, and what to do."""
    what = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is exhausted",
            errno.EROFS: "the filesystem is read-only", errno.ENOTDIR: "a path on the way is not a directory",
            errno.EEXIST: "it exists and is not a directory",
            errno.ENOENT: "it cannot be created there (a pseudo-filesystem such as /proc, or a vanished parent)",
            }.get(exc.errno, "permission denied" if exc.errno in (errno.EACCES, errno.EPERM) else "the filesystem refused")
    where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
    folder = FOLDER_FLAGS.get(flag, flag)
    return (f"cannot write to the {folder} {root}: {what}{where} [{exc.strerror or exc}]. "
            f"Free space or fix permissions, or pass {flag} DIR on a writable filesystem; "
            "files already written there are intact (every write is a temp file renamed into place)")


FOLDER_FLAGS = {"--results": "results folder", "--leaderboard": "leaderboard folder", "--out": "output folder"}


def check_writable_folder(folder: Path | str, flag: str = "--results", min_free_mb: float = 0.0) -> None:
    """Before work starts: `folder` can be created, takes a file, and has `min_free_mb` free; StoreWriteError
    naming `flag` and what to do otherwise. Nothing is left behind: the probe file and any folder this
    check had to create are removed again (the run creates them when it writes)."""
    folder = Path(folder).resolve()
    created = [p for p in (folder, *folder.parents) if not p.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".write-probe.", suffix=".tmp")
        try:
            os.write(fd, b"\0" * 4096)
            os.fsync(fd)
        finally:
            os.close(fd)
            os.unlink(probe)
        free_mb = shutil.disk_usage(folder).free / 2**20
    except OSError as exc:  # whatever the reason, the folder the user chose cannot hold our files
        raise StoreWriteError(describe_write_error(exc, folder, flag)) from None
    finally:
        for path in created:  # deepest first
            try:
                path.rmdir()
            except OSError:
                pass  # never made, or something else wrote into it meanwhile
    if free_mb < min_free_mb:
        raise StoreWriteError(describe_write_error(
            OSError(errno.ENOSPC, f"only {free_mb:.1f} MiB free, at least {min_free_mb:g} MiB needed"), folder, flag))


def _checked_key(key: str) -> str:
    if not _KEY_RE.match(key):  # keys come from sha256; anything else could escape the root
        raise ValueError(f"invalid cell key {key!r}: expected 16 lowercase hex digits")
    return key


def load_record_file(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """(record, None) when `path` holds a readable record; (None, what is wrong) when it exists but cannot
    be used (truncated or hand-edited JSON, no known status); (None, None) when there is none."""
    try:
        record = read_json(path)
    except FileNotFoundError:
        return None, None
    except (OSError, ValueError) as exc:  # ValueError covers JSON decoding errors
        return None, f"{path} is unreadable ({type(exc).__name__}: {exc})"
    if not isinstance(record, dict) or record.get("status") not in STATUSES:
        return None, f"{path} is not a cell record (no known status)"
    return record, None


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
        """Before work starts: the results folder can take files and has some free space (see
        check_writable_folder)."""
        check_writable_folder(self.root, "--results", min_free_mb)

    def cell_dir(self, key: str) -> Path:
        return self.root / _checked_key(key)

    def train_dir(self, training_key: str) -> Path:
        """Checkpoints and train log of one training run, shared by every cell that differs from
        another only in how it is evaluated (test filter, scoring code): they never train twice."""
        return self.root / ".train" / _checked_key(training_key)

    def record_path(self, key: str) -> Path:
        return self.cell_dir(key) / "record.json"

    def load_record(self, key: str) -> tuple[dict[str, Any] | None, str | None]:
        """(record, None), (None, what is wrong) or (None, None): see `load_record_file`."""
        return load_record_file(self.record_path(key))

    def read_record(self, key: str) -> dict[str, Any] | None:
        """The record of cell `key`; None when it has none or it cannot be read (`load_record` says why)."""
        return self.load_record(key)[0]

    def save_record(self, record: dict[str, Any]) -> None:
        if record["status"] not in STATUSES:
            raise ValueError(f"unknown status {record['status']!r}")
        write_json(self.record_path(record["key"]), record)

    def missing_outputs(self, record: dict[str, Any]) -> list[str]:
        """The files an `ok` record promises (`outputs`: paths under the results root) that are gone."""
        missing = []
        for rel in record.get("outputs", []):
            path = (self.root / rel).resolve()
            if not path.is_relative_to(self.root) or not path.is_file():  # a path outside the root is never trusted
                missing.append(rel)
        return missing

    def check_record(self, path: Path) -> tuple[dict[str, Any] | None, str | None]:
        """Whether the record at `path` may be reused: (record, None) if so; (None, why not) when it is
        unreadable or is `ok` but a file it promises is gone (the cell must run again); (None, None)
        when there is no record."""
        record, problem = load_record_file(path)
        missing = self.missing_outputs(record) if record and record["status"] == "ok" else []
        if missing:
            return None, f"files its record promises are gone ({', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''})"
        return record, problem

    def reusable_record(self, key: str) -> dict[str, Any] | None:
        """The record of `key` if a run may reuse it (`check_record`), else None."""
        return self.check_record(self.record_path(key))[0]

    def _keyed_records(self) -> list[tuple[str, dict[str, Any] | None, str | None]]:
        if not self.root.is_dir():
            return []
        return [(path.parent.name, *self.load_record(path.parent.name)) for path in sorted(self.root.glob("*/record.json"))
                if _KEY_RE.match(path.parent.name)]

    def unreadable_records(self) -> dict[str, str]:
        """key -> what is wrong, for every cell folder whose record.json exists but cannot be read."""
        return {key: problem for key, _, problem in self._keyed_records() if problem}

    def records(self) -> list[dict[str, Any]]:
        """Every readable record (`unreadable_records` lists the others)."""
        return [record for _, record, _ in self._keyed_records() if record is not None]
