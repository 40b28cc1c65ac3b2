"""In-process, serial executor: what the tests use, and the easiest to debug (pdb works)."""
from __future__ import annotations

import os
from typing import Any

import torch

from bench.executors import cell_resources, infeasible_record
from bench.lock import run_cell_exclusive
from bench.progress import Progress
from bench.spec import CellSpec
from bench.store import Store


class LocalExecutor:
    def __init__(self, num_cpus: int | None = None, device: str = "auto") -> None:
        self.num_cpus = num_cpus or os.cpu_count() or 1
        self.device = device

    def run(self, specs: list[CellSpec], results_root: str, progress: Progress) -> list[dict[str, Any]]:
        store, records = Store(results_root), []
        gpus = torch.cuda.device_count()
        for spec in specs:
            need = cell_resources(spec, self.device)
            if need["num_gpus"] > gpus:
                record = infeasible_record(spec, f"needs {need['num_gpus']:g} GPU(s) but this machine has {gpus}: "
                                                 "use --profile quick, or run where a GPU exists")
                store.save_record(record)
            else:
                progress.set_running(1)
                # One cell at a time, so it may use every CPU of the machine.
                record = run_cell_exclusive(spec, results_root, num_threads=self.num_cpus,
                                            device="cuda" if need["num_gpus"] else "cpu")
                progress.set_running(0)
            progress.finished(record)
            records.append(record)
        return records
