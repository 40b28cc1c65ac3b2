"""Ray, embedded and attached, watched from the outside (the CLI in subprocesses, psutil on its processes):

- embedded Ray listens on loopback only, starts no dashboard, and leaves no process behind, whether the
  command ends normally or its driver is SIGKILLed;
- Ctrl-C (ray and local executors) prints one line, keeps every finished record, ends Ray, exits 130;
- --num-cpus below 1 is refused by the parser;
- the README's cluster recipe, with Ray's token authentication on, runs cells on both nodes; an address
  nothing answers at, or a wrong token, is a one-line error within seconds.
"""
import contextlib
import ipaddress
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
from waiting import wait_for

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from fault_plugins import PLUGINS as FAULT_PLUGINS  # noqa: E402
from ray_plugins import PLUGINS as RAY_PLUGINS  # noqa: E402

SMOKE = ("--profile", "smoke")


def _env(**extra: str) -> dict:
    env = dict(os.environ)
    for name in ("RAY_ADDRESS", "RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"):
        env.pop(name, None)  # the test decides
    env["BENCH_EXTRA_METHODS"] = f"{FAULT_PLUGINS},{RAY_PLUGINS}"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def _cmd(where: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "bench", *args, "--results", str(where / "results"),
            "--leaderboard", str(where / "leaderboard")]


