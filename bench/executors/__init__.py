"""Executors: where `run_cell_exclusive` runs. They differ in nothing else (bench/executors/base.py).

The registry maps an executor name (`--executor NAME`) to its class, imported only when chosen, so a
command line that runs locally never imports Ray or submitit. An executor class has
`from_options(**command_line_options)` and `run(specs, results_root, progress) -> records`; adding one
is a module here plus one row below (CONTRIBUTING.md).
"""
from __future__ import annotations

import importlib
from typing import Any

EXECUTORS: dict[str, str] = {
    "local": "bench.executors.local:LocalExecutor",
    "ray": "bench.executors.ray:RayExecutor",
    "slurm": "bench.executors.slurm.driver:SlurmExecutor",
}


def executor_class(name: str) -> type:
    if name not in EXECUTORS:
        raise ValueError(f"unknown executor {name!r}; choose one of {', '.join(EXECUTORS)}")
    module, cls = EXECUTORS[name].split(":")
    return getattr(importlib.import_module(module), cls)


def make_executor(name: str, **options: Any) -> Any:
    """The executor `name`, configured from the command line's options (each takes what it knows)."""
    return executor_class(name).from_options(**options)
