"""In-process, serial executor: what the tests use, and the easiest to debug (pdb works)."""
from __future__ import annotations

import os
from typing import Any

import torch

from bench.core.spec import CellSpec
from bench.core.store import Store
from bench.executors.base import Landing
from bench.run.cell import run_cell_exclusive
from bench.run.progress import Progress


class LocalExecutor:
    def __init__(self, num_cpus: int | None = None, device: str = "auto") -> None:
        self.num_cpus = num_cpus or os.cpu_count() or 1
        self.device = device

    @classmethod
    def from_options(cls, num_cpus: int | None = None, device: str = "auto", **_: Any) -> "LocalExecutor":
        return cls(num_cpus, device)

    def run(self, specs: list[CellSpec], results_root: str, progress: Progress) -> list[dict[str, Any]]:
        landing = Landing(Store(results_root), progress)
        gpus = torch.cuda.device_count()

        def why_not(need: dict[str, float]) -> str | None:
            if need["num_gpus"] > gpus:
                return (f"needs {need['num_gpus']:g} GPU(s) but this machine has {gpus}: "
                        "use --profile quick, or run where a GPU exists")
            return None

        for spec, need in landing.admit(specs, self.device, why_not):
            progress.set_running(1)
            # One cell at a time, so it may use every CPU of the machine.
            record = run_cell_exclusive(spec, results_root, num_threads=self.num_cpus,
                                        device="cuda" if need["num_gpus"] else "cpu")
            progress.set_running(0)  # before landing, which draws the line: the landed cell no longer runs
            landing.land(record)
        return landing.records
