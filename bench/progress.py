"""The run's progress line: cells done / failed / running, elapsed, ETA.

Hand-written rather than tqdm (not among the chosen dependencies, and its bar has no notion of
failed vs running cells). On a terminal it redraws one line; in a log (CI, SLURM) it prints a line
per finished cell instead, so logs stay readable.
"""
from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from bench.spec import CellSpec


def _clock(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:
    def __init__(self, total: int, stream: TextIO = sys.stderr, width: int = 24) -> None:
        self.total, self.stream, self.width = total, stream, width
        self.ok = self.failed = self.running = 0
        self.t0 = time.monotonic()
        self.interactive = stream.isatty()
        self._last_draw = 0.0

    @property
    def done(self) -> int:
        return self.ok + self.failed

    def line(self) -> str:
        elapsed = time.monotonic() - self.t0
        filled = int(self.width * self.done / self.total) if self.total else self.width
        eta = _clock(elapsed / self.done * (self.total - self.done)) if self.done else "?"
        return (f"[{'#' * filled}{'.' * (self.width - filled)}] {self.done}/{self.total} cells"
                f" | ok {self.ok} | failed {self.failed} | running {self.running}"
                f" | {_clock(elapsed)} elapsed | ETA {eta}")

    def _draw(self, message: str | None = None) -> None:
        if self.interactive:
            if message:
                self.stream.write("\r\033[K" + message + "\n")
            self.stream.write("\r\033[K" + self.line())
        elif message:
            self.stream.write(f"{message}  {self.line()}\n")
        self.stream.flush()
        self._last_draw = time.monotonic()

    def set_running(self, n: int) -> None:
        self.running = n
        if self.interactive and time.monotonic() - self._last_draw > 0.5:  # refresh clock, not spam
            self._draw()

    def finished(self, record: dict[str, Any]) -> None:
        ok = record["status"] == "ok"
        self.ok += ok
        self.failed += not ok
        spec = CellSpec.from_dict(record["spec"])
        detail = "" if ok else f": {record.get('error', '')}"
        self._draw(f"{record['status']:>10} {spec.label}{detail}")

    def close(self) -> None:
        if self.interactive:
            self.stream.write("\n")
            self.stream.flush()
