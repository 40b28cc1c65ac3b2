"""What the harness itself costs: Ray's per-cell overhead and a fully cached re-run.

Run: python -m pytest tests/perf/test_harness_perf.py -m perf --benchmark-enable -o addopts=""

- ``test_executor_wall[local|ray]``: the same CELLS cheap cells (``linear`` at R = 2, 4, 6 over several
  seeds, smoke profile, pairs already cached) through the in-process executor and through embedded
  Ray with one CPU (so both run one cell at a time). Ray's overhead per cell is
  (ray wall - local wall) / CELLS; ray.init is paid once per run and recorded apart (``ray_init_s``).
- ``test_cached_rerun``: `python -m bench run` of the parameter-free methods at R = 2, 4, 6 a second
  time in a fresh interpreter, every cell finished before: the whole command as a user waits for it
  (interpreter, imports, planning, reading records, rebuilding the leaderboard).
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.run.plan import plan_cells
from bench.run.progress import Progress

SEEDS = 4
CELLS = 3 * SEEDS
CHEAP = "spline,sinc,linear,noisefill,sbr"


def _specs():
    return [s for seed in range(SEEDS) for s in plan_cells("linear", "synth-speech", "2,4,6", "smoke", (seed,))]


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory) -> Path:
    """A results folder whose prepared pairs every round reuses (rounds measure cells, not data)."""
    from bench.executors.local import LocalExecutor

    root = tmp_path_factory.mktemp("warm")
    LocalExecutor(num_cpus=1).run(_specs()[:3], str(root), Progress(3, [], stream=open(os.devnull, "w")))
    return root / ".cache"


def _fresh_results(tmp_path: Path, cache: Path):
    fresh = tmp_path / f"r{time.monotonic_ns()}"
    fresh.mkdir()
    (fresh / ".cache").symlink_to(cache)
    return (str(fresh),), {}


@pytest.fixture(scope="module")
def ray_session():
    from bench.executors.ray import RayExecutor

    executor = RayExecutor(num_cpus=1)
    t0 = time.perf_counter()
    ray_module, started = executor._init()
    init_s = time.perf_counter() - t0
    yield init_s
    if started:
        executor._shutdown(ray_module)  # also ends the run's watchdog: nothing of Ray left running


@pytest.mark.perf
@pytest.mark.parametrize("executor", ["local", "ray"])
def test_executor_wall(benchmark, executor, shared_cache, tmp_path, request):
    from bench.executors.local import LocalExecutor
    from bench.executors.ray import RayExecutor

    info = {}
    if executor == "ray":
        info["ray_init_s"] = request.getfixturevalue("ray_session")
        runner = RayExecutor(num_cpus=1)
    else:
        runner = LocalExecutor(num_cpus=1)
    specs = _specs()
    quiet = open(os.devnull, "w")
    benchmark.group = f"executor wall, {CELLS} cheap smoke cells, 1 CPU"
    records = benchmark.pedantic(lambda root: runner.run(specs, root, Progress(len(specs), [], stream=quiet)),
                                 setup=lambda: _fresh_results(tmp_path, shared_cache), rounds=3, warmup_rounds=1)
    assert [r["status"] for r in records] == ["ok"] * CELLS
    benchmark.extra_info.update(executor=executor, cells=CELLS, **info)


@pytest.mark.perf
def test_cached_rerun(benchmark, tmp_path):
    cmd = [sys.executable, "-m", "bench", "run", "--methods", CHEAP, "--scales", "2,4,6", "--executor", "local",
           "--results", str(tmp_path / "results"), "--leaderboard", str(tmp_path / "leaderboard")]
    subprocess.run(cmd, check=True, capture_output=True, stdin=subprocess.DEVNULL)  # computes every cell
    benchmark.group = "cached re-run (fresh interpreter)"
    done = benchmark.pedantic(lambda: subprocess.run(cmd, check=True, capture_output=True, text=True,
                                                     stdin=subprocess.DEVNULL), rounds=3)
    assert "0 to run" in done.stderr
    benchmark.extra_info.update(cells=15, methods=CHEAP)
