import json

import pytest

from bench.core.files import atomic_write, write_json
from bench.core.store import Store
from bench.report.results_csv import CSV_COLUMNS, collect


def _record(key, status="ok", method="spline", scale=2):
    return {"key": key, "status": status, "error": "" if status == "ok" else "ValueError: boom",
            "spec": {"method": method, "dataset": "synth-speech", "profile": "smoke", "seed": 0,
                     "protocol": {"scale": scale, "target_sr": 16000, "lowpass": "cheby1", "upsampler": "spline"}},
            "metrics": {"snr": {"mean": 10.0, "lo": 9.0, "hi": 11.0}} if status == "ok" else {},
            "provenance": {"device": "cpu"}, "params": 0}


def test_atomic_write_leaves_no_temp_files_on_failure(tmp_path):
    target = tmp_path / "x.json"
    write_json(target, {"a": 1})

    def explode(tmp):
        tmp.write_text("half")
        raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError):
        atomic_write(target, explode)
    assert json.loads(target.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_cell_dir_rejects_keys_that_could_escape_the_root(tmp_path):
    store = Store(tmp_path)
    for bad in ("../../etc", "abc", "0123456789ABCDEF", "/tmp/x"):
        with pytest.raises(ValueError, match="invalid cell key"):
            store.cell_dir(bad)


def test_records_round_trip_and_collect(tmp_path):
    store = Store(tmp_path)
    store.save_record(_record("0" * 16))
    store.save_record(_record("1" * 16, status="failed", method="sinc"))
    assert store.read_record("0" * 16)["status"] == "ok"
    assert store.read_record("2" * 16) is None
    table = collect(store)
    assert list(table.columns[: len(CSV_COLUMNS)]) == CSV_COLUMNS
    assert set(table["status"]) == {"ok", "failed"}
    assert table.loc[table["method"] == "spline", "snr_lo"].item() == 9.0
    assert table.loc[table["method"] == "sinc", "error"].item() == "ValueError: boom"
    assert (tmp_path / "results.csv").is_file()


def test_unknown_status_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown status"):
        Store(tmp_path).save_record(_record("0" * 16, status="maybe"))


def test_empty_store_collects_empty_table_with_columns(tmp_path):
    table = collect(Store(tmp_path / "none"))
    assert table.empty and list(table.columns) == CSV_COLUMNS


def test_triage_starts_learned_cells_before_parameter_free_ones_and_higher_rates_first(tmp_path):
    from bench.run.plan import plan_cells, triage

    specs = plan_cells("spline,audiounet,noisefill,tfilm", "synth-speech", "2,6,4", "smoke")
    todo = [(s.method, s.protocol.scale) for s in triage(specs, Store(tmp_path), retry_failed=False).todo]
    # R = 6 is 24 kHz, R = 2/4 16 kHz (the seed paper's rates); stable order otherwise
    assert todo == [("audiounet", 6), ("tfilm", 6), ("audiounet", 2), ("tfilm", 2), ("audiounet", 4), ("tfilm", 4),
                    ("spline", 6), ("noisefill", 6), ("spline", 2), ("noisefill", 2), ("spline", 4), ("noisefill", 4)]


def test_unreadable_and_incomplete_records_are_never_reused(tmp_path):
    store = Store(tmp_path)
    good, truncated, incomplete = "a" * 16, "b" * 16, "c" * 16
    store.save_record(_record(good))
    store.save_record({**_record(truncated), "key": truncated})
    store.record_path(truncated).write_text('{"key": "bbbb')
    (tmp_path / incomplete).mkdir()
    (tmp_path / incomplete / "files.csv").write_text("file\n")
    store.save_record({**_record(incomplete), "key": incomplete,
                       "outputs": [f"{incomplete}/files.csv", f"{incomplete}/samples/x_sr.wav", "../outside.txt"]})
    (tmp_path.parent / "outside.txt").write_text("a file outside the root is never vouched for")

    assert [r["key"] for r in store.records()] == [good, incomplete]
    assert list(store.unreadable_records()) == [truncated]
    assert "unreadable (JSONDecodeError" in store.unreadable_records()[truncated]
    assert store.missing_outputs(store.read_record(incomplete)) == [f"{incomplete}/samples/x_sr.wav", "../outside.txt"]
    assert store.reusable_record(good)["key"] == good
    assert store.reusable_record(truncated) is None and store.reusable_record(incomplete) is None
    record, problem = store.check_record(store.record_path(incomplete))
    assert record is None and "files its record promises are gone" in problem
    assert store.check_record(store.record_path("d" * 16)) == (None, None)
