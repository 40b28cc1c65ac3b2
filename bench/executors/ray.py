"""Ray executor: one Ray task per cell, with the method's resources (CPUs, GPUs).

Embedded (no `--ray-address`): a Ray of this command alone, with an explicit CPU count, quiet logs and
its files in a fresh temp folder (removed at an orderly end). Its node address is 127.0.0.1, which
makes Ray bind every server it starts (GCS, raylet, workers, agents) to loopback only, and the
dashboard's process is left out (the raylet's DashboardAgent is not: the raylet requires one). It ends
with the command, however the command ends: `ray.shutdown` on the way out; if the driver is killed,
Ray's fate-sharing ends the GCS and raylet and a watchdog process ends the rest (Ray's agents would
otherwise linger for a minute).

Attached (`--ray-address HOST:PORT`): every node needs this package installed (`pip install -e .`) and
the results folder on a shared filesystem. The driver authenticates as `ray start` does (the token of
~/.ray/auth_token, RAY_AUTH_TOKEN or RAY_AUTH_TOKEN_PATH where one exists and RAY_AUTH_MODE is unset);
an address nothing answers at, or a cluster that refuses the token, is a SpecError within seconds.

The driver waits on `ray.wait`, saves each record as it lands and draws the progress line. Worker death
is retried by Ray (`max_retries`); an exception inside a cell is already a `failed` record, never a retry.

The watchdog imports this module in a fresh interpreter, so the imports that load torch are made
inside the functions that need them.
"""
from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import TYPE_CHECKING, Any, Iterator

from bench.core.spec import CellSpec, SpecError

if TYPE_CHECKING:
    from bench.run.progress import Progress

MAX_RETRIES = 2  # worker or node death only; cell exceptions are records
# Cells exchange small records only; a small object store avoids Ray reserving 30 % of RAM.
OBJECT_STORE_BYTES = 256 * 1024 * 1024
CONNECT_TIMEOUT_S = 5.0  # --ray-address: how long the head's port may take to answer
REAP_GRACE_S = 2.0       # watchdog: SIGTERM, then SIGKILL whatever still runs this much later
# HOST:PORT or [IPv6]:PORT; other forms ('auto', 'ray://...') go to ray.init unchecked.
_HOST_PORT = re.compile(r"^\[?(?P<host>[^\[\]]+?)\]?:(?P<port>\d+)$")


def _cell_task(spec_dict: dict[str, Any], results_root: str, num_threads: int, device: str) -> dict[str, Any]:
    from bench.run.cell import run_cell_exclusive

    # Under the cell's lock: a second `bench run` on the same results folder never computes it at the same time.
    return run_cell_exclusive(CellSpec.from_dict(spec_dict), results_root, num_threads=num_threads, device=device)


def _running_estimate(pending: dict[Any, tuple[CellSpec, dict[str, float]]], cpus: float) -> int:
    """How many of the pending cells run: Ray does not say which queued tasks hold resources, so the
    CPU slots the cheapest pending cell leaves, at most the number pending (0 once none is)."""
    if not pending:
        return 0
    slots = cpus // max(min(need["num_cpus"] for _, need in pending.values()), 1)
    return int(min(len(pending), slots))


class RayExecutor:
    def __init__(self, address: str | None = None, num_cpus: int | None = None, device: str = "auto") -> None:
        self.address = address
        self.num_cpus = num_cpus or os.cpu_count() or 1
        self.device = device
        self._watchdog: Watchdog | None = None  # embedded Ray only

    @classmethod
    def from_options(cls, ray_address: str | None = None, num_cpus: int | None = None, device: str = "auto",
                     **_: Any) -> "RayExecutor":
        return cls(ray_address, num_cpus, device)

    def _init(self) -> tuple[Any, bool]:
        """Connect this process to Ray -> (the ray module, whether this call connected it)."""
        import ray

        os.environ.setdefault("RAY_DEDUP_LOGS", "0")
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        if ray.is_initialized():
            return ray, False
        if self.address:
            _attach(ray, self.address)
        else:
            self._watchdog = _start_embedded(ray, self.num_cpus)
        return ray, True

    def _shutdown(self, ray: Any) -> None:
        """Disconnect from the cluster, or end the embedded Ray with nothing of it left running."""
        ray.shutdown()
        if self._watchdog is not None:
            self._watchdog.release()
            self._watchdog = None

    def run(self, specs: list[CellSpec], results_root: str, progress: Progress) -> list[dict[str, Any]]:
        from bench.core.store import Store
        from bench.executors.base import Landing
        from bench.run.cell import failure_record

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
            progress.set_running(_running_estimate(pending, cpus))
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
                for ref in ready:
                    spec, _ = pending.pop(ref)
                    try:
                        record = ray.get(ref)
                    except Exception as exc:  # noqa: BLE001 - worker died past its retries, etc.
                        record = failure_record(spec, exc)
                    # before landing, which draws the line: the landed cell no longer runs
                    progress.set_running(_running_estimate(pending, cpus))
                    landing.land(record)
        finally:
            if started_here:
                self._shutdown(ray)
        return landing.records


# embedded Ray ------------------------------------------------------------------------------------------
def _start_embedded(ray: Any, num_cpus: int) -> Watchdog:
    """Start this command's own Ray, on loopback, in a fresh temp folder -> the watchdog of that folder."""
    watchdog = Watchdog(tempfile.mkdtemp(prefix="bench-ray-"))  # first: it also covers a driver killed while Ray starts
    with _loopback_without_dashboard():
        ray.init(num_cpus=num_cpus, include_dashboard=False, object_store_memory=OBJECT_STORE_BYTES,
                 logging_level=logging.ERROR, log_to_driver=False, configure_logging=True,
                 _temp_dir=watchdog.temp_dir)
    return watchdog


