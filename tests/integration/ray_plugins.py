"""Test-only methods for the Ray tests (tests/integration/test_ray_safety.py), registered through
BENCH_EXTRA_METHODS; on a Ray cluster the nodes' environment must carry that variable and PYTHONPATH.

    BENCH_TEST_NODES   folder where `where-ran` leaves a file named after the Ray node that ran it
"""
import os
from pathlib import Path

from fault_plugins import Slow


class WhereRan(Slow):
    """slow spline (BENCH_TEST_SLOW_S per file) that leaves the id of the Ray node running it in BENCH_TEST_NODES"""

    name = "where-ran"

    def enhance(self, lr):
        import ray

        folder = Path(os.environ["BENCH_TEST_NODES"])
        (folder / ray.get_runtime_context().get_node_id()).write_text(f"R={self.protocol.scale}\n")
        return super().enhance(lr)


PLUGINS = f"{WhereRan.name}=ray_plugins:{WhereRan.__name__}"
