import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


@pytest.fixture
def bench_cli(tmp_path):
    """Run `python -m bench ...` in a subprocess (as a user would) with results/leaderboard in tmp_path."""

    def run(*args: str, plugins: bool = False) -> subprocess.CompletedProcess:
        env = dict(os.environ)
        if plugins:
            env["BENCH_EXTRA_METHODS"] = "explodes=plugins:ExplodesAtFour,needs-gpu=plugins:NeedsGpu"
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH")]))
        cmd = [sys.executable, "-m", "bench", *args]
        if args and args[0] in ("run", "leaderboard"):
            cmd += ["--results", str(tmp_path / "results"), "--leaderboard", str(tmp_path / "leaderboard")]
        return subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
                              stdin=subprocess.DEVNULL)

    return run
