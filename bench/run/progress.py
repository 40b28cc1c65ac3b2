"""The run's progress line: cells done / failed / running, elapsed, ETA.

Hand-written rather than tqdm (not among the chosen dependencies, and its bar has no notion of
failed vs running cells). On a terminal it redraws one line; in a log (CI, SLURM) it prints a line
per finished cell instead, so logs stay readable. Cells in training write progress.json into their
folder (bench/run/train.py); a background thread reads those and shows the steps of cells in training,
which works the same whether the cell runs in-process, in a Ray worker or on another node.
"""
from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path
from typing import Any, TextIO

from bench.core.spec import CellSpec


def _clock(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


LOG_TRAINING_EVERY_S = 60.0  # non-interactive: a training status line at most this often


def training_status(cell_dirs: list[Path], limit: int = 3) -> str:
    """'training: spline-net 120/1000, ...' for cells that report training progress and are not done."""
    parts = []
    for cell_dir in cell_dirs:
        progress = cell_dir / "progress.json"
        if progress.is_file() and not (cell_dir / "record.json").is_file():
            try:
                p = json.loads(progress.read_text())
                spec = json.loads((cell_dir / "spec.json").read_text())
            except (OSError, json.JSONDecodeError):
                continue
            parts.append(f"{spec['method']} R={spec['protocol']['scale']} {p['step']}/{p['steps']}")
    return ("training: " + ", ".join(parts[:limit]) + (" ..." if len(parts) > limit else "")) if parts else ""


class Progress:
    def __init__(self, total: int, cell_dirs: list[Path] | None = None, stream: TextIO = sys.stderr,
                 width: int = 24) -> None:
        self.total, self.stream, self.width = total, stream, width
        self.ok = self.failed = self.running = 0
        self.t0 = time.monotonic()
        self.interactive = stream.isatty()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._cell_dirs = cell_dirs or []
        self._training = ""
        self._watcher = threading.Thread(target=self._watch, daemon=True)
        self._watcher.start()

    def _watch(self) -> None:
        last_logged = time.monotonic()
        while not self._stop.wait(1.0):
            self._training = training_status(self._cell_dirs)
            if self.interactive:
                self._draw()
            elif self._training and time.monotonic() - last_logged > LOG_TRAINING_EVERY_S:
                self._draw(self._training)
                last_logged = time.monotonic()

    @property
    def done(self) -> int:
        return self.ok + self.failed

    def line(self) -> str:
        elapsed = time.monotonic() - self.t0
        filled = int(self.width * self.done / self.total) if self.total else self.width
        eta = _clock(elapsed / self.done * (self.total - self.done)) if self.done else "?"
        line = (f"[{'#' * filled}{'.' * (self.width - filled)}] {self.done}/{self.total} cells"
                f" | ok {self.ok} | failed {self.failed} | running {self.running}"
                f" | {_clock(elapsed)} elapsed | ETA {eta}")
        return f"{line} | {self._training}" if self.interactive and self._training else line

    def _draw(self, message: str | None = None) -> None:
        with self._lock:  # the watcher thread draws too
            if self.interactive:
                if message:
                    self.stream.write("\r\033[K" + message + "\n")
                self.stream.write("\r\033[K" + self.line())
            elif message:
                self.stream.write(f"{message}  {self.line()}\n")
            self.stream.flush()

    def set_running(self, n: int) -> None:
        self.running = n

    def finished(self, record: dict[str, Any], label: str | None = None) -> None:
        """Count a landed record and print its line; `label` names a cell that is not an SR cell (downstream)."""
        ok = record["status"] == "ok"
        self.ok += ok
        self.failed += not ok
        label = label or CellSpec.from_dict(record["spec"]).label
        detail = "" if ok else f": {record.get('error', '')}"
        self._draw(f"{record['status']:>10} {label}{detail}")

    def close(self) -> None:
        self._stop.set()
        self._watcher.join()
        if self.interactive:
            self.stream.write("\n")
            self.stream.flush()
