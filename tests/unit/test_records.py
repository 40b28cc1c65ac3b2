"""The one cell lifecycle (bench/core/records.py) that SR and downstream cells share."""
import json
import threading
import time

from bench.core.files import read_json, write_json
from bench.core.lock import cell_lock
from bench.core.records import TRACEBACK_LINES, error_fields, run_exclusive, run_recorded


def _base(status):
    return {"key": "k", "status": status}


def test_a_cell_that_raises_is_a_failed_record_with_the_traceback_head_and_tail(tmp_path):
    chain = {}  # 30 distinct frames (Python folds a repeated frame into one line)
    exec("def f30():\n    raise RuntimeError('boom\\nsecond line')\n"
         + "".join(f"def f{i}():\n    f{i + 1}()\n" for i in range(30)), chain)

    saved = []
    record = run_recorded(tmp_path / "cell", {"spec": 1}, _base, chain["f0"], saved.append)
    assert saved == [record] and record["status"] == "failed" and record["error"] == "RuntimeError: boom"
    lines = record["traceback"].splitlines()
    assert lines[0] == "Traceback (most recent call last):" and lines[1] == "  ..." and len(lines) == TRACEBACK_LINES + 2
    assert lines[-1] == "second line" and record["wall_s"] >= 0 and record["started"]
    assert read_json(tmp_path / "cell" / "spec.json") == {"spec": 1}
    log = (tmp_path / "cell" / "log.txt").read_text()
    assert "failed: RuntimeError: boom" in log and "done: failed" in log


def test_a_cell_that_works_merges_its_fields(tmp_path):
    record = run_recorded(tmp_path / "c", {}, _base, lambda: {"metrics": {"snr": 1.0}}, lambda r: None)
    assert record["status"] == "ok" and record["metrics"] == {"snr": 1.0} and "error" not in record
    assert error_fields(ValueError("x"))["error"] == "ValueError: x"


def test_a_record_written_by_the_lock_holder_meanwhile_is_reused_not_recomputed(tmp_path):
    cell = tmp_path / "cell"
    held = threading.Event()

    def other_run():
        with cell_lock(cell):
            held.set()
            time.sleep(1.5)
            write_json(cell / "record.json", {"status": "failed", "error": "theirs"})

    thread = threading.Thread(target=other_run)
    thread.start()
    held.wait()
    computed = []
    record = run_exclusive(cell, "a/cell", lambda: json.loads((cell / "record.json").read_text()),
                           lambda: computed.append(1) or {"status": "ok"})
    thread.join()
    assert computed == [] and record == {"status": "failed", "error": "theirs"}
    assert "reused the failed record another run wrote while this one waited" in (cell / "log.txt").read_text()


def test_an_ok_record_is_reused_and_anything_else_recomputed(tmp_path):
    cell = tmp_path / "cell"
    write_json(cell / "record.json", {"status": "ok"})
    assert run_exclusive(cell, "c", lambda: read_json(cell / "record.json"), lambda: {"status": "new"}) == {"status": "ok"}
    write_json(cell / "record.json", {"status": "failed"})
    assert run_exclusive(cell, "c", lambda: read_json(cell / "record.json"), lambda: {"status": "new"}) == {"status": "new"}
