"""Ray executor: one Ray task per cell, with the method's resources (CPUs, GPUs).

Embedded locally (explicit CPU count, dashboard off, localhost only, quiet logs) or attached to a
cluster with `--ray-address` (every node needs this package installed: `pip install -e .`, and the
results folder on a shared filesystem). The driver waits on `ray.wait`, saves each record as it
lands and draws the progress line. Worker death is retried by Ray (`max_retries`); an exception
inside a cell is already a `failed` record, never a retry.
"""
from __future__ import annotations

import logging
import os
from typing import Any

from bench.core.spec import CellSpec
from bench.core.store import Store
from bench.executors.base import Landing
from bench.run.cell import failure_record, run_cell_exclusive
from bench.run.progress import Progress

MAX_RETRIES = 2  # worker or node death only; cell exceptions are records
# Cells exchange small records only; a small object store avoids Ray reserving 30 % of RAM.
OBJECT_STORE_BYTES = 256 * 1024 * 1024


def _cell_task(spec_dict: dict[str, Any], results_root: str, num_threads: int, device: str) -> dict[str, Any]:
    # Under the cell's lock: a second `bench run` on the same results folder never computes it at the same time.
    return run_cell_exclusive(CellSpec.from_dict(spec_dict), results_root, num_threads=num_threads, device=device)


class RayExecutor:
    def __init__(self, address: str | None = None, num_cpus: int | None = None, device: str = "auto") -> None:
        self.address = address
        self.num_cpus = num_cpus or os.cpu_count() or 1
        self.device = device

    @classmethod
    def from_options(cls, ray_address: str | None = None, num_cpus: int | None = None, device: str = "auto",
                     **_: Any) -> "RayExecutor":
        return cls(ray_address, num_cpus, device)

    def _init(self):
        import ray

        os.environ.setdefault("RAY_DEDUP_LOGS", "0")
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        if ray.is_initialized():
            return ray, False
        if self.address:
            ray.init(address=self.address, logging_level=logging.ERROR, log_to_driver=False)
        else:
            ray.init(num_cpus=self.num_cpus, include_dashboard=False, dashboard_host="127.0.0.1",
                     object_store_memory=OBJECT_STORE_BYTES, logging_level=logging.ERROR,
                     log_to_driver=False, configure_logging=True)
        return ray, True

    def run(self, specs: list[CellSpec], results_root: str, progress: Progress) -> list[dict[str, Any]]:
        ray, started_here = self._init()
        store = Store(results_root)
        landing = Landing(store, progress)
        try:
            available = ray.cluster_resources()
            cpus, gpus = available.get("CPU", 0), available.get("GPU", 0)
            task = ray.remote(_cell_task)

            def why_not(need: dict[str, float]) -> str | None:
                if need["num_gpus"] > gpus or need["num_cpus"] > cpus:
                    return (f"needs {need['num_cpus']:g} CPU(s) and {need['num_gpus']:g} GPU(s); the Ray cluster "
                            f"has {cpus:g} CPU(s) and {gpus:g} GPU(s): add a GPU node or use --profile quick")
                return None

            pending: dict[Any, tuple[CellSpec, dict[str, float]]] = {}
            for spec, need in landing.admit(specs, self.device, why_not):
                ref = task.options(num_cpus=need["num_cpus"], num_gpus=need["num_gpus"], max_retries=MAX_RETRIES,
                                   retry_exceptions=False, name=spec.label).remote(
                    spec.to_dict(), str(store.root), int(need["num_cpus"]), "cuda" if need["num_gpus"] else "cpu")
                pending[ref] = (spec, need)
            while pending:
                # Ray does not say which queued tasks hold resources; estimate "running" from CPU slots.
                slots = cpus // max(min(n["num_cpus"] for _, n in pending.values()), 1)
                progress.set_running(int(min(len(pending), slots)))
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
                for ref in ready:
                    spec, _ = pending.pop(ref)
                    try:
                        record = ray.get(ref)
                    except Exception as exc:  # noqa: BLE001 - worker died past its retries, etc.
                        record = failure_record(spec, exc)
                    landing.land(record)
            progress.set_running(0)
        finally:
            if started_here:
                ray.shutdown()
        return landing.records
