"""The progress line as an executor drives it: the line drawn when a cell lands no longer counts that
cell as running, so the last line of a run says `running 0`."""
import io

from bench.executors.local import LocalExecutor
from bench.run.plan import plan_cells
from bench.run.progress import Progress


def test_local_run_lines_count_a_landed_cell_out_of_running(tmp_path):
    specs = plan_cells("spline,sbr", "synth-speech", "2", "smoke")
    stream = io.StringIO()  # not a terminal: one line per landed cell
    progress = Progress(len(specs), [], stream=stream)
    try:
        records = LocalExecutor(num_cpus=1).run(specs, str(tmp_path / "results"), progress)
    finally:
        progress.close()
    assert [r["status"] for r in records] == ["ok", "ok"]
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    # serial: when a cell lands, the next one has not started
    assert "1/2 cells | ok 1 | failed 0 | running 0 |" in lines[0]
    assert "2/2 cells | ok 2 | failed 0 | running 0 |" in lines[1]
