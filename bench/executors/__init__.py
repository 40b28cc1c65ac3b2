"""Executors: where run_cell runs. They differ in nothing else.

An executor takes the cells to run, keeps `progress` told how many run and which have landed,
saves every record through the store (so a dying driver loses nothing already computed), and
turns a cell that cannot run (a GPU asked for where none exists) into an `infeasible` record at
once instead of leaving it pending.
"""
from __future__ import annotations

from typing import Any, Protocol

from bench.progress import Progress
from bench.spec import CellSpec

EXECUTORS = ("local", "ray", "slurm")


class Executor(Protocol):
    def run(self, specs: list[CellSpec], results_root: str, progress: Progress) -> list[dict[str, Any]]:
        """Run every cell; return their records in completion order."""


def cell_resources(spec: CellSpec, device: str = "auto") -> dict[str, float]:
    """CPUs and GPUs one cell asks for: the method's wish for its profile, unless `--device` overrides
    (cpu: never a GPU; cuda: one GPU for every learned cell)."""
    from methods import load_method_class

    cls = load_method_class(spec.method)
    need = dict(cls.resources(spec.profile))
    if device == "cpu":
        need["num_gpus"] = 0
    elif device == "cuda" and cls.trainable:
        need["num_gpus"] = max(need["num_gpus"], 1)
    return need


def infeasible_record(spec: CellSpec, reason: str) -> dict[str, Any]:
    from bench.cell import base_record

    return base_record(spec, "infeasible", error=reason)


def make_executor(name: str, **options: Any) -> Executor:
    if name == "local":
        from bench.executors.local import LocalExecutor

        return LocalExecutor(num_cpus=options.get("num_cpus"), device=options.get("device", "auto"))
    if name == "ray":
        from bench.executors.ray import RayExecutor

        return RayExecutor(address=options.get("ray_address"), num_cpus=options.get("num_cpus"),
                           device=options.get("device", "auto"))
    if name == "slurm":
        from bench.executors.slurm import SlurmExecutor, options_from

        return SlurmExecutor(options_from(**options), device=options.get("device", "auto"))
    raise ValueError(f"unknown executor {name!r}; choose one of {', '.join(EXECUTORS)}")
