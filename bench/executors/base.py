"""What every executor shares: the resources a cell asks for, and the one loop where records land.

An executor takes the cells to run, keeps `progress` told how many run (before a record lands, so the
line drawn for it no longer counts it running) and which have landed, saves every record through the
store as it lands (so a dying driver loses nothing already computed), and turns a cell that cannot run
(a GPU asked for where none exists) into an `infeasible` record at once instead of leaving it pending.
Executors differ only in where `run_cell_exclusive` runs.
"""
from __future__ import annotations

from typing import Any, Callable, Protocol

from bench.core.spec import CellSpec
from bench.core.store import Store
from bench.run.cell import base_record
from bench.run.progress import Progress
from methods import load_method_class


class Executor(Protocol):
    def run(self, specs: list[CellSpec], results_root: str, progress: Progress) -> list[dict[str, Any]]:
        """Run every cell; return their records in completion order."""


def cell_resources(spec: CellSpec, device: str = "auto") -> dict[str, float]:
    """CPUs and GPUs one cell asks for: the method's wish for its profile, unless `--device` overrides
    (cpu: never a GPU; cuda: one GPU for every learned cell)."""
    cls = load_method_class(spec.method)
    need = dict(cls.resources(spec.profile))
    if device == "cpu":
        need["num_gpus"] = 0
    elif device == "cuda" and cls.trainable:
        need["num_gpus"] = max(need["num_gpus"], 1)
    return need


def infeasible_record(spec: CellSpec, reason: str) -> dict[str, Any]:
    return base_record(spec, "infeasible", error=reason)


class Landing:
    """Where records land, for every executor: saved through the store, told to the progress display,
    kept in completion order."""

    def __init__(self, store: Store, progress: Progress) -> None:
        self.store, self.progress = store, progress
        self.records: list[dict[str, Any]] = []

    def land(self, record: dict[str, Any]) -> None:
        self.store.save_record(record)
        self.progress.finished(record)
        self.records.append(record)

    def admit(self, specs: list[CellSpec], device: str,
              why_not: Callable[[dict[str, float]], str | None]) -> list[tuple[CellSpec, dict[str, float]]]:
        """(spec, resources) of the cells that can run here; each other one lands `infeasible` at once with
        `why_not(resources)`, the reason (None: it fits)."""
        admitted = []
        for spec in specs:
            need = cell_resources(spec, device)
            reason = why_not(need)
            if reason:
                self.land(infeasible_record(spec, reason))
            else:
                admitted.append((spec, need))
        return admitted