def bench(where: Path, *args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(_cmd(where, *args), cwd=where, env=env, capture_output=True, text=True, timeout=600,
                          stdin=subprocess.DEVNULL)


def bench_timing_its_end(where: Path, *args: str, env: dict) -> tuple[int, str, float]:
    """(exit code, stderr, seconds from the line announcing the cells to run to the exit): how long the
    executor took to give up, without the imports and planning before it (slow on a busy machine)."""
    proc = subprocess.Popen(_cmd(where, *args), cwd=where, env=env, text=True, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    lines, announced = [], None
    for line in proc.stderr:
        lines.append(line)
        if announced is None and " to run" in line:
            announced = time.monotonic()
    proc.wait(timeout=60)
    return proc.returncode, "".join(lines), time.monotonic() - (announced or 0.0)


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def bench_in_background(where: Path, *args: str, env: dict) -> subprocess.Popen:
    """A command in a process group of its own, as a terminal's foreground job, with Ctrl-C's default
    handling even where the test runner was started with SIGINT ignored."""
    return subprocess.Popen(_cmd(where, *args), cwd=where, env=env, text=True, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                            preexec_fn=_default_sigint)


class ProcessTree:
    """Every process seen below a driver, with the command line it had when first seen (psutil.Process
    keeps the start time: a reused pid never passes for one of them)."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.procs: dict[int, psutil.Process] = {}
        self.cmdlines: dict[int, str] = {}

    def look(self) -> list[psutil.Process]:
        """The processes below the driver now, remembered."""
        try:
            now = self.root.children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        for proc in now:
            if proc.pid not in self.procs:
                self.procs[proc.pid] = proc
                with contextlib.suppress(psutil.Error):
                    self.cmdlines[proc.pid] = " ".join(proc.cmdline())
        return now

    def running_cells(self) -> int:
        """Ray workers running a `slow` cell now (Ray titles a worker with its task's name)."""
        return sum(_name(proc).startswith("ray::slow") for proc in self.look())

    def alive(self) -> list[str]:
        alive = []
        for proc in self.procs.values():
            with contextlib.suppress(psutil.NoSuchProcess):
                if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                    alive.append(f"{proc.pid} {self.cmdlines.get(proc.pid, proc.name())[:80]}")
        return alive

    def kill_alive(self) -> None:
        """Clean-up after a failed test: only the processes of this tree."""
        for proc in self.procs.values():
            with contextlib.suppress(psutil.Error):
                proc.kill()


def _name(proc: psutil.Process) -> str:
    try:
        return proc.name()
    except psutil.Error:
        return ""


def _listening(procs: list[psutil.Process]) -> set[tuple[str, str, int]]:
    """(process, address, port) of each listening TCP socket and bound UDP socket of `procs`."""
    found = set()
    for proc in procs:
        try:
            name, sockets = proc.name(), proc.net_connections(kind="inet")
        except psutil.Error:
            continue
        found |= {(name, s.laddr.ip, s.laddr.port) for s in sockets
                  if s.status == psutil.CONN_LISTEN or s.type == socket.SOCK_DGRAM}
    return found


def _loopback(ip: str) -> bool:
    address = ipaddress.ip_address(ip.split("%")[0])
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1, an IPv6 socket bound to 127.0.0.1
    return address.is_loopback or bool(mapped and mapped.is_loopback)


def _wait_for(what: str, predicate, timeout: float = 180.0, every: float = 0.1):
    return wait_for(what, predicate, timeout, every)


def _progress_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if " cells | ok " in line]


def test_embedded_ray_listens_on_loopback_only_runs_no_dashboard_and_leaves_nothing(tmp_path):
    driver = bench_in_background(tmp_path, "run", "--methods", "slow", "--scales", "2,4", *SMOKE, "--executor", "ray",
                                 "--num-cpus", "2", env=_env(BENCH_TEST_SLOW_S="2"))
    tree = ProcessTree(driver.pid)
    listening: set[tuple[str, str, int]] = set()
    try:
        _wait_for("a cell running in a Ray worker", tree.running_cells)
        while driver.poll() is None:  # every socket any process of the run opens while cells run
            listening |= _listening([tree.root, *tree.look()])
            time.sleep(0.2)
        _, err = driver.communicate(timeout=60)
        left = tree.alive()  # right when the command has ended
    finally:
        if driver.poll() is None:
            driver.kill()
        tree.kill_alive()
    assert driver.returncode == 0, err
    assert {"gcs_server", "raylet"} <= {name for name, _, _ in listening}, listening  # we looked at Ray's servers
    assert [s for s in listening if not _loopback(s[1])] == []
    # the dashboard's process (web UI and job API) never starts; the raylet insists on its DashboardAgent,
    # whose sockets, if any, were checked above
    assert [c for c in tree.cmdlines.values() if "dashboard/dashboard.py" in c] == []
    assert left == []
    last = _progress_lines(err)[-1]
    assert "2/2 cells | ok 2 | failed 0 | running 0 |" in last


def test_embedded_ray_ends_within_seconds_when_its_driver_is_killed(tmp_path):
    driver = bench_in_background(tmp_path, "run", "--methods", "slow", "--scales", "2,4", *SMOKE, "--executor", "ray",
                                 "--num-cpus", "2", env=_env(BENCH_TEST_SLOW_S="60"))
    tree = ProcessTree(driver.pid)
    try:
        _wait_for("both cells running in Ray workers", lambda: tree.running_cells() == 2)
        time.sleep(1.0)
        tree.look()
        driver.send_signal(signal.SIGKILL)  # no finally, no atexit: an OOM kill
        driver.wait(timeout=30)
        killed = time.monotonic()
        deadline = killed + 15
        while tree.alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        took, left = time.monotonic() - killed, tree.alive()
    finally:
        if driver.poll() is None:
            driver.kill()
        tree.kill_alive()
    assert left == [], f"still running {took:.1f} s after the driver was killed: {left}"
    assert took < 10


@pytest.mark.parametrize("executor", ["ray", "local"])
def test_ctrl_c_keeps_finished_cells_says_so_in_one_line_and_exits_130(tmp_path, executor):
    results = tmp_path / "results"
    args = ("run", "--methods", "slow", "--scales", "2,4", *SMOKE, "--executor", executor, "--num-cpus", "1")
    env = _env(BENCH_TEST_SLOW_S="3")  # 6 s a cell, one cell at a time
    driver = bench_in_background(tmp_path, *args, env=env)
    tree = ProcessTree(driver.pid)

    def first_record() -> Path | None:
        tree.look()
        return next(results.glob("*/record.json"), None)

    try:
        first = _wait_for("the first record", first_record)
        kept = first.read_bytes()
        tree.look()
        os.killpg(driver.pid, signal.SIGINT)  # Ctrl-C in a terminal: the whole foreground process group
        _, err = driver.communicate(timeout=120)
        left = tree.alive()
    finally:
        if driver.poll() is None:
            driver.kill()
        tree.kill_alive()
    assert driver.returncode == 130, err
    assert "Traceback" not in err
    assert [line for line in err.splitlines() if line.startswith("interrupted:")] == [
        f"interrupted: 1 of 2 cells finished and are kept in {results}; run the same command to resume"]
    assert list(results.glob("*/record.json")) == [first]  # the second cell was cut short, not recorded
    assert first.read_bytes() == kept and json.loads(kept)["status"] == "ok"
    assert left == []

    again = bench(tmp_path, *args, env=env)  # what the line says to do
    assert again.returncode == 0, again.stderr
    assert "1 finished before (reused)" in again.stderr and "1 to run" in again.stderr
    assert first.read_bytes() == kept


@pytest.mark.parametrize("value", ["0", "-1"])
def test_num_cpus_below_one_is_refused_by_the_parser(tmp_path, value):
    out = bench(tmp_path, "run", "--methods", "spline", "--scales", "2", *SMOKE, "--num-cpus", value, env=_env())
    assert out.returncode == 2
    assert f"argument --num-cpus: {value} must be at least 1" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "results").exists()


# a Ray cluster as the README starts it ------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ray_start(log: Path, env: dict, *args: str) -> subprocess.Popen:
    """`ray start --block ARGS`: it stays the parent of its node's processes until it gets SIGTERM."""
    with open(log, "w") as out:
        return subprocess.Popen([sys.executable, "-m", "ray.scripts.scripts", "start", "--block", *args], env=env,
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)


def _wait_started(node: subprocess.Popen, log: Path) -> None:
    def started() -> bool:
        if node.poll() is not None:
            raise AssertionError(f"`ray start` ended with {node.returncode}:\n{log.read_text()[-3000:]}")
        return "Ray runtime started" in log.read_text()

    _wait_for(f"`ray start` ({log.name})", started, timeout=120, every=0.2)


def _stop(nodes: list[subprocess.Popen]) -> None:
    """End the processes these `ray start --block` started, and only those: SIGTERM to each (it stops its
    node), then SIGKILL to what is left of their trees."""
    trees = []
    for node in nodes:
        with contextlib.suppress(psutil.NoSuchProcess):
            trees += psutil.Process(node.pid).children(recursive=True)
    for node in reversed(nodes):
        node.terminate()
    for node in nodes:
        try:
            node.wait(timeout=30)
        except subprocess.TimeoutExpired:
            node.kill()
    for proc in psutil.wait_procs(trees, timeout=10)[1]:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()


@dataclass
class Cluster:
    address: str
    env: dict  # what a user's shell on the head node has: the token at hand, RAY_AUTH_MODE unset
    nodes_dir: Path  # where `where-ran` leaves the ids of the nodes that ran it


@pytest.fixture(scope="module")
def ray_cluster():
    """Two Ray nodes of one CPU each on this machine, started as the README says, with token authentication
    on: the head turns it on because a token exists (RAY_AUTH_TOKEN_PATH here, as ~/.ray/auth_token on a
    machine that ran Ray before), the second node because RAY_AUTH_MODE=token tells it to."""
    root = Path(tempfile.mkdtemp(prefix="rt-"))  # short: Ray's socket paths lie below it
    token = root / "auth_token"
    token.write_text(secrets.token_hex(16))
    (root / "nodes").mkdir()
    port = _free_port()
    env = _env(RAY_AUTH_TOKEN_PATH=str(token), BENCH_TEST_NODES=str(root / "nodes"), BENCH_TEST_SLOW_S="2",
               RAY_USAGE_STATS_ENABLED="0")
    small_store = ("--object-store-memory", str(100 * 2**20))
    nodes = []
    try:
        nodes.append(_ray_start(root / "head.log", env, "--head", "--port", str(port), "--num-cpus", "1",
                                "--include-dashboard=false", "--temp-dir", str(root / "head"), *small_store))
        _wait_started(nodes[0], root / "head.log")
        nodes.append(_ray_start(root / "node.log", {**env, "RAY_AUTH_MODE": "token"}, "--address",
                                f"127.0.0.1:{port}", "--num-cpus", "1", "--temp-dir", str(root / "node"),
                                *small_store))
        _wait_started(nodes[1], root / "node.log")
        yield Cluster(f"127.0.0.1:{port}", env, root / "nodes")
    finally:
        _stop(nodes)
        shutil.rmtree(root, ignore_errors=True)


def test_readme_cluster_recipe_with_token_auth_runs_cells_on_both_nodes(tmp_path, ray_cluster):
    out = bench(tmp_path, "run", "--methods", "where-ran", "--scales", "2,4", *SMOKE,
                "--ray-address", ray_cluster.address, env=ray_cluster.env)
    assert out.returncode == 0, out.stderr
    records = [json.loads(p.read_text()) for p in (tmp_path / "results").glob("*/record.json")]
    assert sorted(r["status"] for r in records) == ["ok", "ok"]
    assert len(list(ray_cluster.nodes_dir.iterdir())) == 2  # one cell on each node


def test_a_wrong_token_is_a_one_line_error_within_seconds(tmp_path, ray_cluster):
    code, err, took = bench_timing_its_end(tmp_path, "run", "--methods", "spline", "--scales", "2", *SMOKE,
                                           "--ray-address", ray_cluster.address,
                                           env={**ray_cluster.env, "RAY_AUTH_TOKEN": secrets.token_hex(16)})
    assert code == 2, err
    assert (f"error: --ray-address {ray_cluster.address}: the Ray cluster there refused this machine's "
            "authentication token") in err
    assert "ray get-auth-token" in err and "Traceback" not in err
    assert took < 20


def test_an_address_nothing_answers_at_is_a_one_line_error_within_seconds(tmp_path):
    port = _free_port()
    code, err, took = bench_timing_its_end(tmp_path, "run", "--methods", "spline", "--scales", "2", *SMOKE,
                                           "--ray-address", f"127.0.0.1:{port}", env=_env())
    assert code == 2, err
    assert f"error: --ray-address 127.0.0.1:{port}: nothing answers there" in err
    assert f"ray start --head --port {port}" in err and "Traceback" not in err
    assert took < 20