@contextlib.contextmanager
def _loopback_without_dashboard() -> Iterator[None]:
    """While `ray.init` starts the embedded node: its address is 127.0.0.1, and no dashboard process.

    Ray turns a loopback node address into the machine's external one unless multi-node support is off
    (ray_constants.ENABLE_RAY_CLUSTER, off on macOS and Windows); given 127.0.0.1, the GCS, raylet,
    workers and agents bind loopback, where otherwise they bind every interface. `include_dashboard=False`
    still starts the dashboard's process (an API server for usage stats, which are off here);
    Node.start_api_server is what starts it."""
    from unittest import mock

    from ray._private import node, ray_constants

    with mock.patch.object(ray_constants, "ENABLE_RAY_CLUSTER", False), \
            mock.patch.object(node.Node, "start_api_server", lambda *args, **kwargs: None):
        yield


class Watchdog:
    """A process that ends the embedded Ray in `temp_dir` once the driver is gone, however it went.

    It waits for EOF on a pipe whose writing end only the driver holds, which the kernel closes when the
    driver exits, even by SIGKILL. A session of its own keeps the terminal's Ctrl-C away from it."""

    def __init__(self, temp_dir: str) -> None:
        self.temp_dir = temp_dir
        code = "import sys; from bench.executors.ray import reap_after_driver; reap_after_driver(sys.argv[1])"
        self._process = subprocess.Popen([sys.executable, "-c", code, temp_dir], stdin=subprocess.PIPE,
                                         start_new_session=True)

    def release(self) -> None:
        """After ray.shutdown: let the watchdog end what it left running, then remove the folder (a killed
        driver's stays, with Ray's logs of what happened)."""
        self._process.stdin.close()
        self._process.wait()
        shutil.rmtree(self.temp_dir, ignore_errors=True)


def reap_after_driver(temp_dir: str) -> None:
    """The watchdog's body: once the driver has closed its pipe or died, end every process of its Ray
    (SIGTERM, then SIGKILL for what still runs REAP_GRACE_S later). The driver writes its own Ray log
    there too: a driver that closed the pipe and waits for the watchdog is spared."""
    spared = {os.getpid(), os.getppid()}
    sys.stdin.buffer.read()  # returns at EOF
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in _writers_under(temp_dir, spared):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
        deadline = time.monotonic() + REAP_GRACE_S
        while _writers_under(temp_dir, spared) and time.monotonic() < deadline:
            time.sleep(0.1)


def _writers_under(folder: str, spared: set[int]) -> list[int]:
    """The processes but `spared` that hold a file under `folder` open for writing: each process of an
    embedded Ray writes its logs into its temp folder, which no other Ray uses (a reader such as
    `tail -f` is left alone). None found without /proc (macOS): there Ray's own clean-up is all there is."""
    if not os.path.isdir("/proc"):
        return []
    prefix = os.path.join(folder, "")
    return [int(pid) for pid in os.listdir("/proc")
            if pid.isdigit() and int(pid) not in spared and _writes_under(pid, prefix)]


def _writes_under(pid: str, prefix: str) -> bool:
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:  # gone, or another user's
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}").startswith(prefix) and _open_for_writing(pid, fd):
                return True
        except OSError:  # closed meanwhile
            continue
    return False


def _open_for_writing(pid: str, fd: str) -> bool:
    with open(f"/proc/{pid}/fdinfo/{fd}") as info:
        flags = next(int(line.split()[1], 8) for line in info if line.startswith("flags:"))
    return flags & os.O_ACCMODE != os.O_RDONLY


# attached to a cluster -------------------------------------------------------------------------------
def _attach(ray: Any, address: str) -> None:
    """Connect to the cluster whose head is at `address`, authenticating as `ray start` does."""
    _follow_token_auth()
    _check_head(address)
    ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False)


def _follow_token_auth() -> None:
    """Send the token where `ray start` turns token authentication on: RAY_AUTH_MODE unset and a token at
    hand (~/.ray/auth_token, RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH). ray.init does so only for a cluster it
    finds by itself, never for an address it is given; a cluster without authentication ignores the token."""
    from ray._raylet import AuthenticationTokenLoader, Config

    if "RAY_AUTH_MODE" not in os.environ and AuthenticationTokenLoader.instance().has_token(ignore_auth_mode=True):
        os.environ["RAY_AUTH_MODE"] = "token"
        Config.initialize("")  # Ray caches its configuration: read the mode again


def _check_head(address: str) -> None:
    """Fail within seconds, naming the fix, where ray.init would retry for half a minute and end in a bare
    ConnectionError: nothing answers at `address`, or the cluster there refuses this driver's token."""
    from ray._raylet import GcsClient
    from ray.exceptions import AuthenticationError, RpcError

    found = _HOST_PORT.match(address)
    if not found:
        return
    try:
        socket.create_connection((found["host"], int(found["port"])), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise SpecError(f"--ray-address {address}: nothing answers there ({exc.strerror or exc}): start the "
                        f"cluster's head with `ray start --head --port {found['port']}`, or pass the address "
                        "it printed") from None
    try:
        GcsClient(address=address)  # asks the head for the cluster id: the first call that needs the token
    except AuthenticationError:
        raise SpecError(f"--ray-address {address}: the Ray cluster there refused this machine's authentication "
                        "token (none found, or not the cluster's): copy the head node's token (`ray get-auth-token` "
                        "there prints it) to ~/.ray/auth_token here, or set RAY_AUTH_TOKEN") from None
    except RpcError as exc:
        raise SpecError(f"--ray-address {address}: no Ray head answers there ({exc}): pass the address "
                        "`ray start --head` printed") from None
