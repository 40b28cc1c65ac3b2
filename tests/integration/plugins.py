"""Test-only methods, registered through BENCH_EXTRA_METHODS so that Ray workers see them too."""
from methods.baselines.interp import Spline


class ExplodesAtFour(Spline):
    """spline that raises at R=4 (to check that one failing cell never stops the others)"""

    name = "explodes"

    def enhance(self, lr):
        if self.protocol.scale == 4:
            raise RuntimeError("boom by design at R=4")
        return super().enhance(lr)


class NeedsGpu(Spline):
    """spline that asks the executor for a GPU (to check the infeasible path)"""

    name = "needs-gpu"

    @classmethod
    def resources(cls, profile):
        return {"num_cpus": 1, "num_gpus": 1}
